"""Forking a project, with real repos: what the fork holds, what it leaves
alone, and what a refused or failed fork leaves behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitforge.cli import main
from gitforge.config import Config
from gitforge.hooks.install import hooks_are_current
from gitforge.index import queries
from gitforge.index.db import engine_for, make_engine, reset
from gitforge.index.sync import sync_all
from gitforge.store.errors import AlreadyExists, InvalidName, NotFound
from gitforge.store.site import NewUser, SiteRepo
from gitforge.tasks.forks import ForkFailed, fork_project, fork_project_task
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git
from tests.index.test_sync import dump

# Hooks that would run in the parent if the copy were pushed from it, or if
# its refs were touched at all.
PARENT_HOOKS = (
    "pre-push", "reference-transaction", "pre-receive", "update",
    "post-receive", "post-update",
)  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A repo on `trunk` with a second branch and both kinds of tag."""
    work = tmp_path / "source"
    git("init", "-q", "-b", "trunk", str(work))
    _commit(work, "README.md", "# Foo\n\nThe foo project.\n")
    git("tag", "light", cwd=work)
    git("checkout", "-q", "-b", "feature/x", cwd=work)
    _commit(work, "feature.py", "feature = True\n")
    git("checkout", "-q", "trunk", cwd=work)
    _commit(work, "main.py", "print('main')\n")
    git("tag", "-a", "v1.0", "-m", "First release", cwd=work)
    return work


@pytest.fixture
def site(config: Config, source: Path) -> Config:
    """`foo` and `ns/bar` imported from `source`; foo's code repo also holds
    a pull request ref; alice and bob have accounts."""
    create_project(config, "foo", "admin", "The foo project", source=str(source))
    create_project(config, "ns/bar", "admin", "Bar", source=str(source))
    feature = git("rev-parse", "feature/x", cwd=source).stdout.strip()
    git("update-ref", "refs/pull/1/head", feature, cwd=code_repo(config, "foo"))
    for name in ("alice", "bob"):
        add_user(config, NewUser(name, f"{name}@example.org", name.title(), "pw-12345"))
    return config


def _commit(work: Path, name: str, text: str) -> None:
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("commit", "-qm", f"Add {name}", cwd=work)


def code_repo(config: Config, fullname: str) -> Path:
    return config.repositories / f"{fullname}.git"


def refs(repo: Path, *patterns: str) -> str:
    return git("for-each-ref", "--format=%(objectname) %(refname)", *patterns,
               cwd=repo).stdout  # fmt: skip


def fork_repos(config: Config, fullname: str) -> list[Path]:
    repos = config.repositories
    return [repos / f"{fullname}.git", repos / "tickets" / f"{fullname}.git",
            repos / "requests" / f"{fullname}.git"]  # fmt: skip


def site_tip(config: Config) -> str:
    return git("rev-parse", "main", cwd=config.repositories / "site.git").stdout


def leftovers(config: Config) -> list[str]:
    """Every file and folder of a fork, wherever a fork's repos would be."""
    repos = config.repositories
    found = []
    for top in (repos / "forks", repos / "tickets/forks", repos / "requests/forks"):
        found += [str(p.relative_to(repos)) for p in top.rglob("*")]
    return found


# -- what a fork holds ---------------------------------------------------------


def test_fork_copies_every_branch_and_tag_but_no_pull_refs(site):
    fork_project(site, "foo", "alice")

    fork = code_repo(site, "forks/alice/foo")
    parent = code_repo(site, "foo")
    assert refs(fork) == refs(parent, "refs/heads", "refs/tags")
    assert "refs/heads/feature/x" in refs(fork)
    assert "refs/tags/v1.0" in refs(fork) and "refs/tags/light" in refs(fork)
    assert "refs/pull/" in refs(parent) and "refs/pull/" not in refs(fork)
    assert git("symbolic-ref", "HEAD", cwd=fork).stdout == "refs/heads/trunk\n"
    assert git("fsck", "--strict", cwd=fork).returncode == 0
    assert git("remote", cwd=fork).stdout == ""  # no way back to the parent


def test_fork_has_ticket_and_request_repos_with_gitforge_hooks(site):
    fork_project(site, "foo", "alice")

    for path in fork_repos(site, "forks/alice/foo"):
        assert hooks_are_current(path, site.home), path
    tickets, requests = fork_repos(site, "forks/alice/foo")[1:]
    assert git("ls-tree", "--name-only", "main", cwd=tickets).stdout.split() == [
        ".gitattributes",
        "README.md",
        "numbers.json",
    ]
    assert "Pull requests" in git("show", "main:README.md", cwd=requests).stdout


def test_fork_runs_no_hook_of_the_parent_and_leaves_it_alone(site, tmp_path):
    parent = code_repo(site, "foo")
    marker = tmp_path / "hook-ran"
    for name in PARENT_HOOKS:
        hook = parent / "hooks" / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{marker}'\ncat >/dev/null\n")
        hook.chmod(0o755)
    before = refs(parent)

    fork_project(site, "foo", "alice")

    assert not marker.exists()
    assert refs(parent) == before
    assert refs(code_repo(site, "forks/alice/foo"))  # the fork did get made


def test_fork_is_recorded_with_its_parent_and_indexed(site):
    doc = fork_project(site, "foo", "alice")

    assert doc["parent"] == "foo"
    assert (doc["name"], doc["namespace"], doc["owner"]) == ("foo", None, "alice")
    assert doc["description"] == "The foo project"
    with SiteRepo.open(site.repositories) as site_repo:
        assert site_repo.project("forks/alice/foo") == doc
    engine = engine_for(site)
    row = queries.project(engine, "forks/alice/foo")
    assert (row.parent, row.owner) == ("foo", "alice")
    assert [r.fullname for r in queries.forks_of(engine, "foo")] == ["forks/alice/foo"]
    assert queries.project(engine, "foo").parent is None


