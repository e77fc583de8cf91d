"""Code pages: summary, tree, blob, raw, commits, one commit, branches, tags.

URLs follow Pagure: `/<project>/tree/<ref>/f/<path>`, `/blob/<ref>/f/<path>`,
`/raw/<ref>/f/<path>`, `/commits/<branch>`, `/c/<commit id>`. Every page
opens the project's code repo for the request and closes it at the end.

Immutable things are cached by their id, in a bounded in-memory cache: a
file's HTML by blob id, a commit's diff by commit id, a folder's entries by
tree id and a page of history by the commit it starts from. Their pages
carry an ETag so that a browser revalidates for free. Files
from the repository are never served as active content of the forge's
origin: raw downloads are plain text, raster images or attachments.
"""

from __future__ import annotations

import functools
import hashlib
import html
import io
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from markupsafe import Markup
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_for_filename
from pygments.lexers.special import TextLexer
from pygments.token import STANDARD_TYPES, Text, Whitespace

from gitforge.store import diffs
from gitforge.store.code import (
    CodeRepo,
    CommitDetail,
    CommitInfo,
    LogPage,
    Person,
    TreeEntry,
    looks_binary,
)
from gitforge.store.errors import NotFound
from gitforge.store.layout import RepoKind, repo_path
from gitforge.web.context import (
    ProjectContext,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.markup import render_markdown

log = logging.getLogger(__name__)
blueprint = Blueprint("code", __name__)

PER_PAGE = 50
MAX_PAGE = 100_000
SUMMARY_COMMITS = 10
SUMMARY_BRANCHES = 5
# Bump when the HTML of files or diffs changes: it is part of every ETag and
# of the cache keys, so browsers and the cache drop what was made before.
RENDER_VERSION = "1"
# Per process. A 100 KB Python file renders to about 550 KB of HTML.
CACHE_BYTES = 64 * 1024 * 1024
# Pygments lexes Python at about 1 MB/s (100 ms for the 100 KB benchmark
# file); past this size a file is shown as plain text, which costs 2 ms/MB.
HIGHLIGHT_MAX_BYTES = 256 * 1024

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
# libgit2 raises ValueError, not "not found", for a longer ref name; no
# ref can be that long (GIT_REFNAME_MAX is 1024 with the refs/heads/).
_MAX_REF_BYTES = 1000
_COMMIT_ID = re.compile(r"[0-9a-fA-F]{4,40}")
_DIFF_LINE_CLASSES = {"+": "add", "-": "del", "@": "hunk", "\\": "note"}


# -- the render cache --------------------------------------------------------


class RenderCache:
    """What pages make of immutable objects (a file's HTML, a folder's
    entries, a page of history), keyed by object id; the least recently
    used goes first once the total size passes `max_bytes`."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # `gitforge serve` runs threads

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        # One huge page must not push out everything else.
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _key, (_value, dropped) = self._items.popitem(last=False)
                self._size -= dropped


rendered = RenderCache(CACHE_BYTES)

T = TypeVar("T")


def _remember(key: tuple, make: Callable[[], T], size: Callable[[T], int]) -> T:
    """What `make` returns for `key` (which starts with an object id), made
    once and then kept in the render cache."""
    key = (*key, RENDER_VERSION)
    found = rendered.get(key)
    if found is None:
        found = make()
        rendered.put(key, found, size(found))
    return found


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
        )


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
        etag = _page_etag(project, entry.id, ref)
        unchanged = _not_modified(etag)
        if unchanged is not None:
            return unchanged
        entries = _tree(code, commit, entry)
    page = render_template(
        "code/tree.html", project=project, ref=ref, path=path, entries=entries
    )
    return _revalidated(make_response(page), etag)


@project_route(blueprint, "/blob/<path:spec>")
def blob(project: ProjectContext, spec: str):
    with _open(project) as code:
        commit, ref, path = split_spec(code, spec)
        entry = code.entry(commit, path)
        if entry.kind == "tree":
            return redirect(code_url("code.tree", project.fullname, ref, path))
        source = bool(request.args.get("source"))
        etag = _page_etag(project, entry.id)
        unchanged = _not_modified(etag)
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
    return _revalidated(make_response(page), etag)


@project_route(blueprint, "/raw/<path:spec>")
def raw(project: ProjectContext, spec: str):
    with _open(project) as code:
        commit, _ref, path = split_spec(code, spec)
        entry = code.entry(commit, path)
        if entry.kind not in ("blob", "symlink"):
            abort(404)
        unchanged = _not_modified(entry.id)
        if unchanged is not None:
            return _inert(unchanged)
        # Not yet: big files are read whole into memory, not streamed.
        data = code.blob(commit, path).data
    return _raw_response(entry, data)


@project_route(blueprint, "/commits", "/commits/<path:branch>")
def commits(project: ProjectContext, branch: str | None = None):
    number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    path = request.args.get("path", "").strip("/") or None
    if path is not None and "\0" in path:  # no such path, and git would choke
        abort(404)
    with _open(project) as code:
        if branch is None:
            head = _default_head(code)
            if head is None:
                return _empty_page(project, code)
            ref, commit = head
        else:
            ref, commit = branch, code.resolve(branch)
        etag = _page_etag(project, commit.id, ref)
        unchanged = _not_modified(etag)
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
    return _revalidated(make_response(page), etag)


@project_route(blueprint, "/c/<sha>")
def commit(project: ProjectContext, sha: str):
    with _open(project) as code:
        info = _commit_by_id(code, sha)
        etag = _page_etag(project, info.id)
        unchanged = _not_modified(etag)
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
    return _revalidated(make_response(page), etag)


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
    cuts = [i for i in range(len(parts) - 1, 0, -1) if parts[i] == "f"]
    for cut in [len(parts), *cuts]:
        ref = "/".join(parts[:cut])
        if len(ref.encode("utf-8")) > _MAX_REF_BYTES:
            continue
        try:
            return code.resolve(ref), ref, "/".join(parts[cut + 1 :])
        except NotFound:
            continue
    if len(spec.encode("utf-8")) > _MAX_REF_BYTES:
        raise NotFound("ref", spec[:100])
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
    )


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
    style = "markdown" if as_markdown else _lexer_name(entry.name)

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


def highlight_lines(text: str, name: str) -> tuple[Markup, int]:
    """Highlighted HTML of a file and its line count: a column of line
    numbers that are `#L<n>` anchors beside the code, so that selecting the
    code does not pick up the numbers."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    lexer_class = _lexer_class(name) if len(text) <= HIGHLIGHT_MAX_BYTES else None
    if lexer_class is None:
        code = html.escape(text, quote=False)
    else:
        code = _highlight(text, lexer_class)
    lines = text.count("\n")
    numbers = "".join(
        f'<a id="L{n}" href="#L{n}">{n}</a>\n' for n in range(1, lines + 1)
    )
    table = (
        '<table class="code"><tr><td class="numbers"><pre>'
        f'{numbers}</pre></td><td class="source"><pre class="highlight">{code}'
        "</pre></td></tr></table>"
    )
    return Markup(table), lines


def _highlight(text: str, lexer_class: type[Lexer]) -> str:
    """`text` as HTML spans with Pygments' short class names.

    Not Pygments' HtmlFormatter: that one closes and reopens every span at
    each line end for its line options, which the separate number column
    does not need: on the 100 KB benchmark file this loop adds 2-3 ms to
    the 100 ms of lexing where the formatter added 10. stripnl is off, as
    it would drop leading blank lines and shift every number.
    """
    out = []
    classes = _token_classes
    tokens = lexer_class(stripnl=False).get_tokens_unprocessed(text)
    for _index, kind, value in tokens:
        name = classes.get(kind)
        if name is None:
            name = classes.setdefault(kind, _token_class(kind))
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(f'<span class="{name}">{value}</span>' if name else value)
    return "".join(out)


_token_classes: dict[tuple, str] = {}  # token types are tuples


def _token_class(kind: tuple) -> str:
    """The class of the nearest standard token type (`k` for every keyword
    kind that has no name of its own); none for plain text and spaces."""
    while kind not in STANDARD_TYPES:
        kind = kind.parent
    return "" if kind in (Text, Whitespace) else STANDARD_TYPES[kind]


@blueprint.record_once
def _warm_pygments(_state) -> None:
    # Pygments compiles every file name pattern it knows on its first
    # lookup (60-80 ms): pay that when the app starts, not on a first view.
    _lexer_class("warm-up.py")


@functools.lru_cache(maxsize=1024)
def _lexer_class(name: str) -> type | None:
    """The Pygments lexer for a file name; None for plain text."""
    found = find_lexer_class_for_filename(name)
    return None if found is None or found is TextLexer else found


def _lexer_name(name: str) -> str:
    found = _lexer_class(name)
    return found.__name__ if found else "text"


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


def patch_html(patch: str) -> Markup:
    """One file's patch as HTML lines coloured by their first character,
    from the first hunk on (the file header is on the page already). A
    coloured line keeps its line end inside its span, so the span can be a
    block that fills the width without adding a blank line."""
    # Escaping leaves the first characters that matter (+ - @ \) alone.
    # split, not splitlines: a \r or form feed inside a line is not an end.
    lines = html.escape(patch, quote=False).split("\n")
    if lines[-1] == "":
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.startswith("@@")), 0)
    out = []
    for line in lines[start:]:
        kind = _DIFF_LINE_CLASSES.get(line[:1])
        out.append(f'<span class="{kind}">{line}\n</span>' if kind else line + "\n")
    return Markup("".join(out))


# -- responses ---------------------------------------------------------------


def _page_etag(project: ProjectContext, object_id: str, ref: str = "") -> str:
    """The ETag of a page showing an immutable object: its id and the
    render version, with a digest of what else reaches the page from
    outside its URL (the default branch's name, for URLs without a ref;
    the size limit; the project's description; the signed-in user and
    their session's logout form)."""
    me = viewer()
    outside = "\0".join(
        (
            ref,
            site().config.get("max_render_bytes"),
            project.row.description or "",
            me.name if me else "",
            session.get("csrf", ""),
        )
    )
    digest = hashlib.blake2b(outside.encode("utf-8"), digest_size=6).hexdigest()
    return f"{object_id}-{RENDER_VERSION}-{digest}"


def _not_modified(etag: str) -> Response | None:
    """A 304 when the browser holds this version, else None. Never while a
    flashed message waits to be shown."""
    if "_flashes" in session or etag not in request.if_none_match:
        return None
    return _revalidated(Response(status=304), etag)


def _revalidated(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.cache_control.no_cache = True
    if viewer() is not None:
        response.cache_control.private = True
    return response


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
