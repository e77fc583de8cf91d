"""The load-JSON task: sync a repo into the index after a push."""

from __future__ import annotations

import logging

from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=1)
def load_json(home: str, relpath: str) -> None:
    from gitforge.config import Config
    from gitforge.index.db import engine_for
    from gitforge.index.sync import sync_repo

    config = Config.load(home)
    result = sync_repo(engine_for(config), config.repositories, relpath)
    if result.moved:
        log.info("push loaded: %s now at %s", relpath, result.new)
