"""A project's settings tabs for its admins: General (description, private),
Access (grant, change, revoke), Protected branches and Tickets. Each save
is one commit to the site repo by the signed-in user, read back at once;
bad input is a 400 with a message and changes nothing."""

from __future__ import annotations

import html

import pytest

from gitforge.index import queries
from gitforge.index.db import engine_for
from gitforge.policy import Action, may
from gitforge.store import access
from gitforge.store.site import SiteRepo
from gitforge.tasks.access import change_site
from gitforge.tasks.projects import create_project
from tests.web import test_ticket_views as ticket_tests
from tests.web.request_support import post

people, login = ticket_tests.people, ticket_tests.login
SETTINGS_PAGES = ("/tool/settings", "/tool/settings/access",
                  "/tool/settings/branches", "/tool/settings/tickets")  # fmt: skip


@pytest.fixture
def tool(people):
    """Project `tool`, owned by alice (no site admin)."""
    create_project(people, "tool", "alice", "A tool")
    return people


def stored(config) -> dict:
    with SiteRepo.open(config.repositories) as site:
        return site.project("tool")


def site_tip(config):
    with SiteRepo.open(config.repositories) as site:
        return site.tip()


def facts(config):
    return queries.facts(queries.project(engine_for(config), "tool"))


def viewer(config, name):
    return queries.viewer(engine_for(config), name)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_owner_grants_changes_and_revokes_access(tool, login):
    alice = login("alice")
    page = alice.get("/tool/settings/access")
    assert page.status_code == 200
    assert "alice" in page.text and "the owner is always an admin" in page.text
    before = site_tip(tool).id

    saved = post(alice, "/tool/settings/access", subject="bob", level="collaborator",
                 branches="release/*, docs")  # fmt: skip
    assert saved.status_code == 302
    tip = site_tip(tool)
    assert tip.parents[0].id == before and tip.author.email == "alice@example.org"
    assert stored(tool)["access"] == {
        "users": {"bob": {"level": "collaborator", "branches": ["docs", "release/*"]}}
    }
    bob = viewer(tool, "bob")
    assert may(bob, Action.PUSH_CODE, facts(tool), ref="refs/heads/release/1")
    assert not may(bob, Action.PUSH_CODE, facts(tool), ref="refs/heads/main")
    listed = alice.get("/tool/settings/access").text
    assert 'value="docs, release/*"' in listed

    # The branches field is for collaborators: other levels leave it.
    post(alice, "/tool/settings/access", subject="bob", level="commit", branches="x")
    assert stored(tool)["access"]["users"]["bob"] == {"level": "commit"}
    assert may(viewer(tool, "bob"), Action.PUSH_CODE, facts(tool), ref="main")

    assert post(alice, "/tool/settings/access/revoke", subject="bob").status_code == 302
    assert stored(tool)["access"] == {}
    assert not may(viewer(tool, "bob"), Action.PUSH_CODE, facts(tool))


def test_a_group_is_granted_as_at_name(tool, login):
    change_site(tool, access.add_group, "devs", ["bob"])
    alice = login("alice")
    post(alice, "/tool/settings/access", subject="@devs", level="ticket")
    assert stored(tool)["access"] == {"groups": {"devs": {"level": "ticket"}}}
    assert 'href="/group/devs"' in alice.get("/tool/settings/access").text
    assert may(viewer(tool, "bob"), Action.TRIAGE_TICKET, facts(tool))


@pytest.mark.parametrize(
    "fields, message",
    [(dict(subject="nobody", level="ticket"), "There is no user 'nobody'."),
     (dict(subject="@nogroup", level="ticket"), "There is no group 'nogroup'."),
     (dict(subject="bob", level="boss"),
      "Choose a level: ticket, collaborator, commit, admin."),
     (dict(subject="bob", level="collaborator", branches="../x"),
      "'../x' is not a branch pattern"),
     (dict(subject="bob", level="collaborator", branches="-x"),
      "'-x' is not a branch pattern"),
     (dict(subject="bob", level="collaborator", branches=""),
      "A collaborator needs the branches"),
     (dict(subject="alice", level="commit"), "alice owns the project"),
     (dict(subject="../bob", level="ticket"), "Invalid user name '../bob'"),
     (dict(subject="", level="ticket"), "Name a user, or a group as @group.")],
)  # fmt: skip
def test_bad_grants_are_refused_with_a_message(tool, login, fields, message):
    alice = login("alice")
    before = site_tip(tool).id
    refused = post(alice, "/tool/settings/access", **fields)
    assert refused.status_code == 400
    assert message in text(refused)
    assert site_tip(tool).id == before


def test_revoking_what_nobody_holds_is_a_400(tool, login):
    refused = post(login("alice"), "/tool/settings/access/revoke", subject="bob")
    assert refused.status_code == 400
    assert "There is no access to revoke" in text(refused)


