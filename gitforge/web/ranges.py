"""Commit ranges: what a branch holds that its target lacks.

The pages of a pull request, and the page that opens one, show the commits
of `base..head` and the diff between the two commits; the downloads give
them as mails (`git format-patch`) and as one unified diff. All of it reads
a pygit2 repository and writes nothing to it. A range's diff, rendered, is
cached by its two commit ids, which name it for good.

Not yet: this belongs with CodeRepo in the store (a `range` call beside
`commit_detail`); it lives here until the store grows one, and borrows the
store's per-file diff maker for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pygit2
from markupsafe import Markup
from pygit2.enums import DiffFind, DiffOption, SortMode

from gitforge.store import diffs
from gitforge.store.code import CommitInfo, commit_info
from gitforge.store.errors import NotFound
from gitforge.web.highlight import patch_html
from gitforge.web.page_cache import RenderCache, remember

_HUNK = re.compile(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_COMMIT_ID = re.compile(r"[0-9a-f]{40}")
# Per process, for the diffs of pull requests and of the pages that open
# them; commit pages have their own.
CACHE_BYTES = 32 * 1024 * 1024

rendered = RenderCache(CACHE_BYTES)


@dataclass(frozen=True)
class FileRow:
    """One file of a range as a page shows it: its diff, the patch as
    HTML (None when binary or too big) and each side's line numbers."""

    diff: diffs.FileDiff
    html: Markup | None
    old_numbers: Markup
    new_numbers: Markup

    @property
    def size(self) -> int:  # the patch text is kept as well as its HTML
        return 2 * len(self.diff.patch or "") + 3 * len(self.html or "") + 200


@dataclass(frozen=True)
class CommitList:
    """The newest commits of a range, and whether it holds more."""

    commits: tuple[CommitInfo, ...]
    more: bool


def borrow_objects(repo: pygit2.Repository, other: Path) -> None:
    """Let `repo` read the objects of the repository at `other` too, for
    this handle only: a fork's branch is compared with its parent's without
    copying anything (nothing is written to objects/info/alternates)."""
    if Path(repo.path).resolve() != other.resolve():
        repo.odb.add_disk_alternate(str(other / "objects"))


def merge_base(repo: pygit2.Repository, target: str, head: str) -> str:
    """Where `head` left `target`; the target itself for unrelated
    histories, as opening a pull request records it."""
    found = repo.merge_base(target, head)
    return str(found) if found is not None else target


def commits_between(
    repo: pygit2.Repository, base: str, head: str, limit: int
) -> CommitList:
    """The commits of `base..head`, newest first, at most `limit` of them.

    Topological as well as by time: commits made within one second would
    otherwise come in any order. That walks the whole range before the
    first commit comes out; a range is one branch's work, not a history.
    """
    walker = repo.walk(_commit(repo, head).id, SortMode.TOPOLOGICAL | SortMode.TIME)
    walker.hide(_commit(repo, base).id)
    found = list(islice(walker, limit + 1))
    return CommitList(tuple(commit_info(c) for c in found[:limit]), len(found) > limit)


def range_diff(
    repo: pygit2.Repository,
    base: str,
    head: str,
    max_bytes: int = diffs.MAX_BYTES,
    max_file_bytes: int = diffs.MAX_FILE_BYTES,
) -> diffs.CommitDiff:
    """Every file changed between two commits, bounded like a commit's
    diff (see gitforge.store.diffs)."""
    files, budget = [], max_bytes
    for patch in _tree_diff(repo, base, head):
        # Not yet: diffs has no public maker for a diff of two commits.
        file_diff, size = diffs._file_diff(patch, min(budget, max_file_bytes))
        if file_diff.patch is not None:
            budget -= size
        files.append(file_diff)
    return diffs.CommitDiff(
        files=tuple(files),
        additions=sum(f.additions for f in files),
        deletions=sum(f.deletions for f in files),
    )


def changed_paths(repo: pygit2.Repository, base: str, head: str) -> set[str]:
    """The paths a range adds, changes or removes (either name of a rename)."""
    deltas = _tree_diff(repo, base, head).deltas
    return {path for d in deltas for path in (d.old_file.path, d.new_file.path)}


