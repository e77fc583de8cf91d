"""Code pages: summary, tree, blob, raw, commits, one commit, branches, tags.

URLs follow Pagure: `/<project>/tree/<ref>/f/<path>`, `/blob/<ref>/f/<path>`,
`/raw/<ref>/f/<path>`, `/commits/<branch>`, `/c/<commit id>`. Every page
opens the project's code repo for the request and closes it at the end.

Immutable things are cached by their id (see page_cache), in a bounded
in-memory cache: a file's HTML by blob id, a commit's diff by commit id, a
folder's entries by tree id and a page of history by the commit it starts
from. Their pages carry an ETag so that a browser revalidates for free.
Highlighting is in highlight. Files from the repository are never served as
active content of the forge's origin: raw downloads are plain text, raster
images or attachments.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from huey.exceptions import ResultTimeout, TaskException
from markupsafe import Markup

from gitforge.index import queries
from gitforge.policy import Action, may
from gitforge.store import diffs
from gitforge.store.code import (
    MAX_REF_LENGTH,
    CodeRepo,
    CommitDetail,
    CommitInfo,
    LogPage,
    Person,
    TreeEntry,
    looks_binary,
    prefix_lengths,
)
from gitforge.store.errors import NotFound
from gitforge.store.layout import RepoKind, fork_fullname, repo_path
from gitforge.tasks.forks import fork_project_task
from gitforge.web.context import (
    ProjectContext,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.highlight import highlight_lines, lexer_name, patch_html, warm_up
from gitforge.web.markup import render_markdown
from gitforge.web.page_cache import (
    RenderCache,
    not_modified,
    page_etag,
    remember,
    revalidated,
)

log = logging.getLogger(__name__)
blueprint = Blueprint("code", __name__)

PER_PAGE = 50
MAX_PAGE = 100_000
SUMMARY_COMMITS = 10
SUMMARY_BRANCHES = 5
SUMMARY_FORKS = 20  # Not yet: a page listing every fork
# How long a fork form waits for its task before it sends the user to the
# fork's page anyway, which exists once the task is done.
FORK_WAIT_SECONDS = 30
# Per process. A 100 KB Python file renders to about 550 KB of HTML.
CACHE_BYTES = 64 * 1024 * 1024

_MARKDOWN_SUFFIXES = (".md", ".markdown")
# Raster images are inert even if the bytes are something else, since the
# type is sent with nosniff. SVG is missing on purpose: it can carry script.
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".ico": "image/x-icon",
}
_RAW_POLICY = "sandbox; default-src 'none'"
_COMMIT_ID = re.compile(r"[0-9a-fA-F]{4,40}")


# -- the render cache --------------------------------------------------------

# One per process. bench/bench_pages.py empties it by putting a new one
# here, so `_remember` looks it up on every call.
rendered = RenderCache(CACHE_BYTES)

T = TypeVar("T")


def _remember(key: tuple, make: Callable[[], T], size: Callable[[T], int]) -> T:
    """What `make` returns for `key`, made once and kept in `rendered`."""
    return remember(rendered, key, make, size)


@dataclass(frozen=True)
class FileView:
    """How a file is shown: `kind` is code, markdown, binary, empty,
    submodule or too_big; `html` and `lines` are set for code and
    markdown."""

    kind: str
    html: Markup | None = None
    lines: int = 0

    @property
    def size(self) -> int:
        return len(self.html or "") + 100


# -- pages -------------------------------------------------------------------


@project_route(blueprint, "")
def summary(project: ProjectContext):
    with _open(project) as code:
        head = _default_head(code)
        if head is None:
            return _empty_page(project, code)
        ref, commit = head
        branches = code.branches()
        return render_template(
            "code/summary.html",
            project=project,
            ref=ref,
            commit=commit,
            entries=_tree(code, commit, code.entry(commit, "")),
            readme=_readme_html(code, commit),
            branches=branches[:SUMMARY_BRANCHES],
            branch_count=len(branches),
            commits=_log(code, commit, 1, SUMMARY_COMMITS, None).commits,
            clone=_clone_urls(project),
            **_fork_facts(project),
        )


@project_route(blueprint, "/fork", methods=["POST"])
def fork(project: ProjectContext):
    """Make the signed-in user's fork of the project (a task), and send
    them to it."""
    me = viewer()
    if me is None:
        summary_url = url_for("code.summary", **project_url_args(project.fullname))
        return redirect(url_for("accounts.login", next=summary_url))
    if not project.may(Action.FORK_PROJECT):
        abort(403)
    fullname = fork_fullname(me.name, project.fullname)
    fork_url = url_for("code.summary", **project_url_args(fullname))
    if queries.project(site().engine, fullname) is not None:
        flash(f"You already have a fork of {project.fullname}: {fullname}.", "error")
        return redirect(fork_url)
    home = str(site().config.home)
    queued = fork_project_task(home, project.fullname, me.name)
    try:
        queued.get(blocking=True, timeout=FORK_WAIT_SECONDS)
    except TaskException as err:
        log.warning("forking %s for %s failed: %s", project.fullname, me.name, err)
        flash(f"Your fork of {project.fullname} could not be made.", "error")
        return redirect(url_for("code.summary", **project_url_args(project.fullname)))
    except ResultTimeout:
        flash("Your fork is still being made: reload this page in a moment.")
    return redirect(fork_url)


@project_route(blueprint, "/tree", "/tree/<path:spec>")
def tree(project: ProjectContext, spec: str | None = None):
    with _open(project) as code:
        if spec is None:
            head = _default_head(code)
            if head is None:
                return _empty_page(project, code)
            (ref, commit), path = head, ""
        else:
            commit, ref, path = split_spec(code, spec)
        entry = code.entry(commit, path)
        if entry.kind != "tree":
            return redirect(code_url("code.blob", project.fullname, ref, path))
        etag = page_etag(project, entry.id, ref)
        unchanged = not_modified(etag)
        if unchanged is not None:
            return unchanged
        entries = _tree(code, commit, entry)
    page = render_template(
        "code/tree.html", project=project, ref=ref, path=path, entries=entries
    )
    return revalidated(make_response(page), etag)


@project_route(blueprint, "/blob/<path:spec>")
def blob(project: ProjectContext, spec: str):
    with _open(project) as code:
        commit, ref, path = split_spec(code, spec)
        entry = code.entry(commit, path)
        if entry.kind == "tree":
            return redirect(code_url("code.tree", project.fullname, ref, path))
        source = bool(request.args.get("source"))
        etag = page_etag(project, entry.id)
        unchanged = not_modified(etag)
        if unchanged is not None:
            return unchanged
        view = _file_view(code, commit, entry, source)
    page = render_template(
        "code/blob.html",
        project=project,
        ref=ref,
        path=path,
        entry=entry,
        view=view,
        source=source,
        markdown=_is_markdown(entry.name),
    )
    return revalidated(make_response(page), etag)


@project_route(blueprint, "/raw/<path:spec>")
def raw(project: ProjectContext, spec: str):
    with _open(project) as code:
        commit, _ref, path = split_spec(code, spec)
        entry = code.entry(commit, path)
        if entry.kind not in ("blob", "symlink"):
            abort(404)
        unchanged = not_modified(entry.id)
        if unchanged is not None:
            return _inert(unchanged)
        # Not yet: big files are read whole into memory, not streamed.
        data = code.blob(commit, path).data
    return _raw_response(entry, data)


@project_route(blueprint, "/commits", "/commits/<path:branch>")
def commits(project: ProjectContext, branch: str | None = None):
    number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    path = request.args.get("path", "").strip("/") or None
    with _open(project) as code:
        if branch is None:
            head = _default_head(code)
            if head is None:
                return _empty_page(project, code)
            ref, commit = head
        else:
            ref, commit = branch, code.resolve(branch)
        etag = page_etag(project, commit.id, ref)
        unchanged = not_modified(etag)
        if unchanged is not None:
            return unchanged
        history = _log(code, commit, number, PER_PAGE, path)
    page = render_template(
        "code/commits.html",
        project=project,
        ref=ref,
        branch=branch,
        path=path,
        history=history,
    )
    return revalidated(make_response(page), etag)


@project_route(blueprint, "/c/<sha>")
def commit(project: ProjectContext, sha: str):
    with _open(project) as code:
        info = _commit_by_id(code, sha)
        etag = page_etag(project, info.id)
        unchanged = not_modified(etag)
        if unchanged is not None:
            return unchanged
        detail, patches = _commit_view(code, info)
    page = render_template(
        "code/commit.html",
        project=project,
        commit=info,
        diff=detail.diff,
        files=list(zip(detail.diff.files, patches, strict=True)),
    )
    return revalidated(make_response(page), etag)


@project_route(blueprint, "/c/<sha>.patch")
def commit_patch(project: ProjectContext, sha: str):
    with _open(project) as code:
        info = _commit_by_id(code, sha)
        return _text_download(code.patch_text(info), info.id)


@project_route(blueprint, "/c/<sha>.diff")
def commit_diff(project: ProjectContext, sha: str):
    with _open(project) as code:
        info = _commit_by_id(code, sha)
        # Not yet: CodeRepo has no call for the whole diff as text, so this
        # reaches for its pygit2 handle.
        diff = diffs.first_parent_diff(code.repo[info.id])
        return _text_download((diff.patch or "").encode("utf-8"), info.id)


@project_route(blueprint, "/branches")
def branches(project: ProjectContext):
    with _open(project) as code:
        found = code.branches()
    return render_template("code/branches.html", project=project, branches=found)


@project_route(blueprint, "/tags")
def tags(project: ProjectContext):
    with _open(project) as code:
        found = code.tags()
    return render_template("code/tags.html", project=project, tags=found)


# -- template helpers --------------------------------------------------------


@blueprint.app_template_global()
def code_url(endpoint: str, fullname: str, ref: str, path: str = "", **args) -> str:
    """The URL of the tree, blob or raw page of `path` at `ref`, in
    Pagure's `<ref>/f/<path>` form."""
    spec = f"{ref}/f/{path}" if path else ref
    return url_for(endpoint, **project_url_args(fullname), spec=spec, **args)


