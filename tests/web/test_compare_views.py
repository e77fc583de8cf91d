"""The page that opens a pull request, `/<project>/diff/<to>..<from>`, over
a real site: odd branch names, refused names, the list's form that leads
there, and a fork's branch proposed to its parent."""

from __future__ import annotations

from urllib.parse import quote

from gitforge.tasks.forks import fork_project
from tests.conftest import git
from tests.tasks.test_pull_requests import _branch_with, _commit, _push
from tests.web import request_support as support
from tests.web.request_support import (
    ODD_BRANCH,
    code_git,
    post,
    request_tip,
    stored,
    uid_of,
)

# The fixtures, by name: pytest finds them in the module.
code, login, people = support.code, support.login, support.people


def test_compare_odd_branch_shows_commits_and_diff_then_opens(code, login):
    config, work = code
    _branch_with(config, work, ODD_BRANCH, "new <file>.txt", "fresh line\n",
                 "Add a fresh file\n\nWith a body.")  # fmt: skip
    alice = login("alice")
    url = f"/foo/diff/main..{quote(ODD_BRANCH)}"  # as the push offer writes it

    page = alice.get(url)
    assert page.status_code == 200
    assert "Add a fresh file" in page.text  # the commit
    assert "new &lt;file&gt;.txt" in page.text and "fresh line" in page.text
    assert 'name="title" maxlength="255" required value="Add a fresh file"' in page.text
    assert alice.get(f"/foo/diff/main..{ODD_BRANCH}").status_code == 200

    response = post(alice, url, title="Fresh file", description="Please *merge*")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/foo/pull-request/1")
    doc = stored(config, uid_of(config, 1))
    assert (doc["source_branch"], doc["target_branch"]) == (ODD_BRANCH, "main")
    assert doc["author"] == "alice" and doc["description"] == "Please *merge*"
    assert code_git(config, "rev-parse", "refs/pull/1/head") == doc["head"]

    again = alice.get(url).text
    assert "already proposed" in again and 'href="/foo/pull-request/1"' in again


def test_new_request_form_on_the_list_leads_to_the_compare_page(code, login):
    config, work = code
    _branch_with(config, work, ODD_BRANCH, "a.txt", "a\n", "A")
    alice = login("alice")
    listing = alice.get("/foo/pull-requests").text
    assert "New pull request" in listing and f'value="{ODD_BRANCH}"' in listing
    response = alice.get("/foo/diff", query_string={"from": ODD_BRANCH, "to": "main"})
    assert response.status_code == 302
    target = response.headers["Location"]
    assert target.endswith("/foo/diff/main..feature/%C3%BCn%C3%AF.code+x@y")
    assert alice.get(target).status_code == 200
    assert alice.get("/foo/diff?from=&to=main").status_code == 400


def test_compare_refuses_bad_names_before_any_git_call(code, login, monkeypatch):
    config, work = code
    _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    # A branch git itself lets through update-ref, but no page may use.
    code_git(config, "update-ref", "refs/heads/-x", "main")
    looked_up = []
    from gitforge.store import merging

    real_tip = merging.branch_tip

    def recording_tip(repo, name):
        looked_up.append(name)
        return real_tip(repo, name)

    monkeypatch.setattr(merging, "branch_tip", recording_tip)
    alice = login("alice")
    for spec in ("main..-x", "-x..topic", "main..--upload-pack=touch", "main",
                 "main...topic", "main..a b", "main..topic.lock"):  # fmt: skip
        response = alice.get(f"/foo/diff/{quote(spec)}")
        assert response.status_code == 400, spec
        assert "does not name two valid branches" in response.text
    too_long = alice.get(f"/foo/diff/main..{'x' * 3000}")
    assert too_long.status_code == 400 and "too long" in too_long.text
    assert not [name for name in looked_up if name.startswith("-")]
    assert alice.get("/foo/diff/main..nope").status_code == 404
    assert alice.get("/foo/diff/main..main").status_code == 400
    before = request_tip(config)
    assert post(alice, "/foo/diff/main..-x", title="Sneaky").status_code == 400
    assert request_tip(config) == before


def test_compare_without_new_commits_offers_no_form(code, login):
    config, work = code
    git("branch", "same", "main", cwd=work)
    _push(config, work, "same")
    alice = login("alice")
    page = alice.get("/foo/diff/main..same").text
    assert "Nothing to merge" in page and "Open pull request" not in page
    assert post(alice, "/foo/diff/main..same", title="Empty").status_code == 400


def test_fork_branch_is_proposed_to_the_parent(code, login):
    config, _work = code
    fork_project(config, "foo", "bob")
    clone = config.home.parent / "bob-clone"
    git("clone", "-q", str(config.repositories / "forks/bob/foo.git"), str(clone))
    git("checkout", "-q", "-b", "bobs", cwd=clone)
    head = _commit(clone, "bob.txt", "from the fork\n", "Change by bob")
    git("push", "-q", "origin", "bobs", cwd=clone)

    bob = login("bob")
    page = bob.get("/fork/bob/foo/diff/main..bobs").text
    assert "Change by bob" in page and 'href="/foo"' in page
    response = post(bob, "/fork/bob/foo/diff/main..bobs", title="From my fork")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/foo/pull-request/1")
    assert code_git(config, "rev-parse", "refs/pull/1/head") == head
    shown = bob.get("/foo/pull-request/1").text
    assert "forks/bob/foo" in shown and "From my fork" in shown
