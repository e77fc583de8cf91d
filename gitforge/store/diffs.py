"""What a commit changed: per-file diffs with bounded patch text, and the
raw patch for download.

A commit is compared with its first parent (a root commit with the empty
tree), the way `git show --first-parent` does, with renames detected. Big
inputs are bounded: a file's patch text past `max_file_bytes`, or any patch
once the commit's text has passed `max_bytes`, is dropped and the file marked
`truncated`; its line counts are still given.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, DiffOption, DiffStatsFormat

if TYPE_CHECKING:
    from gitforge.store.code import CommitInfo

MAX_BYTES = 1_000_000
MAX_FILE_BYTES = 200_000

# A type change (file to symlink, say) is shown as a modification: the page
# has no better word for it and git's --name-status letter T is rare.
_STATUS = {
    DeltaStatus.ADDED: "added",
    DeltaStatus.DELETED: "deleted",
    DeltaStatus.MODIFIED: "modified",
    DeltaStatus.RENAMED: "renamed",
    DeltaStatus.COPIED: "copied",
    DeltaStatus.TYPECHANGE: "modified",
}


@dataclass(frozen=True)
class FileDiff:
    """One file's change. `patch` is None when the file is binary or its
    text was dropped for size (`truncated`)."""

    old_path: str
    new_path: str
    status: str  # added, deleted, modified, renamed or copied
    additions: int
    deletions: int
    binary: bool
    truncated: bool
    patch: str | None
    old_id: str
    new_id: str
    similarity: int  # percent, for renames and copies; 0 otherwise


@dataclass(frozen=True)
class CommitDiff:
    files: tuple[FileDiff, ...]
    additions: int
    deletions: int

    @property
    def truncated(self) -> bool:
        """True when at least one file's patch text was left out for size."""
        return any(f.truncated for f in self.files)


def first_parent_diff(
    commit: pygit2.Commit, flags: DiffOption = DiffOption.NORMAL
) -> pygit2.Diff:
    """The diff from the first parent (or the empty tree) to `commit`."""
    if commit.parents:
        diff = commit.parents[0].tree.diff_to_tree(commit.tree, flags=flags)
    else:
        # diff_to_tree with no tree diffs against the empty tree; swap makes
        # the empty tree the old side.
        diff = commit.tree.diff_to_tree(flags=flags, swap=True)
    # Explicit flags, not the repo's diff.renames setting, so every site
    # shows the same thing; threshold and limit are git's defaults.
    diff.find_similar(flags=DiffFind.FIND_RENAMES)
    return diff


def diff_commit(
    commit: pygit2.Commit,
    max_bytes: int = MAX_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> CommitDiff:
    """Every file `commit` changed, in git's order (by path)."""
    files = []
    budget = max_bytes
    # Not yet: line counts of every file are computed even once the budget
    # is spent, as `git show --stat` does; a commit adding 100,000 files
    # still costs time in proportion to its size.
    for patch in first_parent_diff(commit):
        file_diff, size = _file_diff(patch, min(budget, max_file_bytes))
        if file_diff.patch is not None:
            budget -= size
        files.append(file_diff)
    return CommitDiff(
        files=tuple(files),
        additions=sum(f.additions for f in files),
        deletions=sum(f.deletions for f in files),
    )


def _file_diff(patch: pygit2.Patch, limit: int) -> tuple[FileDiff, int]:
    """The file's diff, with its patch text only if that fits in `limit`
    bytes, and the size of that text."""
    delta = patch.delta
    _context, additions, deletions = patch.line_stats
    data = patch.data
    binary = delta.is_binary
    truncated = not binary and len(data) > limit
    text = None if binary or truncated else data.decode("utf-8", "replace")
    file_diff = FileDiff(
        old_path=delta.old_file.path,
        new_path=delta.new_file.path,
        status=_STATUS.get(delta.status, "modified"),
        additions=additions,
        deletions=deletions,
        binary=binary,
        truncated=truncated,
        patch=text,
        old_id=str(delta.old_file.id),
        new_id=str(delta.new_file.id),
        similarity=delta.similarity,
    )
    return file_diff, len(data)


def format_patch(commit: pygit2.Commit, info: CommitInfo) -> bytes:
    """`commit` as a mail that `git am` applies, like `git format-patch`.

    Binary changes are included as git binary patches; a merge is given as
    its change against the first parent (git format-patch skips merges).
    """
    diff = first_parent_diff(commit, DiffOption.SHOW_BINARY)
    stats = diff.stats.format(
        DiffStatsFormat.FULL | DiffStatsFormat.INCLUDE_SUMMARY, 72
    )
    # The subject went into the header; what follows it is the body.
    body = info.message.strip("\n").partition("\n\n")[2].strip("\n")
    text = _mail_header(info) + "\n" + (f"{body}\n" if body else "")
    text += f"---\n{stats}\n"
    patch = b"".join(p.data for p in diff)
    return text.encode("utf-8") + patch + b"-- \ngitforge\n\n"


def _mail_header(info: CommitInfo) -> str:
    author = info.author
    offset = timezone(timedelta(minutes=author.offset))
    when = datetime.fromtimestamp(author.time, UTC).astimezone(offset)
    lines = [
        f"From {info.id} Mon Sep 17 00:00:00 2001",
        f"From: {author.name} <{author.email}>",
        f"Date: {email.utils.format_datetime(when)}",
        f"Subject: [PATCH] {info.summary}",
    ]
    if not (author.name + info.message).isascii():
        # git am reads the charset from here; without it it guesses.
        lines += [
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
        ]
    return "\n".join(lines) + "\n"
