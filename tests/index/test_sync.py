from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from gitforge.index import schema
from gitforge.index.compare import dump
from gitforge.index.db import engine_for, make_engine, open_index, reset
from gitforge.index.sync import sync_all, sync_repo
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.requests import RequestRepo
from gitforge.store.tickets import TicketRepo, ticket_path
from gitforge.tasks.projects import create_project
from tests.conftest import git

ALICE = Identity("admin", "admin@example.org")
RELPATH = "tickets/foo.git"


@pytest.fixture
def project(config):
    create_project(config, "foo", "admin", "Foo")
    return config


def test_sync_is_incremental_and_idempotent(project):
    engine = engine_for(project)
    repo = project.repositories / RELPATH
    with TicketRepo(repo) as tickets:
        made = tickets.create_ticket(ALICE, "One")
        first = sync_repo(engine, project.repositories, RELPATH)
        assert first.changed == [made["uid"]]
        other = tickets.create_ticket(ALICE, "Two")
        second = sync_repo(engine, project.repositories, RELPATH)
    assert second.changed == [other["uid"]]
    assert not sync_repo(engine, project.repositories, RELPATH).moved


def _clone_edit_push(project, tmp_path, edit):
    work = tmp_path / f"clone-{uuid.uuid4().hex[:6]}"
    git("clone", "-q", str(project.repositories / RELPATH), str(work))
    edit(work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "offline edit", cwd=work)
    return git("push", "-q", "origin", "main", cwd=work, check=False)


def test_incremental_syncs_after_pushes_equal_a_full_rebuild(project, tmp_path):
    engine = engine_for(project)
    with TicketRepo(project.repositories / RELPATH) as tickets:
        made = [
            tickets.create_ticket(ALICE, f"Ticket {i}", tags=["t"]) for i in range(3)
        ]
        tickets.add_comment(made[0]["uid"], ALICE, "web comment, see #2")
    sync_repo(engine, project.repositories, RELPATH)

    def close_first(work):
        path = work / uid_folder(made[0]["uid"]) / "ticket.json"
        doc = json.loads(path.read_text())
        doc.update(status="Closed", close_reason="Fixed", tags=["done", "t"])
        path.write_text(json.dumps(doc))

    def comment_second(work):
        cid = uuid.uuid4().hex
        folder = work / uid_folder(made[1]["uid"]) / "comments"
        folder.mkdir(parents=True)
        (folder / f"{cid}.json").write_text(json.dumps({
            "format": 1, "uid": cid, "author": "admin",
            "created": "2026-01-02T03:04:05Z", "body": "clone, #3"}))  # fmt: skip

    for edit in (close_first, comment_second):
        assert _clone_edit_push(project, tmp_path, edit).returncode == 0
        sync_repo(engine, project.repositories, RELPATH)
    incremental = dump(engine)

    rebuilt = make_engine(project.database_url.replace("index.db", "rebuilt.db"))
    reset(rebuilt)
    sync_all(rebuilt, project.repositories)
    assert dump(rebuilt) == incremental
    assert len(incremental["mentions"]) == 2  # the web comment and the push
    closed = [r for r in incremental["tickets"] if '"Closed"' in r]
    assert len(closed) == 1 and len(incremental["comments"]) == 2


def test_schema_mismatch_rebuilds_from_git(project):
    engine = engine_for(project)
    with TicketRepo(project.repositories / RELPATH) as tickets:
        tickets.create_ticket(ALICE, "Kept in git")
    sync_repo(engine, project.repositories, RELPATH)
    before = dump(engine)
    with engine.begin() as conn:
        conn.execute(schema.meta.update().values(value="0"))
    fresh_engine, fresh = open_index(project)
    assert fresh
    assert dump(fresh_engine)["tickets"] == []
    sync_all(fresh_engine, project.repositories)
    assert dump(fresh_engine) == before


def test_sync_skips_a_bad_file_without_stopping(project):
    engine = engine_for(project)
    with TicketRepo(project.repositories / RELPATH) as tickets:
        good = tickets.create_ticket(ALICE, "Good")
        bad_uid = uuid.uuid4().hex
        tickets.transact(lambda s: {ticket_path(bad_uid): b"{broken"}, ALICE,
                         "written on disk")  # fmt: skip
    result = sync_repo(engine, project.repositories, RELPATH)
    assert set(result.changed) == {good["uid"], bad_uid}
    with engine.connect() as conn:
        uids = conn.execute(select(schema.tickets.c.uid)).scalars().all()
    assert uids == [good["uid"]]


def test_pull_requests_load_incrementally_like_a_full_rebuild(project):
    engine = engine_for(project)
    relpath = "requests/foo.git"
    head, base = "c" * 40, "d" * 40
    with RequestRepo(project.repositories / relpath) as requests:
        made = [
            requests.open_request(
                ALICE,
                n,
                title=f"PR {n}",
                source_repo="foo",
                source_branch="feat/ü+x@y",
                target_branch="main",
                base=base,
                head=head,
            )  # fmt: skip
            for n in (1, 2)
        ]
        sync_repo(engine, project.repositories, relpath)
        uid = made[0]["uid"]
        inline = {"commit": head, "path": "a b.py", "line": 2, "side": "new"}
        requests.add_comment(uid, ALICE, "inline", inline=inline)
        requests.set_flag(uid, ALICE, name="ci", status="pending", percent=None,
                          comment="", url=None)  # fmt: skip
        assert sync_repo(engine, project.repositories, relpath).changed == [uid]
        requests.set_flag(uid, ALICE, name="ci", status="success", percent=100,
                          comment="ok", url="https://ci.example.org/9")  # fmt: skip
        requests.record_update(uid, ALICE, old_head=head, new_head=base, forced=True)
        requests.update_request(made[1]["uid"], ALICE, tags=["wip"])
        sync_repo(engine, project.repositories, relpath)
    incremental = dump(engine)

    rebuilt = make_engine(project.database_url.replace("index.db", "rebuilt.db"))
    reset(rebuilt)
    sync_all(rebuilt, project.repositories)
    assert dump(rebuilt) == incremental
    assert len(incremental["pull_requests"]) == 2
    assert len(incremental["request_flags"]) == 1
    assert '"success"' in incremental["request_flags"][0]
    assert '"inline_line": 2' in incremental["request_comments"][0]
    assert len(incremental["request_updates"]) == len(incremental["request_tags"]) == 1


def test_a_ticket_repo_waits_for_its_project_to_be_indexed(project):
    engine = engine_for(project)
    with TicketRepo(project.repositories / RELPATH) as tickets:
        made = tickets.create_ticket(ALICE, "Early")
    with engine.begin() as conn:  # the project is not (yet) in the index
        conn.execute(schema.projects.delete())
    waiting = sync_repo(engine, project.repositories, RELPATH)
    assert not waiting.moved and waiting.changed == []
    sync_repo(engine, project.repositories, "site.git")  # no change: reload
    with engine.begin() as conn:
        conn.execute(schema.repo_state.delete().where(
            schema.repo_state.c.repo == "site.git"))  # fmt: skip
    sync_repo(engine, project.repositories, "site.git")
    loaded = sync_repo(engine, project.repositories, RELPATH)
    assert loaded.changed == [made["uid"]]
