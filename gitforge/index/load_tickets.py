"""Loading a ticket repo into the index: tickets, their tags and comments."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection, delete, insert, select

from gitforge.index.loading import folder_uids, project_id_of, read_valid
from gitforge.index.mentions import forget_mentions, insert_mentions, mention_rows
from gitforge.index.schema import comments, ticket_tags, tickets
from gitforge.store.documents import Snapshot
from gitforge.store.errors import FormatError
from gitforge.store.tickets import read_comments, ticket_path

log = logging.getLogger(__name__)


def load_tickets(
    conn: Connection, relpath: str, snapshot: Snapshot, changed: list[str] | None
) -> list[str] | None:
    project_id = project_id_of(conn, relpath)
    if project_id is None:
        return None  # nothing loaded: sync records no commit
    uids = folder_uids(snapshot, changed)
    _delete_tickets(conn, project_id, None if changed is None else uids)
    forget_mentions(conn, project_id, "ticket", None if changed is None else uids)
    _insert_tickets(conn, project_id, snapshot, uids)
    return uids


def _delete_tickets(conn: Connection, project_id: int, uids: list[str] | None) -> None:
    """Forget some tickets of a project (all of them for None)."""
    which = tickets.c.project_id == project_id
    if uids is not None:
        if not uids:
            return
        which = which & tickets.c.uid.in_(uids)
    ids = select(tickets.c.id).where(which)
    # Deleted explicitly: SQLite only cascades with foreign_keys on, and
    # this must not depend on a pragma.
    conn.execute(delete(comments).where(comments.c.ticket_id.in_(ids)))
    conn.execute(delete(ticket_tags).where(ticket_tags.c.ticket_id.in_(ids)))
    conn.execute(delete(tickets).where(which))


def _insert_tickets(
    conn: Connection, project_id: int, snapshot: Snapshot, uids: Iterable[str]
) -> None:
    loaded = [doc for doc in (_read_ticket(snapshot, uid) for uid in uids) if doc]
    if not loaded:
        return
    rows = [_ticket_row(project_id, ticket, notes) for ticket, notes in loaded]
    ids = (
        conn.execute(
            insert(tickets).returning(tickets.c.id, sort_by_parameter_order=True), rows
        )
        .scalars()
        .all()
    )
    comment_rows, tag_rows, mentioned = [], [], []
    for ticket_id, (ticket, notes) in zip(ids, loaded, strict=True):
        tag_rows += [{"ticket_id": ticket_id, "tag": tag} for tag in ticket["tags"]]
        comment_rows += [_comment_row(ticket_id, note) for note in notes]
        texts = [ticket["title"], ticket["body"]] + [note["body"] for note in notes]
        mentioned += mention_rows(project_id, "ticket", ticket, texts)
    if comment_rows:
        conn.execute(insert(comments), comment_rows)
    if tag_rows:
        conn.execute(insert(ticket_tags), tag_rows)
    insert_mentions(conn, mentioned)


def _read_ticket(snapshot: Snapshot, uid: str) -> tuple[dict, list[dict]] | None:
    ticket = read_valid(snapshot, "ticket", ticket_path(uid))
    if ticket is None:
        return None
    if ticket["number"] is None:
        # Made offline and pushed: the load-JSON task numbers it in a commit
        # of its own, and the sync of that commit loads it.
        log.info("sync: ticket %s waits for its number", uid)
        return None
    try:
        notes = read_comments(snapshot, uid)
    except FormatError as err:
        log.warning("sync: skipping the comments of ticket %s: %s", uid, err)
        notes = []
    return ticket, notes


def _ticket_row(project_id: int, ticket: dict, notes: list[dict]) -> dict:
    last = max([ticket["created"]] + [n.get("edited") or n["created"] for n in notes])
    return {
        "project_id": project_id,
        "uid": ticket["uid"],
        "number": ticket["number"],
        "title": ticket["title"],
        "body": ticket["body"],
        "status": ticket["status"],
        "close_reason": ticket["close_reason"],
        "author": ticket["author"],
        "assignee": ticket.get("assignee"),
        "priority": ticket.get("priority"),
        "milestone": ticket.get("milestone"),
        "private": ticket["private"],
        "created": ticket["created"],
        "last_activity": last,
        "comment_count": len(notes),
    }


def _comment_row(ticket_id: int, note: dict) -> dict:
    return {
        "ticket_id": ticket_id,
        "uid": note["uid"],
        "author": note["author"],
        "created": note["created"],
        "edited": note.get("edited"),
        "body": note["body"],
    }
