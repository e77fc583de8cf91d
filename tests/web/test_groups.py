"""Group pages: anybody signed in makes a group and is its first member;
members (and site admins) change its members or delete it; bad names are
refused with a message and nothing committed."""

from __future__ import annotations

import html

import pytest

from gitforge.index import access_queries
from gitforge.index.db import engine_for
from gitforge.store import access
from gitforge.store.site import SiteRepo
from gitforge.tasks.access import change_site
from tests.web import test_ticket_views as ticket_tests
from tests.web.request_support import post

people, login = ticket_tests.people, ticket_tests.login


def site_tip(config):
    with SiteRepo.open(config.repositories) as site:
        return site.tip()


def members(config, name="devs") -> list[str]:
    return access_queries.members_of(engine_for(config), name)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_signed_in_user_makes_a_group_and_is_its_first_member(people, login):
    bob = login("bob")
    assert 'name="name"' in bob.get("/groups").text
    made = post(bob, "/groups", name="devs", description="The developers")
    assert made.status_code == 302 and made.location.endswith("/group/devs")
    tip = site_tip(people)
    assert tip.author.email == "bob@example.org"
    assert members(people) == ["bob"]
    page = bob.get("/group/devs").text
    assert "The developers" in page and 'href="/user/bob"' in page
    assert 'href="/group/devs"' in bob.get("/groups").text


def test_anonymous_visitors_read_groups_but_make_none(people, client):
    change_site(people, access.add_group, "devs", ["alice"])
    assert 'href="/group/devs"' in client.get("/groups").text
    assert 'name="name"' not in client.get("/groups").text
    assert 'href="/user/alice"' in client.get("/group/devs").text
    assert "remove" not in client.get("/group/devs").text
    token = ticket_tests.token(client)
    made = client.post("/groups", data={"csrf_token": token, "name": "ops"})
    assert made.status_code == 302 and "/login" in made.location
    assert client.get("/group/nogroup").status_code == 404


@pytest.mark.parametrize(
    "name, message",
    [("api", "reserved"), ("login", "reserved"), ("static", "reserved"),
     ("forks", "reserved"), ("tickets", "reserved"), ("groups", "reserved"),
     ("settings", "reserved"), ("-devs", "starting with a letter or digit"),
     ("a/b", "starting with a letter or digit"), ("..", "starting with a letter"),
     ("a..b", "'..' is not allowed"), ("devs.git", "must not end in .git"),
     ("", "Invalid group name")],
)  # fmt: skip
def test_bad_group_names_are_refused(people, login, name, message):
    bob = login("bob")
    before = site_tip(people).id
    refused = post(bob, "/groups", name=name)
    assert refused.status_code == 400
    assert message in text(refused)
    assert site_tip(people).id == before


def test_a_taken_name_or_a_bad_description_is_refused(people, login):
    change_site(people, access.add_group, "devs", ["alice"])
    bob = login("bob")
    before = site_tip(people).id
    taken = post(bob, "/groups", name="Devs")
    assert taken.status_code == 400 and "already exists" in text(taken)
    bad = post(bob, "/groups", name="ops", description="two\nlines")
    assert bad.status_code == 400 and "one line" in text(bad)
    assert site_tip(people).id == before


def test_members_change_the_members(people, login):
    change_site(people, access.add_group, "devs", ["bob"])
    bob = login("bob")
    assert post(bob, "/group/devs/members", add="alice").status_code == 302
    assert members(people) == ["alice", "bob"]
    assert 'value="alice"' in bob.get("/group/devs").text  # a remove button
    assert post(bob, "/group/devs/members", remove="alice").status_code == 302
    assert members(people) == ["bob"]
    before = site_tip(people).id
    unknown = post(bob, "/group/devs/members", add="nobody")
    assert unknown.status_code == 400 and "There is no user 'nobody'" in text(unknown)
    empty = post(bob, "/group/devs/members", add=" ")
    assert empty.status_code == 400 and "Name a user" in text(empty)
    assert site_tip(people).id == before


def test_others_may_not_change_a_group_but_site_admins_may(people, login):
    change_site(people, access.add_group, "devs", ["bob"])
    alice = login("alice")
    before = site_tip(people).id
    assert post(alice, "/group/devs/members", add="alice").status_code == 403
    assert post(alice, "/group/devs/members", remove="bob").status_code == 403
    assert post(alice, "/group/devs/delete").status_code == 403
    assert "remove" not in alice.get("/group/devs").text
    assert site_tip(people).id == before
    admin = login("admin")
    assert post(admin, "/group/devs/members", add="alice").status_code == 302
    assert members(people) == ["alice", "bob"]


def test_deleting_a_group_takes_its_grants_away(people, login):
    change_site(people, access.add_group, "devs", ["bob"])
    change_site(people, access.grant, "foo", "@devs", "commit")
    bob = login("bob")
    assert post(bob, "/group/devs/delete").status_code == 302
    assert bob.get("/group/devs").status_code == 404
    with SiteRepo.open(people.repositories) as site:
        assert site.project("foo")["access"] == {}


# -- names that would shadow routes, through the web forms ---------------------


@pytest.mark.parametrize(
    "name, message",
    [("login", "reserved"), ("static", "reserved"), ("forks", "reserved"),
     ("tickets", "reserved"), ("groups", "reserved"), ("group", "reserved"),
     ("a/b", "starting with a letter or digit"), ("..", "starting with a letter"),
     ("a..b", "'..' is not allowed"), ("-carol", "starting with a letter")],
)  # fmt: skip
def test_user_names_that_would_shadow_routes_are_refused_at_registration(
    people, client, name, message
):
    before = site_tip(people).id
    token = ticket_tests.token(client)
    refused = client.post("/register", data={
        "csrf_token": token, "name": name, "email": "carol@example.org",
        "password": "carol-pw-1", "confirm": "carol-pw-1"})  # fmt: skip
    assert refused.status_code == 400
    assert message in text(refused)
    assert site_tip(people).id == before
