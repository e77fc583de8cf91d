"""The scale-out queue: a push's load-JSON task goes through Redis to a
separate `gitforge worker` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from gitforge.index.db import engine_for
from gitforge.index.queries import project, ticket
from gitforge.store.documents import uid_folder
from gitforge.tasks.projects import create_project
from tests.conftest import git

REDIS_URL = os.environ.get("GITFORGE_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_queue():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({err}); "
                    "install redis-server")  # fmt: skip
    name = f"gitforge-test-{uuid.uuid4().hex[:10]}"
    yield name
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)
    client.close()


def test_push_is_loaded_by_a_worker_through_redis(config, tmp_path, redis_queue):
    create_project(config, "foo", "admin")
    env = {
        **os.environ,
        "GITFORGE_REDIS_URL": REDIS_URL,
        "GITFORGE_QUEUE_NAME": redis_queue,
        "GITFORGE_HOME": str(config.home),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "gitforge", "worker", "--home", str(config.home)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _push_a_ticket(config, tmp_path, env)
        row = _wait_for_ticket(config, number=1)
        assert row is not None, "the worker never loaded the push"
        assert row.title == "Via Redis"
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def _push_a_ticket(config, tmp_path, env):
    work = tmp_path / "work"
    repo = config.repositories / "tickets" / "foo.git"
    git("clone", "-q", str(repo), str(work))
    uid = uuid.uuid4().hex
    (work / uid_folder(uid)).mkdir(parents=True)
    (work / uid_folder(uid) / "ticket.json").write_text(json.dumps({
        "format": 1, "uid": uid, "number": 1, "title": "Via Redis", "body": "",
        "author": "admin", "created": "2026-12-04T12:00:00Z", "status": "Open",
        "close_reason": None, "tags": [], "private": False}))  # fmt: skip
    (work / "numbers.json").write_text(json.dumps({"format": 1, "next": 2}))
    git("add", "-A", cwd=work)
    git("commit", "-qm", "offline ticket", cwd=work)
    git("push", "-q", str(repo), "main", cwd=work, env=env)


def _wait_for_ticket(config, number: int, timeout: float = 15.0):
    engine = engine_for(config)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = ticket(engine, project(engine, "foo"), number)
        if row is not None:
            return row
        time.sleep(0.1)
    return None
