"""The hook service: pre-receive checks done by a running forge process.

`gitforge serve` and `gitforge worker` listen on `<home>/run/hooks.sock`
(owner only). A pre-receive hook sends one line of JSON, the repo, the ref
updates and the push's environment (gitforge.hooks.run.PUSH_ENVIRONMENT),
and gets one line back: the problems, exactly as the hook would have found
them itself (gitforge.hooks.run.push_problems). The hook then starts in a
tenth of the time, since pygit2 and the checks are imported already.

Only one process of a home listens; the others leave a live socket alone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path

from gitforge.hooks.run import PUSH_ENVIRONMENT, push_problems
from gitforge.hooks.service_client import socket_path

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4 * 1024 * 1024  # some thousands of ref updates
# The longest socket path Linux takes (sun_path is 108 bytes with its NUL).
MAX_SOCKET_PATH = 107


class HookService:
    """A thread answering pre-receive hooks of one home."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.path = socket_path(str(self.home))
        self.server: socketserver.ThreadingUnixStreamServer | None = None
        self.answered = 0  # pushes checked, for tests and logs

    def start(self) -> HookService | None:
        """Listen, unless another process of the home does or the path is
        too long for a unix socket; returns self when listening."""
        if len(self.path.encode()) > MAX_SOCKET_PATH:
            log.info("hook service off: %s is too long for a socket", self.path)
            return None
        if _is_live(self.path):
            log.info("hook service: another process answers on %s", self.path)
            return None
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        _remove_stale(self.path)
        old_mask = os.umask(0o177)  # the socket is the forge user's alone
        try:
            self.server = _Server(self.path, _Handler)
        finally:
            os.umask(old_mask)
        self.server.service = self
        threading.Thread(
            target=self.server.serve_forever, name="hook-service", daemon=True
        ).start()
        log.info("hook service listening on %s", self.path)
        return self

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        _remove_stale(self.path)
        self.server = None

    def answer(self, request: dict) -> list[str]:
        relpath, updates, env = _checked_request(request)
        repositories = self.home / "repositories"
        if (
            not (repositories / relpath)
            .resolve()
            .is_relative_to(repositories.resolve())
        ):
            raise ValueError(f"{relpath} is not under {repositories}")
        problems = push_problems(repositories, relpath, updates, env)
        self.answered += 1
        return problems


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    service: HookService


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(MAX_REQUEST_BYTES)
        try:
            problems = self.server.service.answer(json.loads(line))
        except Exception:  # the hook then checks the push itself
            log.exception("hook service could not check a push")
            self.wfile.write(b'{"error": "see the server log"}\n')
            return
        self.wfile.write(json.dumps({"problems": problems}).encode() + b"\n")


def _checked_request(request: object) -> tuple[str, list[list[str]], dict]:
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    relpath, updates, env = (request.get(k) for k in ("relpath", "updates", "env"))
    if not isinstance(relpath, str) or not isinstance(updates, list):
        raise ValueError("a request names a repo and its updates")
    if not all(
        isinstance(u, list) and len(u) == 3 and all(isinstance(x, str) for x in u)
        for u in updates
    ):
        raise ValueError("each update is [old, new, ref]")
    if not isinstance(env, dict) or not set(env) <= set(PUSH_ENVIRONMENT):
        raise ValueError("unexpected environment variables")
    if not all(isinstance(value, str) for value in env.values()):
        raise ValueError("environment variables are text")
    return relpath, updates, env


def _is_live(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


def _remove_stale(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
