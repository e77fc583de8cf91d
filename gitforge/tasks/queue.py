"""The Huey instance of this process."""

from __future__ import annotations

import logging

from huey import Huey, RedisHuey, SqliteHuey

from gitforge.config import Config

log = logging.getLogger(__name__)


def make_huey(config: Config) -> Huey:
    url = config.get("redis_url")
    if url:
        return RedisHuey("gitforge", url=url)
    config.queue_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("gitforge", filename=str(config.queue_dir / "tasks.db"))


huey = make_huey(Config.load())


def start_consumer(workers: int = 2):
    """Run the task consumer in threads of this process (the embedded mode).

    A short poll interval keeps a push visible within a second; polling an
    idle SQLite queue four times a second costs next to nothing.
    """
    from gitforge.tasks import maintenance, sync  # noqa: F401  (registers tasks)

    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=0.25,
    )
    consumer.start()
    log.info("task consumer started with %d threads", workers)
    return consumer
