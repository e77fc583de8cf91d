"""The hook service: a running forge answers pre-receive hooks, with the
same verdict the hook reaches alone, and a missing or broken service
leaves the hook to check the push itself."""

from __future__ import annotations

import json
import socket

import pytest

from gitforge.hooks.service import HookService
from gitforge.hooks.service_client import socket_path
from gitforge.tasks.projects import create_project
from tests.conftest import git

RELPATH = "tickets/foo.git"


@pytest.fixture
def clone(config, tmp_path):
    create_project(config, "foo", "admin")
    work = tmp_path / "work"
    git("clone", "-q", str(config.repositories / RELPATH), str(work))
    return work


@pytest.fixture
def service(config):
    started = HookService(config.home).start()
    assert started is not None, "the socket path is too long for this test"
    yield started
    started.stop()


def _push_file(work, name, text):
    (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"Add {name}", cwd=work)
    return git("push", "origin", "main", cwd=work, check=False)


def test_the_service_answers_the_hook(config, clone, service):
    refused = _push_file(clone, "stray.txt", "x")
    assert "stray.txt: unexpected file" in refused.stderr
    assert "push refused; nothing was changed" in refused.stderr
    assert service.answered == 1
    git("reset", "-q", "--hard", "origin/main", cwd=clone)
    accepted = _push_file(clone, "README.md", "Our tickets\n")
    assert accepted.returncode == 0, accepted.stderr
    assert service.answered == 2


def test_without_the_service_the_hook_says_the_same(config, clone):
    refused = _push_file(clone, "stray.txt", "x")
    assert "stray.txt: unexpected file" in refused.stderr
    assert "push refused; nothing was changed" in refused.stderr


def test_a_stale_socket_is_replaced_and_a_dead_one_ignored(config, clone):
    path = socket_path(str(config.home))
    (config.home / "run").mkdir(exist_ok=True)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(path)  # a socket file nobody listens on
    refused = _push_file(clone, "stray.txt", "x")
    assert "stray.txt: unexpected file" in refused.stderr  # checked by the hook
    service = HookService(config.home).start()
    try:
        assert service is not None and service.answered == 0
        assert HookService(config.home).start() is None  # one per home
    finally:
        service.stop()


@pytest.mark.parametrize(
    "request_line",
    [
        b"not json\n",
        json.dumps({"relpath": "../../etc", "updates": [], "env": {}}).encode() + b"\n",
        json.dumps({"relpath": RELPATH, "updates": [], "env": {"PATH": "/x"}}).encode()
        + b"\n",
    ],
)
def test_odd_requests_get_no_verdict(config, clone, service, request_line):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(service.path)
        sock.sendall(request_line)
        answer = json.loads(sock.makefile("rb").readline())
    assert "problems" not in answer and service.answered == 0
