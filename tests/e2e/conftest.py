"""A real `gitforge serve` in a subprocess, and a browser-like HTTP client."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gitforge(home: Path, *args: str, input: str | None = None):
    """Run the installed command line against `home`."""
    return subprocess.run(
        [sys.executable, "-m", "gitforge", *args, "--home", str(home)],
        input=input,
        capture_output=True,
        text=True,
        check=True,
    )


@dataclass
class Forge:
    home: Path
    url: str
    process: subprocess.Popen
    log: Path


@pytest.fixture
def forge(tmp_path):
    """Start `gitforge serve` on a free loopback port with an empty home."""
    home = tmp_path / "home"
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITFORGE_")}
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
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield Forge(home, url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gitforge serve exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url + "/", timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"gitforge serve did not come up:\n{log.read_text()}")


class Browser:
    """Just enough of a browser: cookies, forms with their CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=10) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    def submit(self, form_page: str, action: str, fields: dict) -> tuple[int, str]:
        """Load `form_page`, take its CSRF token, post `fields` to `action`."""
        _status, html = self.get(form_page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        data = dict(fields, csrf_token=token.group(1) if token else "")
        body = urllib.parse.urlencode(data, doseq=True).encode()
        try:
            with self.opener.open(self.base + action, body, timeout=10) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")


@pytest.fixture
def browser(forge) -> Browser:
    return Browser(forge.url)
