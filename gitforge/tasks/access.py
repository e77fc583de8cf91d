"""Changes to who may do what (groups, grants, privacy, protected branches,
ticket settings, ssh keys), made from the web or the command line: one
commit to the site repo, then a sync, so that the next page reads the
change."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.layout import SITE_REPO
from gitforge.store.site import SiteRepo

log = logging.getLogger(__name__)

T = TypeVar("T")


def change_site(config: Config, write: Callable[..., T], *args, **kwargs) -> T:
    """Call `write(site, *args, **kwargs)`, a store function that commits
    to the site repo (gitforge.store.access, .keys), and sync the index."""
    with SiteRepo.open(config.repositories) as site:
        result = write(site, *args, **kwargs)
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    actor = kwargs.get("actor")
    log.info("%s: %s%s", getattr(actor, "username", "system"), write.__name__, args)
    return result
