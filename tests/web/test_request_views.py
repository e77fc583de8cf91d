"""Pull request pages over a real site: the list, one pull request's tabs
(discussion, commits, files), the .patch and .diff downloads, and what
stays hidden or inert."""

from __future__ import annotations

import dataclasses

from gitforge.index import queries
from gitforge.tasks import pull_requests as prs
from tests.conftest import git
from tests.tasks.test_pull_requests import _branch_with, _commit, _push
from tests.web import request_support as support
from tests.web import test_ticket_views as ticket_tests
from tests.web.request_support import (
    ADMIN,
    ALICE,
    BOB,
    LINE_LINK,
    numbers_on,
    open_request,
    post,
    request_tip,
    requests_repo,
    sync_requests,
)

# The fixtures, by name: pytest finds them in the module.
code, login, people = support.code, support.login, support.people


# -- the list ----------------------------------------------------------------


def test_list_filters_by_status_author_assignee_and_tag(code, login, client):
    config, work = code
    for branch in ("one", "two", "three", "four"):
        _branch_with(config, work, branch, f"{branch}.txt", "x\n", branch)
    one = open_request(config, "one", ALICE, "First change")
    two = open_request(config, "two", BOB, "Second change")
    three = open_request(config, "three", BOB, "Third change")
    four = open_request(config, "four", ALICE, "Fourth change")
    with requests_repo(config) as repo:
        repo.update_request(two["uid"], ADMIN, tags=["ui"], assignee="alice")
        repo.set_flag(one["uid"], ADMIN, name="ci", status="success", percent=100,
                      comment="all green", url="https://ci.example.org/1")  # fmt: skip
    sync_requests(config)
    prs.close_pull_request(config, "foo", three["uid"], BOB)
    prs.merge_pull_request.call_local(str(config.home), "foo", four["uid"], "admin")

    listing = client.get("/foo/pull-requests").text
    assert numbers_on(listing) == [2, 1]
    assert "2 open" in listing and "1 merged" in listing and "1 closed" in listing
    assert "ci: success" in listing and "fast-forward" in listing
    assert numbers_on(client.get("/foo/pull-requests?status=merged").text) == [4]
    assert numbers_on(client.get("/foo/pull-requests?status=closed").text) == [3]
    every = client.get("/foo/pull-requests?status=all&sort=oldest").text
    assert numbers_on(every) == [1, 2, 3, 4]
    by_bob = client.get("/foo/pull-requests?status=all&author=bob").text
    assert numbers_on(by_bob) == [3, 2]
    assert numbers_on(client.get("/foo/pull-requests?assignee=alice").text) == [2]
    assert numbers_on(client.get("/foo/pull-requests?tags=ui").text) == [2]
    odd = client.get("/foo/pull-requests?page=x&sort=nope&status=weird")
    assert odd.status_code == 200 and numbers_on(odd.text) == [2, 1]
    assert 'href="/foo/pull-requests"' in client.get("/foo/issues").text


# -- one pull request --------------------------------------------------------


def test_tabs_show_discussion_commits_and_files(code, client):
    config, work = code
    git("checkout", "-q", "-b", "topic", cwd=work)
    _commit(work, "a.txt", "alpha\n", "Add alpha")
    _commit(work, "shared.txt", "one\nTWO\nthree\n", "Shout two")
    _push(config, work, "topic")
    made = open_request(config, "topic", description="It **helps**.")
    with requests_repo(config) as repo:
        repo.add_comment(made["uid"], BOB, "Looks *fine*")
        flag = dict(name="build", status="failure", percent=None, comment="red")
        repo.set_flag(made["uid"], ADMIN, url="http://ci.example.org/b", **flag)
    sync_requests(config)

    page = client.get("/foo/pull-request/1").text
    assert "<strong>helps</strong>" in page and "<em>fine</em>" in page
    assert 'href="http://ci.example.org/b"' in page and "failure" in page
    assert "a fast-forward is possible" in page
    assert page.index("helps") < page.index("fine")
    commits = client.get("/foo/pull-request/1/commits").text
    assert commits.index("Shout two") < commits.index("Add alpha")
    files = client.get("/foo/pull-request/1/files").text
    assert "a.txt" in files and "shared.txt" in files
    assert '<span class="add">+TWO\n</span>' in files
    assert LINE_LINK.search(files)
    for path in ("/foo/pull-request/9", "/foo/pull-request/99999999999999"):
        assert client.get(path).status_code == 404
    assert client.get("/foo/pull-request/9/files").status_code == 404
    assert client.get("/nope/pull-request/1").status_code == 404


