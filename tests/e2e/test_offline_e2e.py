"""End to end, offline work: two clones of one ticket repo, a real server.

Alice owns the project (she may triage), Bob opened ticket 1. Each works in
a clone of the ticket repo with `gitforge tickets`, pushes by path as
themselves, and the second push has to pull and merge first (with the merge
driver). Then pushes of bad input are refused and change nothing.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, git
from tests.e2e.conftest import Browser, gitforge

pytestmark = pytest.mark.e2e


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def ticket_repo(forge) -> Path:
    return forge.home / "repositories" / "tickets" / "demo.git"


def clone_tickets(forge, path: Path) -> Path:
    """Clone over HTTP and enable the merge driver, as docs/formats.md says."""
    git("clone", "-q", f"{forge.url}/tickets/demo.git", str(path))
    driver = f"{sys.executable} -m gitforge merge-driver %O %A %B %P"
    git("config", "merge.gitforge.driver", driver, cwd=path)
    git("config", "pull.rebase", "false", cwd=path)
    return path


def tickets_cli(clone: Path, *args: str) -> str:
    """`gitforge tickets ...` inside a clone; fails the test on an error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITFORGE_")}
    env.update(GIT_ENV, GIT_EDITOR="false")
    done = subprocess.run(
        [sys.executable, "-m", "gitforge", "tickets", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def push_as(forge, clone: Path, user: str) -> subprocess.CompletedProcess:
    """Push by path on the server, attributed to `user`."""
    return git("push", str(ticket_repo(forge)), "main", cwd=clone, check=False,
               env={"GITFORGE_USER": user})  # fmt: skip


def server_main(forge) -> str:
    return git("rev-parse", "main", cwd=ticket_repo(forge)).stdout.strip()


def server_tickets(forge) -> dict[str, dict]:
    """Title -> ticket.json, as the server's main holds them."""
    repo = ticket_repo(forge)
    listed = git("ls-tree", "-r", "--name-only", "main", cwd=repo).stdout
    found = {}
    for path in listed.split():
        if path.endswith("/ticket.json"):
            doc = json.loads(git("show", f"main:{path}", cwd=repo).stdout)
            found[doc["title"]] = doc
    return found


def page_text(browser: Browser, path: str) -> str:
    status, page = browser.get(path)
    assert status == 200, page
    return html.unescape(page)


def ticket_folder(clone: Path, title: str) -> Path:
    for path in clone.glob("*/*/ticket.json"):
        if json.loads(path.read_text())["title"] == title:
            return path.parent
    raise AssertionError(f"no ticket {title!r} in {clone}")


@pytest.fixture
def project(forge, browser):
    """Project `demo` owned by alice; bob opens ticket 1 on the web."""
    for name in ("alice", "bob"):
        gitforge(forge.home, "user", "add", name, "--email", f"{name}@example.org",
                 "--password-stdin", input=f"{name}-pw-12\n")  # fmt: skip
    gitforge(forge.home, "project", "create", "demo", "--owner", "alice")
    browser.submit("/login", "/login", {"name": "bob", "password": "bob-pw-12"})
    opened = {"title": "Crash on start", "body": "It dies."}
    status, page = browser.submit("/demo/new_issue", "/demo/new_issue", opened)
    assert status == 200, page
    assert wait_for(lambda: browser.get("/demo/issue/1")[0] == 200)
    return forge


def work_offline(alice: Path, bob: Path) -> None:
    """Both comment on ticket 1; Alice retags it, Bob closes it; each opens
    a ticket with no number."""
    tickets_cli(alice, "comment", "1", "--body", "Alice saw it too.", "--as", "alice")
    tickets_cli(alice, "tag", "1", "crash", "triaged", "--as", "alice")
    tickets_cli(alice, "new", "--title", "Alice's offline ticket", "--as", "alice")
    tickets_cli(bob, "comment", "1", "--body", "Bob fixed it on a plane.",
                "--as", "bob")  # fmt: skip
    tickets_cli(bob, "close", "1", "--reason", "Fixed", "--as", "bob")
    tickets_cli(bob, "new", "--title", "Bob's offline ticket", "--as", "bob")


def numbered(forge, title: str):
    return server_tickets(forge).get(title, {}).get("number")


def test_two_clones_push_in_turn_and_the_server_has_everything(
    project, browser, tmp_path
):
    forge = project
    alice = clone_tickets(forge, tmp_path / "alice")
    bob = clone_tickets(forge, tmp_path / "bob")
    work_offline(alice, bob)

    pushed = push_as(forge, alice, "alice")
    assert pushed.returncode == 0, pushed.stderr
    assert wait_for(lambda: numbered(forge, "Alice's offline ticket") == 2)

    refused = push_as(forge, bob, "bob")
    assert refused.returncode != 0
    assert "[rejected]" in refused.stderr
    assert "Updates were rejected" in refused.stderr
    pulled = git("pull", "-q", cwd=bob, check=False)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    pushed = push_as(forge, bob, "bob")
    assert pushed.returncode == 0, pushed.stderr
    assert wait_for(lambda: numbered(forge, "Bob's offline ticket") == 3)

    # A pull shows the numbers the server gave.
    for clone in (alice, bob):
        git("pull", "-q", cwd=clone)
        listed = tickets_cli(clone, "list", "--status", "all")
        assert re.search(r"^2\s+Open\s+Alice's offline ticket", listed, re.M)
        assert re.search(r"^3\s+Open\s+Bob's offline ticket", listed, re.M)
        assert "(new)" not in listed

    first = server_tickets(forge)["Crash on start"]
    assert (first["number"], first["status"]) == (1, "Closed")
    assert first["close_reason"] == "Fixed"
    assert first["tags"] == ["crash", "triaged"]

    def pages_show_all() -> bool:
        page = page_text(browser, "/demo/issue/1")
        return all(text in page for text in (
            "Alice saw it too.", "Bob fixed it on a plane.", "Closed", "Fixed",
            "crash", "triaged"))  # fmt: skip

    assert wait_for(pages_show_all), page_text(browser, "/demo/issue/1")
    assert "Alice's offline ticket" in page_text(browser, "/demo/issue/2")
    assert "Bob's offline ticket" in page_text(browser, "/demo/issue/3")
    listing = page_text(browser, "/demo/issues?status=all")
    assert "Alice's offline ticket" in listing and "Bob's offline ticket" in listing


# -- bad input ---------------------------------------------------------------


def named(clone: Path, path: Path) -> str:
    """How a refusal names a file: its path in the repo."""
    return path.relative_to(clone).as_posix()


def break_json(clone: Path) -> tuple[str, str]:
    path = ticket_folder(clone, "Crash on start") / "ticket.json"
    path.write_text('{"format": 1, "title": ')
    return "alice", f"{named(clone, path)}: broken JSON at line 1"


def unknown_status(clone: Path) -> tuple[str, str]:
    path = ticket_folder(clone, "Crash on start") / "ticket.json"
    path.write_text(path.read_text().replace('"Open"', '"Finished"'))
    return "alice", f"{named(clone, path)}: field 'status': unknown status 'Finished'"


def change_number(clone: Path) -> tuple[str, str]:
    path = ticket_folder(clone, "Crash on start") / "ticket.json"
    ticket = json.loads(path.read_text())
    path.write_text(json.dumps(dict(ticket, number=7)))
    problem = "field 'number': a ticket's number never changes"
    return "alice", f"{named(clone, path)}: {problem}"


def delete_ticket(clone: Path) -> tuple[str, str]:
    path = ticket_folder(clone, "Crash on start") / "ticket.json"
    git("rm", "-rq", str(path.parent), cwd=clone)
    return "alice", f"{named(clone, path)}: tickets and comments cannot be deleted"


def edit_someone_elses_comment(clone: Path) -> tuple[str, str]:
    folder = ticket_folder(clone, "Crash on start")
    path = next((folder / "comments").glob("*.json"))
    comment = json.loads(path.read_text())
    assert comment["author"] == "bob"
    path.write_text(json.dumps(dict(comment, body="Alice rewrote this.")))
    return "alice", f"{named(clone, path)}: alice may not edit bob's comment"


BAD_PUSHES = [break_json, unknown_status, change_number, delete_ticket,
              edit_someone_elses_comment]  # fmt: skip


@pytest.mark.parametrize("spoil", BAD_PUSHES, ids=lambda f: f.__name__)
def test_bad_push_is_refused_and_changes_nothing(project, tmp_path, spoil):
    forge = project
    bob = clone_tickets(forge, tmp_path / "bob")
    tickets_cli(bob, "comment", "1", "--body", "Bob's own words.", "--as", "bob")
    assert push_as(forge, bob, "bob").returncode == 0
    anonymous = Browser(forge.url)
    assert wait_for(lambda: "Bob's own words." in page_text(anonymous, "/demo/issue/1"))

    clone = clone_tickets(forge, tmp_path / "alice")
    before = server_main(forge)
    page_before = page_text(anonymous, "/demo/issue/1")
    pusher, expected = spoil(clone)
    git("commit", "-qam", f"spoil: {spoil.__name__}", cwd=clone)
    pushed = push_as(forge, clone, pusher)

    assert pushed.returncode != 0
    assert expected in pushed.stderr, pushed.stderr
    assert "push refused; nothing was changed" in pushed.stderr
    assert server_main(forge) == before
    assert page_text(anonymous, "/demo/issue/1") == page_before
