"""What every loader of the index shares: reading documents from git and
finding the folders a sync must reload."""

from __future__ import annotations

import logging
import re

from sqlalchemy import Connection, select

from gitforge.index.schema import projects
from gitforge.store import formats
from gitforge.store.documents import Snapshot, parse_json
from gitforge.store.errors import FormatError
from gitforge.store.layout import parse_relpath

log = logging.getLogger(__name__)

UID = re.compile(r"[0-9a-f]{32}")


def read_valid(snapshot: Snapshot, kind: str, path: str) -> dict | None:
    """A document from git, or None if it is absent or (having got past the
    hooks somehow, e.g. edited on disk) invalid; sync never stops on one bad
    file."""
    data = snapshot.read_bytes(path)
    if data is None:
        return None
    try:
        return formats.check(kind, path, parse_json(path, data))
    except FormatError as err:
        log.warning("sync: skipping %s", err)
        return None


def folder_uids(snapshot: Snapshot, changed: list[str] | None) -> list[str]:
    """The uid folders to reload: the changed ones, or all of them."""
    if changed is None:
        return snapshot.uids()
    found = set()
    for path in changed:
        parts = path.split("/")
        if len(parts) >= 2 and UID.fullmatch(parts[1]) and parts[1][-2:] == parts[0]:
            found.add(parts[1])
    return sorted(found)


def project_id_of(conn: Connection, relpath: str) -> int | None:
    """The index id of the project a ticket or request repo belongs to."""
    _kind, fullname = parse_relpath(relpath)
    project_id = conn.execute(
        select(projects.c.id).where(projects.c.fullname == fullname)
    ).scalar()
    if project_id is None:
        log.warning("sync %s: project %s is not in the index", relpath, fullname)
    return project_id
