"""Loading a request repo into the index: pull requests with their tags,
comments, CI flags and branch updates."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, Table, delete, insert, select

from gitforge.index.loading import folder_uids, project_id_of, read_valid
from gitforge.index.mentions import forget_mentions, insert_mentions, mention_rows
from gitforge.index.schema import (
    pull_requests,
    request_comments,
    request_flags,
    request_tags,
    request_updates,
)
from gitforge.store.documents import Snapshot, uid_folder
from gitforge.store.errors import FormatError
from gitforge.store.requests import read_folder, request_path
from gitforge.store.tickets import read_comments

log = logging.getLogger(__name__)

_CHILDREN = (request_comments, request_flags, request_updates, request_tags)


def load_requests(
    conn: Connection, relpath: str, snapshot: Snapshot, changed: list[str] | None
) -> list[str] | None:
    project_id = project_id_of(conn, relpath)
    if project_id is None:
        return None  # nothing loaded: sync records no commit
    uids = folder_uids(snapshot, changed)
    _delete_requests(conn, project_id, None if changed is None else uids)
    forget_mentions(conn, project_id, "request", None if changed is None else uids)
    for uid in uids:
        _insert_request(conn, project_id, snapshot, uid)
    return uids


def _delete_requests(conn: Connection, project_id: int, uids: list[str] | None) -> None:
    """Forget some pull requests of a project (all of them for None)."""
    which = pull_requests.c.project_id == project_id
    if uids is not None:
        if not uids:
            return
        which = which & pull_requests.c.uid.in_(uids)
    ids = select(pull_requests.c.id).where(which)
    for child in _CHILDREN:  # explicit: no reliance on SQLite's cascade pragma
        conn.execute(delete(child).where(child.c.request_id.in_(ids)))
    conn.execute(delete(pull_requests).where(which))


def _insert_request(
    conn: Connection, project_id: int, snapshot: Snapshot, uid: str
) -> None:
    request = read_valid(snapshot, "request", request_path(uid))
    if request is None:
        return
    notes = _read_part(lambda: read_comments(snapshot, uid, "request_comment"), uid)
    folder = uid_folder(uid)
    flags = _read_part(lambda: read_folder(snapshot, f"{folder}/flags", "flag"), uid)
    updates = _read_part(
        lambda: read_folder(snapshot, f"{folder}/updates", "update"), uid
    )
    row = _request_row(project_id, request, notes, flags, updates)
    request_id = conn.execute(
        insert(pull_requests).returning(pull_requests.c.id), row
    ).scalar_one()
    _insert_children(conn, request_comments, request_id, map(_comment_row, notes))
    _insert_children(conn, request_flags, request_id, map(_plain_row, flags))
    _insert_children(conn, request_updates, request_id, map(_plain_row, updates))
    tags = [{"tag": tag} for tag in request["tags"]]
    _insert_children(conn, request_tags, request_id, tags)
    texts = [request["title"], request["description"]]
    texts += [note["body"] for note in notes]
    insert_mentions(conn, mention_rows(project_id, "request", request, texts))


def _read_part(read, uid: str) -> list[dict]:
    try:
        return read()
    except FormatError as err:
        log.warning("sync: skipping part of pull request %s: %s", uid, err)
        return []


def _insert_children(conn: Connection, table: Table, request_id: int, rows) -> None:
    rows = [{**row, "request_id": request_id} for row in rows]
    if rows:
        conn.execute(insert(table), rows)


def _request_row(
    project_id: int, request: dict, notes: list, flags: list, updates: list
) -> dict:
    times = [request["created"], request["closed_at"] or request["created"]]
    times += [note.get("edited") or note["created"] for note in notes]
    times += [flag["updated"] for flag in flags]
    times += [update["created"] for update in updates]
    merge = request["merge_status"] or {}
    conflicts = merge.get("conflicts")
    return {
        "project_id": project_id,
        **{key: request[key] for key in _COPIED_FIELDS},
        "merge_kind": merge.get("kind"),
        "merge_target": merge.get("target"),
        "merge_head": merge.get("head"),
        "merge_conflicts": json.dumps(conflicts) if conflicts else None,
        "last_activity": max(times),
        "comment_count": len(notes),
    }


_COPIED_FIELDS = (
    "uid", "number", "title", "description", "status", "author", "assignee",
    "source_repo", "source_branch", "target_branch", "base", "head",
    "merge_commit", "closed_by", "closed_at", "created",
)  # fmt: skip


def _comment_row(note: dict) -> dict:
    inline = note["inline"] or {}
    return {
        "uid": note["uid"],
        "author": note["author"],
        "created": note["created"],
        "edited": note.get("edited"),
        "body": note["body"],
        "inline_commit": inline.get("commit"),
        "inline_path": inline.get("path"),
        "inline_line": inline.get("line"),
        "inline_side": inline.get("side"),
    }


def _plain_row(doc: dict) -> dict:
    return {key: value for key, value in doc.items() if key != "format"}
