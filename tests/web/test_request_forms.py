"""Pull request forms over a real site: comments (general and inline),
edits, tags and assignee, close and reopen, merge, and the refusals.

Writes go through the real forms (with the CSRF token read from a page) and
are checked where they land: the request repo and the code repo in git, and
the pages after sync."""

from __future__ import annotations

import pytest

from gitforge.tasks import pull_requests as prs
from tests.conftest import git
from tests.tasks.test_pull_requests import _branch_with, _commit, _push
from tests.web import request_support as support
from tests.web.request_support import (
    ALICE,
    LINE_LINK,
    code_git,
    numbers_on,
    open_request,
    post,
    request_tip,
    requests_repo,
    stored,
)

# The fixtures, by name: pytest finds them in the module.
code, login, people = support.code, support.login, support.people


# -- comments ----------------------------------------------------------------


def test_general_and_inline_comments(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "alpha\nbeta\n", "Add a")
    made = open_request(config, "topic")
    bob = login("bob")

    response = post(bob, "/foo/pull-request/1/comment", comment="In general.\r\n")
    assert response.status_code == 302
    assert "/foo/pull-request/1#comment-" in response.headers["Location"]

    files = bob.get("/foo/pull-request/1/files").text
    index, side, line = next(
        m.groups() for m in LINE_LINK.finditer(files) if m.group(3) == "2"
    )
    form_page = bob.get(f"/foo/pull-request/1/files?file={index}&side={side}&line=2")
    assert 'id="new-comment"' in form_page.text and "beta" in form_page.text
    fields = dict(path="a.txt", line="2", side="new", commit=made["head"])
    response = post(bob, "/foo/pull-request/1/comment", comment="Why beta?", **fields)
    assert response.status_code == 302
    assert "/foo/pull-request/1/files#comment-" in response.headers["Location"]

    with requests_repo(config) as repo:
        general, inline = repo.comments(made["uid"])
    assert general["body"] == "In general.\n" and general["inline"] is None
    assert inline["inline"] == {"commit": made["head"], "path": "a.txt",
                                "line": 2, "side": "new"}  # fmt: skip
    page = bob.get("/foo/pull-request/1").text
    assert "In general." in page and "Why beta?" in page
    assert "line 2 (new) of <code>a.txt</code>" in page
    assert '<pre class="snippet">beta</pre>' in page and "outdated" not in page
    assert "Why beta?" in bob.get("/foo/pull-request/1/files").text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"line": "9", "side": "new"}, "There is no line 9"),
        ({"line": "1", "side": "sideways"}, "Choose a line"),
        ({"line": "1", "side": "new", "commit": "0" * 40}, "changed since"),
        ({"line": "1", "side": "new", "path": "missing.txt"}, "is not changed by"),
    ],
)
def test_inline_comment_on_a_bad_line_is_400(code, login, fields, message):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "alpha\n", "Add a")
    made = open_request(config, "topic")
    before = request_tip(config)
    form = {"path": "a.txt", "commit": made["head"], "comment": "hm", **fields}
    response = post(login("bob"), "/foo/pull-request/1/comment", **form)
    assert response.status_code == 400 and message in response.text
    assert request_tip(config) == before


def test_empty_comment_is_400(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "alpha\n", "Add a")
    open_request(config, "topic")
    before = request_tip(config)
    response = post(login("bob"), "/foo/pull-request/1/comment", comment=" \r\n")
    assert response.status_code == 400 and "comment is empty" in response.text
    assert request_tip(config) == before


def test_inline_comment_is_outdated_after_a_force_push(code, login):
    config, work = code
    first = _branch_with(config, work, "topic", "a.txt", "alpha\n", "Add a")
    made = open_request(config, "topic")
    fields = dict(path="a.txt", line="1", side="new", commit=first)
    bob = login("bob")
    response = post(bob, "/foo/pull-request/1/comment", comment="Hm", **fields)
    assert response.status_code == 302
    assert "outdated" not in bob.get("/foo/pull-request/1").text

    git("checkout", "-q", "topic", cwd=work)
    (work / "a.txt").write_text("ALPHA\n")
    git("commit", "-q", "-a", "--amend", "-m", "Add A", cwd=work)
    _push(config, work, "topic", force=True)
    prs.refresh_after_push(config, "foo", ["topic"])

    page = bob.get("/foo/pull-request/1").text
    assert 'class="tag outdated"' in page and "force-pushed" in page
    assert '<pre class="snippet">alpha</pre>' in page  # the line as written on
    assert stored(config, made["uid"])["head"] != first


# -- edits, close, reopen ----------------------------------------------------


