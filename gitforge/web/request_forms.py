"""Pull request forms: comment (in general or on a line), edit, tags and
assignee, close, reopen, merge.

Each is a POST carrying the session's CSRF token (context.check_csrf checks
every form) from a signed-in user the policy allows. Comments and edits are
commits to the project's request repo through RequestRepo, followed at once
by a sync of that repo, so the page the writer returns to shows the change.
Close, reopen and merge are the operations of gitforge.tasks.pull_requests,
which sync by themselves; a merge runs as a task that the page follows
(see merge_progress).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlalchemy import Row
from werkzeug.datastructures import MultiDict

from gitforge.policy import Action
from gitforge.store.documents import Identity
from gitforge.store.formats import MAX_NUMBER
from gitforge.store.inline import line_at
from gitforge.store.layout import RepoKind
from gitforge.store.requests import RequestRepo
from gitforge.tasks.pull_requests import (
    PullRequestError,
    close_pull_request,
    merge_pull_request,
    reopen_pull_request,
)
from gitforge.web import merge_progress
from gitforge.web.context import (
    ProjectContext,
    identity,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.ranges import changed_paths
from gitforge.web.request_views import (
    may_delete_source,
    may_triage,
    readable_request,
    render_request,
    target_code,
)

# Not yet: the form value helpers live in ticket_views; a forms module
# shared by both would be their better home.
from gitforge.web.ticket_views import (
    _assignee_problem,
    _line_problem,
    _tags,
    _text,
    _text_problem,
)
from gitforge.web.writes import write_as_viewer

log = logging.getLogger(__name__)
blueprint = Blueprint("request_forms", __name__)

T = TypeVar("T")


@project_route(blueprint, "/pull-request/<int:number>/comment", methods=["POST"])
def add_comment(project: ProjectContext, number: int):
    pr = _writable(project, number, Action.COMMENT_PULL_REQUEST)
    body = _text(request.form, "comment")
    on_line = "path" in request.form
    inline, problem = None, None
    if on_line:
        inline, problem = _inline_target(project, pr, request.form)
    problem = _text_problem("comment", body, required=True) or problem
    tab = "files" if on_line else "discussion"
    if problem:
        return _show_again(project, pr, problem, tab)
    made = _write(
        project, lambda repo, who: repo.add_comment(pr.uid, who, body, inline=inline)
    )
    page = "requests.request_files" if on_line else "requests.show_request"
    return redirect(_request_url(project, number, page) + f"#comment-{made['uid']}")


@project_route(blueprint, "/pull-request/<int:number>/edit", methods=["POST"])
def edit_request(project: ProjectContext, number: int):
    pr = _writable(project, number, Action.EDIT_PULL_REQUEST)
    title = request.form.get("title", "").strip()
    description = _text(request.form, "description")
    problem = title_problem(title) or _text_problem("description", description)
    if problem:
        return _show_again(project, pr, problem)
    _write(
        project,
        lambda repo, who: repo.update_request(
            pr.uid, who, title=title, description=description
        ),
    )
    return redirect(_request_url(project, number))


@project_route(blueprint, "/pull-request/<int:number>/meta", methods=["POST"])
def triage_request(project: ProjectContext, number: int):
    _require_login(project, number)
    pr = readable_request(project, number)
    if not may_triage(project, pr):
        abort(403)
    tags, problem = _tags(request.form.get("tags", ""))
    assignee = request.form.get("assignee", "").strip() or None
    problem = problem or _assignee_problem(assignee)
    if problem:
        return _show_again(project, pr, problem)
    _write(
        project,
        lambda repo, who: repo.update_request(
            pr.uid, who, tags=tags, assignee=assignee
        ),
    )
    return redirect(_request_url(project, number))


@project_route(blueprint, "/pull-request/<int:number>/close", methods=["POST"])
def close_request(project: ProjectContext, number: int):
    pr = _writable(project, number, Action.EDIT_PULL_REQUEST)
    return _change_status(project, pr, close_pull_request)


@project_route(blueprint, "/pull-request/<int:number>/reopen", methods=["POST"])
def reopen_request(project: ProjectContext, number: int):
    pr = _writable(project, number, Action.EDIT_PULL_REQUEST)
    return _change_status(project, pr, reopen_pull_request)


@project_route(blueprint, "/pull-request/<int:number>/merge", methods=["POST"])
def merge_request(project: ProjectContext, number: int):
    """Queue the merge and send the user to the page that follows it."""
    pr = _writable(project, number, Action.MERGE_PULL_REQUEST)
    if pr.status != "Open":
        problem = f"The pull request is {pr.status.lower()}; only open ones merge."
        return _show_again(project, pr, problem, status=409)
    # The source branch may be in someone else's fork: only those who may
    # push there may have it deleted.
    wanted = request.form.get("delete_source") == "on"
    delete_source = wanted and may_delete_source(pr)
    home = str(site().config.home)
    queued = merge_pull_request(
        home, project.fullname, pr.uid, viewer().name, delete_source
    )
    merge_progress.started(queued.id, project.fullname, number)
    log.info("%s queued the merge of #%d of %s", viewer().name, number,
             project.fullname)  # fmt: skip
    url = _request_url(project, number, merge=queued.id)
    return redirect(url + "#merge")


# -- helpers ---------------------------------------------------------------


def title_problem(title: str) -> str | None:
    if not title:
        return "The title is empty; give the pull request a title."
    return _line_problem("title", title)


def _inline_target(
    project: ProjectContext, pr: Row, form: MultiDict
) -> tuple[dict | None, str | None]:
    """The line an inline comment is about, checked against the pull
    request: a line of the head (new side) or the base (old side) that
    exists there; else a problem to show."""
    side, commit, path = form.get("side"), form.get("commit", ""), form.get("path")
    line = form.get("line", type=int)
    if side not in ("old", "new") or line is None or not 1 <= line <= MAX_NUMBER:
        return None, "Choose a line of the old or the new side to comment on."
    if commit != (pr.head if side == "new" else pr.base):
        return None, (
            "The pull request changed since the page was loaded; this is the "
            "current diff."
        )
    with target_code(project) as code:
        if path not in changed_paths(code.repo, pr.base, pr.head):
            return None, f"{path[:100]!r} is not changed by this pull request."
        if line_at(code.repo, commit, path, line) is None:
            return None, f"There is no line {line} in {path[:100]!r} to comment on."
    return {"commit": commit, "path": path, "line": line, "side": side}, None


def _change_status(project: ProjectContext, pr: Row, operation: Callable):
    """Close or reopen through the pull request operations."""
    try:
        operation(site().config, project.fullname, pr.uid, identity())
    except PullRequestError as err:
        message = str(err)
        sentence = message[:1].upper() + message[1:] + "."
        return _show_again(project, pr, sentence, status=409)
    return redirect(_request_url(project, pr.number))


def _write(project: ProjectContext, change: Callable[[RequestRepo, Identity], T]) -> T:
    return write_as_viewer(project, RepoKind.REQUESTS, RequestRepo, change)


def _writable(project: ProjectContext, number: int, action: Action) -> Row:
    """The pull request for a write by the signed-in user: anonymous
    visitors are sent to log in, an unknown number is 404, a refused
    action 403. The author counts for EDIT_PULL_REQUEST."""
    _require_login(project, number)
    pr = readable_request(project, number)
    if not project.may(action, comment_author=pr.author, ref=pr.target_branch):
        abort(403)
    return pr


def _require_login(project: ProjectContext, number: int) -> None:
    # Before the pull request is looked up: the same answer whether or not
    # it exists.
    if viewer() is None:
        target = _request_url(project, number)
        abort(redirect(url_for("accounts.login", next=target)))


def _show_again(
    project: ProjectContext,
    pr: Row,
    problem: str,
    tab: str = "discussion",
    status: int = 400,
):
    flash(problem, "error")
    return render_request(project, pr, tab, form=request.form), status


def _request_url(
    project: ProjectContext,
    number: int,
    endpoint: str = "requests.show_request",
    **args,
) -> str:
    return url_for(endpoint, **project_url_args(project.fullname), number=number,
                   **args)  # fmt: skip
