"""The Huey instance of this process."""

from __future__ import annotations

import logging
import signal

from huey import Huey, RedisHuey, SqliteHuey

from gitforge.config import Config

log = logging.getLogger(__name__)


def make_huey(config: Config) -> Huey:
    name, url = config.get("queue_name"), config.get("redis_url")
    if url:
        return RedisHuey(name, url=url)
    config.queue_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(config.queue_dir / "tasks.db"))


huey = make_huey(Config.load())


def make_consumer(workers: int = 2):
    """A task consumer running in threads of this process.

    A short poll interval keeps a push visible within a second; polling an
    idle SQLite queue four times a second costs next to nothing.
    """
    # Imported for their side effect: each registers its tasks.
    from gitforge.tasks import (  # noqa: F401
        forks,
        gitolite,
        maintenance,
        pull_requests,
        sync,
    )

    return huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=0.25,
    )


def start_consumer(workers: int = 2):
    """Start a consumer beside other work (the embedded mode) and leave the
    process's signal handling to its owner: Huey's own handlers only set a
    flag that its `run` loop reads, which would make SIGTERM a no-op here."""
    consumer = make_consumer(workers)
    saved = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    consumer.start()
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    log.info("task consumer started with %d threads", workers)
    return consumer


_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
