"""Names and addresses the store refuses: route words as project names,
the forge's own and staff-like user names, and emails or full names that
would break a commit signature or a mail header."""

from __future__ import annotations

import pytest

from gitforge.store.documents import SYSTEM
from gitforge.store.errors import AlreadyExists, FormatError, InvalidName
from gitforge.store.layout import split_fullname
from gitforge.store.site import NewUser, SiteRepo


@pytest.fixture
def site(tmp_path):
    repo = SiteRepo.create(tmp_path)
    yield repo
    repo.close()


@pytest.mark.parametrize(
    "fullname",
    ["tree", "ns/tree", "blob", "ns/raw", "commits", "ns/c", "branches", "tags",
     "new_issue", "ns/issue", "pull-request", "ns/pull-requests", "diff",
     "fork", "settings", "Tree", "tree/x", "login/x"],
)  # fmt: skip
def test_route_words_are_no_project_or_namespace(fullname):
    with pytest.raises(InvalidName, match="reserved"):
        split_fullname(fullname)


def test_ordinary_names_still_pass():
    assert split_fullname("ns/trees") == ("ns", "trees")
    assert split_fullname("commit-tools") == (None, "commit-tools")


@pytest.mark.parametrize("name", ["gitforge", "GitForge"])
def test_the_forges_own_name_is_no_account(site, name):
    for admin in (False, True):
        with pytest.raises(InvalidName, match="forge's own name"):
            site.add_user(NewUser(name, f"{name}@example.org", admin=admin))


@pytest.mark.parametrize("name", ["admin", "root", "Administrator", "noreply"])
def test_staff_names_are_for_administrators(site, name):
    with pytest.raises(InvalidName, match="kept for administrators"):
        site.add_user(NewUser(name, "someone@example.org"))
    site.add_user(NewUser(name, "staff@example.org", admin=True))
    assert site.user(name)["admin"] is True


@pytest.mark.parametrize(
    "email",
    ["bob@example.org\r\nBcc: all@example.org", "bob@example.org\n",
     "bob\r@example.org", "bob\t@example.org", "bob@example.org\x7f",
     "bob@example.org\x85", "bob@example.org\u2028", "Bob <bob@example.org>"],
)  # fmt: skip
def test_emails_that_break_headers_are_refused(site, email):
    before = site.tip().id
    with pytest.raises(FormatError) as refused:
        site.add_user(NewUser("bob", email))
    assert refused.value.field == "emails"
    assert "must not contain" in refused.value.problem
    assert site.tip().id == before


@pytest.mark.parametrize(
    "full_name, problem",
    [("Bob\nBuilder", "control characters"), ("Bob <b>", "'<' or '>'"),
     ("   ", "only spaces")],
)  # fmt: skip
def test_full_names_that_break_signatures_are_refused(site, full_name, problem):
    with pytest.raises(FormatError, match=problem):
        site.add_user(NewUser("bob", "bob@example.org", full_name))


def test_an_account_stored_before_a_rule_blocks_nobody(site):
    old = {"format": 1, "name": "old", "full_name": "Old <x>", "admin": False,
           "emails": ["old@example.org"], "password": None,
           "created": "2020-01-01T00:00:00Z"}  # fmt: skip
    site.transact(lambda _s: {"users/old.json": old}, SYSTEM, "An older account")
    site.add_user(NewUser("newer", "newer@example.org", "Newer"))
    with pytest.raises(AlreadyExists, match="email 'OLD@example.org'"):
        site.add_user(NewUser("other", "OLD@example.org"))