def test_settings_are_for_the_project_s_admins(tool, login):
    bob = login("bob")
    for page in SETTINGS_PAGES:
        assert bob.get(page).status_code == 403
        assert post(bob, page, subject="bob", level="admin").status_code == 403
    assert post(bob, "/tool/settings/access/revoke", subject="x").status_code == 403
    change_site(tool, access.grant, "tool", "bob", "commit")
    assert bob.get("/tool/settings").status_code == 403  # commit is not admin
    post(login("alice"), "/tool/settings/access", subject="bob", level="admin")
    for page in SETTINGS_PAGES:
        assert bob.get(page).status_code == 200
    assert 'href="/tool/settings"' in bob.get("/tool").text


def test_anonymous_visitors_are_sent_to_log_in(tool, client):
    for page in SETTINGS_PAGES:
        assert client.get(page).status_code == 302


def test_general_changes_description_and_privacy_in_one_commit(tool, login, client):
    alice = login("alice")
    page = alice.get("/tool/settings").text
    assert 'value="public" checked' in page and 'value="A tool"' in page
    before = site_tip(tool).id
    saved = post(alice, "/tool/settings", description="A sharper tool",
                 visibility="private", merge_policy="always-merge")  # fmt: skip
    assert saved.status_code == 302
    assert site_tip(tool).parents[0].id == before
    doc = stored(tool)
    assert doc["description"] == "A sharper tool" and doc["private"] is True
    assert doc["settings"] == {"merge_policy": "always-merge"}
    assert 'value="private" checked' in alice.get("/tool/settings").text
    assert client.get("/tool").status_code == 404
    assert login("bob").get("/tool").status_code == 404
    post(alice, "/tool/settings", visibility="public")
    assert client.get("/tool").status_code == 200


@pytest.mark.parametrize(
    "fields, message",
    [(dict(description="two\nlines"), "one line without control characters"),
     (dict(description="x" * 300), "at most 255 characters"),
     (dict(visibility="secret"), "Choose public or private."),
     (dict(merge_policy="yolo"), "Choose one of the merge policies")],
)  # fmt: skip
def test_bad_general_settings_are_refused(tool, login, fields, message):
    before = site_tip(tool).id
    refused = post(login("alice"), "/tool/settings", **fields)
    assert refused.status_code == 400
    assert message in text(refused)
    assert site_tip(tool).id == before


def test_protected_branches_one_a_line(tool, login):
    alice = login("alice")
    saved = post(alice, "/tool/settings/branches", patterns="main\nrelease/*\n\n")
    assert saved.status_code == 302
    assert stored(tool)["protected_branches"] == ["main", "release/*"]
    assert "main\nrelease/*" in alice.get("/tool/settings/branches").text
    me = viewer(tool, "alice")
    assert not may(me, Action.REWRITE_BRANCH, facts(tool), ref="refs/heads/main")
    assert may(me, Action.REWRITE_BRANCH, facts(tool), ref="refs/heads/topic")
    before = site_tip(tool).id
    for bad in ("../x", "-x", "a\\b", "bad pattern"):
        refused = post(alice, "/tool/settings/branches", patterns=f"main\n{bad}")
        assert refused.status_code == 400
        assert f"{bad!r} is not a branch pattern" in text(refused)
    assert site_tip(tool).id == before


def test_ticket_settings_are_saved_and_shown_back(tool, login):
    alice = login("alice")
    saved = post(alice, "/tool/settings/tickets",
                 tags="bug #D73A4A\ngood first issue #00ff00",
                 close_reasons="Fixed\nWon't fix", priorities="2 Low\n1 High",
                 milestones="1.0\n2.0")  # fmt: skip
    assert saved.status_code == 302
    assert stored(tool)["ticket_settings"] == {
        "tags": {"bug": "#d73a4a", "good first issue": "#00ff00"},
        "close_reasons": ["Fixed", "Won't fix"],
        "priorities": {"1": "High", "2": "Low"},
        "milestones": ["1.0", "2.0"],
    }
    page = text(alice.get("/tool/settings/tickets"))
    assert "good first issue #00ff00" in page and "1 High\n2 Low" in page


@pytest.mark.parametrize(
    "fields, message",
    [(dict(tags="bug red"), "colour like #1a2b3c"),
     (dict(tags="#123456"), "colour like #1a2b3c"),
     (dict(priorities="high 1"), "a whole number, then its label"),
     (dict(milestones="1.0\n1.0"), "'milestones' names one entry twice")],
)  # fmt: skip
def test_bad_ticket_settings_are_refused(tool, login, fields, message):
    form = {"tags": "", "close_reasons": "", "priorities": "", "milestones": ""}
    before = site_tip(tool).id
    refused = post(login("alice"), "/tool/settings/tickets", **{**form, **fields})
    assert refused.status_code == 400
    assert message in text(refused)
    assert site_tip(tool).id == before
