"""The gitolite refresh task: rewrite gitolite's rules and keydir after a
change of the site (queued by gitforge.gitolite.trigger)."""

from __future__ import annotations

import logging

from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=1)
def refresh_gitolite(home: str) -> None:
    """Bring `<home>/gitolite` up to the site. Each run reads the site
    afresh, so runs queued by a burst of changes leave the same files."""
    from gitforge.config import Config
    from gitforge.gitolite.compile import apply

    apply(Config.load(home))
