"""Git over ssh through gitolite, end to end: a real site, `gitforge serve`
refreshing gitolite after each change, our own sshd, real keys."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV
from tests.gitolite.conftest import wait_for


def commit(clone: Path, message: str) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message],
                   cwd=clone, env=env, check=True)  # fmt: skip


def tip(repo: Path, branch: str) -> str | None:
    done = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "--verify",
                           "-q", f"refs/heads/{branch}"],
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip() or None


def head(clone: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip


def tickets_cli(clone: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITFORGE_")}
    env.update(GIT_ENV, GIT_EDITOR="false")
    done = subprocess.run(
        [sys.executable, "-m", "gitforge", "tickets", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr  # fmt: skip


def git_in(clone: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=clone, env={**os.environ, **GIT_ENV},
                   check=True, capture_output=True)  # fmt: skip


@pytest.fixture(scope="module")
def site(ssh_site):
    """foo (public, main protected): alice collaborates on release/*, carol
    triages; ns/secret (private); bob holds nothing."""
    for name in ("alice", "bob", "carol", "dave"):
        ssh_site.add_user(name)
    ssh_site.cli("project", "create", "foo", "--owner", "admin")
    ssh_site.cli("project", "create", "ns/secret", "--private", "--owner", "admin")
    ssh_site.cli("access", "grant", "foo", "alice", "collaborator",
                 "--branches", "release/*")  # fmt: skip
    ssh_site.cli("access", "grant", "foo", "carol", "ticket")
    ssh_site.cli("gitolite")  # what the task would do, to start from a known state
    return ssh_site


def clone(site, user: str, repo: str, into: Path) -> subprocess.CompletedProcess:
    return site.git(user, "clone", "-q", site.remote(repo), str(into))


def test_admin_pushes_to_main(site, tmp_path):
    work = tmp_path / "foo"
    assert clone(site, "admin", "foo", work).returncode == 0
    commit(work, "first")
    pushed = site.git("admin", "push", "origin", "HEAD:main", cwd=work)
    assert pushed.returncode == 0, pushed.stderr
    assert tip(site.repo("foo.git"), "main") == head(work)


def test_collaborator_pushes_to_its_branches_only(site, tmp_path):
    work = tmp_path / "foo"
    assert clone(site, "alice", "foo", work).returncode == 0
    commit(work, "a release fix")
    pushed = site.git("alice", "push", "origin", "HEAD:release/1.0", cwd=work)
    assert pushed.returncode == 0, pushed.stderr
    assert tip(site.repo("foo.git"), "release/1.0") == head(work)

    before = tip(site.repo("foo.git"), "main")
    refused = site.git("alice", "push", "origin", "HEAD:main", cwd=work)
    assert refused.returncode != 0
    assert (
        "main" in refused.stderr
        and "DENIED" in refused.stderr + refused.stdout
        or "may not push" in refused.stderr
    ), refused.stderr
    assert tip(site.repo("foo.git"), "main") == before


def test_ticket_level_user_pushes_tickets_not_code(site, tmp_path):
    work = tmp_path / "foo"
    assert clone(site, "carol", "foo", work).returncode == 0
    commit(work, "not allowed")
    refused = site.git("carol", "push", "origin", "HEAD:feature", cwd=work)
    assert refused.returncode != 0
    assert "W any foo carol DENIED" in refused.stderr, refused.stderr
    assert tip(site.repo("foo.git"), "feature") is None

    tickets = tmp_path / "tickets"
    assert clone(site, "carol", "tickets/foo", tickets).returncode == 0
    tickets_cli(tickets, "new", "--title", "Found over ssh", "--as", "carol")
    pushed = site.git("carol", "push", "origin", "HEAD:main", cwd=tickets)
    assert pushed.returncode == 0, pushed.stderr
    assert tip(site.repo("tickets/foo.git"), "main") == head(tickets)


def denial(result: subprocess.CompletedProcess, repo: str) -> str:
    """What a refused clone said, with the repo name taken out."""
    return result.stderr.replace(repo, "<repo>")


def test_stranger_reads_public_and_cannot_tell_private_from_absent(site, tmp_path):
    assert clone(site, "bob", "foo", tmp_path / "foo").returncode == 0

    private = clone(site, "bob", "ns/secret", tmp_path / "secret")
    absent = clone(site, "bob", "ns/absent", tmp_path / "absent")
    assert private.returncode != 0 and absent.returncode != 0
    assert denial(private, "ns/secret") == denial(absent, "ns/absent")
    assert not (tmp_path / "secret").exists()
    info = subprocess.run(
        site.ssh_command("bob").split() + [site.remote("").split(":")[0], "info"],
        capture_output=True,
        text=True,
    )
    assert "foo" in info.stdout and "secret" not in info.stdout  # fmt: skip


def test_bad_ticket_file_is_refused_by_our_hook(site, tmp_path):
    tickets = tmp_path / "tickets"
    assert clone(site, "carol", "tickets/foo", tickets).returncode == 0
    tickets_cli(tickets, "new", "--title", "To break", "--as", "carol")
    doc = next(tickets.glob("*/*/ticket.json"))
    doc.write_text('{"format": 1, "title": ')
    git_in(tickets, "commit", "-qam", "break it")
    before = tip(site.repo("tickets/foo.git"), "main")

    refused = site.git("carol", "push", "origin", "HEAD:main", cwd=tickets)

    assert refused.returncode != 0
    name = doc.relative_to(tickets).as_posix()
    assert f"{name}: broken JSON at line 1" in refused.stderr, refused.stderr
    assert "push refused; nothing was changed" in refused.stderr
    assert tip(site.repo("tickets/foo.git"), "main") == before


