"""Git over ssh through gitolite: how fast an access change reaches it, and
what gitolite adds to a clone.

Makes a throwaway site with `gitolite = on`, runs its `gitforge serve` (whose
task consumer refreshes gitolite) and an sshd of its own on a free loopback
port, then measures:

(a) from an access change being saved (`gitforge.store.access.grant` or
    `revoke` through `gitforge.tasks.access.change_site`, the path the web
    and the command line use: commit, sync, queued task) to the next ssh
    push being checked against it: a push to a private project that the
    change allows or refuses, retried until its outcome follows. Median over
    the runs; target under 2 s.
(b) `git clone --bare` over ssh of one repo through gitolite (the key's
    authorized_keys line runs gitolite-shell) against the same clone with a
    second key whose line runs git directly, as a ratio of the medians;
    target under 1.1.

    python bench/bench_ssh.py                           # a small generated repo
    python bench/bench_ssh.py --repo /tmp/bench-repo.git --runs 9

Needs gitolite3 and openssh-server (Debian packages). Run as the user the
ssh logins are for (root in a container: keys only).
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = "bench"
SSH_OPTIONS = (
    "-o IdentitiesOnly=yes -o StrictHostKeyChecking=no "
    "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
)
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
           "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


def main() -> None:
    options = _parse_args()
    for program in ("gitolite", "ssh", "ssh-keygen"):
        if not shutil.which(program):
            sys.exit(f"{program} is missing: apt-get install gitolite3 openssh-server")
    scratch = Path(tempfile.mkdtemp(prefix="gitforge-bench-ssh-"))
    processes = []
    try:
        home = scratch / "home"
        # The task queue reads GITFORGE_HOME when it is first imported.
        os.environ["GITFORGE_HOME"] = str(home)
        source = options.repo or _make_small_repo(scratch / "small.git")
        keys = _make_site(home, scratch, source)
        processes.append(_serve(home, scratch))
        sshd, port = _sshd(home, scratch)
        processes.append(sshd)
        ssh = {
            name: f"ssh -i {key} -p {port} {SSH_OPTIONS}" for name, key in keys.items()
        }
        _report_acl(options, home, scratch, ssh["dave"])
        _report_clone(options, home, scratch, ssh)
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="repository to clone in (b)")
    parser.add_argument("--runs", type=int, default=10, help="runs of (a) and (b)")
    return parser.parse_args()


# -- the site --------------------------------------------------------------------


def _cli(home: Path, *args: str, input: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gitforge", *args, "--home", str(home)],
        input=input, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def _make_site(home: Path, scratch: Path, source: Path) -> dict[str, Path]:
    """Admin, dave (with a key) and `plain` (a key outside gitolite); the
    project imported from `source`, private, and a private `acl` project."""
    _cli(home, "init", "--admin", "admin", "--email", "admin@example.org",
         "--password-stdin", input="admin-pw-123\n")  # fmt: skip
    (home / "gitforge.cfg").write_text("[gitforge]\ngitolite = on\n")
    _cli(home, "user", "add", "dave", "--email", "dave@example.org", "--no-password")
    keys = {name: _keygen(scratch / f"{name}-key") for name in ("dave", "plain")}
    _cli(home, "key", "add", "dave", f"{keys['dave']}.pub")
    _cli(home, "project", "import", PROJECT, str(source), "--owner", "admin")
    _cli(home, "access", "grant", PROJECT, "dave", "commit")
    _cli(home, "project", "create", "acl", "--private", "--owner", "admin")
    _cli(home, "gitolite")
    # A key whose line runs git itself: the same sshd and repos, no gitolite.
    authorized = home / "gitolite" / ".ssh" / "authorized_keys"
    plain_line = (scratch / "plain-key.pub").read_text()
    authorized.write_text(plain_line + authorized.read_text())
    return keys


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True)  # fmt: skip
    return path


def _make_small_repo(path: Path) -> Path:
    work = path.with_suffix(".work")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for n in range(200):
        (work / f"file{n % 40}.txt").write_text(f"line {n}\n" * (n + 1))
        subprocess.run(["git", "add", "-A"], cwd=work, check=True)
        subprocess.run(["git", "commit", "-qm", f"commit {n}"], cwd=work, env=env,
                       check=True)  # fmt: skip
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(path)], check=True)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(home: Path, scratch: Path) -> subprocess.Popen:
    port = _free_port()
    log = (scratch / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gitforge", "serve", "--home", str(home),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    _wait_for_port(port, process)
    return process


def _sshd(home: Path, scratch: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    host_key = _keygen(scratch / "host-key")
    gitolite = home / "gitolite"
    config = scratch / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"PidFile {scratch}/sshd.pid\n"
        f"AuthorizedKeysFile {gitolite}/.ssh/authorized_keys\nStrictModes no\n"
        "UsePAM no\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"
        f"SetEnv HOME={gitolite}\n"
    )
    sshd = shutil.which("sshd", path=f"{os.environ['PATH']}:/usr/sbin")
    process = subprocess.Popen(
        [sshd, "-D", "-f", str(config), "-E", str(scratch / "sshd.log")]
    )
    _wait_for_port(port, process)
    return process, port


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port}")


def _git(ssh: str, *args: str, cwd: Path | None = None):
    env = {**os.environ, **GIT_ENV, "GIT_SSH_COMMAND": ssh}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)  # fmt: skip


def _remote(repo: str) -> str:
    return f"{getpass.getuser()}@127.0.0.1:{repo}"


# -- (a) an access change reaching gitolite ------------------------------------------


def _report_acl(options, home: Path, scratch: Path, ssh: str) -> None:
    from gitforge.config import Config
    from gitforge.store import access
    from gitforge.tasks.access import change_site

    config = Config.load(home)
    work = scratch / "acl-work"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    times = {"grant": [], "revoke": []}
    for run in range(options.runs):
        _commit(work, f"run {run}")
        for change, expect in (("grant", True), ("revoke", False)):
            started = time.perf_counter()
            if change == "grant":
                change_site(config, access.grant, "acl", "dave", "commit")
            else:
                change_site(config, access.revoke, "acl", "dave")
            while True:
                pushed = _git(
                    ssh,
                    "push",
                    "-q",
                    "--force",
                    _remote("acl"),
                    f"HEAD:refs/heads/run{run}-{change}",
                    cwd=work,
                )
                if (pushed.returncode == 0) == expect:
                    break
                if time.perf_counter() - started > 30:
                    sys.exit(f"the {change} did not reach gitolite in 30 s")
            times[change].append(time.perf_counter() - started)
    print(f"(a) access change to the next ssh push checked against it, "
          f"{options.runs} runs each (target < 2 s):")  # fmt: skip
    for change, seconds in times.items():
        print(f"    {change:6}: median {statistics.median(seconds):.2f} s, "
              f"min {min(seconds):.2f} s, max {max(seconds):.2f} s")  # fmt: skip


def _commit(work: Path, message: str) -> None:
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message],
                   cwd=work, env={**os.environ, **GIT_ENV}, check=True)  # fmt: skip


# -- (b) a clone through gitolite against one without it ----------------------------


def _report_clone(options, home: Path, scratch: Path, ssh: dict[str, str]) -> None:
    direct = str(home / "repositories" / f"{PROJECT}.git")
    timings = {"gitolite": [], "plain": []}
    for run in range(options.runs):
        for name, user, path in (("gitolite", "dave", PROJECT),
                                 ("plain", "plain", direct)):  # fmt: skip
            target = scratch / f"clone-{name}-{run}.git"
            started = time.perf_counter()
            done = _git(ssh[user], "clone", "-q", "--bare", _remote(path), str(target))
            timings[name].append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(f"{name} clone failed: {done.stderr}")
            shutil.rmtree(target)
    gitolite = statistics.median(timings["gitolite"])
    plain = statistics.median(timings["plain"])
    size = sum(p.stat().st_size for p in Path(direct).rglob("*") if p.is_file())
    print(f"(b) git clone --bare over ssh of {PROJECT} ({size / 1e6:.1f} MB on disk), "
          f"{options.runs} runs each:")  # fmt: skip
    print(f"    through gitolite: median {gitolite * 1000:.0f} ms")
    print(f"    plain ssh:        median {plain * 1000:.0f} ms")
    print(f"    ratio {gitolite / plain:.2f} (target < 1.1)")


if __name__ == "__main__":
    main()
