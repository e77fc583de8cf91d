from __future__ import annotations

import pytest

from gitforge.store.errors import AlreadyExists, BadPassword, InvalidName, NotFound
from gitforge.store.passwords import verify_password
from gitforge.store.site import NewUser, SiteRepo


@pytest.fixture
def site(tmp_path):
    repo = SiteRepo.create(tmp_path)
    yield repo
    repo.close()


def test_user_keeps_only_a_password_hash(site):
    site.add_user(NewUser("alice", "alice@example.org", "Alice", "correct horse"))
    raw = site.snapshot().read_bytes("users/alice.json")
    assert b"correct horse" not in raw
    stored = site.user("alice")
    assert stored["password"].startswith("$argon2")
    assert verify_password(stored["password"], "correct horse")
    assert not verify_password(stored["password"], "wrong horse")


def test_taken_names_and_emails_are_refused(site):
    site.add_user(NewUser("alice", "alice@example.org", password="password1"))
    with pytest.raises(AlreadyExists, match="user 'Alice'"):
        site.add_user(NewUser("Alice", "other@example.org", password="password1"))
    with pytest.raises(AlreadyExists, match="email"):
        site.add_user(NewUser("bob", "ALICE@example.org", password="password1"))


@pytest.mark.parametrize("name", ["-rf", "a/b", "..", "api", "tickets", "x.git", ""])
def test_bad_user_names_are_refused(site, name):
    with pytest.raises(InvalidName):
        site.add_user(NewUser(name, "x@example.org", password="password1"))


def test_short_password_is_refused(site):
    with pytest.raises(BadPassword):
        site.add_user(NewUser("carol", "carol@example.org", password="short"))
    with pytest.raises(NotFound):
        site.user("carol")


def test_project_needs_an_existing_owner(site):
    site.add_user(NewUser("alice", "alice@example.org", password="password1"))
    site.add_project("ns/tool", "alice", "A tool")
    assert site.project("ns/tool")["namespace"] == "ns"
    with pytest.raises(NotFound):
        site.add_project("other", "nobody")
    with pytest.raises(AlreadyExists):
        site.add_project("ns/tool", "alice")
