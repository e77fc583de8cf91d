"""Pushes to a ticket repo by path, through the real hooks."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.projects import create_project
from tests.conftest import git
from tests.index.test_sync import dump

ADMIN = Identity("admin", "admin@example.org")
RELPATH = "tickets/foo.git"


@pytest.fixture
def clone(config, tmp_path):
    create_project(config, "foo", "admin")
    with TicketRepo(config.repositories / RELPATH) as tickets:
        ticket = tickets.create_ticket(ADMIN, "Existing")
    sync_repo(engine_for(config), config.repositories, RELPATH)
    work = tmp_path / "work"
    git("clone", "-q", str(config.repositories / RELPATH), str(work))
    return work, ticket


def _edit_ticket(work, ticket, **changes):
    path = work / ticket["uid"] / "ticket.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def _push(work, message="edit"):
    git("add", "-A", cwd=work)
    git("commit", "-qm", message, cwd=work)
    return git("push", "origin", "main", cwd=work, check=False)


def _state(config):
    repo = config.repositories / RELPATH
    tip = git("rev-parse", "main", cwd=repo).stdout
    return tip, dump(engine_for(config))


@pytest.mark.parametrize(
    "change, expected",
    [
        (dict(status="Done"), "ticket.json: field 'status': unknown status 'Done'"),
        (dict(title=42), "field 'title': must be a string, not a number"),
        (dict(private="no"), "field 'private': must be true or false, not a string"),
        (dict(number=99), "field 'number': a ticket's number never changes"),
        (dict(tags="bug"), "field 'tags': must be a list, not a string"),
        (dict(close_reason="x"), "field 'close_reason': must be null while Open"),
        (dict(title="Lone \ud800"), "field 'title': must be valid Unicode"),
        (dict(body="a\x00b"), "field 'body': must not contain NUL"),
    ],
)
def test_push_of_a_bad_field_is_refused(config, clone, change, expected):
    work, ticket = clone
    before = _state(config)
    _edit_ticket(work, ticket, **change)
    pushed = _push(work)
    assert pushed.returncode != 0
    assert f"{ticket['uid']}/ticket.json" in pushed.stderr
    assert expected in pushed.stderr
    assert "push refused; nothing was changed" in pushed.stderr
    assert _state(config) == before


def test_push_of_broken_json_is_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    (work / ticket["uid"] / "ticket.json").write_text('{"title": "x",')
    pushed = _push(work)
    assert pushed.returncode != 0
    assert f"{ticket['uid']}/ticket.json: broken JSON at line 1" in pushed.stderr
    assert _state(config) == before


def test_push_of_stray_file_and_deleted_ticket_is_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    (work / "notes.txt").write_text("hello")
    (work / ticket["uid"] / "ticket.json").unlink()
    pushed = _push(work)
    assert "notes.txt: unexpected file" in pushed.stderr
    assert "tickets and comments cannot be deleted" in pushed.stderr
    assert _state(config) == before


def test_good_push_is_accepted_and_queued_for_sync(config, clone):
    work, ticket = clone
    _edit_ticket(work, ticket, status="Closed", close_reason="Fixed")
    cid = uuid.uuid4().hex
    comment = work / ticket["uid"] / "comments" / f"{cid}.json"
    comment.parent.mkdir()
    comment.write_text(
        json.dumps(
            {
                "format": 1,
                "uid": cid,
                "author": "admin",
                "created": "2026-01-01T00:00:00Z",
                "body": "hi",
            }
        )
    )
    started = time.perf_counter()
    pushed = _push(work)
    took = time.perf_counter() - started
    assert pushed.returncode == 0, pushed.stderr
    assert took < 3, f"push with hooks took {took:.2f}s"
    # The post-receive hook queued a load-JSON task in the home's queue;
    # running the same sync here loads the push.
    result = sync_repo(engine_for(config), config.repositories, RELPATH)
    assert result.changed == [ticket["uid"]]
    with TicketRepo(config.repositories / RELPATH) as tickets:
        assert tickets.ticket(ticket["uid"])["status"] == "Closed"
