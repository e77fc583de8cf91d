"""A limit on failed password checks, per account and per client address.

Every guess at a password, on the login form or in git's Basic auth, costs
the guesser one request. After too many failures within a window for one
account (from anywhere) or from one address (for any account), password
checks for it are refused without being made until the window has passed;
the message says how long. The counts live in the memory of the web
process: ephemeral state, which a restart may lose without losing any
user's data.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from flask import current_app, request

ACCOUNT_FAILURES = 10  # an account is guessed at from many addresses
ADDRESS_FAILURES = 50  # one address may front many people (NAT, a proxy)
WINDOW_S = 15 * 60


class FailureLimit:
    """Failures per key within a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def wait_for(self, account: str, address: str) -> int:
        """Seconds until a password check for `account` from `address` may
        be made again; 0 when it may be made now."""
        with self._lock:
            now = self.clock()
            waits = [
                self._wait(key, limit, now) for key, limit in _keys(account, address)
            ]
        return max(waits)

    def failed(self, account: str, address: str) -> None:
        with self._lock:
            for key, _limit in _keys(account, address):
                self._failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account.lower()), None)

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - WINDOW_S:
            times.popleft()
        if len(times) < limit:
            return 0
        return int(times[-limit] + WINDOW_S - now) + 1


def _keys(account: str, address: str) -> list[tuple[tuple[str, str], int]]:
    return [
        (("account", account.lower()), ACCOUNT_FAILURES),
        (("address", address), ADDRESS_FAILURES),
    ]


def failure_limit() -> FailureLimit:
    """The limit of this app (each app, and so each test app, its own)."""
    return current_app.extensions.setdefault("password_failures", FailureLimit())


def too_many_failures(account: str) -> str | None:
    """Why a password check for `account` from this request's address may
    not be made now, or None when it may."""
    wait = failure_limit().wait_for(account, request.remote_addr or "")
    if not wait:
        return None
    minutes = max(1, round(wait / 60))
    return (
        "Too many failed sign-ins for this account or from this address; "
        f"try again in {minutes} minute{'s' if minutes > 1 else ''}"
    )


def record_check(account: str, passed: bool) -> None:
    limit = failure_limit()
    if passed:
        limit.succeeded(account)
    else:
        limit.failed(account, request.remote_addr or "")