def test_edit_by_author_and_triage_by_committer(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    made = open_request(config, "topic", ALICE)
    alice, bob, admin = login("alice"), login("bob"), login("admin")

    response = post(alice, "/foo/pull-request/1/edit", title="Better", description="d")
    assert response.status_code == 302
    assert stored(config, made["uid"])["title"] == "Better"
    before = request_tip(config)
    assert post(bob, "/foo/pull-request/1/edit", title="Mine").status_code == 403
    assert post(alice, "/foo/pull-request/1/edit", title="").status_code == 400
    assert post(alice, "/foo/pull-request/1/meta", tags="x").status_code == 403
    assert request_tip(config) == before

    response = post(admin, "/foo/pull-request/1/meta", tags="ui, bug", assignee="bob")
    assert response.status_code == 302
    doc = stored(config, made["uid"])
    assert doc["tags"] == ["bug", "ui"] and doc["assignee"] == "bob"
    assert post(admin, "/foo/pull-request/1/meta", assignee="nobody").status_code == 400
    page = admin.get("/foo/pull-request/1").text
    assert "Better" in page and ">ui</a>" in page


def test_close_and_reopen(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    made = open_request(config, "topic", ALICE)
    alice = login("alice")
    assert post(login("bob"), "/foo/pull-request/1/close").status_code == 403
    assert post(alice, "/foo/pull-request/1/close").status_code == 302
    assert stored(config, made["uid"])["status"] == "Closed"
    assert "Reopen pull request" in alice.get("/foo/pull-request/1").text
    response = post(alice, "/foo/pull-request/1/close")
    assert response.status_code == 409 and "only open ones" in response.text
    assert post(alice, "/foo/pull-request/1/reopen").status_code == 302
    assert stored(config, made["uid"])["status"] == "Open"
    assert numbers_on(alice.get("/foo/pull-requests").text) == [1]


# -- merging -----------------------------------------------------------------


def test_merge_by_committer_moves_the_target_and_shows_the_outcome(code, login):
    config, work = code
    head = _branch_with(config, work, "gone/soon", "a.txt", "a\n", "A")
    made = open_request(config, "gone/soon")
    admin = login("admin")
    assert "Delete the branch gone/soon" in admin.get("/foo/pull-request/1").text

    response = post(admin, "/foo/pull-request/1/merge", delete_source="on")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/foo/pull-request/1?merge=" in location and location.endswith("#merge")
    assert code_git(config, "rev-parse", "main") == head
    assert "gone/soon" not in code_git(config, "branch", "--list")
    assert stored(config, made["uid"])["status"] == "Merged"

    page = admin.get(location)
    assert "Merged (fast-forward)" in page.text and head[:10] in page.text
    assert "Refresh" not in page.headers
    assert "Merged (fast-forward)" in admin.get(location).text  # kept on reload
    # Someone else's session cannot read the outcome by its id.
    assert "Merged (fast-forward)" not in login("bob").get(location).text


def test_merge_refused_to_non_committers(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    open_request(config, "topic", ALICE)
    main = code_git(config, "rev-parse", "main")
    alice = login("alice")
    assert "Merge</button>" not in alice.get("/foo/pull-request/1").text
    assert post(alice, "/foo/pull-request/1/merge").status_code == 403
    assert code_git(config, "rev-parse", "main") == main


def test_merge_with_conflicts_is_refused_and_names_the_paths(code, login):
    config, work = code
    _branch_with(config, work, "clash", "shared.txt", "mine\n", "Mine")
    made = open_request(config, "clash")
    _commit(work, "shared.txt", "theirs\n", "Theirs")
    _push(config, work, "main")
    prs.refresh_after_push(config, "foo", ["main"])
    admin = login("admin")
    page = admin.get("/foo/pull-request/1").text
    assert "Conflicts" in page and "<code>shared.txt</code>" in page

    refs = code_git(config, "for-each-ref")
    response = post(admin, "/foo/pull-request/1/merge")
    outcome = admin.get(response.headers["Location"]).text
    assert "The merge was refused" in outcome and "<code>shared.txt</code>" in outcome
    assert code_git(config, "for-each-ref") == refs
    assert stored(config, made["uid"])["status"] == "Open"


def test_merge_in_progress_reloads_until_done(code, login, monkeypatch):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    open_request(config, "topic")

    class Queued:  # a merge a worker has not picked up yet
        id = "not-done-yet"

    from gitforge.web import request_forms

    monkeypatch.setattr(request_forms, "merge_pull_request", lambda *a: Queued())
    admin = login("admin")
    response = post(admin, "/foo/pull-request/1/merge")
    page = admin.get(response.headers["Location"])
    assert "Merging…" in page.text and page.headers["Refresh"] == "2"
    assert "Merging…" not in admin.get("/foo/pull-request/1?merge=guessed").text


# -- refusals ----------------------------------------------------------------


def test_posts_without_csrf_token_are_400_and_write_nothing(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    open_request(config, "topic")
    admin = login("admin")
    before, main = request_tip(config), code_git(config, "rev-parse", "main")
    for action in ("comment", "edit", "close", "merge", "meta"):
        data = {"comment": "forged", "title": "forged"}
        assert admin.post(f"/foo/pull-request/1/{action}", data=data).status_code == 400
        data["csrf_token"] = "not-the-token"
        assert admin.post(f"/foo/pull-request/1/{action}", data=data).status_code == 400
    assert admin.post("/foo/diff/main..topic", data={"title": "x"}).status_code == 400
    assert request_tip(config) == before
    assert code_git(config, "rev-parse", "main") == main


def test_anonymous_posts_go_to_login(code, client):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    open_request(config, "topic")
    before = request_tip(config)
    for action in ("comment", "edit", "close", "reopen", "merge", "meta"):
        response = post(client, f"/foo/pull-request/1/{action}", comment="c")
        assert response.status_code == 302
        assert "/login?next=/foo/pull-request/1" in response.headers["Location"]
    response = post(client, "/foo/diff/main..topic", title="t")
    assert "/login" in response.headers["Location"]
    assert request_tip(config) == before
