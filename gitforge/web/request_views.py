"""Pull request pages: the list, one pull request in three tabs
(discussion, commits, files) and its .patch and .diff downloads.

Pages read the index. Commits, diffs and the lines inline comments are
about come from the target project's code repo: it holds every pull
request's head as refs/pull/<n>/head, so one from a fork reads from one
repository too. The forms that write are in request_forms; the page that
opens a pull request is in compare_views.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass

import pygit2
from flask import (
    Blueprint,
    abort,
    make_response,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Row, Table, select
from werkzeug.datastructures import MultiDict

from gitforge.index import queries, request_queries
from gitforge.index.request_queries import RequestFilter
from gitforge.index.schema import request_flags, request_tags
from gitforge.policy import Action, may
from gitforge.store import merging
from gitforge.store.code import CodeRepo
from gitforge.store.errors import StoreError
from gitforge.store.formats import MAX_NUMBER
from gitforge.store.inline import is_outdated, line_at
from gitforge.store.layout import RepoKind, repo_path
from gitforge.web import merge_progress, ranges
from gitforge.web.code_views import _text_download
from gitforge.web.context import (
    ProjectContext,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.mentions import mentions_of

log = logging.getLogger(__name__)
blueprint = Blueprint("requests", __name__)

PER_PAGE = 50
MAX_PAGE = 100_000  # past it the offset no longer fits the database
MAX_FILTER_TAGS = 20  # each tag is a subquery; keep the SQL small
SHOWN_COMMITS = 250  # on the commits tab; the .patch has them all
PATCH_COMMITS = 1000
MERGE_RELOAD_SECONDS = 2
_STATUS_ARGS = {"open": "Open", "merged": "Merged", "closed": "Closed", "all": None}
# Where a line number of the files tab leads: the same tab, with the
# comment form under that file (relative, so it works under every prefix).
_LINE_LINK = "?file={index}&side={{side}}&line={{line}}#new-comment"


@dataclass(frozen=True)
class Entry:
    """One item of the discussion: a comment, a branch update or a flag.
    An inline comment carries the line it is about and whether that line
    has changed since."""

    kind: str
    time: str
    row: Row
    snippet: str | None = None
    outdated: bool = False


@dataclass(frozen=True)
class MergeState:
    """What merging an open pull request takes now: `kind` as in
    merging.MergeStatus, or None when not computed for the current head
    and target (or the target branch is gone)."""

    kind: str | None
    conflicts: tuple[str, ...] = ()
    target_gone: bool = False


# -- the list --------------------------------------------------------------


@project_route(blueprint, "/pull-requests")
def list_requests(project: ProjectContext):
    engine = site().engine
    wanted = _request_filter(request.args)
    rows, total = request_queries.list_requests(engine, project.row, wanted)
    ids = [row.id for row in rows]

    def filter_url(**changes) -> str:
        """This list with some filters changed; back to page 1 unless the
        page is one of the changes."""
        changed = dataclasses.replace(wanted, **{"page": 1, **changes})
        return _url("requests.list_requests", project, **_list_args(changed))

    return render_template(
        "requests/list.html",
        project=project,
        requests=rows,
        tags=_by_request(request_tags, ids, request_tags.c.tag),
        flags=_by_request(request_flags, ids, request_flags.c.name),
        total=total,
        counts=request_queries.request_status_counts(engine, project.row),
        wanted=wanted,
        sorts=list(request_queries.REQUEST_SORTS),
        last_page=max(1, -(-total // PER_PAGE)),
        filter_url=filter_url,
        may_open=project.may(Action.OPEN_PULL_REQUEST),
    )


def _request_filter(args: MultiDict) -> RequestFilter:
    """The list's filters from the query string; unknown values fall back
    to the defaults, as they come from hand-edited URLs."""
    status = _STATUS_ARGS.get(args.get("status", "open").lower(), "Open")
    tags = tuple(dict.fromkeys(t.strip() for t in args.getlist("tags") if t.strip()))
    sort = args.get("sort", "newest")
    page = args.get("page", 1, type=int) or 1
    return RequestFilter(
        status=status,
        tags=tags[:MAX_FILTER_TAGS],
        assignee=args.get("assignee", "").strip() or None,
        author=args.get("author", "").strip() or None,
        sort=sort if sort in request_queries.REQUEST_SORTS else "newest",
        page=min(max(page, 1), MAX_PAGE),
        per_page=PER_PAGE,
    )


def _list_args(wanted: RequestFilter) -> dict:
    """The query string for `wanted`, leaving out the defaults."""
    status = "all" if wanted.status is None else wanted.status
    return {
        "status": None if status == "Open" else status.lower(),
        "tags": list(wanted.tags),
        "assignee": wanted.assignee,
        "author": wanted.author,
        "sort": None if wanted.sort == "newest" else wanted.sort,
        "page": None if wanted.page == 1 else wanted.page,
    }


def _by_request(table: Table, ids: list[int], order) -> dict[int, list[Row]]:
    """Rows of a per-request table for many pull requests, in one query.
    Not yet in request_queries, which has the one-request form only."""
    if not ids:
        return {}
    query = select(table).where(table.c.request_id.in_(ids)).order_by(order)
    with site().engine.connect() as conn:
        rows = conn.execute(query).all()
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.request_id, []).append(row)
    return grouped


# -- one pull request --------------------------------------------------------


@project_route(blueprint, "/pull-request/<int:number>")
def show_request(project: ProjectContext, number: int):
    pr = readable_request(project, number)
    task_id = request.args.get("merge")
    outcome = merge_progress.progress(task_id, project.fullname, number)
    page = render_request(project, pr, "discussion", outcome=outcome)
    response = make_response(page)
    if outcome is merge_progress.RUNNING:
        response.headers["Refresh"] = str(MERGE_RELOAD_SECONDS)
    return response


@project_route(blueprint, "/pull-request/<int:number>/commits")
def request_commits(project: ProjectContext, number: int):
    return render_request(project, readable_request(project, number), "commits")


@project_route(blueprint, "/pull-request/<int:number>/files")
def request_files(project: ProjectContext, number: int):
    return render_request(project, readable_request(project, number), "files")


@project_route(blueprint, "/pull-request/<int:number>.patch")
def request_patch(project: ProjectContext, number: int):
    pr = readable_request(project, number)
    with target_code(project) as code:
        try:
            data = ranges.patch_mails(code.repo, pr.base, pr.head, PATCH_COMMITS)
        except ValueError:
            abort(400, f"This pull request has more than {PATCH_COMMITS} commits; "
                       f"fetch refs/pull/{number}/head instead.")  # fmt: skip
    return _text_download(data, f"{pr.base}-{pr.head}-patch")


@project_route(blueprint, "/pull-request/<int:number>.diff")
def request_diff(project: ProjectContext, number: int):
    pr = readable_request(project, number)
    with target_code(project) as code:
        data = ranges.diff_text(code.repo, pr.base, pr.head)
    return _text_download(data, f"{pr.base}-{pr.head}-diff")


def readable_request(project: ProjectContext, number: int) -> Row:
    """The pull request's index row, or 404. (Reading the project was
    checked when it was loaded; pull requests have no privacy of their
    own.)"""
    if number > MAX_NUMBER:  # no such pull request, and the database would choke
        abort(404)
    row = request_queries.request(site().engine, project.row, number)
    if row is None:
        abort(404)
    return row


def target_code(project: ProjectContext) -> CodeRepo:
    """The project's code repo, which holds its pull requests' heads."""
    return CodeRepo(repo_path(site().config.repositories, RepoKind.CODE,
                              project.fullname))  # fmt: skip


def render_request(
    project: ProjectContext, pr: Row, tab: str, form=None, outcome=None
) -> str:
    """One tab of a pull request's page; `form` refills a refused form."""
    form = form or MultiDict()
    with target_code(project) as code:
        parts = _TABS[tab](pr, code.repo, form)
        merge = merge_state(pr, code.repo)
    return render_template(
        f"requests/{tab}.html",
        project=project,
        pr=pr,
        tab=tab,
        form=form,
        merge=merge,
        outcome=outcome,
        tags=request_queries.tags_of_request(site().engine, pr.id),
        mentions=mentions_of(project, pr.number),
        **permissions(project, pr),
        **parts,
    )


