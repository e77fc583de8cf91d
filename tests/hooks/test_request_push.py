"""Pushes to a request repo: the discussion of pull requests, offline.

A push may add comments, edit the pusher's own, and close, reopen, retitle,
tag or assign a pull request, under the web's rules; anything gitforge
writes alone is refused with the file named, and nothing changes."""

from __future__ import annotations

import json
import uuid

import pytest

from gitforge.index import queries, request_queries
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity, canonical_json, uid_folder, utc_now
from gitforge.store.requests import RequestRepo, request_path
from gitforge.store.site import NewUser
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git
from tests.index.test_sync import dump

RELPATH = "requests/foo.git"
ALICE = Identity("alice", "alice@example.org")
PR = dict(title="Add a feature", source_repo="foo", source_branch="feature",
          target_branch="main", base="b" * 40, head="a" * 40)  # fmt: skip


@pytest.fixture
def clone(config, tmp_path):
    """A clone of foo's request repo with #1, opened by alice."""
    create_project(config, "foo", "admin")
    for name in ("alice", "sam"):
        add_user(config, NewUser(name, f"{name}@example.org"))
    with RequestRepo(config.repositories / RELPATH) as requests:
        opened = requests.open_request(ALICE, 1, **PR)
    sync_repo(engine_for(config), config.repositories, RELPATH)
    work = tmp_path / "work"
    git("clone", "-q", str(config.repositories / RELPATH), str(work))
    return work, opened


def _write(work, path, doc):
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(canonical_json(doc))


def _comment(work, uid, author, body="Looks good", **extra):
    cuid = uuid.uuid4().hex
    doc = {"format": 1, "uid": cuid, "author": author, "created": utc_now(),
           "body": body, "inline": None, **extra}  # fmt: skip
    path = f"{uid_folder(uid)}/comments/{cuid}.json"
    _write(work, path, doc)
    return path


def _edit_request(work, uid, **changes):
    path = work / request_path(uid)
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_bytes(canonical_json(doc))


def _push(work, user):
    git("add", "-A", cwd=work)
    git("commit", "-qm", "offline", cwd=work)
    return git("push", "origin", "main", cwd=work, check=False,
               env={"GITFORGE_USER": user})  # fmt: skip


def _load(config):
    sync_repo(engine_for(config), config.repositories, RELPATH)


def _state(config):
    tip = git("rev-parse", "main", cwd=config.repositories / RELPATH).stdout
    return tip, dump(engine_for(config))


def test_a_comment_and_a_close_pushed_offline_are_loaded(config, clone):
    work, opened = clone
    _comment(work, opened["uid"], "alice", "Done offline")
    _edit_request(work, opened["uid"], status="Closed", closed_by="alice",
                  closed_at=utc_now())  # fmt: skip
    pushed = _push(work, "alice")
    assert pushed.returncode == 0, pushed.stderr
    _load(config)
    engine = engine_for(config)
    row = request_queries.request(engine, queries.project(engine, "foo"), 1)
    assert row.status == "Closed" and row.closed_by == "alice"
    assert "Done offline" in str(dump(engine)["request_comments"])


@pytest.mark.parametrize(
    "change, user, expected",
    [
        (lambda w, u: _comment(w, u, "alice"), "sam", "comment as yourself"),
        (
            lambda w, u: _comment(
                w,
                u,
                "sam",
                inline={"commit": "a" * 40, "path": "x", "line": 1, "side": "new"},
            ),
            "sam",  # fmt: skip
            "inline comments are made on the web",
        ),
        (
            lambda w, u: _edit_request(w, u, head="c" * 40),
            "admin",
            "field 'head': gitforge writes this file",
        ),
        (
            lambda w, u: _edit_request(
                w,
                u,
                status="Merged",
                merge_commit="c" * 40,
                closed_by="admin",
                closed_at=utc_now(),
            ),
            "admin",  # fmt: skip
            "field 'merge_commit': gitforge writes this file",
        ),
        (
            lambda w, u: _edit_request(w, u, title="Mine now"),
            "sam",
            "field 'title': sam may not change it",
        ),
        (
            lambda w, u: _edit_request(w, u, tags=["x"]),
            "alice",
            "field 'tags': alice may not change it",
        ),
        (
            lambda w, u: _edit_request(
                w, u, status="Closed", closed_by="admin", closed_at=utc_now()
            ),
            "alice",
            "must be 'alice', who closes it",
        ),
        (
            lambda w, u: _edit_request(w, u, assignee="ghost"),
            "admin",
            "field 'assignee': no user is named 'ghost'",
        ),
        (
            lambda w, u: _edit_request(w, u, title=5),
            "alice",
            "field 'title': must be a string",
        ),
        (
            lambda w, u: (w / request_path(u)).unlink(),
            "admin",
            "nothing in a request repo can be deleted",
        ),
        (
            lambda w, u: _write(w, f"{uid_folder(u)}/flags/{'f' * 32}.json", {}),
            "admin",
            "gitforge writes this file",
        ),
        (
            lambda w, u: _write(w, request_path("e" * 32), {}),
            "admin",
            "pull requests are opened on the web",
        ),
    ],
)
def test_bad_request_pushes_are_refused_and_change_nothing(
    config, clone, change, user, expected
):
    work, opened = clone
    before = _state(config)
    change(work, opened["uid"])
    pushed = _push(work, user)
    assert pushed.returncode != 0
    assert expected in pushed.stderr
    _load(config)
    assert _state(config) == before


def test_only_its_author_edits_a_comment(config, clone):
    work, opened = clone
    path = _comment(work, opened["uid"], "alice", "First words")
    assert _push(work, "alice").returncode == 0
    doc = json.loads((work / path).read_text())
    doc.update(body="Changed by sam", edited=utc_now())
    _write(work, path, doc)
    refused = _push(work, "sam")
    assert "sam may not edit alice's" in refused.stderr
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    doc["body"] = "Better words"
    _write(work, path, doc)
    assert _push(work, "alice").returncode == 0
