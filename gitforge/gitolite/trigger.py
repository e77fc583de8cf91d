"""When gitolite's files must follow the site: after a sync of the site
repo (users, keys, groups, projects and their access, new repos: a project
or fork is recorded there after its repos are made) and of a ticket repo
(its private tickets decide who may clone it). Queues the refresh task when
the site has `gitolite = on`; imports nothing heavy otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gitforge.config import Config
from gitforge.store.layout import SITE_REPO

log = logging.getLogger(__name__)


def gitolite_enabled(config: Config) -> bool:
    """The `gitolite` setting (ValueError when it is neither on nor off)."""
    return config.get_switch("gitolite")


def synced(home: Path, relpath: str) -> None:
    """Called once a sync moved `relpath` of the site in `home`."""
    if relpath != SITE_REPO and not relpath.startswith("tickets/"):
        return
    config = Config.load(home)
    try:
        if not gitolite_enabled(config):
            return
    except ValueError as err:
        log.error("%s; gitolite's rules were not refreshed", err)
        return
    from gitforge.gitolite.compile import MISSING, gitolite_program

    if gitolite_program() is None:
        log.error("gitolite is on for %s but %s", home, MISSING)
        return
    from gitforge.tasks.gitolite import refresh_gitolite

    try:
        refresh_gitolite(str(config.home))
    except Exception:  # the sync is done; a lost refresh must not undo it
        log.exception("could not queue the gitolite refresh for %s", home)
