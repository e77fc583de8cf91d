"""Setting up a data home and its site repo."""

from __future__ import annotations

import logging

from gitforge.config import Config
from gitforge.hooks.install import install_hooks
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity
from gitforge.store.layout import SITE_REPO
from gitforge.store.site import NewUser, SiteRepo

log = logging.getLogger(__name__)


def is_initialised(config: Config) -> bool:
    return (config.repositories / SITE_REPO).exists()


def init_site(config: Config, admin: NewUser) -> None:
    """Create the folders, the site repo and the first (admin) account."""
    for folder in (config.repositories, config.index_dir, config.queue_dir):
        folder.mkdir(parents=True, exist_ok=True)
    with SiteRepo.create(config.repositories) as site:
        install_hooks(site.path, config.home)
        site.add_user(admin)
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    log.info("site created in %s with admin %s", config.home, admin.name)


def change_project_settings(
    config: Config, fullname: str, settings: dict, actor: Identity
) -> dict:
    with SiteRepo.open(config.repositories) as site:
        doc = site.change_settings(fullname, settings, actor)
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    log.info("%s changed the settings of %s: %s", actor.username, fullname,
             settings)  # fmt: skip
    return doc


def add_user(config: Config, new: NewUser) -> dict:
    with SiteRepo.open(config.repositories) as site:
        doc = site.add_user(new)
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    return doc
