"""A real site with `gitolite = on`, its `gitforge serve` (whose task
consumer refreshes gitolite after each change) and an sshd of our own on a
free loopback port whose only keys are gitolite's authorized_keys.

sshd runs as the current user (root in CI: `PermitRootLogin
prohibit-password` lets keys in) and sets HOME to the gitolite home, as the
ssh user's home would be in production, so gitolite-shell finds its rc.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV
from tests.e2e.conftest import _wait_until_up, free_port, gitforge
from tests.gitolite.programs import need, sshd_program

SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {folder}/sshd.pid
AuthorizedKeysFile {gitolite}/.ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv HOME={gitolite}
"""


@dataclass
class SshSite:
    home: Path
    folder: Path
    url: str
    port: int
    keys: dict[str, Path] = field(default_factory=dict)

    def cli(self, *args: str, input: str | None = None):
        return gitforge(self.home, *args, input=input)

    def add_user(self, name: str) -> Path:
        """An account with an ssh key of its own; returns the private key."""
        self.cli("user", "add", name, "--email", f"{name}@example.org",
                 "--no-password")  # fmt: skip
        return self.add_key(name)

    def add_key(self, name: str) -> Path:
        key = self.folder / f"{name}-key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                        name, "-f", str(key)], check=True)  # fmt: skip
        self.cli("key", "add", name, f"{key}.pub")
        self.keys[name] = key
        return key

    def ssh_command(self, user: str) -> str:
        return (
            f"ssh -i {self.keys[user]} -p {self.port} -o IdentitiesOnly=yes "
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o LogLevel=ERROR -o BatchMode=yes"
        )

    def remote(self, repo: str) -> str:
        return f"{getpass.getuser()}@127.0.0.1:{repo}"

    def git(self, user: str, *args: str, cwd: Path | None = None):
        """git as `user` over ssh; never raises, the caller checks."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITFORGE_")}
        env.update(GIT_ENV, GIT_SSH_COMMAND=self.ssh_command(user))
        return subprocess.run(["git", *args], cwd=cwd, env=env,
                              capture_output=True, text=True)  # fmt: skip

    def repo(self, relpath: str) -> Path:
        return self.home / "repositories" / relpath


def wait_for(check, timeout: float = 20.0, step: float = 0.1):
    """The first truthy value of `check()`, or the last falsy one."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@pytest.fixture(scope="module")
def ssh_site(tmp_path_factory):
    need("gitolite", "sshd", "ssh", "ssh-keygen")
    folder = tmp_path_factory.mktemp("ssh-site")
    home = folder / "home"
    gitforge(home, "init", "--admin", "admin", "--email", "admin@example.org",
             "--password-stdin", input="admin-pw-123\n")  # fmt: skip
    (home / "gitforge.cfg").write_text("[gitforge]\ngitolite = on\n")
    gitforge(home, "gitolite")
    with _serve(home, folder) as url, _sshd(home, folder) as port:
        site = SshSite(home, folder, url, port)
        site.add_key("admin")
        yield site


class _serve:
    """`gitforge serve` for the home: its consumer runs the gitolite task."""

    def __init__(self, home: Path, folder: Path):
        self.home, self.log, self.port = home, folder / "serve.log", free_port()

    def __enter__(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITFORGE_")}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gitforge", "serve", "--home", str(self.home),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        url = f"http://127.0.0.1:{self.port}"
        try:
            _wait_until_up(url, self.process, self.log)
        except BaseException:
            self.__exit__()
            raise
        return url

    def __exit__(self, *_exc) -> None:
        _stop(self.process)


class _sshd:
    """Our own sshd in the foreground (-D), so that we hold its pid."""

    def __init__(self, home: Path, folder: Path):
        self.home, self.folder, self.port = home, folder, free_port()

    def __enter__(self) -> int:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privsep folder
        host_key = self.folder / "host_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(host_key)], check=True)  # fmt: skip
        config = self.folder / "sshd_config"
        config.write_text(SSHD_CONFIG.format(
            port=self.port, host_key=host_key, folder=self.folder,
            gitolite=self.home / "gitolite",
        ))  # fmt: skip
        self.process = subprocess.Popen(
            [sshd_program(), "-D", "-f", str(config), "-E",
             str(self.folder / "sshd.log")]
        )  # fmt: skip
        if not wait_for(self._listening, timeout=10) or self.process.poll():
            self.__exit__()
            log = (self.folder / "sshd.log").read_text()
            raise RuntimeError(f"sshd did not start:\n{log}")
        return self.port

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            return True  # exited: __enter__ reports it
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def __exit__(self, *_exc) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
