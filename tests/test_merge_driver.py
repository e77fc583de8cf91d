"""The merge driver for ticket documents, alone and run by a real git."""

from __future__ import annotations

import json
import sys

import pytest

from gitforge.merge_driver import merge_documents
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.projects import create_project
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
BASE = {"title": "Crash", "status": "Open", "tags": ["bug", "ui"], "priority": 1}


@pytest.mark.parametrize(
    "ours, theirs, expected",
    [
        ({"title": "Crash on start"}, {"status": "Closed"},
         {"title": "Crash on start", "status": "Closed"}),
        ({"tags": ["bug", "ui", "urgent"]}, {"tags": ["ui"]},
         {"tags": ["ui", "urgent"]}),  # one added urgent, the other dropped bug
        ({"priority": 2}, {"priority": 2}, {"priority": 2}),
        ({"milestone": "1.0"}, {}, {"milestone": "1.0"}),
    ],
)  # fmt: skip
def test_different_changes_merge(ours, theirs, expected):
    merged = merge_documents(BASE, {**BASE, **ours}, {**BASE, **theirs})
    assert merged.conflicts == []
    assert merged.doc == {**BASE, **expected}


def test_the_same_field_changed_twice_is_a_conflict():
    merged = merge_documents(BASE, {**BASE, "title": "A"}, {**BASE, "title": "B"})
    assert merged.conflicts == ["title"]


def test_numbers_never_go_back():
    merged = merge_documents({"next": 4}, {"next": 6}, {"next": 5})
    assert merged.doc == {"next": 6} and merged.conflicts == []


@pytest.fixture
def clones(config, tmp_path):
    create_project(config, "foo", "admin")
    relpath = config.repositories / "tickets/foo.git"
    with TicketRepo(relpath) as tickets:
        ticket = tickets.create_ticket(ADMIN, "Crash", tags=["bug"])
    driver = f"{sys.executable} -m gitforge merge-driver %O %A %B %P"
    made = []
    for name in ("one", "two"):
        work = tmp_path / name
        git("clone", "-q", str(relpath), str(work))
        git("config", "merge.gitforge.driver", driver, cwd=work)
        made.append(work)
    return relpath, ticket, made


def _change(work, ticket, message, **fields):
    path = work / uid_folder(ticket["uid"]) / "ticket.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}, indent=2))
    git("commit", "-qam", message, cwd=work)


def test_two_clones_editing_one_ticket_merge_and_push(clones):
    relpath, ticket, (one, two) = clones
    _change(one, ticket, "retitle", title="Crash on start", tags=["bug", "p1"])
    git("push", "-q", "origin", "main", cwd=one)
    _change(two, ticket, "close", status="Closed", close_reason="Fixed")
    pulled = git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main",
                 cwd=two, check=False)  # fmt: skip
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert git("push", "-q", "origin", "main", cwd=two, check=False).returncode == 0
    with TicketRepo(relpath) as tickets:
        stored = tickets.ticket(ticket["uid"])
    assert (stored["title"], stored["status"], stored["tags"]) == (
        "Crash on start", "Closed", ["bug", "p1"])  # fmt: skip


def test_the_same_field_on_both_sides_is_reported_and_not_pushable(clones):
    _relpath, ticket, (one, two) = clones
    _change(one, ticket, "one", title="Title one")
    git("push", "-q", "origin", "main", cwd=one)
    _change(two, ticket, "two", title="Title two")
    pulled = git("pull", "--no-rebase", "--no-edit", "origin", "main",
                 cwd=two, check=False)  # fmt: skip
    assert pulled.returncode != 0
    assert "field 'title' changed on both sides" in pulled.stdout + pulled.stderr
    text = (two / uid_folder(ticket["uid"]) / "ticket.json").read_text()
    assert text.startswith("<<<<<<< ours\n") and '"Title one"' in text
