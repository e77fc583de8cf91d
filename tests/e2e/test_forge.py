"""End to end: a real server, real git, a client that speaks HTTP."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import git
from tests.e2e.conftest import gitforge

pytestmark = pytest.mark.e2e

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def make_source_repo(path: Path) -> Path:
    """Branches, tags, a merge, unicode and space paths and a binary file."""
    git("init", "-q", "-b", "trunk", str(path))
    (path / "README.md").write_text("# Demo\n\nA *demo* project.\n")
    (path / "dir with space").mkdir()
    (path / "dir with space" / "naïve file.txt").write_text("héllo wörld\n")
    (path / "logo.png").write_bytes(PNG + bytes(range(256)))
    git("add", "-A", cwd=path)
    git("commit", "-qm", "Initial commit", cwd=path)
    git("tag", "-a", "v1.0", "-m", "First release", cwd=path)
    git("checkout", "-qb", "feature/ünïcode", cwd=path)
    (path / "feature.py").write_text("def feature():\n    return 42\n")
    git("add", "-A", cwd=path)
    git("commit", "-qm", "Add a feature", cwd=path)
    git("checkout", "-q", "trunk", cwd=path)
    (path / "main.py").write_text("print('main')\n")
    git("add", "-A", cwd=path)
    git("commit", "-qm", "Add main", cwd=path)
    git("merge", "-q", "--no-ff", "-m", "Merge the feature", "feature/ünïcode",
        cwd=path)  # fmt: skip
    git("tag", "v1.1", cwd=path)
    return path


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_import_register_ticket_clone_push(forge, browser, tmp_path):
    source = make_source_repo(tmp_path / "source")
    gitforge(forge.home, "project", "import", "demo", str(source),
             "--description", "Demo project")  # fmt: skip

    # The first start printed how to log in; a newcomer registers instead.
    assert "Log in at" in forge.log.read_text()
    status, page = browser.submit("/register", "/register", {
        "name": "carol", "email": "carol@example.org", "full_name": "Carol",
        "password": "carol-pw-1", "confirm": "carol-pw-1"})  # fmt: skip
    assert status == 200, page
    status, page = browser.submit("/", "/logout", {})
    assert status == 200 and "Log in" in page
    status, page = browser.submit("/login", "/login", {
        "name": "carol", "password": "carol-pw-1"})  # fmt: skip
    assert status == 200 and "Log out" in page
    status, page = browser.get("/demo")
    assert status == 200 and "Demo project" in page

    # Open a ticket through the HTML form.
    status, page = browser.submit(
        "/demo/new_issue",
        "/demo/new_issue",
        {"title": "Crash on start", "body": "It **crashes**.", "tags": "bug"},
    )
    assert status == 200, page
    assert "Crash on start" in page
    status, page = browser.get("/demo/issue/1")
    assert status == 200 and "<strong>crashes</strong>" in page

    # Clone the ticket repo over HTTP, close the ticket and comment offline.
    work = tmp_path / "tickets"
    git("clone", "-q", f"{forge.url}/tickets/demo.git", str(work))
    ticket_file = next(work.glob("*/*/ticket.json"))
    ticket = json.loads(ticket_file.read_text())
    assert (ticket["number"], ticket["author"]) == (1, "carol")
    ticket.update(status="Closed", close_reason="Fixed")
    ticket_file.write_text(json.dumps(ticket, indent=2))
    cid = uuid.uuid4().hex
    comments = ticket_file.parent / "comments"
    comments.mkdir()
    (comments / f"{cid}.json").write_text(
        json.dumps(
            {
                "format": 1,
                "uid": cid,
                "author": "carol",
                "created": "2026-12-01T10:00:00Z",
                "body": "Fixed offline, on a plane.",
            }
        )
    )
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Close #1 offline", cwd=work)
    # A push by path is attributed to GITFORGE_USER (HTTP and ssh pushes
    # will name the authenticated user there).
    pushed = git("push", str(forge.home / "repositories" / "tickets" / "demo.git"),
                 "main", cwd=work, check=False,
                 env={"GITFORGE_USER": "carol"})  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr

    def shows_push():
        _status, page = browser.get("/demo/issue/1")
        return "Fixed offline, on a plane." in page and "Closed" in page

    assert wait_for(shows_push), browser.get("/demo/issue/1")[1]


def test_bad_ticket_push_is_refused_and_changes_nothing(forge, browser, tmp_path):
    gitforge(forge.home, "project", "create", "demo")
    gitforge(forge.home, "user", "add", "dave", "--email", "dave@example.org",
             "--password-stdin", input="dave-pw-12\n")  # fmt: skip
    browser.submit("/login", "/login", {"name": "dave", "password": "dave-pw-12"})
    browser.submit("/demo/new_issue", "/demo/new_issue", {"title": "Keep me"})
    repo = forge.home / "repositories" / "tickets" / "demo.git"
    work = tmp_path / "tickets"
    git("clone", "-q", f"{forge.url}/tickets/demo.git", str(work))
    ticket_file = next(work.glob("*/*/ticket.json"))
    ticket_file.write_text(ticket_file.read_text().replace('"Open"', '"Finished"'))
    git("commit", "-qam", "bad status", cwd=work)
    before = git("rev-parse", "main", cwd=repo).stdout
    pushed = git("push", str(repo), "main", cwd=work, check=False)
    assert pushed.returncode != 0
    name = f"{ticket_file.parent.name}/ticket.json"
    assert f"{name}: field 'status': unknown status 'Finished'" in pushed.stderr
    assert git("rev-parse", "main", cwd=repo).stdout == before
    _status, page = browser.get("/demo/issue/1")
    assert "Keep me" in html.unescape(page) and re.search(r"\bOpen\b", page)
