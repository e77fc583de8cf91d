"""End to end: `gitforge serve` follows a ticket repo that changed without
any hook telling it (its reconciler)."""

from __future__ import annotations

import html

import pytest

from gitforge.store.documents import Identity, uid_folder
from gitforge.store.tickets import TicketRepo
from tests.conftest import git
from tests.e2e.conftest import gitforge
from tests.e2e.test_forge import wait_for

pytestmark = pytest.mark.e2e


def test_serve_shows_ticket_changes_made_without_hooks(forge, browser, tmp_path):
    gitforge(forge.home, "project", "create", "demo")
    repo = forge.home / "repositories" / "tickets" / "demo.git"
    for hook in (repo / "hooks").iterdir():
        hook.unlink()

    # Committed on disk, as a restore or a script would: no hook, no sync.
    with TicketRepo(repo) as tickets:
        made = tickets.create_ticket(Identity("admin", "admin@localhost"), "On disk")

    def page_says(text):
        return lambda: text in html.unescape(browser.get("/demo/issue/1")[1])

    assert wait_for(page_says("On disk")), browser.get("/demo/issue/1")[1]

    # A plain push into the repo whose hooks are gone.
    work = tmp_path / "tickets"
    git("clone", "-q", str(repo), str(work))
    path = work / uid_folder(made["uid"]) / "ticket.json"
    path.write_text(path.read_text().replace("On disk", "Pushed, no hook"))
    git("commit", "-qam", "retitle", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    assert wait_for(page_says("Pushed, no hook")), browser.get("/demo/issue/1")[1]
    log = forge.log.read_text()
    assert log.count("reconciler synced tickets/demo.git (its refs changed") == 2
