"""The limit on failed password checks: on the login form and in git's Basic
auth, per account and per address, lifted when the window has passed."""

from __future__ import annotations

import base64

from gitforge.web import throttle
from gitforge.web.throttle import ACCOUNT_FAILURES, ADDRESS_FAILURES, FailureLimit
from tests.web.conftest import ADMIN_PASSWORD
from tests.web.test_accounts import token


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_account_is_locked_after_its_failures_until_the_window_passes():
    clock = Clock()
    limit = FailureLimit(clock)
    for n in range(ACCOUNT_FAILURES):
        assert limit.wait_for("Alice", f"10.0.0.{n}") == 0
        limit.failed("Alice", f"10.0.0.{n}")
    assert limit.wait_for("alice", "10.0.1.1") == throttle.WINDOW_S + 1
    assert limit.wait_for("bob", "10.0.1.1") == 0  # others are not held up
    clock.now += throttle.WINDOW_S
    assert limit.wait_for("alice", "10.0.1.1") == 0


def test_an_address_is_locked_after_its_failures_for_any_account():
    limit = FailureLimit(Clock())
    for n in range(ADDRESS_FAILURES):
        limit.failed(f"user{n}", "10.0.0.9")
    assert limit.wait_for("someone", "10.0.0.9") > 0
    assert limit.wait_for("someone", "10.0.0.8") == 0


def test_a_success_clears_the_accounts_failures():
    limit = FailureLimit(Clock())
    for _ in range(ACCOUNT_FAILURES - 1):
        limit.failed("alice", "10.0.0.1")
    limit.succeeded("alice")
    limit.failed("alice", "10.0.0.1")
    assert limit.wait_for("alice", "10.0.0.2") == 0


def _login(client, password):
    data = {"csrf_token": token(client), "name": "admin", "password": password}
    return client.post("/login", data=data)


def test_the_login_form_stops_checking_after_too_many_failures(client):
    for _ in range(ACCOUNT_FAILURES):
        assert _login(client, "wrong").status_code == 401
    refused = _login(client, ADMIN_PASSWORD)
    assert refused.status_code == 429
    assert b"Too many failed sign-ins for this account" in refused.data


def _receive_pack(client, password):
    pair = base64.b64encode(f"admin:{password}".encode()).decode()
    return client.get(
        "/foo.git/info/refs?service=git-receive-pack",
        headers={"Authorization": f"Basic {pair}"},
    )


def test_git_basic_auth_stops_checking_after_too_many_failures(client):
    for _ in range(ACCOUNT_FAILURES):
        wrong = _receive_pack(client, "wrong")
        assert wrong.status_code == 401 and b"wrong password" in wrong.data
    refused = _receive_pack(client, ADMIN_PASSWORD)
    assert refused.status_code == 401
    assert b"Too many failed sign-ins for this account" in refused.data
    assert b"try again in 15 minutes" in refused.data