@blueprint.app_template_filter("day")
def day(person: Person) -> str:
    """The date of a signature in its own time zone, as 2024-05-31."""
    return person.when.strftime("%Y-%m-%d")


@blueprint.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# -- finding things ----------------------------------------------------------


def _open(project: ProjectContext) -> CodeRepo:
    path = repo_path(site().config.repositories, RepoKind.CODE, project.fullname)
    return CodeRepo(path)


def _default_head(code: CodeRepo) -> tuple[str, CommitInfo] | None:
    """The default branch and its commit; when HEAD names a branch that
    does not exist, the first branch there is; None without branches."""
    name = code.default_branch()
    if name is not None:
        try:
            return name, code.resolve(name)
        except NotFound:
            log.debug("%s: HEAD names the missing branch %s", code.path, name)
    found = code.branches()
    return (found[0].name, found[0].commit) if found else None


def split_spec(code: CodeRepo, spec: str) -> tuple[CommitInfo, str, str]:
    """The commit, ref and path a `<ref>/f/<path>` URL part names.

    A branch name may itself hold `/f/` (or be `f`), so the whole text is
    first tried as a ref, then every place where a `f` part could split it,
    the longest ref first; the first ref that resolves wins. Text without a
    usable `f` part is read as `<ref>/<path>`, again the longest resolving
    ref winning (CodeRepo.split_ref_path). So `a/f/b` is the branch `a/f/b`
    when one exists, else the path `b` on the branch `a`; the links pages
    make resolve back to what they point at unless a second ref is named
    like a prefix of the first plus `/f/...`.
    """
    parts = spec.strip("/").split("/")
    lengths = prefix_lengths(parts)
    cuts = [i for i in range(len(parts) - 1, 0, -1) if parts[i] == "f"]
    for cut in [len(parts), *cuts]:
        if lengths[cut] > MAX_REF_LENGTH:
            continue  # skipped before joining: keeps a long URL linear
        ref = "/".join(parts[:cut])
        try:
            return code.resolve(ref), ref, "/".join(parts[cut + 1 :])
        except NotFound:
            continue
    return code.split_ref_path(spec)