def permissions(project: ProjectContext, pr: Row) -> dict[str, bool]:
    return {
        "may_comment": project.may(Action.COMMENT_PULL_REQUEST),
        "may_edit": project.may(Action.EDIT_PULL_REQUEST, comment_author=pr.author),
        "may_triage": may_triage(project, pr),
        "may_merge": project.may(Action.MERGE_PULL_REQUEST, ref=pr.target_branch),
        "may_delete_source": may_delete_source(pr),
    }


def may_triage(project: ProjectContext, pr: Row) -> bool:
    # Not yet: the policy has no triage action for pull requests; tags and
    # the assignee are for those who may merge it.
    return project.may(Action.MERGE_PULL_REQUEST, ref=pr.target_branch)


def may_delete_source(pr: Row) -> bool:
    """Whether the viewer may delete the source branch on merging: they
    must be allowed to delete it in the project (or fork) it belongs to."""
    row = queries.project(site().engine, pr.source_repo)
    if row is None:
        return False
    facts = queries.facts(row)
    return may(viewer(), Action.REWRITE_BRANCH, facts, ref=pr.source_branch)


def merge_state(pr: Row, repo: pygit2.Repository) -> MergeState | None:
    """The merge status stored for the pull request, if it is for the
    current head and target; None when the pull request is not open."""
    if pr.status != "Open":
        return None
    try:
        target = merging.branch_tip(repo, pr.target_branch)
    except StoreError:
        return MergeState(None, target_gone=True)
    if not pr.merge_kind or (pr.merge_head, pr.merge_target) != (pr.head, target):
        return MergeState(None)
    return MergeState(pr.merge_kind, tuple(json.loads(pr.merge_conflicts or "[]")))


