"""The page that opens a pull request: `/<project>/diff/<to>..<from>`.

It shows what merging branch <from> of this project into branch <to> would
bring, the commits and the diff, with a form that opens the pull request.
On a fork the target is the project it was forked from, as in Pagure: the
fork's branch is proposed to the parent's <to>.

Branch names may hold slashes, dots, `+`, `@` and any letter, but never
"..", so the URL is split where that leaves two valid names, the last such
place first; the first split naming two existing branches wins. A name git
would refuse (a leading "-", say) is a 400 before any git call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pygit2
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from gitforge.index import queries
from gitforge.index.schema import pull_requests
from gitforge.policy import Action
from gitforge.store import diffs, merging
from gitforge.store.code import MAX_REF_LENGTH, CodeRepo
from gitforge.store.errors import InvalidName, NotFound
from gitforge.store.layout import RepoKind, repo_path
from gitforge.tasks.pull_requests import Branch, PullRequestError, open_pull_request
from gitforge.web import ranges
from gitforge.web.context import (
    ProjectContext,
    identity,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.request_forms import title_problem
from gitforge.web.ticket_views import _text, _text_problem

log = logging.getLogger(__name__)
blueprint = Blueprint("compare", __name__)

SHOWN_COMMITS = 100
SHOWN_BRANCHES = 500  # in the lists of the "New pull request" form


@dataclass(frozen=True)
class Proposal:
    """Branch `source_branch` of `source` proposed for `target_branch` of
    `target`, and what it brings: the commits of target..head (newest
    first) and the diff from where it left the target."""

    source: ProjectContext
    target: ProjectContext
    source_branch: str
    target_branch: str
    head: str
    base: str
    commits: ranges.CommitList
    diff: diffs.CommitDiff
    files: tuple[ranges.FileRow, ...]

    @property
    def title(self) -> str:
        """The title a new pull request starts with: its one commit's
        summary, else the branch's name."""
        commits = self.commits.commits
        if len(commits) == 1 and commits[0].summary:
            return commits[0].summary[:255]
        return self.source_branch[:255]


@project_route(blueprint, "/diff")
def choose_branches(project: ProjectContext):
    """Where the list page's "New pull request" form leads."""
    source = request.args.get("from", "").strip()
    into = request.args.get("to", "").strip()
    if not source or not into:
        abort(400, "Choose the branch to merge (from) and the one to merge it into.")
    return redirect(compare_url(project.fullname, into, source))


@project_route(blueprint, "/diff/<path:spec>", methods=["GET", "POST"])
def compare(project: ProjectContext, spec: str):
    if request.method == "POST" and viewer() is None:
        return redirect(url_for("accounts.login", next=request.path))
    proposal = _proposal(project, target_of(project), spec)
    if request.method == "POST":
        return _open(proposal)
    return _render(proposal, {})


def _open(proposal: Proposal):
    """Open the pull request the form describes."""
    if not proposal.target.may(Action.OPEN_PULL_REQUEST):
        abort(403)
    title = request.form.get("title", "").strip()
    description = _text(request.form, "description")
    problem = title_problem(title) or _text_problem("description", description)
    if not problem and not proposal.commits.commits:
        problem = "There is nothing to merge: the target has every commit already."
    if problem:
        flash(problem, "error")
        return _render(proposal, request.form), 400
    source = Branch(proposal.source.fullname, proposal.source_branch)
    try:
        made = open_pull_request(site().config, proposal.target.fullname, identity(),
                                 source, proposal.target_branch, title,
                                 description)  # fmt: skip
    except PullRequestError as err:
        flash(f"The pull request was not opened: {err}.", "error")
        return _render(proposal, request.form), 400
    flash(f"Pull request #{made['number']} opened.")
    args = project_url_args(proposal.target.fullname)
    return redirect(url_for("requests.show_request", **args, number=made["number"]))


def _render(proposal: Proposal, form) -> str:
    return render_template(
        "requests/compare.html",
        project=proposal.source,
        proposal=proposal,
        form=form,
        action=compare_url(
            proposal.source.fullname, proposal.target_branch, proposal.source_branch
        ),
        already=_open_request_number(proposal),
        may_open=proposal.target.may(Action.OPEN_PULL_REQUEST),
    )


