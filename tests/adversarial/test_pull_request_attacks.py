"""Hostile input and bad timing against pull requests: odd branch names on
the compare page, hostile text on every page, inline comments off the diff,
merges racing pushes, closes and each other, and the offers a push prints.

Each attack must end in a clear refusal or a consistent result, with
nothing lost in git: the code repo, the request repo and the number
sequence in the ticket repo.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import quote

import pytest

from gitforge.store import merging
from gitforge.tasks import pull_requests as prs
from tests.conftest import git
from tests.tasks.test_pull_requests import _branch_with, _commit, _push
from tests.web import request_support as support
from tests.web.request_support import (
    ALICE,
    code_git,
    open_request,
    post,
    request_tip,
    stored,
)

code, login, people = support.code, support.login, support.people

# C0 control characters but the newline, and DEL: what a terminal acts on.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _next_number(config) -> int:
    shown = git(
        "show", "main:numbers.json", cwd=config.repositories / "tickets/foo.git"
    )
    return json.loads(shown.stdout)["next"]


def _pull_refs(config) -> str:
    return code_git(config, "for-each-ref", "refs/pull")


def _contains(config, commit: str, branch: str) -> bool:
    done = git("merge-base", "--is-ancestor", commit, branch,
               cwd=config.repositories / "foo.git", check=False)  # fmt: skip
    return done.returncode == 0


# -- the compare page ----------------------------------------------------------


def test_long_branch_the_compare_page_offers_opens_or_writes_nothing(code, login):
    config, work = code
    # 301 characters: git takes it, and so does the compare page (its limit
    # is libgit2's, 1013 bytes); request.json allows 255.
    branch = "b" * 200 + "/" + "c" * 100
    _branch_with(config, work, branch, "long.txt", "long\n", "Long")
    alice = login("alice")
    page = alice.get(f"/foo/diff/main..{branch}")
    assert page.status_code == 200 and "Open pull request</button>" in page.text
    number, refs, tip = _next_number(config), _pull_refs(config), request_tip(config)

    response = post(alice, f"/foo/diff/main..{branch}", title="Long", description="")

    if response.status_code == 302:
        assert alice.get(response.headers["Location"]).status_code == 200
    else:
        assert response.status_code == 400
        # A refused pull request takes no number and leaves no refs/pull/N.
        assert _next_number(config) == number
        assert _pull_refs(config) == refs and request_tip(config) == tip


@pytest.mark.parametrize(
    "spec",
    ["..main", "main..", "a..b..c", "main..HEAD", "main..topic@{0}",
     "main..%40%7B-1%7D", "main..%00"],
)  # fmt: skip
def test_compare_specs_naming_no_two_branches_are_400(code, login, spec):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    assert login("alice").get(f"/foo/diff/{spec}").status_code == 400


def test_hostile_names_and_text_are_escaped_on_every_pull_request_page(code, login):
    config, work = code
    branch = 'x"><svg/onload=alert(1)>'
    git("checkout", "-q", "-b", branch, "main", cwd=work)
    _commit(work, "<img src=x onerror=alert(2)>.txt", "<script>alert(3)</script>\n",
            "<script>alert(4)</script> in a subject")  # fmt: skip
    git("checkout", "-q", "main", cwd=work)
    _push(config, work, f"{branch}:refs/heads/{branch}")
    bob = login("bob")
    compare = "/foo/diff/" + quote(f"main..{branch}", safe="/")
    description = (
        "<script>alert(5)</script> [x](javascript:alert(6)) "
        "<img src=x onerror=alert(7)> ![i](data:text/html,alert(8))"
    )
    opened = post(bob, compare, title="<script>alert(9)</script>",
                  description=description)  # fmt: skip
    assert opened.status_code == 302
    comment = '<a href="javascript:alert(10)">x</a><iframe src="x"></iframe>'
    post(bob, "/foo/pull-request/1/comment", comment=comment)
    pages = ["/foo/pull-request/1", "/foo/pull-request/1/files",
             "/foo/pull-request/1/commits", "/foo/pull-requests", compare,
             "/foo/pull-request/1/files?file=1&side=new&line=1"]  # fmt: skip
    for page in pages:
        html = bob.get(page).text
        for raw in ("<script>alert", "<svg/onload", "<img src=x onerror",
                    'href="javascript:', "<iframe", 'src="data:'):  # fmt: skip
            assert raw not in html, (page, raw)


# -- inline comments -----------------------------------------------------------


def test_inline_comment_on_a_file_the_pull_request_leaves_alone_is_refused(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "alpha\n", "Add a")
    made = open_request(config, "topic")
    bob = login("bob")
    before = request_tip(config)
    # shared.txt is on both sides, unchanged: no line of it is in the diff,
    # and the files tab has no place to show the comment.
    response = post(bob, "/foo/pull-request/1/comment", comment="Off the diff",
                    path="shared.txt", line="1", side="new",
                    commit=made["head"])  # fmt: skip
    assert response.status_code == 400
    assert request_tip(config) == before


# -- merging -------------------------------------------------------------------


def test_concurrent_merges_merge_once(code):
    config, work = code
    head = _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    made = open_request(config, "topic")
    outcomes = []

    def merge():
        outcomes.append(prs.merge_pull_request.call_local(
            str(config.home), "foo", made["uid"], "admin"))  # fmt: skip

    threads = [threading.Thread(target=merge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o["ok"] for o in outcomes) == [False, False, False, True]
    assert code_git(config, "rev-parse", "main") == head
    assert stored(config, made["uid"])["status"] == "Merged"


def test_commits_pushed_during_a_merge_are_not_reported_as_merged(code, monkeypatch):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    made = open_request(config, "topic")
    real_merge = merging.merge

    def merge_while_the_author_pushes(*args, **kwargs):
        # The author pushes to the branch while the merge runs, and the
        # post-receive task refreshes the pull request.
        git("checkout", "-q", "topic", cwd=work)
        _commit(work, "late.txt", "late\n", "Late")
        git("checkout", "-q", "main", cwd=work)
        _push(config, work, "topic")
        prs.refresh_after_push(config, "foo", ["topic"])
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(merging, "merge", merge_while_the_author_pushes)
    prs.merge_pull_request.call_local(str(config.home), "foo", made["uid"], "admin")

    doc = stored(config, made["uid"])
    if doc["status"] == "Merged":
        # "Merged" with a head the target lacks: the late commit is lost
        # from view, though it was never merged.
        assert _contains(config, doc["head"], "main"), doc["head"]
    else:
        assert doc["status"] == "Open"


def test_a_close_accepted_during_a_merge_is_not_overwritten(code, monkeypatch):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    made = open_request(config, "topic", ALICE)
    main = code_git(config, "rev-parse", "main")
    real_merge = merging.merge
    closed, closers = [], []

    def close():
        try:
            prs.close_pull_request(config, "foo", made["uid"], ALICE)
            closed.append(True)
        except prs.PullRequestError:
            closed.append(False)

    def merge_while_the_author_closes(*args, **kwargs):
        closer = threading.Thread(target=close)
        closer.start()
        closer.join(timeout=5)  # a close that waits for the merge is fine
        closers.append(closer)
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(merging, "merge", merge_while_the_author_closes)
    prs.merge_pull_request.call_local(str(config.home), "foo", made["uid"], "admin")
    for closer in closers:
        closer.join(timeout=60)

    doc = stored(config, made["uid"])
    if closed == [True]:  # alice was told her pull request is closed
        assert (doc["status"], doc["closed_by"]) == ("Closed", "alice")
        assert code_git(config, "rev-parse", "main") == main
    else:
        assert closed == [False] and doc["status"] == "Merged"


def test_merge_into_a_deleted_target_branch_says_why(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    _push(config, work, "main:refs/heads/release")
    source = prs.Branch("foo", "topic")
    prs.open_pull_request(config, "foo", ALICE, source, "release", "For release")
    _push(config, work, ":refs/heads/release")
    admin = login("admin")
    merged = post(admin, "/foo/pull-request/1/merge")
    page = admin.get(merged.headers["Location"]).text
    refusal = re.search(r"The merge was refused: ([^<]*)", page)
    assert refusal, page
    assert "release" in refusal.group(1), refusal.group(1)


def test_control_characters_in_a_title_never_reach_the_code_history(code, login):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    _commit(work, "b.txt", "b\n", "Main moves on, so merging makes a commit")
    _push(config, work, "main")
    title = "Fix \x1b]0;owned\x07\x1b[2Jthe thing"
    opened = post(login("alice"), "/foo/diff/main..topic", title=title,
                  description="")  # fmt: skip
    if opened.status_code == 302:
        post(login("admin"), "/foo/pull-request/1/merge")
    messages = code_git(config, "log", "--format=%B", "main")
    assert not _CONTROL.search(messages), repr(messages)
    requests = git("log", "--format=%B", "main",
                   cwd=config.repositories / "requests/foo.git").stdout  # fmt: skip
    assert not _CONTROL.search(requests), repr(requests)


# -- what a push prints --------------------------------------------------------


@pytest.mark.parametrize("branch", ["-x", "HEAD"])
def test_no_offer_for_a_branch_that_cannot_be_proposed(code, login, branch):
    config, work = code
    pushed = git("push", str(config.repositories / "foo.git"),
                 f"main:refs/heads/{branch}", cwd=work, check=False)  # fmt: skip
    # The offered page refuses the name (400), so the offer leads nowhere.
    assert f"Create a pull request for {branch}" not in pushed.stderr
