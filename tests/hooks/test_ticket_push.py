"""Pushes to a ticket repo by path, through the real hooks."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity, uid_folder
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
    path = work / uid_folder(ticket["uid"]) / "ticket.json"
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
        (dict(author="ghost"), "field 'author': a ticket's author never changes"),
        (dict(created="2026-01-01T00:00:00Z"), "a ticket's created never changes"),
        (dict(assignee="ghost"), "field 'assignee': no user is named 'ghost'"),
        (dict(body="x" * 70_000), "field 'body': is 70000 characters long"),
        (dict(tags=["a\nb"]), "field 'tags': tag 'a\\nb' must be one line"),
        (dict(tags=[str(n) for n in range(200)]), "holds 200 tags; at most 100"),
        (dict(milestone="m" * 300), "field 'milestone': must be one line of at"),
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


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"title": "x",', "broken JSON at line 1"),
        ("[" * 100_000, "JSON nested too deeply"),
        ('{"number": ' + "9" * 5000 + "}", "JSON holds a number too long to read"),
        ('{"number": NaN}', "NaN is not a JSON value"),
        ("[1, 2]", "must hold a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_push_of_unreadable_json_is_refused(config, clone, content, expected):
    work, ticket = clone
    before = _state(config)
    target = work / uid_folder(ticket["uid"]) / "ticket.json"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    pushed = _push(work)
    assert pushed.returncode != 0
    assert f"{ticket['uid']}/ticket.json: {expected}" in pushed.stderr
    assert "Traceback" not in pushed.stderr
    assert _state(config) == before


@pytest.mark.parametrize(
    "when", ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z"]
)
def test_push_of_an_impossible_date_is_refused(config, clone, when):
    work, ticket = clone
    before = _state(config)
    _write_comment(work, ticket, created=when)
    pushed = _push(work)
    assert "field 'created': must be a UTC time" in pushed.stderr
    assert _state(config) == before


def test_push_of_stray_file_and_deleted_ticket_is_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    (work / "notes.txt").write_text("hello")
    (work / uid_folder(ticket["uid"]) / "ticket.json").unlink()
    pushed = _push(work)
    assert "notes.txt: unexpected file" in pushed.stderr
    assert "tickets and comments cannot be deleted" in pushed.stderr
    assert _state(config) == before


def test_good_push_is_accepted_and_queued_for_sync(config, clone):
    work, ticket = clone
    _edit_ticket(work, ticket, status="Closed", close_reason="Fixed")
    cid = uuid.uuid4().hex
    comment = work / uid_folder(ticket["uid"]) / "comments" / f"{cid}.json"
    comment.parent.mkdir(parents=True)
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


def _write_comment(work, ticket, **fields):
    cid = uuid.uuid4().hex
    comment = work / uid_folder(ticket["uid"]) / "comments" / f"{cid}.json"
    comment.parent.mkdir(exist_ok=True)
    doc = {"format": 1, "uid": cid, "author": "admin",
           "created": "2026-01-01T00:00:00Z", "body": "hi", **fields}  # fmt: skip
    comment.write_text(json.dumps(doc))
    return comment


def _write_ticket(work, number, **fields):
    uid = uuid.uuid4().hex
    (work / uid_folder(uid)).mkdir(parents=True)
    doc = {"format": 1, "uid": uid, "number": number, "title": "Offline",
           "body": "", "author": "admin", "created": "2026-01-01T00:00:00Z",
           "status": "Open", "close_reason": None, "tags": [],
           "private": False, **fields}  # fmt: skip
    (work / uid_folder(uid) / "ticket.json").write_text(json.dumps(doc))
    return uid


def _set_next(work, number):
    (work / "numbers.json").write_text(json.dumps({"format": 1, "next": number}))


def test_comment_by_someone_else_than_the_pusher_is_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    path = _write_comment(work, ticket, author="ghost")
    pushed = _push(work)
    expected = "field 'author': is 'ghost', but this push is by 'admin'"
    assert f"{path.name}: {expected}" in pushed.stderr
    assert _state(config) == before


@pytest.mark.parametrize(
    "numbers, next_number, expected",
    [
        ([1], 3, "field 'number': 1 is not free"),  # ticket 1 exists
        ([2, 2], 4, "field 'number': 2 is not free"),  # twice in one push
        ([5], 6, "5 is not free; the 1 new ticket(s) of this push take 2"),
        ([2], 2, "numbers.json: field 'next': must be 3: it is 2 on the server"),
        ([], 1, "numbers.json: field 'next': must be 2"),  # the sequence goes back
        ([], 2**31, "numbers.json: field 'next': must be 2"),  # used up at once
        ([], 2**31 + 1, "numbers.json: field 'next': must be between 1 and"),
    ],
)
def test_push_that_breaks_the_number_sequence_is_refused(
    config, clone, numbers, next_number, expected
):
    work, _ticket = clone
    before = _state(config)
    for number in numbers:
        _write_ticket(work, number)
    _set_next(work, next_number)
    pushed = _push(work)
    assert pushed.returncode != 0
    assert expected in pushed.stderr
    assert _state(config) == before


def test_offline_tickets_with_the_next_numbers_are_accepted(config, clone):
    work, _ticket = clone
    uids = [_write_ticket(work, 2), _write_ticket(work, 3, title="Second")]
    _set_next(work, 4)
    pushed = _push(work)
    assert pushed.returncode == 0, pushed.stderr
    sync_repo(engine_for(config), config.repositories, RELPATH)
    with TicketRepo(config.repositories / RELPATH) as tickets:
        assert [tickets.ticket(uid)["number"] for uid in uids] == [2, 3]
        made = tickets.create_ticket(ADMIN, "Made on the web")
    assert made["number"] == 4


def test_push_to_other_refs_is_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    _edit_ticket(work, ticket, title="On a branch")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "edit", cwd=work)
    git("tag", "v1", cwd=work)
    for refspec in ("HEAD:refs/heads/draft", "v1"):
        pushed = git("push", "origin", refspec, cwd=work, check=False)
        assert pushed.returncode != 0
        assert "keeps its documents on main only" in pushed.stderr
    assert _state(config) == before
    assert (
        git("for-each-ref", cwd=config.repositories / RELPATH).stdout.count("\n") == 1
    )


def test_force_push_that_rewrites_history_is_refused(config, clone):
    work, ticket = clone
    with TicketRepo(config.repositories / RELPATH) as tickets:
        tickets.add_comment(ticket["uid"], ADMIN, "kept on the server")
    before = _state(config)
    _edit_ticket(work, ticket, title="Rewritten")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "edit", cwd=work)
    pushed = git("push", "--force", "origin", "main", cwd=work, check=False)
    assert pushed.returncode != 0
    assert "rewrites history that the server already has" in pushed.stderr
    assert _state(config) == before


def test_links_and_submodules_are_refused_as_attachments(config, clone):
    work, ticket = clone
    before = _state(config)
    files = work / uid_folder(ticket["uid"]) / "files"
    files.mkdir()
    (files / "passwd").symlink_to("/etc/passwd")
    git("add", "-A", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    gitlink = f"160000,{commit},{ticket['uid']}/files/sub"
    git("update-index", "--add", "--cacheinfo", gitlink, cwd=work)
    git("commit", "-qm", "attach", cwd=work)
    pushed = git("push", "origin", "main", cwd=work, check=False)
    assert "files/passwd: is a symbolic link; only plain files" in pushed.stderr
    assert "files/sub: is a submodule; only plain files" in pushed.stderr
    assert _state(config) == before


def test_oversized_files_are_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    files = work / uid_folder(ticket["uid"]) / "files"
    files.mkdir()
    (files / "huge.bin").write_bytes(b"\0" * 20_000_001)
    _write_comment(work, ticket, body="x" * 60_000, edited=None).write_text(
        json.dumps({"padding": "y" * 1_000_001})
    )
    pushed = _push(work)
    assert "huge.bin: is 20000001 bytes; at most 20000000" in pushed.stderr
    assert "bytes; at most 1000000 are allowed" in pushed.stderr
    assert _state(config) == before


def test_tickets_made_offline_get_their_numbers_from_the_server(config, clone):
    from gitforge.tasks.sync import load_json

    work, _ticket = clone
    old = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    first = _write_ticket(work, None, title="Offline one",
                          created="2026-01-01T00:00:01Z")  # fmt: skip
    second = _write_ticket(work, None, title="Offline two",
                           created="2026-01-01T00:00:02Z")  # fmt: skip
    pushed = _push(work)
    assert pushed.returncode == 0, pushed.stderr
    # A web write between the push and its load takes number 2 first.
    with TicketRepo(config.repositories / RELPATH) as tickets:
        web = tickets.create_ticket(ADMIN, "From the web")
    load_json.call_local(str(config.home), RELPATH, old)
    with TicketRepo(config.repositories / RELPATH) as tickets:
        numbers = [tickets.ticket(uid)["number"] for uid in (first, second)]
        assert tickets.tip().message == "Number the tickets made offline"
        assert tickets.read("numbers.json")["next"] == 5
    assert (web["number"], numbers) == (2, [3, 4])
    listed = dump(engine_for(config))["tickets"]
    assert sum('"Offline' in row for row in listed) == 2
    git("pull", "-q", "origin", "main", cwd=work)  # the user sees the numbers
    path = work / uid_folder(first) / "ticket.json"
    assert json.loads(path.read_text())["number"] == 3


def test_a_ticket_waiting_for_its_number_cannot_be_numbered_by_a_push(config, clone):
    work, _ticket = clone
    uid = _write_ticket(work, None)
    assert _push(work).returncode == 0
    path = work / uid_folder(uid) / "ticket.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "number": 2}))
    _set_next(work, 3)
    pushed = _push(work)
    assert "a ticket's number never changes" in pushed.stderr


def _push_as(work, user, message="edit"):
    git("add", "-A", cwd=work)
    git("commit", "-qm", message, cwd=work)
    return git("push", "origin", "main", cwd=work, check=False,
               env={"GITFORGE_USER": user})  # fmt: skip


@pytest.fixture
def alice(config):
    from gitforge.store.site import NewUser
    from gitforge.tasks.site import add_user

    add_user(config, NewUser("alice", "alice@example.org", "Alice"))
    return "alice"


def test_the_pusher_comments_as_themselves(config, clone, alice):
    work, ticket = clone
    _write_comment(work, ticket, author="alice")
    pushed = _push_as(work, "alice")
    assert pushed.returncode == 0, pushed.stderr


@pytest.mark.parametrize(
    "change, expected",
    [
        (dict(title="Mine now"), "field 'title': alice may not change it"),
        (dict(tags=["wontfix"]), "field 'tags': alice may not change it: only"),
        (dict(status="Closed", close_reason="no"), "field 'status': alice may not"),
    ],
)
def test_the_access_policy_holds_for_pushes(config, clone, alice, change, expected):
    work, ticket = clone  # opened by admin; alice is no committer
    before = _state(config)
    _edit_ticket(work, ticket, **change)
    pushed = _push_as(work, "alice")
    assert expected in pushed.stderr
    assert _state(config) == before


def test_only_its_author_edits_a_comment(config, clone, alice):
    work, ticket = clone
    path = _write_comment(work, ticket, author="admin")
    assert _push(work).returncode == 0
    before = _state(config)
    path.write_text(path.read_text().replace('"hi"', '"changed by alice"'))
    pushed = _push_as(work, "alice")
    assert "alice may not edit admin's comment" in pushed.stderr
    assert _state(config) == before


def test_a_push_by_an_unknown_user_is_refused(config, clone):
    work, ticket = clone
    before = _state(config)
    _edit_ticket(work, ticket, title="Who am I")
    pushed = _push_as(work, "ghost")
    assert "GITFORGE_USER names no account: 'ghost'" in pushed.stderr
    assert _state(config) == before
