"""Reading an index as what its rows mean, so that two indexes compare.

Surrogate ids (a project's, a ticket's, a pull request's `id`) depend on the
order rows were written in; two indexes loaded from the same git differ in
them and in nothing else. Here every row is named instead by the repo and
the document it comes from and by its natural key (a ticket's uid within its
project, a comment's uid within its ticket, ...). `gitforge fsck` compares
the live index with one freshly loaded from git this way, and the tests
compare an incremental sync with a full rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, Table, select

from gitforge.index import schema
from gitforge.store.layout import SITE_REPO
from gitforge.store.requests import part_path, request_path
from gitforge.store.tickets import comment_path, ticket_path


@dataclass(frozen=True)
class IndexRow:
    """One row of the index: where in git it comes from, and its values
    with surrogate ids replaced by the names they stand for."""

    table: str
    repo: str
    document: str
    key: tuple
    fields: dict = field(compare=False, hash=False)


@dataclass(frozen=True, order=True)
class Difference:
    """One way an index differs from git, for a person to read."""

    repo: str
    document: str
    message: str

    def __str__(self) -> str:
        if self.document:
            return f"{self.repo}: {self.document}: {self.message}"
        return f"{self.repo}: {self.message}"


@dataclass(frozen=True)
class _Table:
    table: Table
    # Which repo a row comes from: "site", "tickets", "requests", or
    # "mentions" (the repo of the mentioning document's kind).
    repo_kind: str
    # The columns that name a row within its project (or the site).
    key: tuple[str, ...]
    document: Callable[[dict], str]
    # Key columns that the document's path does not already tell.
    shown: tuple[str, ...] = ()


def _mentioning_document(row: dict) -> str:
    if row["source_kind"] == "ticket":
        return ticket_path(row["source_uid"])
    return request_path(row["source_uid"])


def _part(folder: str) -> Callable[[dict], str]:
    return lambda row: part_path(row["request"], folder, row["uid"])


_TABLES = (
    _Table(schema.users, "site", ("name",), lambda r: f"users/{r['name']}.json"),
    _Table(schema.ssh_keys, "site", ("fingerprint",),
           lambda r: f"users/{r['user_name']}.json", ("fingerprint",)),
    _Table(schema.groups, "site", ("name",), lambda r: f"groups/{r['name']}.json"),
    _Table(schema.group_members, "site", ("group_name", "user_name"),
           lambda r: f"groups/{r['group_name']}.json", ("user_name",)),
    _Table(schema.projects, "site", ("fullname",),
           lambda r: f"projects/{r['fullname']}.json"),
    _Table(schema.tickets, "tickets", ("uid",), lambda r: ticket_path(r["uid"])),
    _Table(schema.ticket_tags, "tickets", ("ticket", "tag"),
           lambda r: ticket_path(r["ticket"]), ("tag",)),
    _Table(schema.comments, "tickets", ("ticket", "uid"),
           lambda r: comment_path(r["ticket"], r["uid"])),
    _Table(schema.pull_requests, "requests", ("uid",),
           lambda r: request_path(r["uid"])),
    _Table(schema.request_tags, "requests", ("request", "tag"),
           lambda r: request_path(r["request"]), ("tag",)),
    _Table(schema.request_comments, "requests", ("request", "uid"),
           _part("comments")),
    _Table(schema.request_flags, "requests", ("request", "uid"), _part("flags")),
    _Table(schema.request_updates, "requests", ("request", "uid"),
           _part("updates")),
    _Table(schema.mentions, "mentions", ("source_kind", "source_uid",
           "target_number"), _mentioning_document, ("target_number",)),
)  # fmt: skip

# Tables that hold no document: the schema version and the recorded commits.
NOT_DOCUMENTS = frozenset({schema.meta.name, schema.repo_state.name})
COMPARED_TABLES = frozenset(spec.table.name for spec in _TABLES)


class _Owners:
    """The names behind the surrogate ids of one index."""

    def __init__(self, conn):
        names = select(schema.projects.c.id, schema.projects.c.fullname)
        self.projects = {row.id: row.fullname for row in conn.execute(names)}
        self.tickets = self._uids(conn, schema.tickets)
        self.requests = self._uids(conn, schema.pull_requests)

    @staticmethod
    def _uids(conn, table: Table) -> dict[int, tuple[int, str]]:
        rows = conn.execute(select(table.c.id, table.c.project_id, table.c.uid))
        return {row.id: (row.project_id, row.uid) for row in rows}

    def project(self, project_id: int) -> str:
        # A row whose project is gone can only come from a broken index;
        # it is still shown, under the id it points at.
        return self.projects.get(project_id, f"<project id {project_id}>")

    def name_ids(self, row: dict) -> dict:
        """`row` without surrogate ids: a project by its full name, a ticket
        or pull request by its uid (and its project)."""
        row.pop("id", None)
        if "project_id" in row:
            row["project"] = self.project(row.pop("project_id"))
        parents = (("ticket_id", self.tickets, "ticket"),
                   ("request_id", self.requests, "request"))  # fmt: skip
        for column, uids, name in parents:
            if column in row:
                project_id, uid = uids.get(row.pop(column), (None, None))
                row["project"], row[name] = self.project(project_id), uid
        return row


def _repo_of(spec: _Table, row: dict) -> str:
    if spec.repo_kind == "site":
        return SITE_REPO
    kind = spec.repo_kind
    if kind == "mentions":
        kind = "tickets" if row["source_kind"] == "ticket" else "requests"
    return f"{kind}/{row['project']}.git"


def index_rows(engine: Engine) -> list[IndexRow]:
    """Every document row of the index, named by repo, document and key."""
    found = []
    with engine.connect() as conn:
        owners = _Owners(conn)
        for spec in _TABLES:
            for raw in conn.execute(select(spec.table)).mappings():
                row = owners.name_ids(dict(raw))
                key = (row.get("project"),) + tuple(row[c] for c in spec.key)
                repo, document = _repo_of(spec, row), spec.document(row)
                found.append(IndexRow(spec.table.name, repo, document, key, row))
    return found


def dump(engine: Engine) -> dict[str, list[str]]:
    """Every row of the index without surrogate ids, table by table in a
    stable order: two indexes that hold the same documents dump equal."""
    out: dict[str, list[str]] = {spec.table.name: [] for spec in _TABLES}
    for row in index_rows(engine):
        out[row.table].append(_as_text(row.fields))
    return {table: sorted(rows) for table, rows in out.items()}


def compare(index: Iterable[IndexRow], git: Iterable[IndexRow]) -> list[Difference]:
    """How the rows of `index` differ from the rows loaded from `git`."""
    ours, theirs = _by_key(index), _by_key(git)
    shown = {spec.table.name: spec.shown for spec in _TABLES}
    found = []
    for name in ours.keys() | theirs.keys():
        mine, right = ours.get(name, []), theirs.get(name, [])
        for row, expected in zip(mine, right, strict=False):
            found += _field_differences(row, expected)
        for row in mine[len(right) :]:
            what = _row_label(row, shown[row.table])
            found.append(_about(row, f"{what} is in the index but not in git"))
        for row in right[len(mine) :]:
            what = _row_label(row, shown[row.table])
            found.append(_about(row, f"{what} is missing from the index"))
    return sorted(found)


def _by_key(rows: Iterable[IndexRow]) -> dict[tuple, list[IndexRow]]:
    grouped: dict[tuple, list[IndexRow]] = {}
    for row in rows:
        grouped.setdefault((row.table, row.key), []).append(row)
    for same in grouped.values():
        same.sort(key=lambda row: _as_text(row.fields))
    return grouped


def _about(row: IndexRow, message: str) -> Difference:
    return Difference(row.repo, row.document, message)


def _field_differences(row: IndexRow, expected: IndexRow) -> list[Difference]:
    return [
        _about(
            row,
            f"{row.table}.{column} differs: index {_short(row.fields.get(column))}, "
            f"git {_short(expected.fields.get(column))}",
        )
        for column in sorted(row.fields.keys() | expected.fields.keys())
        if row.fields.get(column) != expected.fields.get(column)
    ]


def _row_label(row: IndexRow, shown: tuple[str, ...]) -> str:
    named = ", ".join(f"{column} {row.fields[column]!r}" for column in shown)
    return f"{row.table} row ({named})" if named else f"{row.table} row"


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_text(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True, default=str)
