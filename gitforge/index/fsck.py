"""`gitforge fsck`: does the index say what git says?

The check loads every document repo (the site repo and each project's and
fork's ticket and request repos) into a throw-away SQLite index through the
usual sync, so there is still exactly one way git becomes rows, and compares
that index with the live one row by row (compare.py), and the commit the
live index recorded for each repo with the branch tip. A repair forgets a
differing repo's recorded commit and syncs it again, which loads it whole.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select, update

from gitforge.index.compare import Difference, compare, index_rows
from gitforge.index.db import make_engine, reset
from gitforge.index.schema import repo_state
from gitforge.index.sync import sync_all, sync_repo
from gitforge.store.layout import SITE_REPO

log = logging.getLogger(__name__)


@dataclass
class FsckReport:
    """The document repos a check looked at and how the index differs."""

    repos: list[str]
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences

    @property
    def differing_repos(self) -> list[str]:
        """The repos to repair, the site repo first: the others' rows hang
        on the projects it loads."""
        return sorted({d.repo for d in self.differences}, key=site_first)


def site_first(relpath: str) -> tuple[bool, str]:
    return relpath != SITE_REPO, relpath


def check_index(engine: Engine, repositories: Path) -> FsckReport:
    """Compare the index of `engine` with the repos under `repositories`."""
    # Not yet: git is read a moment before the index; a repo written in
    # between (a push during the check) may be reported once and be clean
    # on the next run.
    fresh_rows, tips = _load_fresh(repositories)
    recorded = recorded_commits(engine)
    differences = compare(index_rows(engine), fresh_rows)
    differences += [
        Difference(relpath, "", _commit_message(recorded.get(relpath), tip))
        for relpath, tip in tips.items()
        if recorded.get(relpath) != tip
    ]
    repos = sorted(tips.keys() | {d.repo for d in differences}, key=site_first)
    return FsckReport(repos, sorted(differences))


def repair_index(
    engine: Engine, repositories: Path, report: FsckReport
) -> tuple[list[str], list[str]]:
    """Re-sync in full every repo the report found different. Returns the
    repos re-synced and those that could not be (not on disk)."""
    synced, missing = [], []
    for relpath in report.differing_repos:
        if not (repositories / relpath).is_dir():
            # Not yet: rows of a repo that is gone from disk while its
            # project is still in the site repo stay until `reindex`.
            missing.append(relpath)
            continue
        _forget_recorded_commit(engine, relpath)
        result = sync_repo(engine, repositories, relpath)
        log.info("fsck: re-synced %s at %s", relpath, result.new)
        synced.append(relpath)
    return synced, missing


def recorded_commits(engine: Engine) -> dict[str, str | None]:
    """The commit the index last loaded, per repo."""
    with engine.connect() as conn:
        rows = conn.execute(select(repo_state.c.repo, repo_state.c.commit))
        return {row.repo: row.commit for row in rows}


def _load_fresh(repositories: Path):
    """The rows and branch tips of a fresh index loaded from git."""
    with tempfile.TemporaryDirectory(prefix="gitforge-fsck-") as folder:
        fresh = make_engine(f"sqlite:///{folder}/index.db")
        try:
            reset(fresh)
            results = sync_all(fresh, repositories)
            return index_rows(fresh), {r.repo: r.new for r in results}
        finally:
            fresh.dispose()


def _commit_message(recorded: str | None, tip: str | None) -> str:
    return (
        f"recorded commit {_short(recorded, 'none')} is not the branch tip "
        f"{_short(tip, 'none (no branch)')}"
    )


def _short(commit: str | None, absent: str) -> str:
    return commit[:12] if commit else absent


def _forget_recorded_commit(engine: Engine, relpath: str) -> None:
    """Make the next sync of `relpath` load everything, as on a new index.
    The one write here outside sync: a commit id, no document row."""
    with engine.begin() as conn:
        conn.execute(
            update(repo_state).where(repo_state.c.repo == relpath).values(commit=None)
        )
