"""The import itself (`gitforge import pagure`): plan every item and check
it before anything is written, then write the placeholder accounts, the
tickets and the pull requests, publish the pull requests' heads and sync
the index."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.pagure.conversion import Planned
from gitforge.pagure.numbering import existing_items, number_problems
from gitforge.pagure.people import People, placeholder_doc, placeholder_email
from gitforge.pagure.reading import PagureRepo, read_pagure_repo
from gitforge.pagure.request_conversion import RequestConversion
from gitforge.pagure.ticket_conversion import TicketConversion
from gitforge.pagure.values import REQUEST, TICKET, ImportRefused, Warnings
from gitforge.store import formats
from gitforge.store.documents import SYSTEM, Content, DocumentRepo, Snapshot
from gitforge.store.layout import SITE_REPO, RepoKind, repo_path, repo_relpath
from gitforge.store.requests import request_path

# The account rules of SiteRepo.add_user, applied here to every placeholder
# at once so that all of them go into one commit.
from gitforge.store.site import SiteRepo, _refuse_taken_user, project_path, user_path
from gitforge.store.tickets import NUMBERS_FILE, ticket_path


@dataclass
class ImportReport:
    """What an import added, whom it made accounts for, what it noticed."""

    project: str
    tickets: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    comments: int = 0
    attachments: int = 0
    flags: int = 0
    created_users: list[str] = field(default_factory=list)
    warnings: Warnings = field(default_factory=Warnings)

    @property
    def nothing_new(self) -> bool:
        counts = (
            self.tickets,
            self.requests,
            self.comments,
            self.attachments,
            self.flags,
            self.created_users,
        )
        return not any(counts)


def import_pagure(
    config: Config,
    fullname: str,
    tickets: Path | None = None,
    requests: Path | None = None,
    users: dict[str, str] | None = None,
) -> ImportReport:
    """Import the Pagure ticket repo `tickets` and request repo `requests`
    into project `fullname`; `users` maps Pagure names to gitforge ones."""
    repos = config.repositories
    with SiteRepo.open(repos) as site:
        site_now = site.snapshot()
    if not site_now.exists(project_path(fullname)):
        raise ImportRefused(
            f"project {fullname!r} does not exist in gitforge: create it first "
            f"(`gitforge project create {fullname}`, or `gitforge project import "
            f"{fullname} <its code repo>`); nothing was imported"
        )
    report = ImportReport(fullname)
    accounts = [n.removesuffix(".json") for n in site_now.listdir("users")]
    people = People(users or {}, accounts)
    planned = _plan(config, fullname, people, site_now, report, tickets, requests)
    problems = people.placeholder_problems()
    if problems:
        raise ImportRefused(
            "these Pagure users cannot become gitforge accounts: "
            f"{'; '.join(problems)}. Map them to other names with --users; "
            "nothing was imported"
        )
    with ExitStack() as stack:
        ticket_repo = stack.enter_context(
            DocumentRepo(repo_path(repos, RepoKind.TICKETS, fullname))
        )
        request_repo = stack.enter_context(
            DocumentRepo(repo_path(repos, RepoKind.REQUESTS, fullname))
        )
        _refuse_taken_numbers(planned, ticket_repo.snapshot(), request_repo.snapshot())
        _write_users(repos, people, report)
        written = _write_items(ticket_repo, request_repo, planned)
    _fill_report(report, planned, written)
    open_requests = _publish_heads(config, fullname, planned, report)
    _sync(config, fullname, bool(report.created_users))
    _queue_merge_statuses(config, fullname, open_requests)
    return report


def _plan(config, fullname, people, site_now, report, tickets, requests):
    projects = {
        path[len("projects/") : -len(".json")] for path, _ in site_now.walk("projects")
    }
    pagure_tickets = read_pagure_repo(tickets, TICKET) if tickets else PagureRepo()
    pagure_requests = read_pagure_repo(requests, REQUEST) if requests else PagureRepo()
    with _code_repo(config, fullname) as code:
        ticket_conversion = TicketConversion(fullname, people, report.warnings)
        request_conversion = RequestConversion(
            fullname, people, report.warnings, code, projects
        )
        planned = [
            ticket_conversion.ticket(item, pagure_tickets)
            for item in pagure_tickets.items
        ]
        planned += [request_conversion.request(item) for item in pagure_requests.items]
    for name in sorted(set(pagure_tickets.files) - ticket_conversion.attached):
        report.warnings.add(
            f"attachment files/{name} belongs to no ticket (none "
            "links to it, no commit added it to one); left out"
        )
    return planned


@contextmanager
def _code_repo(config: Config, fullname: str):
    path = repo_path(config.repositories, RepoKind.CODE, fullname)
    repo = pygit2.Repository(str(path)) if path.exists() else None
    try:
        yield repo
    finally:
        if repo is not None:
            repo.free()


def _refuse_taken_numbers(planned, tickets: Snapshot, requests: Snapshot) -> None:
    problems = number_problems(planned, existing_items(tickets, requests))
    if problems:
        raise ImportRefused(
            "numbers collide: " + "; ".join(problems) + ". Nothing was imported"
        )


def _write_users(repositories: Path, people: People, report: ImportReport) -> None:
    """Every placeholder account the import needs, in one commit."""
    docs = {
        name: placeholder_doc(name, full) for name, full in people.placeholders.items()
    }

    def change(snapshot: Snapshot) -> dict:
        for name in docs:
            _refuse_taken_user(snapshot, name, placeholder_email(name))
        return {user_path(name): doc for name, doc in docs.items()}

    if not docs:
        return
    with SiteRepo.open(repositories) as site:
        site.transact(
            change, SYSTEM, f"Add {len(docs)} placeholder accounts for a Pagure import"
        )
    report.created_users = sorted(docs)


def _write_items(ticket_repo, request_repo, planned: list[Planned]) -> list[str]:
    """One commit in the ticket repo (tickets, comments, attachments and the
    number sequence), then one in the request repo; returns the paths
    written."""
    highest = max((item.number for item in planned), default=0)
    written: dict[str, list[str]] = {}

    def tickets_change(snapshot: Snapshot) -> dict:
        _refuse_taken_numbers(planned, snapshot, request_repo.snapshot())
        changes = _missing(snapshot, _files_of(planned, TICKET))
        numbers = snapshot.read(NUMBERS_FILE) or {"format": formats.FORMAT_VERSION}
        if highest >= numbers.get("next", 1):
            changes[NUMBERS_FILE] = {**numbers, "next": highest + 1}
        written["tickets"] = list(changes)
        return changes

    def requests_change(snapshot: Snapshot) -> dict:
        changes = _missing(snapshot, _files_of(planned, REQUEST))
        written["requests"] = list(changes)
        return changes

    ticket_repo.transact(tickets_change, SYSTEM, "Import tickets from Pagure")
    request_repo.transact(requests_change, SYSTEM, "Import pull requests from Pagure")
    return written.get("tickets", []) + written.get("requests", [])


def _files_of(planned: list[Planned], kind: str) -> dict[str, Content]:
    return {
        path: content
        for item in planned
        if item.kind == kind
        for path, content in item.files.items()
    }


def _missing(snapshot: Snapshot, files: dict[str, Content]) -> dict[str, Content]:
    """The files the repo does not have yet: an import never rewrites one."""
    return {
        path: content for path, content in files.items() if not snapshot.exists(path)
    }


def _fill_report(report: ImportReport, planned: list[Planned], written) -> None:
    paths = set(written)
    for item in planned:
        if item.kind == TICKET and ticket_path(item.uid) in paths:
            report.tickets.append(item.number)
        if item.kind == REQUEST and request_path(item.uid) in paths:
            report.requests.append(item.number)
    report.tickets.sort()
    report.requests.sort()
    report.comments = sum("/comments/" in path for path in written)
    report.attachments = sum("/files/" in path for path in written)
    report.flags = sum("/flags/" in path for path in written)


def _publish_heads(config, fullname, planned, report) -> list[str]:
    """Keep each new pull request's head as refs/pull/<n>/head in the
    project's code repo, as gitforge does for its own, when the repo has
    it; returns the uids of the open ones among them."""
    published = []
    with _code_repo(config, fullname) as code:
        if code is None:
            return []
        for item in planned:
            if item.kind != REQUEST or item.number not in report.requests:
                continue
            request = item.files[request_path(item.uid)]
            ref = f"refs/pull/{item.number}/head"
            if code.get(request["head"]) is None:
                continue
            if ref not in code.references:
                code.references.create(ref, request["head"])
            if request["status"] == "Open":
                published.append(item.uid)
    return published


def _queue_merge_statuses(config: Config, fullname: str, uids: list[str]) -> None:
    """Have the task queue work out whether each open pull request merges,
    as it does for one opened in gitforge."""
    from gitforge.tasks.pull_requests import update_merge_status

    for uid in uids:
        update_merge_status(str(config.home), fullname, uid)


def _sync(config: Config, fullname: str, users_changed: bool) -> None:
    engine = engine_for(config)
    if users_changed:
        sync_repo(engine, config.repositories, SITE_REPO)
    for kind in (RepoKind.TICKETS, RepoKind.REQUESTS):
        sync_repo(engine, config.repositories, repo_relpath(kind, fullname))
