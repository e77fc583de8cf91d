"""SSH keys in the user's settings: listed with title, fingerprint and date;
added by pasting; removed. Malformed keys, private keys and keys another
account holds are refused with a message and nothing committed."""

from __future__ import annotations

import html

import pytest

from gitforge.store.site import SiteRepo
from tests.store.test_access import fingerprint_of, public_key
from tests.web import test_ticket_views as ticket_tests
from tests.web.request_support import post

people, login = ticket_tests.people, ticket_tests.login

PRIVATE_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
-----END OPENSSH PRIVATE KEY-----
"""


def stored_keys(config, user="bob") -> list[dict]:
    with SiteRepo.open(config.repositories) as site:
        return site.user(user).get("ssh_keys", [])


def site_tip(config):
    with SiteRepo.open(config.repositories) as site:
        return site.tip().id


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_pasted_key_is_listed_and_removed(people, login):
    bob = login("bob")
    assert "No keys yet." in bob.get("/settings").text
    line = public_key("bob-laptop", comment="bob@laptop")
    added = post(bob, "/settings/keys", key=line + "\n", title="")
    assert added.status_code == 302
    fingerprint = fingerprint_of(line)
    assert [k["fingerprint"] for k in stored_keys(people)] == [fingerprint]
    page = bob.get("/settings").text
    assert "bob@laptop" in page and fingerprint in page
    assert stored_keys(people)[0]["added"][:10] in page

    removed = post(bob, "/settings/keys/remove", fingerprint=fingerprint)
    assert removed.status_code == 302
    assert stored_keys(people) == []
    assert f"Key {fingerprint} removed." in bob.get("/settings").text
    assert fingerprint not in bob.get("/settings").text


def test_a_title_names_the_key(people, login):
    bob = login("bob")
    post(bob, "/settings/keys", key=public_key("k", comment="c"), title="Work")
    assert stored_keys(people)[0]["title"] == "Work"
    assert "Work" in bob.get("/settings").text


@pytest.mark.parametrize(
    "key, message",
    [("", "paste exactly one public key"),
     ("hello world", "a public key starts with its type"),
     ("ssh-ed25519 AAAA!!!", "not valid base64"),
     (public_key("x") + "\n" + public_key("y"), "paste exactly one public key"),
     ("-----BEGIN RSA PRIVATE KEY----- MIIEow", "this is a private key")],
)  # fmt: skip
def test_malformed_keys_are_refused(people, login, key, message):
    bob = login("bob")
    before = site_tip(people)
    refused = post(bob, "/settings/keys", key=key)
    assert refused.status_code == 400
    assert message in text(refused)
    assert site_tip(people) == before


def test_a_private_key_is_refused_and_not_shown_back(people, login):
    bob = login("bob")
    before = site_tip(people)
    refused = post(bob, "/settings/keys", key=PRIVATE_KEY)
    assert refused.status_code == 400
    assert "The key was not added" in text(refused)
    assert "b3BlbnNzaC1rZXkt" not in refused.text
    assert site_tip(people) == before


def test_a_key_of_another_account_is_refused(people, login):
    line = public_key("shared")
    post(login("alice"), "/settings/keys", key=line)
    bob = login("bob")
    before = site_tip(people)
    refused = post(bob, "/settings/keys", key=line + " bob@box")
    assert refused.status_code == 400
    assert "held by another account" in text(refused)
    again = post(login("alice"), "/settings/keys", key=line)
    assert again.status_code == 400 and "held by this account" in text(again)
    assert site_tip(people) == before
    assert stored_keys(people) == []


def test_nobody_removes_another_account_s_key(people, login):
    line = public_key("alice's")
    post(login("alice"), "/settings/keys", key=line)
    bob = login("bob")
    refused = post(bob, "/settings/keys/remove", fingerprint=fingerprint_of(line))
    assert refused.status_code == 400 and "You have no such key." in text(refused)
    assert len(stored_keys(people, "alice")) == 1
    assert fingerprint_of(line) not in bob.get("/settings").text


def test_key_pages_need_a_login(people, client):
    assert client.get("/settings").status_code == 302
    token = ticket_tests.token(client)
    made = client.post("/settings/keys", data={"csrf_token": token, "key": "x"})
    assert made.status_code == 302 and "/login" in made.location
