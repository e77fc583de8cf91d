"""A project's settings page: the merge policy, kept in the site repo."""

from __future__ import annotations

import pytest

from gitforge.store import formats
from gitforge.store.errors import FormatError
from gitforge.store.site import SiteRepo
from gitforge.tasks import pull_requests as prs
from tests.tasks.test_pull_requests import _branch_with, _commit, _push
from tests.web import request_support as support
from tests.web.request_support import open_request, post, uid_of

code, login, people = support.code, support.login, support.people


def _settings(config) -> dict:
    with SiteRepo.open(config.repositories) as site:
        return site.project("foo")["settings"]


def test_owner_sets_the_merge_policy_and_merges_follow_it(code, login):
    config, work = code
    admin = login("admin")
    assert 'value="ffwd-or-merge" checked' in admin.get("/foo/settings").text
    saved = post(admin, "/foo/settings", merge_policy="always-merge")
    assert saved.status_code == 302
    assert _settings(config) == {"merge_policy": "always-merge"}
    assert 'value="always-merge" checked' in admin.get("/foo/settings").text
    head = _branch_with(config, work, "topic", "t.txt", "t\n", "Topic")
    open_request(config, "topic")
    outcome = prs.merge_pull_request.call_local(str(config.home), "foo",
                                                uid_of(config, 1), "admin")  # fmt: skip
    assert outcome["kind"] == "merge"  # a fast-forward was possible
    assert support.code_git(config, "rev-parse", "main^2") == head


def test_ffwd_only_refuses_a_merge_commit(code, login):
    config, work = code
    post(login("admin"), "/foo/settings", merge_policy="ffwd-only")
    _branch_with(config, work, "side", "s.txt", "s\n", "Side")
    open_request(config, "side")
    _commit(work, "m.txt", "m\n", "Main moved")
    _push(config, work, "main")
    refused = prs.merge_pull_request.call_local(str(config.home), "foo",
                                                uid_of(config, 1), "admin")  # fmt: skip
    assert refused["ok"] is False and "fast-forward" in refused["reason"]


def test_settings_are_for_committers_and_checked(code, login):
    config, _work = code
    alice = login("alice")
    assert alice.get("/foo/settings").status_code == 403
    assert post(alice, "/foo/settings", merge_policy="ffwd-only").status_code == 403
    admin = login("admin")
    assert post(admin, "/foo/settings", merge_policy="yolo").status_code == 400
    assert _settings(config) == {}
    assert 'href="/foo/settings"' not in alice.get("/foo").text
    assert 'href="/foo/settings"' in admin.get("/foo").text


def test_unknown_settings_are_refused_in_git(code):
    config, _work = code
    with SiteRepo.open(config.repositories) as site:
        doc = site.project("foo")
    for settings, problem in (({"merge_policy": "sometimes"}, "must be one of"),
                              ({"colour": "red"}, "not a known setting")):  # fmt: skip
        with pytest.raises(FormatError, match=problem):
            formats.check("project", "projects/foo.json", {**doc, "settings": settings})
