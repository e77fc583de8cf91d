"""The numbers of imported items against the project's: an imported
ticket or pull request keeps its Pagure number, so two items may not share
one, and none may take a number the project already gave out."""

from __future__ import annotations

from gitforge.pagure.conversion import Planned
from gitforge.pagure.values import REQUEST, TICKET
from gitforge.store.documents import Snapshot
from gitforge.store.errors import FormatError
from gitforge.store.requests import request_path
from gitforge.store.tickets import ticket_path


def existing_items(tickets: Snapshot, requests: Snapshot) -> dict[int, tuple[str, str]]:
    """number -> (kind, uid) of the project's tickets and pull requests."""
    found: dict[int, tuple[str, str]] = {}
    for kind, snapshot, path_of in (
        (TICKET, tickets, ticket_path),
        (REQUEST, requests, request_path),
    ):
        for uid in snapshot.uids():
            try:
                doc = snapshot.read(path_of(uid))
            except FormatError:
                continue  # a broken file numbers nothing
            if doc and isinstance(doc.get("number"), int):
                found[doc["number"]] = (kind, uid)
    return found


def number_problems(
    planned: list[Planned], existing: dict[int, tuple[str, str]]
) -> list[str]:
    """Numbers that two imported items share, or that an item of the
    project other than the one imported already has."""
    known = set(existing.values())
    problems, seen = [], {}
    for item in planned:
        if item.number in seen:
            problems.append(
                f"#{item.number} is both {seen[item.number]} and {item.label}"
            )
        seen[item.number] = item.label
        if (item.kind, item.uid) in known:
            continue  # imported before
        taken = existing.get(item.number)
        if taken is not None:
            problems.append(
                f"#{item.number} of {item.label} is taken by {taken[0]} {taken[1]}"
            )
    return problems