# -- the tabs ----------------------------------------------------------------


def _discussion(pr: Row, repo: pygit2.Repository, _form: MultiDict) -> dict:
    engine = site().engine
    flags = request_queries.flags_of_request(engine, pr.id)
    entries = [
        comment_entry(note, pr, repo)
        for note in request_queries.comments_of_request(engine, pr.id)
    ]
    entries += [
        Entry("update", update.created, update)
        for update in request_queries.updates_of_request(engine, pr.id)
    ]
    entries += [Entry("flag", flag.updated, flag) for flag in flags]
    entries.sort(key=lambda entry: (entry.time, entry.row.uid))
    return {"entries": entries, "flags": flags}


def comment_entry(note: Row, pr: Row, repo: pygit2.Repository) -> Entry:
    """A comment; an inline one with its line and whether it is outdated."""
    if note.inline_path is None:
        return Entry("comment", note.created, note)
    inline = {"commit": note.inline_commit, "path": note.inline_path,
              "line": note.inline_line, "side": note.inline_side}  # fmt: skip
    snippet = line_at(repo, note.inline_commit, note.inline_path, note.inline_line)
    outdated = is_outdated(repo, inline, pr.head, pr.base)
    return Entry("comment", note.created, note, snippet, outdated)


def _commits(pr: Row, repo: pygit2.Repository, _form: MultiDict) -> dict:
    return {"history": ranges.commits_between(repo, pr.base, pr.head, SHOWN_COMMITS)}


def _files(pr: Row, repo: pygit2.Repository, form: MultiDict) -> dict:
    max_bytes = site().config.get_int("max_render_bytes")
    diff, rows = ranges.file_rows(repo, pr.base, pr.head, max_bytes, _LINE_LINK)
    inline: dict[str, list[Entry]] = {}
    for note in request_queries.comments_of_request(site().engine, pr.id):
        if note.inline_path is not None:
            entry = comment_entry(note, pr, repo)
            inline.setdefault(note.inline_path, []).append(entry)
    chosen = chosen_line(pr, repo, rows, form or request.args)
    return {"diff": diff, "files": rows, "inline": inline, "chosen": chosen}


def chosen_line(
    pr: Row, repo: pygit2.Repository, rows: tuple, values: MultiDict
) -> dict | None:
    """The line the comment form is for: from a line number's link
    (`file`, `side`, `line`) or a refused form (`path`, `side`, `line`).
    None when there is none, or it names no line of the diff's files."""
    side = values.get("side")
    line = values.get("line", type=int)
    if side not in ("old", "new") or line is None or not 1 <= line <= MAX_NUMBER:
        return None
    paths = [r.diff.new_path if side == "new" else r.diff.old_path for r in rows]
    index = values.get("file", type=int)
    path = values.get("path")
    if path is None and index is not None and 1 <= index <= len(rows):
        path = paths[index - 1]
    if path not in paths:
        return None
    commit = pr.head if side == "new" else pr.base
    snippet = line_at(repo, commit, path, line)
    if snippet is None:
        return None
    return {"index": paths.index(path) + 1, "path": path, "side": side,
            "line": line, "commit": commit, "snippet": snippet}  # fmt: skip


_TABS = {"discussion": _discussion, "commits": _commits, "files": _files}


def _url(endpoint: str, project: ProjectContext, **kwargs) -> str:
    return url_for(endpoint, **project_url_args(project.fullname), **kwargs)
