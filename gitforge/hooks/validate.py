"""Checks of a push to a ticket repo, run before git accepts it.

The check looks at the tree the branch would end with and at every path that
differs from the current tip, so a broken file is refused whichever commit of
the push brought it in, and an untouched old file never blocks a push.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pygit2

from gitforge.store import formats
from gitforge.store.documents import DEFAULT_BRANCH, Snapshot, parse_json
from gitforge.store.errors import FormatError
from gitforge.store.tickets import NUMBERS_FILE

ZERO = "0" * 40
_TICKET_FILE = re.compile(r"(?P<uid>[0-9a-f]{32})/ticket\.json")
_COMMENT_FILE = re.compile(
    r"(?P<uid>[0-9a-f]{32})/comments/(?P<cuid>[0-9a-f]{32})\.json"
)
_ATTACHMENT = re.compile(r"[0-9a-f]{32}/files/[^/]+")
_FREE_FILES = {"README.md", ".gitattributes"}


def refusals(repo_dir: Path, updates: list[list[str]]) -> list[str]:
    """Problems with a push to a ticket repo; an empty list accepts it."""
    repo = open_with_quarantine(repo_dir)
    problems = []
    for old, new, ref in updates:
        if ref != f"refs/heads/{DEFAULT_BRANCH}":
            continue
        if new == ZERO:
            problems.append(f"{ref} holds the tickets and cannot be deleted")
            continue
        old_snapshot = Snapshot(repo, None if old == ZERO else repo[old])
        new_snapshot = Snapshot(repo, repo[new].peel(pygit2.Commit))
        problems += check_change(old_snapshot, new_snapshot)
    return problems


def open_with_quarantine(repo_dir: Path) -> pygit2.Repository:
    """Open the repo so that objects of the push being checked are visible:
    git keeps them in a quarantine folder that libgit2 does not look in."""
    repo = pygit2.Repository(str(repo_dir))
    for variable in ("GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH"):
        folder = os.environ.get(variable)
        if folder and Path(folder).is_dir():
            repo.odb.add_disk_alternate(folder)
    return repo


def check_change(old: Snapshot, new: Snapshot) -> list[str]:
    """Every problem with the paths that differ between two snapshots."""
    empty = new.repo[new.repo.TreeBuilder().write()]
    old_tree = old.tree if old.tree is not None else empty
    problems = []
    for delta in old_tree.diff_to_tree(new.tree).deltas:
        path = delta.new_file.path
        try:
            if delta.status == pygit2.GIT_DELTA_DELETED:
                check_deletion(delta.old_file.path)
            else:
                check_file(old, new, path)
        except FormatError as err:
            problems.append(str(err))
    return problems


def check_deletion(path: str) -> None:
    if _TICKET_FILE.fullmatch(path) or _COMMENT_FILE.fullmatch(path):
        raise FormatError(
            path,
            None,
            "tickets and comments cannot be deleted; "
            "close the ticket or edit the comment instead",
        )
    if path == NUMBERS_FILE:
        raise FormatError(path, None, "the number sequence cannot be deleted")


def check_file(old: Snapshot, new: Snapshot, path: str) -> None:
    """Raise FormatError if the file at `path` in `new` breaks the format."""
    if path in _FREE_FILES or _ATTACHMENT.fullmatch(path):
        return
    if path == NUMBERS_FILE:
        _check_numbers(new.read(path))
        return
    if match := _TICKET_FILE.fullmatch(path):
        ticket = formats.check("ticket", path, _read(new, path))
        _check_ticket_identity(old, path, match["uid"], ticket)
        return
    if match := _COMMENT_FILE.fullmatch(path):
        comment = formats.check("comment", path, _read(new, path))
        if comment["uid"] != match["cuid"]:
            raise FormatError(path, "uid", "must equal the file's name")
        if not new.exists(f"{match['uid']}/ticket.json"):
            raise FormatError(path, None, "comments a ticket that does not exist")
        return
    raise FormatError(
        path,
        None,
        "unexpected file; a ticket folder holds ticket.json, comments/<uid>.json "
        "and files/<name>",
    )


def _check_ticket_identity(old: Snapshot, path: str, uid: str, ticket: dict) -> None:
    if ticket["uid"] != uid:
        raise FormatError(path, "uid", "must equal the ticket's folder name")
    before = old.read_bytes(path)
    if before is None:
        return
    previous = parse_json(path, before)
    if previous.get("number") != ticket["number"]:
        raise FormatError(path, "number", "a ticket's number never changes")


def _check_numbers(doc: dict | None) -> None:
    if doc is None or not isinstance(doc.get("next"), int) or doc["next"] < 1:
        raise FormatError(NUMBERS_FILE, "next", "must be a number of 1 or more")


def _read(snapshot: Snapshot, path: str) -> dict:
    data = snapshot.read_bytes(path)
    if data is None:
        raise FormatError(path, None, "is not a file")
    return parse_json(path, data)
