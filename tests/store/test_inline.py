"""Outdated inline comments."""

from __future__ import annotations

import pygit2

from gitforge.store.inline import is_outdated, line_at
from tests.conftest import git


def _repo_with_history(tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    commits = []
    for text in ("a\nb\nc\n", "a\nb\nc\nd\n", "a\nB\nc\nd\n"):
        (work / "f.txt").write_text(text)
        git("add", "-A", cwd=work)
        git("commit", "-qm", "edit", cwd=work)
        commits.append(git("rev-parse", "HEAD", cwd=work).stdout.strip())
    return pygit2.Repository(str(work)), commits


def test_a_comment_stays_current_while_its_line_reads_the_same(tmp_path):
    repo, (first, second, third) = _repo_with_history(tmp_path)
    on_c = {"commit": first, "path": "f.txt", "line": 3, "side": "new"}
    on_b = {"commit": first, "path": "f.txt", "line": 2, "side": "new"}
    assert not is_outdated(repo, on_c, head=first, base=first)
    assert not is_outdated(repo, on_c, head=second, base=first)  # line 3 kept
    assert is_outdated(repo, on_b, head=third, base=first)  # b became B
    gone = {"commit": first, "path": "missing.txt", "line": 1, "side": "new"}
    assert is_outdated(repo, gone, head=second, base=first)


def test_old_side_comments_follow_the_base(tmp_path):
    repo, (first, second, third) = _repo_with_history(tmp_path)
    removed = {"commit": second, "path": "f.txt", "line": 2, "side": "old"}
    assert not is_outdated(repo, removed, head=third, base=second)
    assert is_outdated(repo, removed, head=third, base=third)


def test_line_at_bounds(tmp_path):
    repo, (first, _second, _third) = _repo_with_history(tmp_path)
    assert line_at(repo, first, "f.txt", 1) == "a"
    assert line_at(repo, first, "f.txt", 0) is None
    assert line_at(repo, first, "f.txt", 4) is None  # past the final newline
    assert line_at(repo, first, "f.txt", 99) is None
    assert line_at(repo, "0" * 40, "f.txt", 1) is None
