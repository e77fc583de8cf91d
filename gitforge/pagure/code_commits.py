"""The project's code repo as imported pull requests see it: branch tips,
which commits it has, and the commit that merged a pull request."""

from __future__ import annotations

import pygit2

# How far back the target branch is searched for the commit that merged a
# pull request.
MERGE_SEARCH_COMMITS = 50_000


class CodeCommits:
    """Commits of the code repo `repo`; with no code repo (None) there is
    no branch and no commit."""

    def __init__(self, repo: pygit2.Repository | None):
        self.repo = repo
        self._merges: dict[str, dict[str, str]] = {}  # branch -> head -> merge

    def tip(self, branch: str) -> str | None:
        """The commit id at the tip of `branch`, if the repo has that branch."""
        if self.repo is None or not branch:
            return None
        try:
            ref = self.repo.references.get(f"refs/heads/{branch}")
        except (ValueError, pygit2.GitError):  # not a valid ref name
            return None
        if ref is None or ref.type != pygit2.enums.ReferenceType.DIRECT:
            return None
        return str(ref.peel(pygit2.Commit).id)

    def has(self, commit: str) -> bool:
        """Whether the repo holds `commit`."""
        return self.repo is not None and self.repo.get(commit) is not None

    def parent_of(self, commit: str) -> str:
        """The first parent of `commit`, or `commit` itself when the repo
        does not have it or it has no parent."""
        found = self.repo.get(commit) if self.repo else None
        if isinstance(found, pygit2.Commit) and found.parent_ids:
            return str(found.parent_ids[0])
        return commit

    def merge_commit(self, branch: str, head: str) -> str:
        """The commit of the target branch that merged `head`: a merge
        commit with it as a parent, or `head` itself after a fast-forward
        (and when neither is found: Pagure does not record it)."""
        if branch not in self._merges:
            self._merges[branch] = self._merges_on(branch)
        return self._merges[branch].get(head, head)

    def _merges_on(self, branch: str) -> dict[str, str]:
        tip = self.tip(branch)
        if tip is None:
            return {}
        merged: dict[str, str] = {}
        walker = self.repo.walk(tip, pygit2.enums.SortMode.NONE)
        for count, commit in enumerate(walker):
            if count >= MERGE_SEARCH_COMMITS:
                break
            for parent in commit.parent_ids[1:]:
                merged.setdefault(str(parent), str(commit.id))
        return merged
