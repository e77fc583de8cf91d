"""A comment pushed by path: how soon the ticket page shows it, and what the
hooks cost the push.

Starts a real `gitforge serve` subprocess on a free loopback port with a
throwaway home, opens ticket 1 from a clone of the ticket repo, then pushes
one comment file at a time, by path as the server's own git would see it:

(a) from `git push` returning to the comment showing on the ticket page,
    fetched over HTTP every 5 ms (target: within 1 s);
(b) the push's own duration with gitforge's pre- and post-receive hooks,
    against the same commit pushed to a bare repo without hooks (target:
    hooks add under 150 ms).

    python bench/bench_push.py [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

VISIBLE_TARGET_S = 1.0
HOOK_TARGET_MS = 150.0
POLL_S = 0.005
USER = "alice"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.org",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gitforge-bench-push-"))
    try:
        report(*measure(scratch, args.runs), args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure(scratch: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    home = scratch / "home"
    env = _clean_env(HOME=str(scratch))
    with _serving(home, scratch / "serve.log", env) as url:
        _cli(home, env, "user", "add", USER, "--email", f"{USER}@example.org",
             "--no-password")  # fmt: skip
        _cli(home, env, "project", "create", "demo", "--owner", USER)
        hooked = home / "repositories" / "tickets" / "demo.git"
        clone = scratch / "clone"
        _git(env, "clone", "-q", f"{url}/tickets/demo.git", str(clone))
        folder = _open_ticket(clone, hooked, url, env)
        plain = scratch / "plain.git"
        _git(env, "init", "-q", "--bare", str(plain))
        _git(env, "push", "-q", str(plain), "main", cwd=clone)
        visible, with_hooks, without = [], [], []
        for run in range(runs):
            text = f"Pushed comment {run} {uuid.uuid4().hex}"
            _commit_comment(clone, folder, text, env)
            with_hooks.append(_timed_push(clone, hooked, env))
            visible.append(_wait_visible(url, text))
            without.append(_timed_push(clone, plain, env))
    return visible, with_hooks, without


def report(visible, with_hooks, without, runs: int) -> None:
    seen = statistics.median(visible)
    hooked, plain = statistics.median(with_hooks), statistics.median(without)
    print(f"visible on the ticket page after the push: median {seen * 1000:.0f} ms, "
          f"max {max(visible) * 1000:.0f} ms over {runs} pushes "
          f"(target {VISIBLE_TARGET_S:.0f} s)")  # fmt: skip
    print(f"push with hooks: median {hooked * 1000:.0f} ms; to a bare repo "
          f"without hooks: median {plain * 1000:.0f} ms")  # fmt: skip
    print(f"hooks add {(hooked - plain) * 1000:.0f} ms "
          f"(target under {HOOK_TARGET_MS:.0f} ms)")  # fmt: skip


# -- the server --------------------------------------------------------------


@contextmanager
def _serving(home: Path, log: Path, env: dict):
    port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gitforge",
                "serve",
                "--home",
                str(home),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],  # fmt: skip
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in env.items() if k != "GITFORGE_USER"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gitforge serve exited:\n{log.read_text()}")
        if _get(url + "/") is not None:
            return
        time.sleep(0.1)
    sys.exit(f"gitforge serve did not come up:\n{log.read_text()}")


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError):
        return None


# -- the pushes --------------------------------------------------------------


def _open_ticket(clone: Path, hooked: Path, url: str, env: dict) -> Path:
    """Ticket 1, made offline and pushed; waits for the server's number."""
    new_ticket = ["tickets", "new", "--title", "Bench ticket", "--as", USER]
    subprocess.run([sys.executable, "-m", "gitforge", *new_ticket], cwd=clone,
                   env=env, check=True, capture_output=True)  # fmt: skip
    _git(env, "push", "-q", str(hooked), "main", cwd=clone)
    deadline = time.monotonic() + 30
    while _get(f"{url}/demo/issue/1") is None:
        if time.monotonic() > deadline:
            sys.exit("ticket 1 never appeared")
        time.sleep(0.1)
    _git(env, "pull", "-q", "--ff-only", cwd=clone)  # the numbering commit
    return next(clone.glob("*/*/ticket.json")).parent


def _commit_comment(clone: Path, folder: Path, text: str, env: dict) -> None:
    uid = uuid.uuid4().hex
    comments = folder / "comments"
    comments.mkdir(exist_ok=True)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    doc = {"format": 1, "uid": uid, "author": USER, "created": created,
           "edited": None, "body": text}  # fmt: skip
    (comments / f"{uid}.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
    _git(env, "add", "-A", cwd=clone)
    _git(env, "commit", "-qm", "A comment", cwd=clone)


def _timed_push(clone: Path, target: Path, env: dict) -> float:
    started = time.perf_counter()
    _git(env, "push", "-q", str(target), "main", cwd=clone)
    return time.perf_counter() - started


def _wait_visible(url: str, text: str) -> float:
    """Seconds from now (the push has just returned) to `text` on the page."""
    started = time.perf_counter()
    deadline = started + 30
    while time.perf_counter() < deadline:
        page = _get(f"{url}/demo/issue/1")
        if page is not None and text in page:
            return time.perf_counter() - started
        time.sleep(POLL_S)
    sys.exit(f"the comment {text!r} never showed on the ticket page")


def _git(env: dict, *args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                   capture_output=True)  # fmt: skip


def _cli(home: Path, env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "gitforge", *args, "--home", str(home)],
                   env=env, check=True, capture_output=True)  # fmt: skip


def _clean_env(**extra: str) -> dict:
    """No GITFORGE_ settings from the caller; the pusher is USER."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITFORGE_")}
    return {**env, **GIT_ENV, "GITFORGE_USER": USER, **extra}


if __name__ == "__main__":
    main()
