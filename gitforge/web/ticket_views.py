"""Ticket pages: list, one ticket, new ticket, comment, edit, close, triage.

Pages read the index. Every write goes through `_write`: it commits to the
project's ticket repo as the signed-in user and syncs that repo into the
index at once, so the page the writer is sent back to shows their change.
Views never write SQL rows themselves.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Row
from werkzeug.datastructures import MultiDict

from gitforge.index import queries
from gitforge.policy import Action, TicketFacts
from gitforge.store.documents import Identity
from gitforge.store.formats import MAX_LINE, MAX_NUMBER, MAX_PRIORITY, MAX_TEXT
from gitforge.store.layout import RepoKind
from gitforge.store.tickets import TicketRepo
from gitforge.web.context import (
    ProjectContext,
    login_required,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.mentions import mentions_of
from gitforge.web.ticket_settings import TicketSettings, settings_of
from gitforge.web.writes import write_as_viewer

log = logging.getLogger(__name__)
blueprint = Blueprint("tickets", __name__)

PER_PAGE = 50
# Past this page the offset stops fitting the database's integers; nobody
# pages that far by hand.
MAX_PAGE = 100_000
MAX_FILTER_TAGS = 20
_STATUS_ARGS = {"open": "Open", "closed": "Closed", "all": None}

T = TypeVar("T")


# -- reading ---------------------------------------------------------------


@project_route(blueprint, "/issues")
def list_tickets(project: ProjectContext):
    engine = site().engine
    wanted = _ticket_filter(request.args)
    rows, total = queries.list_tickets(engine, project.row, viewer(), wanted)
    last_page = max(1, -(-total // PER_PAGE))

    def filter_url(**changes) -> str:
        """This list with some filters changed; back to page 1 unless the
        page is one of the changes."""
        changed = dataclasses.replace(wanted, **{"page": 1, **changes})
        return _url("tickets.list_tickets", project, **_list_args(changed))

    return render_template(
        "tickets/list.html",
        project=project,
        tickets=rows,
        tags=queries.tags_of_tickets(engine, [row.id for row in rows]),
        total=total,
        counts=queries.status_counts(engine, project.row, viewer()),
        wanted=wanted,
        sorts=list(queries.TICKET_SORTS),
        last_page=last_page,
        filter_url=filter_url,
        may_create=project.may(Action.CREATE_TICKET),
        settings=settings_of(project.row),
    )


@project_route(blueprint, "/issue/<int:number>")
def show_ticket(project: ProjectContext, number: int):
    return _render_ticket(project, _readable_ticket(project, number))


@blueprint.app_template_global()
def project_ticket_settings(project: ProjectContext) -> TicketSettings:
    """For pages other than these (pull requests), which colour tags too."""
    return settings_of(project.row)


def _ticket_filter(args: MultiDict) -> queries.TicketFilter:
    """The list's filters from the query string; unknown values fall back to
    the defaults rather than failing, as they come from hand-edited URLs."""
    status = _STATUS_ARGS.get(args.get("status", "open").lower(), "Open")
    tags = tuple(dict.fromkeys(t.strip() for t in args.getlist("tags") if t.strip()))
    tags = tags[:MAX_FILTER_TAGS]  # each tag is a subquery; keep the SQL small
    sort = args.get("sort", "newest")
    page = args.get("page", 1, type=int) or 1
    return queries.TicketFilter(
        status=status,
        tags=tags,
        assignee=args.get("assignee", "").strip() or None,
        author=args.get("author", "").strip() or None,
        sort=sort if sort in queries.TICKET_SORTS else "newest",
        page=min(max(page, 1), MAX_PAGE),
        per_page=PER_PAGE,
    )


def _list_args(wanted: queries.TicketFilter) -> dict:
    """The query string for `wanted`, leaving out the defaults."""
    status = "all" if wanted.status is None else wanted.status
    return {
        "status": None if status == "Open" else status,
        "tags": list(wanted.tags),
        "assignee": wanted.assignee,
        "author": wanted.author,
        "sort": None if wanted.sort == "newest" else wanted.sort,
        "page": None if wanted.page == 1 else wanted.page,
    }


def _readable_ticket(project: ProjectContext, number: int) -> Row:
    """The ticket's index row, or 404 when it is absent or hidden from the
    viewer (private means absent)."""
    if number > MAX_NUMBER:  # no such ticket, and the database would choke
        abort(404)
    row = queries.ticket(site().engine, project.row, number)
    if row is None or not project.may(Action.READ_TICKET, ticket=_facts(row)):
        abort(404)
    return row


def _comment_of(ticket: Row, uid: str) -> Row:
    """One comment of a readable ticket, or 404."""
    for note in queries.comments_of(site().engine, ticket.id):
        if note.uid == uid:
            return note
    abort(404)


def _facts(row: Row) -> TicketFacts:
    return TicketFacts(author=row.author, private=bool(row.private))


def _render_ticket(project: ProjectContext, ticket: Row, form=None) -> str:
    engine = site().engine
    facts = _facts(ticket)
    notes = queries.comments_of(engine, ticket.id)
    editable = {
        note.uid
        for note in notes
        if project.may(Action.EDIT_COMMENT, ticket=facts, comment_author=note.author)
    }
    return render_template(
        "tickets/show.html",
        project=project,
        ticket=ticket,
        tags=queries.tags_of_tickets(engine, [ticket.id]).get(ticket.id, []),
        comments=notes,
        editable=editable,
        may_comment=project.may(Action.COMMENT_TICKET, ticket=facts),
        may_edit=project.may(Action.EDIT_TICKET, ticket=facts),
        may_triage=project.may(Action.TRIAGE_TICKET, ticket=facts),
        mentions=mentions_of(project, ticket.number),
        settings=settings_of(project.row),
        form=form or {},
    )


# -- writing ---------------------------------------------------------------


@project_route(blueprint, "/new_issue", methods=["GET", "POST"])
@login_required
def new_ticket(project: ProjectContext):
    if not project.may(Action.CREATE_TICKET):
        abort(403)
    if request.method == "GET":
        return render_template("tickets/new.html", project=project, form={})
    form = request.form
    title, body = form.get("title", "").strip(), _text(form, "body")
    tags, tags_problem = _tags(form.get("tags", ""))
    problem = (
        _title_problem(title) or _text_problem("description", body) or tags_problem
    )
    if problem:
        flash(problem, "error")
        return render_template("tickets/new.html", project=project, form=form), 400
    private = form.get("private") == "on"
    made = _write(
        project,
        lambda repo, who: repo.create_ticket(
            who, title, body, private=private, tags=tags
        ),
    )
    flash(f"Ticket #{made['number']} created.")
    return redirect(_ticket_url(project, made["number"]))


@project_route(blueprint, "/issue/<int:number>/comment", methods=["POST"])
def add_comment(project: ProjectContext, number: int):
    ticket = _writable_ticket(project, number, Action.COMMENT_TICKET)
    body = _text(request.form, "comment")
    problem = _text_problem("comment", body, required=True)
    if problem:
        return _show_again(project, ticket, problem)
    _write(project, lambda repo, who: repo.add_comment(ticket.uid, who, body))
    return redirect(_ticket_url(project, number))


@project_route(blueprint, "/issue/<int:number>/edit", methods=["POST"])
def edit_ticket(project: ProjectContext, number: int):
    ticket = _writable_ticket(project, number, Action.EDIT_TICKET)
    title = request.form.get("title", "").strip()
    body = _text(request.form, "body")
    problem = _title_problem(title) or _text_problem("description", body)
    if problem:
        return _show_again(project, ticket, problem)
    _write(
        project,
        lambda repo, who: repo.update_ticket(ticket.uid, who, title=title, body=body),
    )
    return redirect(_ticket_url(project, number))


@project_route(blueprint, "/issue/<int:number>/close", methods=["POST"])
def close_ticket(project: ProjectContext, number: int):
    ticket = _writable_ticket(project, number, Action.EDIT_TICKET)
    reason = request.form.get("reason", "").strip()
    settings = settings_of(project.row)
    problem = _line_problem("close reason", reason)
    problem = problem or settings.close_reason_problem(reason)
    if problem:
        return _show_again(project, ticket, problem)
    _write(
        project, lambda repo, who: repo.close_ticket(ticket.uid, who, reason or None)
    )
    return redirect(_ticket_url(project, number))


@project_route(blueprint, "/issue/<int:number>/reopen", methods=["POST"])
def reopen_ticket(project: ProjectContext, number: int):
    ticket = _writable_ticket(project, number, Action.EDIT_TICKET)
    _write(project, lambda repo, who: repo.reopen_ticket(ticket.uid, who))
    return redirect(_ticket_url(project, number))


@project_route(blueprint, "/issue/<int:number>/meta", methods=["POST"])
def triage_ticket(project: ProjectContext, number: int):
    ticket = _writable_ticket(project, number, Action.TRIAGE_TICKET)
    fields, problem = _triage_fields(request.form)
    problem = problem or _unlisted_problem(project, ticket, fields)
    if problem:
        return _show_again(project, ticket, problem)
    _write(project, lambda repo, who: repo.update_ticket(ticket.uid, who, **fields))
    return redirect(_ticket_url(project, number))


@project_route(blueprint, "/issue/<int:number>/comment/<uid>/edit", methods=["POST"])
def edit_comment(project: ProjectContext, number: int, uid: str):
    _require_login(project, number)
    ticket = _readable_ticket(project, number)
    note = _comment_of(ticket, uid)
    facts = _facts(ticket)
    if not project.may(Action.EDIT_COMMENT, ticket=facts, comment_author=note.author):
        abort(403)
    # Not "body": that name prefills the ticket's own edit form on a 400.
    body = _text(request.form, "text")
    problem = _text_problem("comment", body, required=True)
    if problem:
        return _show_again(project, ticket, problem)
    _write(
        project, lambda repo, who: repo.edit_comment(ticket.uid, note.uid, who, body)
    )
    return redirect(_ticket_url(project, number) + f"#comment-{note.uid}")


def _write(project: ProjectContext, change: Callable[[TicketRepo, Identity], T]) -> T:
    return write_as_viewer(project, RepoKind.TICKETS, TicketRepo, change)


def _writable_ticket(project: ProjectContext, number: int, action: Action) -> Row:
    """The ticket for a write by the signed-in user: anonymous visitors are
    sent to log in, a hidden ticket is 404, a refused action 403."""
    _require_login(project, number)
    ticket = _readable_ticket(project, number)
    if not project.may(action, ticket=_facts(ticket)):
        abort(403)
    return ticket


def _require_login(project: ProjectContext, number: int) -> None:
    # Checked before the ticket is looked up, so the answer is the same for
    # a private ticket and a missing one.
    if viewer() is None:
        target = _ticket_url(project, number)
        abort(redirect(url_for("accounts.login", next=target)))


def _show_again(project: ProjectContext, ticket: Row, problem: str):
    flash(problem, "error")
    return _render_ticket(project, ticket, form=request.form), 400


# -- form values -----------------------------------------------------------


def _text(form: MultiDict, name: str) -> str:
    # Browsers send textareas with CRLF; git should hold plain newlines.
    return form.get(name, "").replace("\r\n", "\n")


def _title_problem(title: str) -> str | None:
    if not title:
        return "The title is empty; give the ticket a title."
    if "\n" in title or "\r" in title:
        return "The title must be one line."
    if len(title) > MAX_LINE:
        return f"The title is {len(title)} characters long; at most {MAX_LINE}."
    return None


def _line_problem(what: str, value: str) -> str | None:
    if "\n" in value or "\r" in value:
        return f"The {what} must be one line."
    if len(value) > MAX_LINE:
        return f"The {what} is {len(value)} characters long; at most {MAX_LINE}."
    return None


def _text_problem(what: str, text: str, required: bool = False) -> str | None:
    if required and not text.strip():
        return f"The {what} is empty."
    if len(text) > MAX_TEXT:
        return f"The {what} is {len(text)} characters long; at most {MAX_TEXT}."
    return None


def _tags(value: str) -> tuple[list[str], str | None]:
    """Comma-separated tags, cleaned, and a problem if one is unusable."""
    tags = sorted({tag.strip() for tag in value.split(",") if tag.strip()})
    for tag in tags:
        problem = _line_problem(f"tag {tag[:40]!r}", tag)
        if problem:
            return [], problem
    return tags, None


def _triage_fields(form: MultiDict) -> tuple[dict, str | None]:
    """Tags, assignee, priority and milestone from the triage form."""
    tags, problem = _tags(form.get("tags", ""))
    assignee = form.get("assignee", "").strip() or None
    milestone = form.get("milestone", "").strip() or None
    priority, priority_problem = _priority(form.get("priority", "").strip())
    problem = (
        problem
        or priority_problem
        or _line_problem("milestone", milestone or "")
        or _assignee_problem(assignee)
    )
    fields = dict(tags=tags, assignee=assignee, priority=priority, milestone=milestone)
    return fields, problem


def _unlisted_problem(project: ProjectContext, ticket: Row, fields: dict) -> str | None:
    """A priority or milestone the project's ticket settings do not offer."""
    settings = settings_of(project.row)
    problem = settings.priority_problem(fields["priority"], ticket.priority)
    return problem or settings.milestone_problem(fields["milestone"], ticket.milestone)


def _priority(value: str) -> tuple[int | None, str | None]:
    # Bounded so that a number always fits the index's integer column.
    wrong = f"The priority must be a whole number from 0 to {MAX_PRIORITY}."
    if not value:
        return None, None
    if not value.isdigit() or not value.isascii():
        return None, wrong
    number = int(value)
    return (number, None) if number <= MAX_PRIORITY else (None, wrong)


def _assignee_problem(name: str | None) -> str | None:
    if name is None or queries.user(site().engine, name) is not None:
        return None
    return f"There is no user named {name[:100]!r}; the assignee needs an account."


# -- URLs ------------------------------------------------------------------


def _url(endpoint: str, project: ProjectContext, **kwargs) -> str:
    return url_for(endpoint, **project_url_args(project.fullname), **kwargs)


def _ticket_url(project: ProjectContext, number: int) -> str:
    return _url("tickets.show_ticket", project, number=number)
