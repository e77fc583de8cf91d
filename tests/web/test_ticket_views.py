"""Ticket pages over a real site: lists, one ticket, and every form.

Writes go through the real forms (with a CSRF token read from the page) and
are checked where they must land: in the project's ticket repo in git, and
through sync on the pages.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity
from gitforge.store.layout import RepoKind, repo_relpath
from gitforge.store.site import NewUser
from gitforge.store.tickets import TicketRepo, comment_path, ticket_path
from gitforge.tasks.site import add_user

PASSWORD = "secret-pw1"
ADMIN = Identity("admin", "admin@example.org", "Ad Min")
ALICE = Identity("alice", "alice@example.org", "Alice")
BOB = Identity("bob", "bob@example.org", "Bob")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TICKET_LINK = re.compile(r'href="/(?:ns/bar|foo)/issue/(\d+)"')


# -- helpers ---------------------------------------------------------------


@pytest.fixture
def people(site_home: Config) -> Config:
    """The site with two ordinary users, alice and bob, besides the admin."""
    for who in (ALICE, BOB):
        add_user(site_home, NewUser(who.username, who.email, who.name, PASSWORD))
    return site_home


@pytest.fixture
def login(app, people):
    """A function that gives a test client logged in through /login."""

    def log_in(name: str):
        client = app.test_client()
        response = client.post(
            "/login",
            data={"csrf_token": token(client), "name": name, "password": PASSWORD},
        )
        assert response.status_code == 302, response.text
        return client

    return log_in


def token(client) -> str:
    """The session's CSRF token, read from a page's HTML like a browser."""
    return _CSRF.search(client.get("/login").text).group(1)


def post(client, path: str, **fields):
    return client.post(path, data={"csrf_token": token(client), **fields})


def tickets_repo(config: Config, fullname: str = "foo") -> TicketRepo:
    return TicketRepo(config.repositories / repo_relpath(RepoKind.TICKETS, fullname))


def sync(config: Config, fullname: str = "foo") -> None:
    relpath = repo_relpath(RepoKind.TICKETS, fullname)
    sync_repo(engine_for(config), config.repositories, relpath)


def make_ticket(config: Config, author=ALICE, fullname="foo", **options) -> dict:
    """A ticket made through the store API, as a push would, then synced."""
    title = options.pop("title", "A ticket")
    with tickets_repo(config, fullname) as repo:
        made = repo.create_ticket(author, title, options.pop("body", ""), **options)
    sync(config, fullname)
    return made


def dated_comment(repo: TicketRepo, ticket_uid: str, body: str, created: str):
    """A comment by bob with a chosen time, written as a push would."""
    note = {
        "format": 1,
        "uid": uuid.uuid4().hex,
        "author": "bob",
        "body": body,
        "created": created,
        "edited": None,
    }
    path = comment_path(ticket_uid, note["uid"])
    repo.transact(lambda _snapshot: {path: note}, BOB, "A dated comment")


def tip(config: Config, fullname: str = "foo") -> str:
    with tickets_repo(config, fullname) as repo:
        return str(repo.tip().id)


def numbers_on(page: str) -> list[int]:
    return [int(n) for n in _TICKET_LINK.findall(page)]


# -- the list --------------------------------------------------------------


def test_list_tickets_pages_keep_the_filters(people, client):
    with tickets_repo(people) as repo:
        for i in range(60):
            repo.create_ticket(ALICE, f"Bulk {i}", tags=["bulk"])
        repo.create_ticket(ALICE, "Untagged")
    sync(people)

    first = client.get("/foo/issues?tags=bulk&sort=oldest")
    assert numbers_on(first.text) == list(range(1, 51))
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first.text).group(1)
    assert "tags=bulk" in next_link and "sort=oldest" in next_link
    assert "page=2" in next_link

    second = client.get(next_link.replace("&amp;", "&"))
    assert numbers_on(second.text) == list(range(51, 61))
    assert 'rel="next"' not in second.text
    assert "Page 2 of 2" in second.text
    prev_link = re.search(r'<a rel="prev" href="([^"]+)"', second.text).group(1)
    assert "tags=bulk" in prev_link and "page=" not in prev_link


def test_list_tickets_filters_by_status_tag_assignee_author(people, client):
    one = make_ticket(people, ALICE, title="Crash on start", tags=["bug"])
    two = make_ticket(people, BOB, title="Add a logo", tags=["ui", "wish"])
    three = make_ticket(people, BOB, title="Old bug", tags=["bug"])
    with tickets_repo(people) as repo:
        repo.update_ticket(two["uid"], ADMIN, assignee="alice")
        repo.close_ticket(three["uid"], ADMIN, "Fixed")
    sync(people)

    assert numbers_on(client.get("/foo/issues").text) == [two["number"], 1]
    closed = client.get("/foo/issues?status=Closed").text
    assert numbers_on(closed) == [three["number"]]
    every = client.get("/foo/issues?status=all&tags=bug").text
    assert numbers_on(every) == [three["number"], one["number"]]
    both_tags = client.get("/foo/issues?tags=ui&tags=wish").text
    assert numbers_on(both_tags) == [two["number"]]
    assert numbers_on(client.get("/foo/issues?assignee=alice").text) == [2]
    by_bob = client.get("/foo/issues?author=bob&status=all").text
    assert numbers_on(by_bob) == [three["number"], two["number"]]
    assert "2 open" in closed and "1 closed" in closed


def test_list_tickets_sorts(people, client):
    quiet = make_ticket(people, title="Quiet")
    busy = make_ticket(people, title="Busy")
    later = make_ticket(people, title="Later")
    with tickets_repo(people) as repo:
        repo.add_comment(busy["uid"], BOB, "one")
        repo.add_comment(busy["uid"], BOB, "two")
        # Times in documents have whole seconds; a comment dated later than
        # the others makes "updated" independent of how fast the test runs.
        dated_comment(repo, quiet["uid"], "late", "2099-01-01T00:00:00Z")
    sync(people)
    numbers = [t["number"] for t in (quiet, busy, later)]

    assert numbers_on(client.get("/foo/issues").text) == numbers[::-1]
    assert numbers_on(client.get("/foo/issues?sort=oldest").text) == numbers
    by_comments = numbers_on(client.get("/foo/issues?sort=comments").text)
    assert by_comments == [busy["number"], quiet["number"], later["number"]]
    by_update = numbers_on(client.get("/foo/issues?sort=updated").text)
    assert by_update[0] == quiet["number"]


def test_list_tickets_shows_tags_and_survives_bad_arguments(people, client):
    make_ticket(people, title="Tagged", tags=["needs-info", "ui"])
    page = client.get("/foo/issues?page=x&sort=nonsense&status=weird")
    assert page.status_code == 200
    assert ">needs-info</a>" in page.text and ">ui</a>" in page.text
    assert client.get("/foo/issues?page=99999999999999999999").status_code == 200


# -- one ticket ------------------------------------------------------------


def test_show_ticket_renders_fields_and_comments_in_order(people, client):
    made = make_ticket(
        people, ALICE, title="Parser fails", body="It **breaks** on `x`.", tags=["bug"]
    )
    with tickets_repo(people) as repo:
        fields = {"assignee": "bob", "priority": 2, "milestone": "1.0"}
        repo.update_ticket(made["uid"], ADMIN, **fields)
        # Dated apart: comments within one second have no defined order.
        dated_comment(repo, made["uid"], "Second reply", "2030-01-01T00:00:02Z")
        dated_comment(repo, made["uid"], "First *reply*", "2030-01-01T00:00:01Z")
    sync(people)

    page = client.get(f"/foo/issue/{made['number']}").text
    assert "Parser fails" in page and f"#{made['number']}" in page
    assert "<strong>breaks</strong>" in page and "<em>reply</em>" in page
    assert page.index("First") < page.index("Second reply")
    for shown in (">bug</a>", ">bob</a>", "1.0", "Open", ">alice</a>"):
        assert shown in page
    assert "<form" not in page.split("<main>")[1].split("</main>")[0]


def test_show_ticket_unknown_number_is_404(client):
    assert client.get("/foo/issue/999").status_code == 404
    assert client.get("/nope/issue/1").status_code == 404
    assert client.get("/foo/issue/99999999999999999999").status_code == 404


# -- new ticket ------------------------------------------------------------


def test_new_ticket_form_commits_to_git_and_lists_it(people, login):
    alice = login("alice")
    assert alice.get("/foo/new_issue").status_code == 200
    form = {"title": "  Login page 500  ", "body": "Steps:\r\n1. open\r\n"}
    response = post(alice, "/foo/new_issue", tags="bug, login ,bug,", **form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/foo/issue/1")

    with tickets_repo(people) as repo:
        snapshot = repo.snapshot()
        (uid,) = snapshot.uids()
        stored = json.loads(snapshot.read_bytes(ticket_path(uid)))
        assert repo.tip().author.name == "Alice"
    assert stored["title"] == "Login page 500"
    assert stored["body"] == "Steps:\n1. open\n"
    assert stored["tags"] == ["bug", "login"]
    assert stored["author"] == "alice" and stored["private"] is False

    listed = alice.get("/foo/issues").text
    assert "Login page 500" in listed and numbers_on(listed) == [1]


@pytest.mark.parametrize("title", ["", "   ", "x" * 256])
def test_new_ticket_bad_title_is_400_and_writes_nothing(people, login, title):
    alice = login("alice")
    before = tip(people)
    response = post(alice, "/foo/new_issue", title=title, body="kept text")
    assert response.status_code == 400
    assert 'class="flash error"' in response.text and "title" in response.text
    assert "kept text" in response.text
    assert tip(people) == before


def test_new_ticket_needs_login(people, client):
    response = client.get("/foo/new_issue")
    assert response.status_code == 302
    assert "/login?next=/foo/new_issue" in response.headers["Location"]
    before = tip(people)
    response = post(client, "/foo/new_issue", title="Anonymous")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert tip(people) == before


# -- writes on a ticket ----------------------------------------------------


def test_add_comment_lands_in_git_and_page(people, login):
    made = make_ticket(people)
    bob = login("bob")
    response = post(bob, "/foo/issue/1/comment", comment="Same here.\r\nOn 1.2.")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/foo/issue/1")
    with tickets_repo(people) as repo:
        (note,) = repo.comments(made["uid"])
    assert note["author"] == "bob" and note["body"] == "Same here.\nOn 1.2."
    assert "Same here." in bob.get("/foo/issue/1").text


def test_add_comment_empty_is_400(people, login):
    make_ticket(people)
    before = tip(people)
    response = post(login("bob"), "/foo/issue/1/comment", comment="  \r\n ")
    assert response.status_code == 400 and "comment is empty" in response.text
    assert tip(people) == before


def test_edit_ticket_by_author_and_refused_to_others(people, login):
    made = make_ticket(people, ALICE, title="Typo", body="old")
    alice = login("alice")
    response = post(alice, "/foo/issue/1/edit", title="Fixed title", body="new")
    assert response.status_code == 302
    with tickets_repo(people) as repo:
        stored = repo.ticket(made["uid"])
    assert (stored["title"], stored["body"]) == ("Fixed title", "new")
    assert "Fixed title" in alice.get("/foo/issue/1").text

    before = tip(people)
    response = post(login("bob"), "/foo/issue/1/edit", title="Mine", body="")
    assert response.status_code == 403
    response = post(alice, "/foo/issue/1/edit", title="x" * 256, body="")
    assert response.status_code == 400 and "at most 255" in response.text
    assert tip(people) == before


def test_close_with_reason_and_reopen(people, login):
    made = make_ticket(people, ALICE)
    alice = login("alice")
    assert post(alice, "/foo/issue/1/close", reason="Duplicate").status_code == 302
    with tickets_repo(people) as repo:
        stored = repo.ticket(made["uid"])
    assert stored["status"] == "Closed" and stored["close_reason"] == "Duplicate"
    page = alice.get("/foo/issue/1").text
    assert "(Duplicate)" in page and "Reopen issue" in page
    assert numbers_on(alice.get("/foo/issues").text) == []

    assert post(alice, "/foo/issue/1/reopen").status_code == 302
    with tickets_repo(people) as repo:
        stored = repo.ticket(made["uid"])
    assert stored["status"] == "Open" and stored["close_reason"] is None
    assert numbers_on(alice.get("/foo/issues").text) == [1]


def test_triage_sets_tags_assignee_priority_milestone(people, login):
    made = make_ticket(people, ALICE, tags=["old"])
    admin = login("admin")
    form = {"tags": "bug, ui", "assignee": "bob", "priority": "3", "milestone": "2.0"}
    response = post(admin, "/foo/issue/1/meta", **form)
    assert response.status_code == 302
    with tickets_repo(people) as repo:
        stored = repo.ticket(made["uid"])
    assert stored["tags"] == ["bug", "ui"] and stored["assignee"] == "bob"
    assert (stored["priority"], stored["milestone"]) == (3, "2.0")
    assert numbers_on(admin.get("/foo/issues?tags=ui&assignee=bob").text) == [1]
    assert numbers_on(admin.get("/foo/issues?tags=old").text) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"assignee": "nobody"}, "no user named"),
        ({"priority": "high"}, "whole number"),
        ({"priority": "10" * 20}, "whole number"),
        ({"tags": "a," + "t" * 256}, "at most 255"),
    ],
)
def test_triage_bad_input_is_400_and_writes_nothing(people, login, fields, message):
    make_ticket(people)
    before = tip(people)
    response = post(login("admin"), "/foo/issue/1/meta", **fields)
    assert response.status_code == 400 and message in response.text
    assert tip(people) == before


def test_triage_refused_to_non_committers(people, login):
    make_ticket(people, ALICE)
    before = tip(people)
    response = post(login("alice"), "/foo/issue/1/meta", tags="mine")
    assert response.status_code == 403
    assert tip(people) == before
    assert "Triage" not in login("alice").get("/foo/issue/1").text


def test_edit_own_comment_only(people, login):
    made = make_ticket(people, ALICE)
    with tickets_repo(people) as repo:
        note = repo.add_comment(made["uid"], BOB, "frist")
    sync(people)
    url = f"/foo/issue/1/comment/{note['uid']}/edit"

    bob = login("bob")
    before = tip(people)
    assert post(login("alice"), url, text="vandal").status_code == 403
    missing = post(bob, "/foo/issue/1/comment/0000/edit", text="x")
    assert missing.status_code == 404
    assert tip(people) == before

    assert "Edit comment" in bob.get("/foo/issue/1").text
    assert post(bob, url, text=" \r\n").status_code == 400
    assert tip(people) == before
    assert post(bob, url, text="first").status_code == 302
    with tickets_repo(people) as repo:
        (stored,) = repo.comments(made["uid"])
    assert stored["body"] == "first" and stored["edited"] is not None
    assert "(edited" in bob.get("/foo/issue/1").text


# -- refusals --------------------------------------------------------------


def test_post_without_csrf_token_is_400_and_writes_nothing(people, login):
    make_ticket(people)
    alice = login("alice")
    before = tip(people)
    forged = [
        ("/foo/new_issue", {"title": "Forged"}),
        ("/foo/issue/1/comment", {"comment": "Forged"}),
        ("/foo/issue/1/close", {"reason": "Forged"}),
    ]
    for path, data in forged:
        assert alice.post(path, data=data).status_code == 400
        wrong = {"csrf_token": "not-the-token", **data}
        assert alice.post(path, data=wrong).status_code == 400
    assert tip(people) == before


def test_anonymous_posts_go_to_login_and_write_nothing(people, client):
    made = make_ticket(people)
    with tickets_repo(people) as repo:
        note = repo.add_comment(made["uid"], ALICE, "mine")
    sync(people)
    before = tip(people)
    paths = ("comment", "edit", "close", "reopen", "meta")
    for path in (*paths, f"comment/{note['uid']}/edit"):
        response = post(client, f"/foo/issue/1/{path}", title="t", comment="c")
        assert response.status_code == 302
        assert "/login?next=/foo/issue/1" in response.headers["Location"]
    assert tip(people) == before


# -- private tickets -------------------------------------------------------


def test_private_ticket_is_absent_for_others(people, app, login):
    make_ticket(people, BOB, title="Public one")
    alice = login("alice")
    post(alice, "/foo/new_issue", title="Secret hole", private="on")
    secret = 2
    with tickets_repo(people) as repo:
        flags = {doc["title"]: doc["private"] for doc in _tickets_in(repo)}
    assert flags == {"Public one": False, "Secret hole": True}

    for reader in (alice, login("admin")):
        assert reader.get(f"/foo/issue/{secret}").status_code == 200
        listing = reader.get("/foo/issues").text
        assert "Secret hole" in listing and "2 open" in listing

    before = tip(people)
    for outsider in (login("bob"), app.test_client()):
        assert outsider.get(f"/foo/issue/{secret}").status_code == 404
        listing = outsider.get("/foo/issues?status=all").text
        assert "Secret hole" not in listing and numbers_on(listing) == [1]
        assert "1 open" in listing and "1 matching issue" in listing
    bob = login("bob")
    assert post(bob, f"/foo/issue/{secret}/comment", comment="hi").status_code == 404
    assert post(bob, f"/foo/issue/{secret}/close").status_code == 404
    assert tip(people) == before


def _tickets_in(repo: TicketRepo) -> list[dict]:
    snapshot = repo.snapshot()
    names = snapshot.uids()
    return [snapshot.read(ticket_path(uid)) for uid in names]


# -- user content ----------------------------------------------------------


def test_hostile_markdown_in_comment_is_inert(people, login, client):
    make_ticket(people, ALICE, body="<img src=x onerror=alert(0)>")
    hostile = (
        "<script>alert(1)</script>\n\n"
        '<img src="x" onerror="alert(2)">\n\n'
        "[click me](javascript:alert(3)) and "
        '<a href="javascript:alert(4)">raw</a>'
    )
    assert (
        post(login("bob"), "/foo/issue/1/comment", comment=hostile).status_code == 302
    )

    page = client.get("/foo/issue/1").text
    assert "<script" not in page
    assert "onerror" not in page
    assert "javascript:" not in page
    assert "click me" in page and "raw" in page


def test_titles_are_escaped(people, client):
    make_ticket(people, title='<b onmouseover="x">bold</b>')
    for path in ("/foo/issues", "/foo/issue/1"):
        page = client.get(path).text
        assert "<b onmouseover" not in page and "&lt;b onmouseover" in page


# -- namespaced projects ---------------------------------------------------


def test_namespaced_project_routes(people, login):
    alice = login("alice")
    assert alice.get("/ns/bar/issues").status_code == 200
    assert alice.get("/ns/bar/new_issue").status_code == 200
    response = post(alice, "/ns/bar/new_issue", title="In a namespace")
    assert response.headers["Location"].endswith("/ns/bar/issue/1")
    assert post(alice, "/ns/bar/issue/1/comment", comment="hello").status_code == 302
    page = alice.get("/ns/bar/issue/1").text
    assert "In a namespace" in page and "hello" in page
    assert 'action="/ns/bar/issue/1/comment"' in page
    assert numbers_on(alice.get("/ns/bar/issues").text) == [1]
    assert numbers_on(alice.get("/foo/issues").text) == []
    with tickets_repo(people, "ns/bar") as repo:
        assert [t["title"] for t in _tickets_in(repo)] == ["In a namespace"]


def test_ticket_lists_what_mentions_it_but_not_hidden_tickets(people, client, login):
    target = make_ticket(people, title="Target")
    make_ticket(people, title="Public", body="Related to #1.")
    make_ticket(people, author=BOB, title="Secret", body="see #1", private=True)
    make_ticket(people, title="Entity", body="&#1; and page#1 are no mentions")
    page = client.get("/foo/issue/1").get_data(as_text=True)
    assert target["number"] == 1
    assert "Mentioned in" in page
    assert 'href="/foo/issue/2">ticket #2' in page
    assert "ticket #3" not in page  # private: bob and the committers only
    assert "ticket #4" not in page
    assert "ticket #3" in login("bob").get("/foo/issue/1").get_data(as_text=True)