def test_pushes_are_attributed_to_the_gitolite_user(site, tmp_path):
    tickets = tmp_path / "tickets"
    assert clone(site, "bob", "tickets/foo", tickets).returncode == 0
    tickets_cli(tickets, "new", "--title", "Posing as alice", "--as", "alice")
    git_in(tickets, "commit", "-q", "--allow-empty", "-m", "posing")

    refused = site.git("bob", "push", "origin", "HEAD:main", cwd=tickets)

    assert refused.returncode != 0
    assert "but this push is by 'bob'" in refused.stderr, refused.stderr
    git_in(tickets, "reset", "-q", "--hard", "origin/main")
    tickets_cli(tickets, "new", "--title", "Bob's own", "--as", "bob")
    pushed = site.git("bob", "push", "origin", "HEAD:main", cwd=tickets)
    assert pushed.returncode == 0, pushed.stderr
    shown = subprocess.run(["git", "--git-dir", str(site.repo("tickets/foo.git")),
                            "log", "-1", "--format=%an", "main"],
                           capture_output=True, text=True).stdout  # fmt: skip
    assert shown.strip()  # the push landed; its documents are bob's
    authors = {json.loads(p.read_text())["author"]
               for p in tickets.glob("*/*/ticket.json")}  # fmt: skip
    assert "bob" in authors


def test_revoked_access_and_removed_keys_stop_the_next_connection(site, tmp_path):
    site.cli("access", "grant", "ns/secret", "dave", "commit")
    assert wait_for(
        lambda: clone(site, "dave", "ns/secret", tmp_path / "a").returncode == 0
    ), "the grant did not reach gitolite"

    site.cli("access", "revoke", "ns/secret", "dave")
    assert wait_for(
        lambda: clone(site, "dave", "ns/secret", tmp_path / "b").returncode != 0
    ), "the revocation did not reach gitolite"

    listed = site.cli("key", "list", "dave").stdout
    fingerprint = re.search(r"SHA256:[A-Za-z0-9+/]{43}", listed).group(0)
    site.cli("key", "remove", "dave", fingerprint)

    def refused_at_login() -> bool:
        done = clone(site, "dave", "foo", tmp_path / "c")
        return done.returncode != 0 and "Permission denied" in done.stderr

    assert wait_for(refused_at_login, timeout=60), "the removed key still logs in"
