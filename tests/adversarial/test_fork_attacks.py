"""Forking at the same time from many threads: one fork per user and
project, whole, recorded once; the others refused without damage."""

from __future__ import annotations

import threading

from gitforge.index import queries
from gitforge.index.db import engine_for
from gitforge.store.errors import AlreadyExists
from gitforge.store.site import SiteRepo
from gitforge.tasks.forks import fork_project
from tests.conftest import git
from tests.tasks import test_forks as fork_tests
from tests.tasks.test_forks import fork_repos

# The fork tests' fixtures, by name: foo imported from a repo on `trunk`,
# and accounts for alice and bob.
site, source = fork_tests.site, fork_tests.source


def test_concurrent_forks_make_one_whole_fork_per_user(site):
    config = site
    outcomes: list[tuple[str, str]] = []

    def fork(user: str) -> None:
        try:
            fork_project(config, "foo", user)
            outcomes.append((user, "made"))
        except AlreadyExists:
            outcomes.append((user, "refused"))

    users = ["alice"] * 3 + ["bob"] * 3
    threads = [threading.Thread(target=fork, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == sorted(
        [(u, "made") for u in ("alice", "bob")]
        + [(u, "refused") for u in ("alice", "bob") for _ in range(2)]
    )
    with SiteRepo.open(config.repositories) as site_repo:
        snapshot = site_repo.snapshot()
        assert sorted(snapshot.listdir("projects/forks")) == ["alice", "bob"]
    for user in ("alice", "bob"):
        fullname = f"forks/{user}/foo"
        assert all(path.is_dir() for path in fork_repos(config, fullname))
        fork_code = fork_repos(config, fullname)[0]
        assert git("rev-parse", "trunk", cwd=fork_code).returncode == 0
        assert queries.project(engine_for(config), fullname) is not None