def diff_text(repo: pygit2.Repository, base: str, head: str) -> bytes:
    """`git diff base head` as bytes: one plain unified diff."""
    return b"".join(patch.data for patch in _tree_diff(repo, base, head))


def patch_mails(repo: pygit2.Repository, base: str, head: str, limit: int) -> bytes:
    """The commits of `base..head` as `git format-patch` mails, oldest
    first; raises ValueError past `limit` commits."""
    walker = repo.walk(_commit(repo, head).id, SortMode.TOPOLOGICAL | SortMode.REVERSE)
    walker.hide(_commit(repo, base).id)
    commits = list(islice(walker, limit + 1))
    if len(commits) > limit:
        raise ValueError(f"more than {limit} commits")
    return b"".join(diffs.format_patch(c, commit_info(c)) for c in commits)


def file_rows(
    repo: pygit2.Repository,
    base: str,
    head: str,
    max_bytes: int,
    line_link: str | None = None,
) -> tuple[diffs.CommitDiff, tuple[FileRow, ...]]:
    """The diff of `base..head` ready for a page, cached by the two commit
    ids. With `line_link` (a format string taking `index`, the file's
    1-based place, then `side` and `line`), line numbers are links."""

    def render() -> tuple[diffs.CommitDiff, tuple[FileRow, ...]]:
        found = range_diff(repo, base, head, max_bytes)
        return found, tuple(
            _file_row(f, None if line_link is None else line_link.format(index=i))
            for i, f in enumerate(found.files, 1)
        )

    def size(view) -> int:
        return sum(row.size for row in view[1])

    return remember(rendered, (base, head, "range", max_bytes, line_link), render, size)


def _file_row(file_diff: diffs.FileDiff, link: str | None) -> FileRow:
    if file_diff.patch is None:
        return FileRow(file_diff, None, Markup(""), Markup(""))
    numbers = line_numbers(file_diff.patch)
    return FileRow(
        file_diff,
        patch_html(file_diff.patch),
        number_column(numbers, "old", link),
        number_column(numbers, "new", link),
    )


def line_numbers(patch: str) -> list[tuple[int | None, int | None]]:
    """The old and new line number of each line `highlight.patch_html`
    shows for `patch` (None where a side has none: hunk headers, added or
    removed lines, "no newline" notes)."""
    lines = patch.split("\n")  # split as patch_html does, so lines match
    if lines[-1] == "":
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.startswith("@@")), 0)
    numbers: list[tuple[int | None, int | None]] = []
    old = new = None
    for line in lines[start:]:
        hunk = _HUNK.match(line)
        if hunk:
            old, new = int(hunk[1]), int(hunk[2])
            numbers.append((None, None))
        elif old is None or line[:1] == "\\":
            numbers.append((None, None))
        elif line[:1] == "+":
            numbers.append((None, new))
            new += 1
        elif line[:1] == "-":
            numbers.append((old, None))
            old += 1
        else:
            numbers.append((old, new))
            old, new = old + 1, new + 1
    return numbers


def number_column(
    numbers: list[tuple[int | None, int | None]], side: str, link: str | None
) -> Markup:
    """One side's line numbers as the lines of a <pre>. With `link` (a
    format string taking `side` and `line`), each number links there."""
    index = 0 if side == "old" else 1
    out = []
    for pair in numbers:
        number = pair[index]
        if number is None:
            out.append(" \n")  # a space: a <pre> drops a leading newline
        elif link is None:
            out.append(f"{number}\n")
        else:
            href = Markup.escape(link.format(side=side, line=number))
            out.append(f'<a href="{href}">{number}\n</a>')
    return Markup("".join(out))


def _tree_diff(repo: pygit2.Repository, base: str, head: str) -> pygit2.Diff:
    old, new = _commit(repo, base), _commit(repo, head)
    diff = old.tree.diff_to_tree(new.tree, flags=DiffOption.NORMAL)
    diff.find_similar(flags=DiffFind.FIND_RENAMES)  # as commit pages do
    return diff


def _commit(repo: pygit2.Repository, commit_id: str) -> pygit2.Commit:
    found = repo.get(commit_id) if _COMMIT_ID.fullmatch(commit_id) else None
    if not isinstance(found, pygit2.Commit):
        raise NotFound("commit", commit_id)
    return found