def test_ticket_numbers_are_not_pull_requests(code, client):
    config, _work = code
    ticket_tests.make_ticket(config)
    assert client.get("/foo/pull-request/1").status_code == 404


def test_patch_and_diff_downloads_are_inert_text(code, client):
    config, work = code
    git("checkout", "-q", "-b", "topic", cwd=work)
    _commit(work, "a.txt", "<script>alert(1)</script>\n", "Add alpha")
    _commit(work, "b.txt", "beta\n", "Add beta")
    _push(config, work, "topic")
    open_request(config, "topic")

    patch = client.get("/foo/pull-request/1.patch")
    assert patch.mimetype == "text/plain"
    assert patch.headers["Content-Security-Policy"].startswith("sandbox")
    assert patch.headers["X-Content-Type-Options"] == "nosniff"
    text = patch.text
    assert text.count("Subject: [PATCH]") == 2
    assert text.index("Add alpha") < text.index("Add beta")
    diff = client.get("/foo/pull-request/1.diff")
    assert diff.mimetype == "text/plain"
    assert diff.text.startswith("diff --git a/a.txt b/a.txt")
    assert "+<script>alert(1)</script>" in diff.text and "Subject:" not in diff.text
    assert client.get("/foo/pull-request/2.patch").status_code == 404


def test_hostile_markdown_description_is_inert(code, client):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    hostile = (
        "<script>alert(1)</script>\n\n"
        '<img src="x" onerror="alert(2)">\n\n'
        "[click me](javascript:alert(3)) and "
        '<a href="javascript:alert(4)">raw</a>'
    )
    open_request(config, "topic", title='<b onmouseover="x">t</b>', description=hostile)
    page = client.get("/foo/pull-request/1").text
    assert "<script" not in page and "onerror" not in page
    assert "javascript:" not in page and "<b onmouseover" not in page
    assert "click me" in page and "raw" in page
    assert "<b onmouseover" not in client.get("/foo/pull-requests").text


def test_pages_of_an_unreadable_project_are_absent(code, login, monkeypatch):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    open_request(config, "topic")
    real_facts = queries.facts
    monkeypatch.setattr(
        queries, "facts", lambda row: dataclasses.replace(real_facts(row), private=True)
    )
    pages = ("/foo/pull-requests", "/foo/pull-request/1", "/foo/pull-request/1/files",
             "/foo/pull-request/1/commits", "/foo/pull-request/1.patch",
             "/foo/pull-request/1.diff", "/foo/diff/main..topic")  # fmt: skip
    bob, admin = login("bob"), login("admin")
    for page in pages:
        assert bob.get(page).status_code == 404, page
        assert admin.get(page).status_code == 200, page
    before = request_tip(config)
    assert post(bob, "/foo/pull-request/1/comment", comment="hi").status_code == 404
    assert post(bob, "/foo/diff/main..topic", title="t").status_code == 404
    assert request_tip(config) == before


def test_namespaced_project_pages(people, client):
    assert client.get("/ns/bar/pull-requests").status_code == 200
    assert client.get("/ns/bar/pull-request/1").status_code == 404


def test_tickets_and_pull_requests_link_each_other(code, client):
    config, work = code
    ticket = ticket_tests.make_ticket(config, title="Crash", body="")
    _branch_with(config, work, "fix", "fix.txt", "x\n", "Repair")
    made = open_request(config, "fix", ALICE, "Repair", "Fixes #1 for good")
    assert (ticket["number"], made["number"]) == (1, 2)
    ticket_page = client.get("/foo/issue/1").text
    assert 'href="/foo/pull-request/2">pull request #2' in ticket_page
    ticket_tests.make_ticket(config, title="Follow-up", body="After #2.")
    request_page = client.get("/foo/pull-request/2").text
    assert 'href="/foo/issue/3">ticket #3' in request_page


def test_hash_numbers_link_to_tickets_and_pull_requests(code, client):
    config, work = code
    ticket_tests.make_ticket(config, title="Crash")
    _branch_with(config, work, "fix", "fix.txt", "x\n", "Repair")
    open_request(config, "fix", ALICE, "Repair", "Fixes #1, not #99; `#1` in code")
    ticket_tests.make_ticket(config, title="Next", body="After #2 and [#1](/x).")
    request_page = client.get("/foo/pull-request/2").text
    assert '<a class="reference" href="/foo/issue/1">#1</a>, not #99' in request_page
    assert "<code>#1</code>" in request_page  # code stays code
    ticket_page = client.get("/foo/issue/3").text
    assert '<a class="reference" href="/foo/pull-request/2">#2</a>' in ticket_page
    assert (
        'href="/x"' in ticket_page
        and 'reference" href="/foo/issue/1"' not in ticket_page
    )
