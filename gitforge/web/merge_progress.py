"""Following a merge task from the page that queued it.

The merge form queues gitforge.tasks.pull_requests.merge_pull_request and
sends the user to the pull request's page with `?merge=<task id>`. The
session remembers which tasks this user queued for which pull request, so
nobody reads the outcome of someone else's merge by guessing an id. While
the task runs the page says so and reloads itself; once Huey holds the
result, it is taken out of the queue's store and kept in the session, so a
reload shows the outcome again.
"""

from __future__ import annotations

import logging

from flask import session
from huey.exceptions import TaskException

from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)

# Merges remembered per session. The session is a cookie that browsers
# keep only up to 4 KB, so an outcome keeps a bounded part of what the task
# said: the rest of the conflicts are on the page from the merge status.
KEPT = 3
CONFLICT_CHARS = 800
REASON_CHARS = 300
RUNNING = {"running": True}


def started(task_id: str, fullname: str, number: int) -> None:
    """Remember that this session queued merge task `task_id`."""
    merges = [m for m in session.get("merges", []) if m["task"] != task_id]
    entry = {"task": task_id, "project": fullname, "number": number, "outcome": None}
    session["merges"] = [*merges[-(KEPT - 1) :], entry]


def progress(task_id: str | None, fullname: str, number: int) -> dict | None:
    """None when this session queued no such merge of this pull request;
    RUNNING while the task runs; else the outcome: {"ok": True, "kind",
    "commit"} or {"ok": False, "reason", "conflicts", "more_conflicts"}."""
    if not task_id:
        return None
    merges = session.get("merges", [])
    for entry in merges:
        if (entry["task"], entry["project"], entry["number"]) == (
            task_id,
            fullname,
            number,
        ):
            break
    else:
        return None
    if entry["outcome"] is None:
        outcome = _take_result(task_id)
        if outcome is None:
            return RUNNING
        entry["outcome"] = outcome
        session["merges"] = merges  # an assignment marks the session changed
    return entry["outcome"]


def _take_result(task_id: str) -> dict | None:
    """The task's outcome, trimmed to fit a session cookie; None while it
    runs. Reading it removes it from the queue's result store."""
    try:
        result = huey.result(task_id)
    except TaskException as err:
        log.warning("merge task %s failed: %s", task_id, err)
        return _refused("the merge task failed; the site's log says why", [])
    if result is None:
        return None
    if result.get("ok"):
        return {"ok": True, "kind": result["kind"], "commit": result["commit"]}
    return _refused(result.get("reason", ""), result.get("conflicts", []))


def _refused(reason: str, conflicts: list[str]) -> dict:
    kept, budget = [], CONFLICT_CHARS
    for path in conflicts:
        budget -= len(path)
        if budget < 0:
            break
        kept.append(path)
    return {
        "ok": False,
        "reason": str(reason)[:REASON_CHARS],
        "conflicts": kept,
        "more_conflicts": len(conflicts) - len(kept),
    }
