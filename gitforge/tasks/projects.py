"""Repo operations on projects: create and import.

Both make the repos first and record the project in the site repo last, so a
failure half-way leaves no project that points at missing repos.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pygit2

from gitforge.config import Config
from gitforge.hooks.install import install_hooks
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import DEFAULT_BRANCH, SYSTEM, Identity
from gitforge.store.errors import AlreadyExists, StoreError
from gitforge.store.layout import SITE_REPO, RepoKind, repo_path, split_fullname
from gitforge.store.requests import RequestRepo
from gitforge.store.site import SiteRepo
from gitforge.store.tickets import TicketRepo

log = logging.getLogger(__name__)


class ImportFailed(StoreError):
    def __init__(self, source: str, output: str):
        self.source, self.output = source, output
        super().__init__(f"could not import {source}: {output.strip()}")


def create_project(
    config: Config,
    fullname: str,
    owner: str,
    description: str = "",
    actor: Identity = SYSTEM,
    source: str | None = None,
    show_progress: bool = False,
    private: bool = False,
) -> dict:
    """Create a project's repos (importing `source` if given), record it in
    the site repo and sync it into the index."""
    split_fullname(fullname)
    repos = config.repositories
    code = repo_path(repos, RepoKind.CODE, fullname)
    tickets = repo_path(repos, RepoKind.TICKETS, fullname)
    requests = repo_path(repos, RepoKind.REQUESTS, fullname)
    if code.exists() or tickets.exists() or requests.exists():
        raise AlreadyExists("project", fullname)
    made: list[Path] = []
    try:
        made.append(code)
        if source:
            _clone_mirror(config, source, code, show_progress)
        else:
            pygit2.init_repository(str(code), bare=True, initial_head=DEFAULT_BRANCH)
        made.append(tickets)
        TicketRepo.create(tickets).close()
        made.append(requests)
        RequestRepo.create(requests).close()
        for path in made:
            install_hooks(path, config.home)
        with SiteRepo.open(repos) as site:
            doc = site.add_project(fullname, owner, description, actor, private=private)
    except BaseException:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        raise
    engine = engine_for(config)
    sync_repo(engine, repos, SITE_REPO)
    for path in (tickets, requests):
        sync_repo(engine, repos, path.relative_to(repos).as_posix())
    log.info("project %s created by %s", fullname, actor.username)
    return doc


def _clone_mirror(config: Config, source: str, target: Path, progress: bool) -> None:
    """Copy every branch and tag of `source` with git itself."""
    git = config.get("git_binary")
    command = [git, "-c", "protocol.ext.allow=never", "clone", "--mirror"]
    command += ["--progress" if progress else "--quiet", "--", source, str(target)]
    done = subprocess.run(
        command, stderr=None if progress else subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise ImportFailed(source, done.stderr or f"git exited {done.returncode}")
    # The copy is ours now: no remote to fetch from, no mirror refs.
    subprocess.run(
        [git, "--git-dir", str(target), "config", "--remove-section", "remote.origin"],
        check=True,
    )