def _commit_by_id(code: CodeRepo, sha: str) -> CommitInfo:
    # Commit pages are for ids only: a branch name here would make the
    # page change under a URL that looks immutable.
    if not _COMMIT_ID.fullmatch(sha):
        raise NotFound("commit", sha)
    info = code.resolve(sha)
    if not info.id.startswith(sha.lower()):  # a branch or tag named like hex
        raise NotFound("commit", sha)
    return info


# -- rendering ---------------------------------------------------------------


def _empty_page(project: ProjectContext, code: CodeRepo) -> str:
    return render_template(
        "code/empty.html",
        project=project,
        branch=code.default_branch() or "main",
        clone=_clone_urls(project),
        **_fork_facts(project),
    )


def _fork_facts(project: ProjectContext) -> dict:
    """What the summary shows about forks: the project's forks the viewer
    may read, how many forks it has, the viewer's own fork of it (its full
    name, if it exists) and whether they may make one."""
    engine, me = site().engine, viewer()
    # Private forks are absent, from the count too. Not yet: this reads
    # every fork's row; a project with thousands of forks wants the count
    # in SQL.
    forks = [
        row
        for row in queries.forks_of(engine, project.fullname)
        if may(me, Action.READ_PROJECT, queries.facts(row))
    ]
    my_fork = None
    if me is not None:
        mine = fork_fullname(me.name, project.fullname)
        if queries.project(engine, mine) is not None:
            my_fork = mine
    return {
        "forks": forks[:SUMMARY_FORKS],
        "fork_count": len(forks),
        "my_fork": my_fork,
        "may_fork": me is not None and project.may(Action.FORK_PROJECT),
    }


