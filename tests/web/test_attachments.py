"""Ticket attachments on the web: upload, list, serve, and what is refused.

Uploads go through the real multipart form with the page's CSRF token and
are checked in the ticket repo in git; downloads are checked for the headers
that keep a file from running as the forge's own content.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest

from gitforge.store import formats
from gitforge.store.documents import uid_folder
from tests.conftest import git
from tests.web import test_ticket_views as ticket_pages
from tests.web.test_ticket_views import (
    ALICE,
    make_ticket,
    sync,
    tickets_repo,
    tip,
    token,
)

# The ticket pages' fixtures: a site with alice and bob, and their logins.
people = ticket_pages.people
login = ticket_pages.login

SANDBOX = "sandbox; default-src 'none'"


def upload(client, number: int, name: str, data: bytes, csrf: bool = True):
    fields = {"file": (io.BytesIO(data), name)}
    if csrf:
        fields["csrf_token"] = token(client)
    return client.post(
        f"/foo/issue/{number}/upload",
        data=fields,
        content_type="multipart/form-data",
    )


def files_in_git(config, uid: str) -> dict[str, bytes]:
    with tickets_repo(config) as repo:
        tree = repo.tip().tree
        try:
            folder = tree[f"{uid_folder(uid)}/files"]
        except KeyError:
            return {}
        return {entry.name: entry.data for entry in folder}


@pytest.fixture
def ticket(people):
    return make_ticket(people, author=ALICE, title="Needs a log")


def test_upload_commits_lists_and_serves_the_file(people, login, ticket):
    bob = login("bob")
    before = tip(people)
    response = upload(bob, 1, "crash log.txt", b"Traceback\n")
    assert response.status_code == 302
    assert files_in_git(people, ticket["uid"]) == {"crash log.txt": b"Traceback\n"}
    with tickets_repo(people) as repo:
        commit = repo.tip()
        assert str(commit.parents[0].id) == before and commit.author.name == "Bob"

    page = bob.get("/foo/issue/1").text
    assert 'href="/foo/issue/1/files/crash%20log.txt"' in page
    assert "(10 bytes)" in page

    served = bob.get("/foo/issue/1/files/crash%20log.txt")
    assert served.status_code == 200 and served.data == b"Traceback\n"
    assert served.mimetype == "text/plain"
    assert served.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''crash%20log.txt"
    )
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == SANDBOX


def test_images_are_inline_with_their_type(people, login, ticket):
    alice = login("alice")
    upload(alice, 1, "shot.png", b"\x89PNG\r\n\x1a\n")
    served = alice.get("/foo/issue/1/files/shot.png")
    assert served.mimetype == "image/png"
    assert served.headers["Content-Disposition"].startswith("inline; ")
    assert served.headers["Content-Security-Policy"] == SANDBOX


@pytest.mark.parametrize(
    "name, data",
    [
        ("page.html", b"<script>alert(1)</script>"),
        ("page.htm", b"<script>alert(1)</script>"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
        ("notes.txt", b"\xff\xfe<script>"),  # not UTF-8: not shown as text
        ("no-extension", b"<html>"),
    ],
)
def test_active_content_is_an_octet_stream_download(people, login, ticket, name, data):
    alice = login("alice")
    assert upload(alice, 1, name, data).status_code == 302
    served = alice.get(f"/foo/issue/1/files/{quote(name)}")
    assert served.status_code == 200 and served.data == data
    assert served.mimetype == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment; ")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == SANDBOX


def test_a_pushed_file_is_listed_and_served(people, login, ticket, tmp_path):
    work = tmp_path / "clone"
    git("clone", "-q", str(people.repositories / "tickets/foo.git"), str(work))
    folder = work / uid_folder(ticket["uid"]) / "files"
    folder.mkdir(parents=True)
    (folder / "trace.txt").write_bytes(b"pushed\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Attach a trace", cwd=work)
    pushed = git("push", "origin", "main", cwd=work, check=False)
    assert pushed.returncode == 0, pushed.stderr
    sync(people)

    alice = login("alice")
    assert 'href="/foo/issue/1/files/trace.txt"' in alice.get("/foo/issue/1").text
    assert alice.get("/foo/issue/1/files/trace.txt").data == b"pushed\n"


def test_a_private_tickets_file_is_absent_for_others(people, app, login):
    make_ticket(people, author=ALICE, title="Secret", private=True)
    alice = login("alice")
    assert upload(alice, 1, "secret.txt", b"password").status_code == 302
    assert alice.get("/foo/issue/1/files/secret.txt").status_code == 200
    assert login("admin").get("/foo/issue/1/files/secret.txt").status_code == 200
    for outsider in (login("bob"), app.test_client()):
        assert outsider.get("/foo/issue/1/files/secret.txt").status_code == 404
        assert outsider.get("/foo/issue/1/files/missing.txt").status_code == 404


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("../../x", "x"),
        ("a/b", "b"),
        ("nul\x00.txt", "nul.txt"),
        ("x" * 300, "x" * 192),  # cut with room for a clash's " (2)"
    ],
)
def test_hostile_names_stay_inside_the_folder(people, login, ticket, sent, stored):
    alice = login("alice")
    assert upload(alice, 1, sent, b"data").status_code == 302
    assert files_in_git(people, ticket["uid"]) == {stored: b"data"}
    with tickets_repo(people) as repo:
        paths = {delta.new_file.path for delta in _last_change(repo)}
    assert paths == {f"{uid_folder(ticket['uid'])}/files/{stored}"}


def _last_change(repo):
    commit = repo.tip()
    return commit.parents[0].tree.diff_to_tree(commit.tree).deltas


@pytest.mark.parametrize("sent", [".git", ".htaccess", "..", "dir/.."])
def test_hidden_names_are_refused(people, login, ticket, sent):
    alice = login("alice")
    before = tip(people)
    response = upload(alice, 1, sent, b"data")
    assert response.status_code == 400
    assert "The file was not attached" in response.text
    assert tip(people) == before


@pytest.mark.parametrize(
    "asked", ["..%2Fticket.json", "../ticket.json", "a/b", "nul%00.txt", "ghost.txt"]
)
def test_names_outside_the_folder_are_404(people, login, ticket, asked):
    alice = login("alice")
    upload(alice, 1, "b", b"data")
    assert alice.get(f"/foo/issue/1/files/{asked}").status_code == 404


def test_too_large_is_400_and_writes_nothing(people, login, ticket, monkeypatch):
    monkeypatch.setattr(formats, "MAX_ATTACHMENT_BYTES", 1000)
    alice = login("alice")
    before = tip(people)
    response = upload(alice, 1, "big.bin", b"x" * 1001)
    assert response.status_code == 400
    assert "at most 1,000 bytes" in response.text
    assert tip(people) == before
    # A body far over the limit is refused before the form is read.
    assert upload(alice, 1, "huge.bin", b"x" * 200_000).status_code == 413
    assert tip(people) == before
    assert upload(alice, 1, "fits.bin", b"x" * 1000).status_code == 302


def test_upload_without_csrf_token_is_400(people, login, ticket):
    alice = login("alice")
    before = tip(people)
    assert upload(alice, 1, "x.txt", b"x", csrf=False).status_code == 400
    assert tip(people) == before


def test_only_who_may_comment_sees_the_form_and_may_upload(people, app, ticket):
    anonymous = app.test_client()
    assert 'name="file"' not in anonymous.get("/foo/issue/1").text
    response = anonymous.post(
        "/foo/issue/1/upload",
        data={"csrf_token": token(anonymous), "file": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/login" in response.location
    assert files_in_git(people, ticket["uid"]) == {}
