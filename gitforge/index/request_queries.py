"""Read-only queries about pull requests, for the pages, the API and the
tasks that follow pushes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Row, and_, func, or_, select

from gitforge.index.schema import (
    mentions,
    projects,
    pull_requests,
    request_comments,
    request_flags,
    request_tags,
    request_updates,
)

REQUEST_SORTS = {
    "newest": pull_requests.c.number.desc(),
    "oldest": pull_requests.c.number.asc(),
    "updated": pull_requests.c.last_activity.desc(),
}


@dataclass(frozen=True)
class RequestFilter:
    status: str | None = "Open"  # None means every status
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    author: str | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = 50


def list_requests(
    engine: Engine, project_row: Row, wanted: RequestFilter
) -> tuple[list[Row], int]:
    """One page of a project's pull requests, and how many match in all."""
    where = [pull_requests.c.project_id == project_row.id]
    if wanted.status:
        where.append(pull_requests.c.status == wanted.status)
    if wanted.assignee:
        where.append(pull_requests.c.assignee == wanted.assignee)
    if wanted.author:
        where.append(pull_requests.c.author == wanted.author)
    for tag in wanted.tags:
        tagged = select(request_tags.c.request_id).where(request_tags.c.tag == tag)
        where.append(pull_requests.c.id.in_(tagged))
    order = REQUEST_SORTS.get(wanted.sort, REQUEST_SORTS["newest"])
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(pull_requests).where(*where)
        ).scalar_one()
        rows = conn.execute(
            select(pull_requests)
            .where(*where)
            .order_by(order, pull_requests.c.number.desc())
            .limit(wanted.per_page)
            .offset((wanted.page - 1) * wanted.per_page)
        ).all()
    return rows, total


def request_status_counts(engine: Engine, project_row: Row) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(pull_requests.c.status, func.count())
            .where(pull_requests.c.project_id == project_row.id)
            .group_by(pull_requests.c.status)
        ).all()
    return {status: count for status, count in rows}


def request(engine: Engine, project_row: Row, number: int) -> Row | None:
    with engine.connect() as conn:
        return conn.execute(
            select(pull_requests).where(
                pull_requests.c.project_id == project_row.id,
                pull_requests.c.number == number,
            )
        ).first()


def _children(engine: Engine, table, request_id: int, *order) -> list[Row]:
    with engine.connect() as conn:
        return conn.execute(
            select(table).where(table.c.request_id == request_id).order_by(*order)
        ).all()


def comments_of_request(engine: Engine, request_id: int) -> list[Row]:
    order = (request_comments.c.created, request_comments.c.uid)
    return _children(engine, request_comments, request_id, *order)


def flags_of_request(engine: Engine, request_id: int) -> list[Row]:
    order = (request_flags.c.name, request_flags.c.username)
    return _children(engine, request_flags, request_id, *order)


def updates_of_request(engine: Engine, request_id: int) -> list[Row]:
    order = (request_updates.c.created, request_updates.c.uid)
    return _children(engine, request_updates, request_id, *order)


def tags_of_request(engine: Engine, request_id: int) -> list[str]:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(request_tags.c.tag)
                .where(request_tags.c.request_id == request_id)
                .order_by(request_tags.c.tag)
            )
            .scalars()
            .all()
        )


def open_requests_touching(
    engine: Engine, code_repo: str, branches: list[str]
) -> list[tuple[str, str, str]]:
    """(project fullname, uid, "source" or "target") of the open pull
    requests whose source or target is one of `branches` of `code_repo`."""
    if not branches:
        return []
    as_source = and_(
        pull_requests.c.source_repo == code_repo,
        pull_requests.c.source_branch.in_(branches),
    )
    as_target = and_(
        projects.c.fullname == code_repo,
        pull_requests.c.target_branch.in_(branches),
    )
    query = (
        select(projects.c.fullname, pull_requests.c.uid, as_source.label("source"))
        .join(projects, projects.c.id == pull_requests.c.project_id)
        .where(pull_requests.c.status == "Open", or_(as_source, as_target))
        .order_by(pull_requests.c.number)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(r.fullname, r.uid, "source" if r.source else "target") for r in rows]


def mentions_of(engine: Engine, project_row: Row, number: int) -> list[Row]:
    """The tickets and pull requests that mention `#number`, as rows of
    (source_kind, source_number), by number."""
    with engine.connect() as conn:
        return conn.execute(
            select(mentions.c.source_kind, mentions.c.source_number)
            .where(
                mentions.c.project_id == project_row.id,
                mentions.c.target_number == number,
            )
            .order_by(mentions.c.source_number)
        ).all()