def _clone_urls(project: ProjectContext) -> dict[str, str]:
    base = site().config.get("site_url").rstrip("/") or request.host_url.rstrip("/")
    return {
        "code": f"{base}/{project.fullname}.git",
        "tickets": f"{base}/tickets/{project.fullname}.git",
    }


def _readme_html(code: CodeRepo, commit: CommitInfo) -> tuple[str, Markup] | None:
    """The README's name and HTML: Markdown rendered, anything else as
    preformatted text; cached by blob id."""
    found = code.readme(commit)
    if found is None:
        return None

    def render() -> Markup:
        if _is_markdown(found.name):
            return render_markdown(found.text)
        return Markup("<pre>%s</pre>") % found.text

    blob_id = code.entry(commit, found.name).id
    return found.name, _remember((blob_id, "readme"), render, len)


def _file_view(
    code: CodeRepo, commit: CommitInfo, entry: TreeEntry, source: bool
) -> FileView:
    """The file as its page shows it, from the cache when it was shown
    before under the same name's lexer."""
    if entry.kind == "submodule":  # a commit of another repository
        return FileView("submodule")
    if (entry.size or 0) > site().config.get_int("max_render_bytes"):
        return FileView("too_big")
    as_markdown = _is_markdown(entry.name) and not source
    style = "markdown" if as_markdown else lexer_name(entry.name)

    def render() -> FileView:
        text = code.blob(commit, entry.path).text
        return _render_file(text, entry.name, as_markdown)

    return _remember((entry.id, style), render, lambda view: view.size)


def _render_file(text: str | None, name: str, as_markdown: bool) -> FileView:
    if text is None:
        return FileView("binary")
    if not text:
        return FileView("empty")
    if as_markdown:
        return FileView("markdown", render_markdown(text))
    body, lines = highlight_lines(text, name)
    return FileView("code", body, lines)


@blueprint.record_once
def _warm_pygments(_state) -> None:
    warm_up()


def _is_markdown(name: str) -> bool:
    return name.lower().endswith(_MARKDOWN_SUFFIXES)


def _commit_view(
    code: CodeRepo, info: CommitInfo
) -> tuple[CommitDetail, tuple[Markup | None, ...]]:
    """The commit's diff and each file's patch as HTML, cached by commit id."""
    max_bytes = site().config.get_int("max_render_bytes")

    def render() -> tuple[CommitDetail, tuple[Markup | None, ...]]:
        detail = code.commit_detail(info, max_bytes=max_bytes)
        files = detail.diff.files
        return detail, tuple(
            None if f.patch is None else patch_html(f.patch) for f in files
        )

    def size(view) -> int:  # the patch text is kept as well as its HTML
        return sum(2 * len(p or "") + 200 for p in view[1])

    return _remember((info.id, "commit", max_bytes), render, size)


def _tree(code: CodeRepo, commit: CommitInfo, folder: TreeEntry) -> list[TreeEntry]:
    """A folder's entries, cached by tree id (sizes take a lookup each)."""
    return _remember(
        (folder.id, "tree"),
        lambda: code.tree(commit, folder.path),
        lambda entries: 200 * len(entries),
    )


def _log(
    code: CodeRepo, commit: CommitInfo, page: int, per_page: int, path: str | None
) -> LogPage:
    """A page of history, cached by the commit it starts from: the history
    behind a commit never changes. Page 20 walks 1,000 commits (7 ms)."""
    return _remember(
        (commit.id, "log", page, per_page, path),
        lambda: code.log(commit, page, per_page, path=path),
        lambda found: sum(300 + len(c.message) for c in found.commits),
    )


# -- responses ---------------------------------------------------------------


def _raw_response(entry: TreeEntry, data: bytes) -> Response:
    """The file's bytes, never as active content: text as text/plain (HTML
    included), raster images as themselves, everything else (SVG
    included) as an attachment."""
    suffix = "." + entry.name.rpartition(".")[2].lower() if "." in entry.name else ""
    if suffix in _IMAGE_TYPES:
        mimetype, attach = _IMAGE_TYPES[suffix], False
    elif suffix != ".svg" and not looks_binary(data):
        mimetype, attach = "text/plain", False  # Flask adds the charset
    else:
        mimetype, attach = "application/octet-stream", True
    response = send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=attach,
        download_name=entry.name,
        etag=entry.id,
        max_age=None,
    )
    return _inert(response)


def _text_download(data: bytes, etag: str) -> Response:
    response = Response(data, mimetype="text/plain")
    response.set_etag(etag)
    response.cache_control.no_cache = True
    return _inert(response)


def _inert(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = _RAW_POLICY
    return response
