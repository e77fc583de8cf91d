"""The load-JSON task: sync a repo into the index after a push."""

from __future__ import annotations

import logging

from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)

ZERO = "0" * 40


@huey.task(retries=3, retry_delay=1)
def load_json(home: str, relpath: str, since: str | None = None) -> None:
    """Load a pushed repo. `since` is the commit the push started from: a
    ticket repo's tickets that arrived without a number after it are
    numbered first."""
    from gitforge.config import Config

    load_pushed(Config.load(home), relpath, since)


def load_pushed(config, relpath: str, since: str | None = None) -> None:
    """Number new tickets (for a ticket repo), then sync; also what the
    reconciler runs for a repo that moved without a hook."""
    from gitforge.index.db import engine_for
    from gitforge.index.sync import recorded_commit, sync_repo

    engine = engine_for(config)
    if relpath.startswith("tickets/"):
        if since is None or since == ZERO:
            since = recorded_commit(engine, relpath)
        _number_new_tickets(config, relpath, since)
    result = sync_repo(engine, config.repositories, relpath)
    if result.moved:
        log.info("push loaded: %s now at %s", relpath, result.new)


def _number_new_tickets(config, relpath: str, since: str | None) -> None:
    """Number the tickets a push brought without one, before they are
    loaded (the index only holds numbered tickets)."""
    from gitforge.store.tickets import TicketRepo

    with TicketRepo(config.repositories / relpath) as tickets:
        given = tickets.number_new_tickets(since=since)
    if given:
        numbers = ", ".join(f"#{number}" for _uid, number in given)
        log.info("numbered tickets made offline in %s: %s", relpath, numbers)
