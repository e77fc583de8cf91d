"""Forking a project: a copy of its code in repos of the forking user's own.

A fork of `foo` (or `ns/foo`) by alice is the project `forks/alice/foo` (or
`forks/alice/ns/foo`), with code, ticket and request repos of its own, like
in Pagure. Its code repo starts with every branch and tag of the parent;
refs of other kinds (such as refs/pull/*) stay behind. The copy is fetched
by the fork, so nothing is pushed anywhere and no hook of the parent runs.

As with creating a project, the repos are made first and the fork is
recorded in the site repo last: a failure half-way removes what was made
and leaves no fork that points at missing repos.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pygit2

from gitforge.config import Config
from gitforge.hooks.install import install_hooks
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.code import CodeRepo
from gitforge.store.documents import DEFAULT_BRANCH, Identity
from gitforge.store.errors import AlreadyExists, StoreError
from gitforge.store.layout import (
    FORKS_FOLDER,
    SITE_REPO,
    RepoKind,
    fork_fullname,
    repo_path,
)
from gitforge.store.requests import RequestRepo
from gitforge.store.site import SiteRepo, project_path
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)

# What a fork copies; `+` because the fork starts empty and takes them as
# they are, tags that moved included.
COPIED_REFS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")

# Variables that would point git at another repository than the one named
# on its command line, e.g. when a task runs inside a hook's environment.
_REPO_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH", "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
)  # fmt: skip


class ForkFailed(StoreError):
    def __init__(self, parent: str, output: str):
        self.parent, self.output = parent, output
        super().__init__(f"could not copy the code of {parent}: {output.strip()}")


def fork_project(config: Config, parent_fullname: str, user: str) -> dict:
    """Make `user`'s fork of the project `parent_fullname`, record it in the
    site repo and sync it into the index; returns the fork's document.

    A user has one fork of a project: a second one is refused with
    AlreadyExists naming the fork. A fork may itself be forked.
    """
    fullname = fork_fullname(user, parent_fullname)
    repos = config.repositories
    actor, parent = _check_fork_allowed(repos, parent_fullname, fullname, user)
    paths = [repo_path(repos, kind, fullname) for kind in _FORK_REPOS]
    if any(path.exists() for path in paths):
        raise AlreadyExists("fork", fullname)
    made: list[Path] = []
    try:
        code, tickets, requests = paths
        _claim(code, fullname)
        made.append(code)
        _copy_code(config, parent_fullname, code)
        made.append(tickets)
        TicketRepo.create(tickets).close()
        made.append(requests)
        RequestRepo.create(requests).close()
        for path in made:
            install_hooks(path, config.home)
        with SiteRepo.open(repos) as site:
            # A fork of a private project is private: its code is the
            # parent's.
            doc = site.add_project(
                fullname, user, parent["description"], actor,
                parent=parent_fullname, private=bool(parent.get("private")),
            )  # fmt: skip
    except BaseException:
        _remove(made, repos)
        raise
    _sync(config, fullname)
    log.info("%s forked %s as %s", user, parent_fullname, fullname)
    return doc


@huey.task()
def fork_project_task(home: str, parent_fullname: str, user: str) -> str:
    """`fork_project` for the web; returns the fork's full name (a task that
    returns None stores no result to wait for)."""
    fork_project(Config.load(home), parent_fullname, user)
    return fork_fullname(user, parent_fullname)


_FORK_REPOS = (RepoKind.CODE, RepoKind.TICKETS, RepoKind.REQUESTS)


def _check_fork_allowed(
    repos: Path, parent_fullname: str, fullname: str, user: str
) -> tuple[Identity, dict]:
    """The forking user as a commit author and the parent's document;
    NotFound for an unknown user or parent, AlreadyExists for a second
    fork."""
    with SiteRepo.open(repos) as site:
        account = site.user(user)
        parent = site.project(parent_fullname)
        if site.snapshot().exists(project_path(fullname)):
            raise AlreadyExists("fork", fullname)
    name = account["full_name"] or user
    return Identity(user, account["emails"][0], name), parent


def _claim(code: Path, fullname: str) -> None:
    """Make the fork's code folder, or fail if another fork of the same
    name got there first (so the loser never removes the winner's repos)."""
    code.parent.mkdir(parents=True, exist_ok=True)
    try:
        code.mkdir()
    except FileExistsError:
        raise AlreadyExists("fork", fullname) from None


def _copy_code(config: Config, parent_fullname: str, target: Path) -> None:
    """Fetch every branch and tag of the parent's code repo into a new bare
    repo at `target`, whose HEAD names the branch the parent's HEAD names."""
    source = repo_path(config.repositories, RepoKind.CODE, parent_fullname)
    with CodeRepo(source) as parent:
        branch = parent.default_branch() or DEFAULT_BRANCH
    pygit2.init_repository(
        str(target), bare=True, initial_head=f"refs/heads/{branch}"
    ).free()
    git = config.get("git_binary")
    # Not yet: objects are copied rather than shared, so forking a big
    # project costs as much as packing it.
    command = [git, "--git-dir", str(target), "fetch", "--quiet", "--no-tags"]
    command += ["--", str(source), *COPIED_REFS]
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARIABLES}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ForkFailed(parent_fullname, done.stderr or f"exit {done.returncode}")


def _remove(made: list[Path], repositories: Path) -> None:
    """Remove the repos a failed fork made, and the folders below `forks`
    (`forks/<user>`, `tickets/forks/<user>/<ns>`, ...) left empty."""
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
        folder = path.parent
        while folder.name != FORKS_FOLDER and folder != repositories:
            if not folder.is_dir() or any(folder.iterdir()):
                break
            folder.rmdir()
            folder = folder.parent


def _sync(config: Config, fullname: str) -> None:
    engine = engine_for(config)
    repos = config.repositories
    sync_repo(engine, repos, SITE_REPO)
    for kind in (RepoKind.TICKETS, RepoKind.REQUESTS):
        path = repo_path(repos, kind, fullname)
        sync_repo(engine, repos, path.relative_to(repos).as_posix())
