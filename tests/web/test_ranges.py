"""Commit ranges on a repository built with the real git: the commits of a
range, its diff and patches, and the line numbers shown beside a patch."""

from __future__ import annotations

import pygit2
import pytest

from gitforge.web import ranges
from gitforge.web.highlight import patch_html
from tests.conftest import git
from tests.tasks.test_pull_requests import _commit

PATCH = (
    "diff --git a/f b/f\n--- a/f\n+++ b/f\n"
    "@@ -1,2 +1,2 @@\n keep\n-old\n+new\n"
    "@@ -10 +10,2 @@\n-last\n\\ No newline at end of file\n+last\n+more\n"
)


@pytest.fixture
def repo(tmp_path):
    """main with one commit, topic three commits ahead; gives the repo and
    the ids: base, then topic's commits oldest first."""
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    base = _commit(work, "f.txt", "one\n", "Base")
    git("checkout", "-q", "-b", "topic", cwd=work)
    ids = [_commit(work, "f.txt", f"one\n{n}\n", f"Step {n}") for n in range(3)]
    return pygit2.Repository(str(work)), [base, *ids]


def test_line_numbers_follow_hunks_and_skip_notes():
    numbers = ranges.line_numbers(PATCH)
    assert len(numbers) == str(patch_html(PATCH)).count("\n")
    assert numbers == [
        (None, None), (1, 1), (2, None), (None, 2),
        (None, None), (10, None), (None, None), (None, 10), (None, 11),
    ]  # fmt: skip


def test_number_column_links_and_keeps_blank_lines():
    numbers = ranges.line_numbers(PATCH)
    plain = ranges.number_column(numbers, "old", None)
    # A blank first line is a space: a <pre> would drop a leading newline.
    assert plain.startswith(" \n1\n2\n")
    linked = ranges.number_column(numbers, "new", "?side={side}&line={line}")
    assert '<a href="?side=new&amp;line=2">2\n</a>' in linked


def test_commits_between_is_newest_first_and_capped(repo):
    pygit_repo, (base, *ids) = repo
    found = ranges.commits_between(pygit_repo, base, ids[-1], limit=2)
    assert [c.id for c in found.commits] == ids[::-1][:2] and found.more
    every = ranges.commits_between(pygit_repo, base, ids[-1], limit=3)
    assert not every.more


def test_patch_mails_oldest_first_and_bounded(repo):
    pygit_repo, (base, *ids) = repo
    mails = ranges.patch_mails(pygit_repo, base, ids[-1], limit=3).decode()
    assert mails.index("Step 0") < mails.index("Step 1") < mails.index("Step 2")
    with pytest.raises(ValueError):
        ranges.patch_mails(pygit_repo, base, ids[-1], limit=2)


def test_range_diff_is_base_to_head(repo):
    pygit_repo, (base, *ids) = repo
    diff = ranges.range_diff(pygit_repo, base, ids[-1])
    (only,) = diff.files
    assert only.new_path == "f.txt" and (only.additions, only.deletions) == (1, 0)
    assert ranges.diff_text(pygit_repo, base, ids[-1]).endswith(b"+2\n")