def test_fork_of_namespaced_project(site):
    doc = fork_project(site, "ns/bar", "alice")

    assert (doc["name"], doc["namespace"], doc["parent"]) == ("bar", "ns", "ns/bar")
    for path in fork_repos(site, "forks/alice/ns/bar"):
        assert (path / "HEAD").is_file(), path
    engine = engine_for(site)
    assert [r.fullname for r in queries.forks_of(engine, "ns/bar")] == [
        "forks/alice/ns/bar"
    ]


def test_fork_of_a_fork_has_the_fork_as_parent(site):
    fork_project(site, "foo", "alice")
    code = code_repo(site, "forks/alice/foo")
    git("branch", "alice-only", "trunk", cwd=code)

    doc = fork_project(site, "forks/alice/foo", "bob")

    assert doc["parent"] == "forks/alice/foo"
    assert "refs/heads/alice-only" in refs(code_repo(site, "forks/bob/foo"))
    engine = engine_for(site)
    assert [r.fullname for r in queries.forks_of(engine, "forks/alice/foo")] == [
        "forks/bob/foo"
    ]
    assert [r.fullname for r in queries.forks_of(engine, "foo")] == ["forks/alice/foo"]


def test_pushes_to_the_fork_ticket_repo_are_checked(site, tmp_path):
    fork_project(site, "foo", "alice")
    tickets = fork_repos(site, "forks/alice/foo")[1]
    work = tmp_path / "tickets"
    git("clone", "-q", str(tickets), str(work))
    (work / "stray.txt").write_text("not a ticket\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "A stray file", cwd=work)

    pushed = git("push", str(tickets), "main", cwd=work, check=False)

    assert pushed.returncode != 0
    assert "stray.txt" in pushed.stderr


def test_reindex_from_git_gives_back_the_fork_and_its_parent(site):
    fork_project(site, "foo", "alice")
    fork_project(site, "forks/alice/foo", "bob")
    before = dump(engine_for(site))

    rebuilt = make_engine(site.database_url.replace("index.db", "rebuilt.db"))
    reset(rebuilt)
    sync_all(rebuilt, site.repositories)

    assert dump(rebuilt) == before
    assert queries.project(rebuilt, "forks/bob/foo").parent == "forks/alice/foo"


def test_the_task_forks_and_returns_the_fork_name(site):
    queued = fork_project_task(str(site.home), "ns/bar", "bob")

    assert queued.get() == "forks/bob/ns/bar"
    assert queries.project(engine_for(site), "forks/bob/ns/bar").parent == "ns/bar"


# -- refusals and failures -------------------------------------------------------


def test_forking_twice_is_refused_naming_the_fork_and_changes_nothing(site):
    fork_project(site, "foo", "alice")
    code = code_repo(site, "forks/alice/foo")
    before = (site_tip(site), refs(code), dump(engine_for(site)))

    with pytest.raises(AlreadyExists) as refused:
        fork_project(site, "foo", "alice")

    assert str(refused.value) == "fork 'forks/alice/foo' already exists"
    assert (site_tip(site), refs(code), dump(engine_for(site))) == before


def test_fork_of_a_fork_by_a_user_with_a_fork_is_refused(site):
    fork_project(site, "foo", "alice")
    fork_project(site, "foo", "bob")

    with pytest.raises(AlreadyExists, match="forks/bob/foo"):
        fork_project(site, "forks/alice/foo", "bob")


def test_a_failure_half_way_leaves_no_fork_behind(site, monkeypatch):
    before = (site_tip(site), dump(engine_for(site)))

    def broken_write(*args, **kwargs):
        raise RuntimeError("the site repo is on fire")

    with monkeypatch.context() as patched:
        patched.setattr(SiteRepo, "add_project", broken_write)
        with pytest.raises(RuntimeError, match="on fire"):
            fork_project(site, "ns/bar", "alice")

    assert leftovers(site) == []
    assert (site_tip(site), dump(engine_for(site))) == before
    fork_project(site, "ns/bar", "alice")  # and a later try works
    assert all(
        (path / "HEAD").is_file() for path in fork_repos(site, "forks/alice/ns/bar")
    )


def test_a_failed_copy_leaves_no_fork_behind(site):
    failing_git = Config(site.home, {"git_binary": "false"})
    with pytest.raises(ForkFailed, match="could not copy the code of foo"):
        fork_project(failing_git, "foo", "alice")
    assert leftovers(site) == []


@pytest.mark.parametrize(
    "parent, user, error",
    [
        ("nothing", "alice", NotFound),
        ("foo", "nobody", NotFound),
        ("forks/alice/foo", "bob", NotFound),  # alice has no fork yet
        ("foo", "-alice", InvalidName),
        ("foo", "forks", InvalidName),
        ("../foo", "alice", InvalidName),
    ],
)
def test_bad_forks_are_refused_and_make_nothing(site, parent, user, error):
    before = site_tip(site)
    with pytest.raises(error):
        fork_project(site, parent, user)
    assert leftovers(site) == []
    assert site_tip(site) == before


def test_cli_forks_a_project(site, monkeypatch):
    monkeypatch.setenv("GITFORGE_HOME", os.environ["GITFORGE_HOME"])
    runner = CliRunner()
    args = ["project", "fork", "ns/bar", "--user", "bob", "--home", str(site.home)]

    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "Forked ns/bar as forks/bob/ns/bar" in done.output

    again = runner.invoke(main, args)
    assert again.exit_code != 0
    assert "fork 'forks/bob/ns/bar' already exists" in again.output
