"""The pre-receive hook's side of the hook service (gitforge.hooks.service).

A hook starts a fresh interpreter for every push, and importing pygit2 and
the checks costs it more than the checks themselves. When `gitforge serve`
or `gitforge worker` runs for the home, the hook hands the push over a unix
socket to that process, which has them imported. This module imports only
what talking to it needs; any trouble (no service, a stale socket, a
timeout, a garbled answer) makes the hook do the checks itself.
"""

from __future__ import annotations

import json
import os
import socket

SOCKET = os.path.join("run", "hooks.sock")  # under the home
TIMEOUT_S = 120.0  # a huge push takes its time; after that, check here
MAX_ANSWER_BYTES = 16 * 1024 * 1024


def socket_path(home: str) -> str:
    return os.path.join(home, SOCKET)


def ask_service(
    home: str, relpath: str, updates: list[list[str]], env: dict
) -> list[str] | None:
    """The service's problems with the push, or None to check here."""
    path = socket_path(home)
    if not os.path.exists(path):
        return None
    request = {"relpath": relpath, "updates": updates, "env": env}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT_S)
            sock.connect(path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(_read_line(sock))
    except (OSError, ValueError):
        return None
    problems = answer.get("problems") if isinstance(answer, dict) else None
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        return None
    return problems


def _read_line(sock: socket.socket) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("the hook service hung up")
        chunks.append(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)
        if size > MAX_ANSWER_BYTES:
            raise ValueError("the hook service's answer is too long")
