"""Changing an account's password in the site repo."""

from __future__ import annotations

import pytest

from gitforge.store.accounts import set_password
from gitforge.store.documents import Identity
from gitforge.store.errors import BadPassword, NotFound
from gitforge.store.passwords import verify_password
from gitforge.store.site import NewUser, SiteRepo

BOB = Identity("bob", "bob@example.org", "Bob")


@pytest.fixture
def site(tmp_path):
    repo = SiteRepo.create(tmp_path)
    repo.add_user(NewUser("bob", "bob@example.org", "Bob", "bob-pw-1234"))
    yield repo
    repo.close()


def test_set_password_commits_a_new_hash_as_the_user(site):
    before = site.user("bob")
    set_password(site, "bob", "bob-pw-5678", BOB)
    after = site.user("bob")
    assert verify_password(after["password"], "bob-pw-5678")
    assert not verify_password(after["password"], "bob-pw-1234")
    assert "bob-pw-5678" not in str(after)
    assert {**after, "password": None} == {**before, "password": None}
    assert site.tip().author.email == "bob@example.org"
    assert site.tip().message == "Change the password of bob"


def test_set_password_refuses_a_weak_one_and_an_unknown_user(site):
    before = site.tip().id
    with pytest.raises(BadPassword):
        set_password(site, "bob", "short", BOB)
    with pytest.raises(NotFound):
        set_password(site, "nobody", "long-enough-1", BOB)
    assert site.tip().id == before
