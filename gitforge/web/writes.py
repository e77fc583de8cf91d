"""A web write to one of a project's document repos, as the signed-in user."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from gitforge.index.sync import sync_repo
from gitforge.store.documents import DocumentRepo, Identity
from gitforge.store.layout import RepoKind, repo_relpath
from gitforge.tasks.maintenance import gc_auto
from gitforge.web.context import ProjectContext, identity, site

log = logging.getLogger(__name__)
R = TypeVar("R", bound=DocumentRepo)
T = TypeVar("T")


def write_as_viewer(
    project: ProjectContext,
    kind: RepoKind,
    repo_class: type[R],
    change: Callable[[R, Identity], T],
) -> T:
    """Run `change(repo, author)` as the signed-in user, then sync the repo
    so the writer's next page shows the change, and queue a `git gc --auto`
    for it (pygit2 writes loose objects and never runs git's own gc)."""
    config = site().config
    author = identity()
    relpath = repo_relpath(kind, project.fullname)
    with repo_class(config.repositories / relpath) as repo:
        result = change(repo, author)
    sync_repo(site().engine, config.repositories, relpath)
    gc_auto(str(config.home), relpath)
    log.info("%s wrote to %s", author.username, relpath)
    return result
