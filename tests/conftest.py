"""Fixtures shared by the whole suite.

The task queue is chosen when gitforge.tasks.queue is imported, from
GITFORGE_HOME; the suite points that at a throwaway folder first and runs
tasks inline (Huey's immediate mode) unless a test starts a real server.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("GITFORGE_HOME", tempfile.mkdtemp(prefix="gitforge-suite-"))
for _name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
    os.environ.pop(_name, None)

from gitforge.config import Config  # noqa: E402
from gitforge.store.site import NewUser  # noqa: E402
from gitforge.tasks.queue import huey  # noqa: E402

huey.immediate = True

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": tempfile.mkdtemp(prefix="gitforge-suite-home-"),
}


def git(*args: str, cwd: Path | str | None = None, check: bool = True,
        env: dict | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """Run the real git with a fixed identity and no user configuration."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A fresh site: a home with the site repo and an admin account."""
    from gitforge.tasks.site import init_site

    config = Config(tmp_path / "home")
    init_site(config, NewUser("admin", "admin@example.org", "Ad Min", "secret-pw1",
                              admin=True))  # fmt: skip
    return config
