"""Account changes made from the web, written to git and synced at once."""

from __future__ import annotations

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.accounts import set_password
from gitforge.store.documents import Identity
from gitforge.store.layout import SITE_REPO
from gitforge.store.site import SiteRepo


def change_password(config: Config, name: str, password: str, actor: Identity) -> None:
    """Commit `name`'s new password to the site repo, then sync the index
    so that the old password stops working with this call."""
    with SiteRepo.open(config.repositories) as site:
        set_password(site, name, password, actor)
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
