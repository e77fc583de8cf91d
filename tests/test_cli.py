"""The `gitforge` command, run as a user would run it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import git
from tests.index.test_sync import dump


def run(home, *args, input=None, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "gitforge", *args, "--home", str(home)],
        input=input, capture_output=True, text=True,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    out = run(home, "init", "--admin", "root", "--email", "root@example.org",
              "--password-stdin", input="root-pw-123\n")  # fmt: skip
    assert "admin account: root" in out.stdout
    return home


def test_cli_init_refuses_a_second_site(home):
    again = run(home, "init", "--password-stdin", input="x-pw-12345\n", check=False)
    assert again.returncode != 0 and "already holds a site" in again.stderr


def test_cli_import_keeps_every_branch_and_tag(home, tmp_path):
    source = tmp_path / "source"
    git("init", "-q", "-b", "develop", str(source))
    (source / "a.txt").write_text("a\n")
    git("add", "-A", cwd=source)
    git("commit", "-qm", "one", cwd=source)
    git("branch", "release/1.x", cwd=source)
    git("tag", "-a", "v1", "-m", "v1", cwd=source)
    run(home, "project", "import", "tools/demo", str(source), "--owner", "root")
    imported = home / "repositories" / "tools" / "demo.git"
    assert git("for-each-ref", cwd=imported).stdout == \
        git("for-each-ref", cwd=source).stdout  # fmt: skip
    assert git("symbolic-ref", "HEAD", cwd=imported).stdout == "refs/heads/develop\n"
    assert git("remote", cwd=imported).stdout == ""
    hooks = imported / "hooks"
    assert (hooks / "pre-receive").exists() and (hooks / "post-receive").exists()


def test_cli_bad_names_get_a_clear_error(home):
    for name in ("-rf", "../escape", "a/b/c", "api", "x.git"):
        done = subprocess.run(
            [sys.executable, "-m", "gitforge", "project", "create", "--home",
             str(home), "--", name], capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode != 0
        assert "Error: invalid" in done.stderr and "Traceback" not in done.stderr
    assert not (home / "repositories" / "escape.git").exists()


def test_cli_import_of_a_missing_source_leaves_nothing(home, tmp_path):
    done = run(home, "project", "import", "ghost", str(tmp_path / "nope"),
               check=False)  # fmt: skip
    assert done.returncode != 0 and "could not import" in done.stderr
    assert not (home / "repositories" / "ghost.git").exists()
    assert not (home / "repositories" / "tickets" / "ghost.git").exists()


def test_cli_reindex_rebuilds_the_same_index(home):
    from gitforge.config import Config
    from gitforge.index.db import make_engine

    run(home, "user", "add", "bob", "--email", "bob@example.org",
        "--password-stdin", input="bob-pw-1234\n")  # fmt: skip
    run(home, "project", "create", "demo", "--owner", "bob", "--description", "D")
    engine = make_engine(Config(home).database_url)
    before = dump(engine)
    out = run(home, "reindex")
    assert "Reindexed 2 repos" in out.stdout
    assert dump(engine) == before
    assert any('"bob"' in row for row in before["users"])
