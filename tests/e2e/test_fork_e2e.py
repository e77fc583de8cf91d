"""End to end: forking on a real `gitforge serve`, whose task consumer runs
the fork, then cloning the fork over HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import git
from tests.e2e.conftest import gitforge
from tests.e2e.test_forge import make_source_repo

pytestmark = pytest.mark.e2e


def test_fork_on_the_web_then_clone_it(forge, browser, tmp_path):
    source = make_source_repo(tmp_path / "source")
    gitforge(forge.home, "project", "import", "tools/demo", str(source))
    gitforge(forge.home, "user", "add", "erin", "--email", "erin@example.org",
             "--password-stdin", input="erin-pw-12\n")  # fmt: skip
    browser.submit("/login", "/login", {"name": "erin", "password": "erin-pw-12"})

    status, page = browser.submit("/tools/demo", "/tools/demo/fork", {})

    assert status == 200, page
    assert 'forked from <a href="/tools/demo">tools/demo</a>' in page
    status, page = browser.get("/tools/demo")
    assert '<a href="/fork/erin/tools/demo">forks/erin/tools/demo</a>' in page
    clone = tmp_path / "clone.git"
    git("clone", "-q", "--bare", f"{forge.url}/forks/erin/tools/demo.git", str(clone))
    shown = ["show-ref", "--heads", "--tags"]
    assert git(*shown, cwd=clone).stdout == git(*shown, cwd=source).stdout