# -- what is proposed --------------------------------------------------------


def target_of(project: ProjectContext) -> ProjectContext:
    """Where this project's branches are proposed: a fork's parent (when
    the viewer may read it), else the project itself."""
    parent = getattr(project.row, "parent", None)
    if not parent:
        return project
    row = queries.project(site().engine, parent)
    if row is None:
        return project
    target = ProjectContext(row, queries.facts(row))
    return target if target.may(Action.READ_PROJECT) else project


def _proposal(project: ProjectContext, target: ProjectContext, spec: str) -> Proposal:
    with _code(project) as source_code, _code(target) as target_code:
        into, branch = split_spec(spec, source_code.repo, target_code.repo)
        if target.fullname == project.fullname and into == branch:
            abort(400, "A branch cannot be merged into itself.")
        head = merging.branch_tip(source_code.repo, branch)
        target_tip = merging.branch_tip(target_code.repo, into)
        repo = target_code.repo
        ranges.borrow_objects(repo, source_code.path)
        base = ranges.merge_base(repo, target_tip, head)
        max_bytes = site().config.get_int("max_render_bytes")
        diff, files = ranges.file_rows(repo, base, head, max_bytes)
        commits = ranges.commits_between(repo, target_tip, head, SHOWN_COMMITS)
    return Proposal(project, target, branch, into, head, base, commits, diff, files)


def split_spec(
    spec: str, source: pygit2.Repository, target: pygit2.Repository
) -> tuple[str, str]:
    """(target branch, source branch) from `<to>..<from>`: 400 when no
    split gives two valid branch names, 404 when none names two existing
    branches. Invalid names never reach a repository."""
    if len(spec) > 2 * MAX_REF_LENGTH + 2:  # keeps the splitting below cheap
        abort(400, "The branch names are too long.")
    places = [i for i in range(len(spec) - 1, -1, -1) if spec.startswith("..", i)]
    splits = [(spec[:i], spec[i + 2 :]) for i in places]
    valid = [pair for pair in splits if all(map(_valid_branch_name, pair))]
    if not valid:
        abort(400, f"{spec[:200]!r} does not name two valid branches as <to>..<from>.")
    for into, branch in valid:
        if _has_branch(target, into) and _has_branch(source, branch):
            return into, branch
    abort(404, "There are no such branches to compare.")


def _valid_branch_name(name: str) -> bool:
    try:
        merging.check_branch_name(name)
    except InvalidName:
        return False
    return True


def _has_branch(repo: pygit2.Repository, name: str) -> bool:
    try:
        merging.branch_tip(repo, name)
    except (NotFound, InvalidName):
        return False
    return True


def _open_request_number(proposal: Proposal) -> int | None:
    """The number of an open pull request of the same branches, if any."""
    columns = pull_requests.c
    query = select(columns.number).where(
        columns.project_id == proposal.target.row.id,
        columns.status == "Open",
        columns.source_repo == proposal.source.fullname,
        columns.source_branch == proposal.source_branch,
        columns.target_branch == proposal.target_branch,
    )
    with site().engine.connect() as conn:
        return conn.execute(query.limit(1)).scalar()


def _code(project: ProjectContext) -> CodeRepo:
    return CodeRepo(repo_path(site().config.repositories, RepoKind.CODE,
                              project.fullname))  # fmt: skip


# -- links -------------------------------------------------------------------


def compare_url(fullname: str, into: str, branch: str) -> str:
    """The page proposing `branch` for `into`; url_for quotes the names."""
    args = project_url_args(fullname)
    return url_for("compare.compare", **args, spec=f"{into}..{branch}")


@blueprint.app_template_global()
def new_request_choices(project: ProjectContext) -> dict:
    """What the list page's "New pull request" form offers: this
    project's branches to merge, and the target's to merge them into."""
    target = target_of(project)
    with _code(project) as source_code, _code(target) as target_code:
        return {
            "target": target.fullname,
            "sources": _branch_names(source_code),
            "targets": _branch_names(target_code),
            "default": target_code.default_branch(),
        }


def _branch_names(code: CodeRepo) -> list[str]:
    names = sorted(code.repo.branches.local, key=str.casefold)
    return names[:SHOWN_BRANCHES]
