"""The ticket pages follow the project's ticket settings: coloured tags,
close reasons, priority labels and milestones offered as choices and
checked on the web forms; a project without settings works as before."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.schema import projects
from gitforge.store import access
from gitforge.tasks.access import change_site
from gitforge.web.ticket_settings import text_colour
from tests.tasks.test_pull_requests import _branch_with
from tests.web import request_support as support
from tests.web.signin import sign_in
from tests.web.test_ticket_views import (
    ALICE,
    make_ticket,
    sync,
    tickets_repo,
    tip,
)

HOSTILE = '"><script>alert(1)</script>'
SETTINGS = {
    "tags": {"bug": "#d73a4a", "docs": "#fbca04", HOSTILE: "#0000ff"},
    "close_reasons": ["Fixed", "Won't fix"],
    "priorities": {"-1": "Backlog", "1": "High", "2": "Normal", "3": "Low"},
    "milestones": ["1.0", "2.0"],
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
code, people = support.code, support.people  # the site with alice and bob; code


@pytest.fixture
def configured(people: Config) -> Config:
    change_site(people, access.set_ticket_settings, "foo", SETTINGS)
    return people


@pytest.fixture
def admin(app, client):
    sign_in(app, client, "admin")
    return client


def post(client, path: str, **fields):
    csrf = _CSRF.search(client.get("/foo/issues").text).group(1)
    return client.post(path, data={"csrf_token": csrf, **fields})


def stored_ticket(config: Config, uid: str) -> dict:
    with tickets_repo(config) as repo:
        return repo.ticket(uid)


def select_named(page: str, name: str) -> str:
    found = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert found, f"no select {name!r} on the page"
    return found.group(1)


# -- tags ------------------------------------------------------------------


def test_text_colour_follows_the_background_brightness():
    assert text_colour("#ffffff") == text_colour("#fbca04") == "#000000"
    assert text_colour("#000000") == text_colour("#d73a4a") == "#ffffff"


def test_coloured_tags_on_the_list_and_the_ticket(configured, client):
    make_ticket(configured, ALICE, tags=["bug", "docs", "plain", HOSTILE])
    red = 'style="background-color: #d73a4a; color: #ffffff">bug</a>'
    yellow = 'style="background-color: #fbca04; color: #000000">docs</a>'
    for page in (client.get("/foo/issues").text, client.get("/foo/issue/1").text):
        assert red in page and yellow in page
        assert re.search(r'<a class="tag" href="[^"]*">plain</a>', page)
        assert "<script>alert(1)" not in page
        assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>" in page


def test_tag_filter_offers_the_defined_tags(configured, client):
    page = client.get("/foo/issues?tags=bug").text
    assert 'list="project-tags"' in page
    assert '<option value="docs">' in page
    assert 'style="background-color: #d73a4a; color: #ffffff">bug</span>' in page


# -- close reasons ---------------------------------------------------------


def test_close_offers_the_reasons_and_refuses_others(configured, admin):
    made = make_ticket(configured, ALICE)
    options = select_named(admin.get("/foo/issue/1").text, "reason")
    assert '<option value="">No reason</option>' in options
    assert '<option value="Won&#39;t fix"' in options
    before = tip(configured)

    refused = post(admin, "/foo/issue/1/close", reason="Because")
    assert refused.status_code == 400
    assert "not one of this project&#39;s close reasons" in refused.text
    assert "Fixed, Won&#39;t fix" in refused.text
    assert tip(configured) == before
    assert stored_ticket(configured, made["uid"])["status"] == "Open"

    assert post(admin, "/foo/issue/1/close", reason="Won't fix").status_code == 302
    closed = stored_ticket(configured, made["uid"])
    assert (closed["status"], closed["close_reason"]) == ("Closed", "Won't fix")


def test_close_without_a_reason_stays_possible(configured, admin):
    made = make_ticket(configured, ALICE)
    assert post(admin, "/foo/issue/1/close", reason="").status_code == 302
    assert stored_ticket(configured, made["uid"])["close_reason"] is None


# -- priorities ------------------------------------------------------------


def test_priority_labels_and_choices(configured, admin):
    made = make_ticket(configured, ALICE)
    with tickets_repo(configured) as repo:
        repo.update_ticket(made["uid"], ALICE, priority=2)
    sync(configured)

    page = admin.get("/foo/issue/1").text
    assert re.search(r"<dt>Priority</dt>\s*<dd>Normal</dd>", page)
    options = select_named(page, "priority")
    assert '<option value="2" selected>Normal</option>' in options
    assert '<option value="1" >High</option>' in options
    assert "Backlog" not in options  # -1 is no priority a ticket may hold
    assert "<td>Normal</td>" in admin.get("/foo/issues").text

    assert post(admin, "/foo/issue/1/meta", priority="1").status_code == 302
    assert stored_ticket(configured, made["uid"])["priority"] == 1


def test_an_unlisted_priority_is_refused(configured, admin):
    made = make_ticket(configured, ALICE)
    before = tip(configured)
    refused = post(admin, "/foo/issue/1/meta", priority="7")
    assert refused.status_code == 400
    assert "not one of this project&#39;s priorities" in refused.text
    assert "1 (High), 2 (Normal), 3 (Low)" in refused.text
    assert tip(configured) == before
    assert stored_ticket(configured, made["uid"])["priority"] is None


# -- milestones ------------------------------------------------------------


def test_milestone_choices_and_refusal(configured, admin):
    made = make_ticket(configured, ALICE)
    options = select_named(admin.get("/foo/issue/1").text, "milestone")
    assert '<option value="">No milestone</option>' in options
    assert '<option value="2.0" >2.0</option>' in options
    before = tip(configured)

    refused = post(admin, "/foo/issue/1/meta", milestone="3.0")
    assert refused.status_code == 400
    assert "not one of this project&#39;s milestones; choose one of: 1.0, 2.0" in (
        refused.text
    )
    assert tip(configured) == before

    assert post(admin, "/foo/issue/1/meta", milestone="2.0").status_code == 302
    assert stored_ticket(configured, made["uid"])["milestone"] == "2.0"


def test_a_pushed_milestone_outside_the_list_survives_triage(configured, admin):
    made = make_ticket(configured, ALICE, title="Old")
    with tickets_repo(configured) as repo:
        repo.update_ticket(made["uid"], ALICE, milestone="0.9")
    sync(configured)

    options = select_named(admin.get("/foo/issue/1").text, "milestone")
    assert '<option value="0.9" selected>' in options
    saved = post(admin, "/foo/issue/1/meta", milestone="0.9", tags="bug")
    assert saved.status_code == 302
    stored = stored_ticket(configured, made["uid"])
    assert (stored["milestone"], stored["tags"]) == ("0.9", ["bug"])


# -- without settings ------------------------------------------------------


def test_a_project_without_settings_keeps_free_fields(people, admin):
    made = make_ticket(people, ALICE, tags=["bug"])
    page = admin.get("/foo/issue/1").text
    assert '<input type="number" name="priority"' in page
    assert '<input type="text" name="milestone"' in page
    assert '<input type="text" name="reason"' in page
    assert "<select" not in page and "style=" not in page
    assert "project-tags" not in admin.get("/foo/issues").text

    saved = post(admin, "/foo/issue/1/meta", priority="7", milestone="someday")
    assert saved.status_code == 302
    assert post(admin, "/foo/issue/1/close", reason="Because").status_code == 302
    stored = stored_ticket(people, made["uid"])
    assert (stored["priority"], stored["milestone"]) == (7, "someday")
    assert stored["close_reason"] == "Because"
    assert re.search(r"<dt>Priority</dt>\s*<dd>7</dd>", admin.get("/foo/issue/1").text)


def test_bad_settings_in_the_index_are_ignored(people, client):
    """Should the index hold settings the site repo would refuse, no raw
    value reaches a page's style."""
    make_ticket(people, ALICE, tags=["bug"])
    bad = '{"tags": {"bug": "red; background: url(x)"}}'
    with engine_for(people).begin() as conn:
        conn.execute(
            update(projects)
            .where(projects.c.fullname == "foo")
            .values(ticket_settings=bad)
        )
    page = client.get("/foo/issues").text
    assert "url(x)" not in page and "style=" not in page


# -- pull requests ---------------------------------------------------------


def test_pull_request_pages_colour_tags(code, client):
    config, work = code
    change_site(config, access.set_ticket_settings, "foo", SETTINGS)
    _branch_with(config, work, "topic", "t.txt", "t\n", "Topic")
    made = support.open_request(config, "topic")
    with support.requests_repo(config) as repo:
        repo.update_request(made["uid"], support.ADMIN, tags=["bug", "plain"])
    support.sync_requests(config)
    red = 'style="background-color: #d73a4a; color: #ffffff">bug</a>'
    for url in ("/foo/pull-requests", "/foo/pull-request/1"):
        page = client.get(url).text
        assert red in page and re.search(r'<a class="tag" href="[^"]*">plain</a>', page)
