"""Read-only queries the pages and the API need.

Lists filter private tickets in SQL, with the same rule as the policy, so
counts and pages never disagree with what a viewer may open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, Row, and_, false, func, or_, select, true

from gitforge.index.schema import (
    comments,
    group_members,
    projects,
    ticket_tags,
    tickets,
    users,
)
from gitforge.policy import ProjectFacts, Viewer, sees_private_tickets

TICKET_SORTS = {
    "newest": tickets.c.number.desc(),
    "oldest": tickets.c.number.asc(),
    "updated": tickets.c.last_activity.desc(),
    "comments": tickets.c.comment_count.desc(),
}


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = "Open"  # None means every status
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    author: str | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = 50


def user(engine: Engine, name: str) -> Row | None:
    with engine.connect() as conn:
        return conn.execute(select(users).where(users.c.name == name)).first()


def project(engine: Engine, fullname: str) -> Row | None:
    with engine.connect() as conn:
        return conn.execute(
            select(projects).where(projects.c.fullname == fullname)
        ).first()


def all_projects(engine: Engine) -> list[Row]:
    with engine.connect() as conn:
        return conn.execute(select(projects).order_by(projects.c.fullname)).all()


def projects_of(engine: Engine, owner: str) -> list[Row]:
    with engine.connect() as conn:
        return conn.execute(
            select(projects)
            .where(projects.c.owner == owner)
            .order_by(projects.c.fullname)
        ).all()


def forks_of(engine: Engine, fullname: str, limit: int | None = None) -> list[Row]:
    """The forks made from the project `fullname` (not their forks), by name."""
    with engine.connect() as conn:
        return conn.execute(
            select(projects)
            .where(projects.c.parent == fullname)
            .order_by(projects.c.fullname)
            .limit(limit)
        ).all()


def fork_count(engine: Engine, fullname: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(projects)
            .where(projects.c.parent == fullname)
        ).scalar_one()


def facts(row: Row) -> ProjectFacts:
    """What the policy needs to know of the project in index row `row`."""
    return ProjectFacts.from_document(
        row.fullname,
        {
            "owner": row.owner,
            "private": row.private,
            "access": json.loads(row.access),
            "protected_branches": json.loads(row.protected_branches),
        },
    )


def viewer(engine: Engine, name: str) -> Viewer | None:
    """User `name` as the policy sees them, with their groups; None when
    there is no such account."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            return None
        groups = conn.execute(
            select(group_members.c.group_name).where(group_members.c.user_name == name)
        ).scalars()
        return Viewer(row.name, bool(row.admin), frozenset(groups))


def _visible(viewer: Viewer | None, project_row: Row):
    """The SQL form of "may read this ticket" for one project."""
    if sees_private_tickets(viewer, facts(project_row)):
        return true()
    if viewer is None:
        return tickets.c.private == false()
    return or_(tickets.c.private == false(), tickets.c.author == viewer.name)


def list_tickets(
    engine: Engine, project_row: Row, viewer: Viewer | None, wanted: TicketFilter
) -> tuple[list[Row], int]:
    """One page of tickets and the number of tickets that match in all."""
    where = [tickets.c.project_id == project_row.id, _visible(viewer, project_row)]
    if wanted.status:
        where.append(tickets.c.status == wanted.status)
    if wanted.assignee:
        where.append(tickets.c.assignee == wanted.assignee)
    if wanted.author:
        where.append(tickets.c.author == wanted.author)
    for tag in wanted.tags:
        tagged = select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag == tag)
        where.append(tickets.c.id.in_(tagged))
    condition = and_(*where)
    order = TICKET_SORTS.get(wanted.sort, TICKET_SORTS["newest"])
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(tickets).where(condition)
        ).scalar_one()
        rows = conn.execute(
            select(tickets)
            .where(condition)
            .order_by(order, tickets.c.number.desc())
            .limit(wanted.per_page)
            .offset((wanted.page - 1) * wanted.per_page)
        ).all()
    return rows, total


def status_counts(
    engine: Engine, project_row: Row, viewer: Viewer | None
) -> dict[str, int]:
    where = and_(tickets.c.project_id == project_row.id, _visible(viewer, project_row))
    with engine.connect() as conn:
        rows = conn.execute(
            select(tickets.c.status, func.count())
            .where(where)
            .group_by(tickets.c.status)
        ).all()
    return {status: count for status, count in rows}


def tags_of_tickets(engine: Engine, ticket_ids: list[int]) -> dict[int, list[str]]:
    """Tags of many tickets in one query."""
    if not ticket_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(ticket_tags.c.ticket_id, ticket_tags.c.tag)
            .where(ticket_tags.c.ticket_id.in_(ticket_ids))
            .order_by(ticket_tags.c.tag)
        ).all()
    found: dict[int, list[str]] = {}
    for ticket_id, tag in rows:
        found.setdefault(ticket_id, []).append(tag)
    return found


def project_tags(engine: Engine, project_row: Row) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(ticket_tags.c.tag)
                .join(tickets, tickets.c.id == ticket_tags.c.ticket_id)
                .where(tickets.c.project_id == project_row.id)
                .distinct()
                .order_by(ticket_tags.c.tag)
            ).scalars()
        )


def ticket(engine: Engine, project_row: Row, number: int) -> Row | None:
    with engine.connect() as conn:
        return conn.execute(
            select(tickets).where(
                tickets.c.project_id == project_row.id, tickets.c.number == number
            )
        ).first()


def comments_of(engine: Engine, ticket_id: int) -> list[Row]:
    with engine.connect() as conn:
        return conn.execute(
            select(comments)
            .where(comments.c.ticket_id == ticket_id)
            .order_by(comments.c.created, comments.c.uid)
        ).all()


def private_ticket_authors(engine: Engine, project_row: Row) -> frozenset[str]:
    """Who wrote the project's private tickets (for the ticket repo rule)."""
    with engine.connect() as conn:
        return frozenset(
            conn.execute(
                select(tickets.c.author)
                .where(tickets.c.project_id == project_row.id, tickets.c.private)
                .distinct()
            ).scalars()
        )
