"""Inline comments against a moving branch.

An inline comment names a commit, a file, a line and a side of the diff.
When the branch moves on, the comment stays in the discussion; it is
"outdated" once that line no longer reads the same at the new head, so a
reader knows the code it talks about has changed.
"""

from __future__ import annotations

import pygit2


def line_at(
    repo: pygit2.Repository, commit_id: str, path: str, line: int
) -> str | None:
    """The text of line `line` (1-based) of `path` at a commit; None when
    the commit, the file or the line is not there, or the file is binary."""
    try:
        tree = repo[commit_id].peel(pygit2.Commit).tree
        blob = repo[tree[path].id]
    except (KeyError, ValueError, pygit2.GitError):
        return None
    if not isinstance(blob, pygit2.Blob) or blob.is_binary:
        return None
    data = blob.data
    lines = data[:-1].split(b"\n") if data.endswith(b"\n") else data.split(b"\n")
    if not 1 <= line <= len(lines):
        return None
    return lines[line - 1].decode("utf-8", "replace")


def is_outdated(repo: pygit2.Repository, inline: dict, head: str, base: str) -> bool:
    """Whether the line an inline comment is about reads differently now.

    A comment on the new side of the diff names a line of the head it was
    written at and is checked against the current `head`; one on the old
    side (a removed line) names a line of the base and is checked against
    the current `base`.
    """
    now_at = head if inline["side"] == "new" else base
    if inline["commit"] == now_at:
        return False
    then = line_at(repo, inline["commit"], inline["path"], inline["line"])
    now = line_at(repo, now_at, inline["path"], inline["line"])
    return then is None or now != then
