"""Who may do what, in the site repo: groups, grants, privacy, protected
branches, ticket settings and ssh keys. Each change is one commit; each
refusal names the problem and commits nothing."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from gitforge.index import access_queries, queries
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.policy import Action, may
from gitforge.store import access, keys
from gitforge.store.errors import AlreadyExists, FormatError, InvalidName, NotFound
from gitforge.store.layout import SITE_REPO
from gitforge.store.site import NewUser, SiteRepo


def public_key(seed: str, key_type: str = "ssh-ed25519", comment: str = "") -> str:
    """A well-formed public key line whose key is made from `seed`."""
    name = key_type.encode()
    data = hashlib.sha256(seed.encode()).digest()
    blob = len(name).to_bytes(4, "big") + name + len(data).to_bytes(4, "big") + data
    line = f"{key_type} {base64.b64encode(blob).decode()}"
    return f"{line} {comment}" if comment else line


def fingerprint_of(line: str) -> str:
    return keys.parse_key(line)[1]


@pytest.fixture
def site(config):
    """The site repo with alice, bob and a project foo owned by alice."""
    with SiteRepo.open(config.repositories) as repo:
        for name in ("alice", "bob", "carol"):
            repo.add_user(NewUser(name, f"{name}@example.org"))
        repo.add_project("foo", "alice", "The foo project")
        yield repo


def unchanged(site):
    """A context that asserts the site repo's tip did not move."""
    tip = site.tip().id

    class Check:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            assert site.tip().id == tip, "a refused change was committed"

    return Check()


# -- groups --------------------------------------------------------------------


def test_a_group_is_one_commit_with_sorted_members(site):
    before = site.tip().id
    doc = access.add_group(site, "devs", ["bob", "alice", "bob"], "Developers")
    assert doc["members"] == ["alice", "bob"]
    assert site.tip().parents[0].id == before
    assert site.read("groups/devs.json")["description"] == "Developers"


@pytest.mark.parametrize(
    "name, reason",
    [("api", "reserved"), ("groups", "reserved"), ("tickets", "reserved"),
     ("-x", "starting with a letter"), ("a/b", "letters, digits"),
     ("..", "starting with a letter"), ("a..b", "'..'"), ("x.git", ".git"),
     ("", "letters, digits")],
)  # fmt: skip
def test_bad_group_names_are_refused(site, name, reason):
    with unchanged(site), pytest.raises(InvalidName, match=reason):
        access.add_group(site, name, ["alice"])


def test_a_taken_group_name_or_an_unknown_member_is_refused(site):
    access.add_group(site, "devs", ["alice"])
    with unchanged(site):
        with pytest.raises(AlreadyExists):
            access.add_group(site, "DEVS", ["bob"])
        with pytest.raises(NotFound, match="nobody"):
            access.add_group(site, "ops", ["alice", "nobody"])


def test_members_are_added_and_removed(site):
    access.add_group(site, "devs", ["alice"])
    doc = access.change_members(site, "devs", add=["bob", "carol"], remove=["alice"])
    assert doc["members"] == ["bob", "carol"]
    with unchanged(site):
        with pytest.raises(NotFound, match="nobody"):
            access.change_members(site, "devs", add=["nobody"])
        with pytest.raises(NotFound, match="group 'ops'"):
            access.change_members(site, "ops", add=["bob"])


def test_deleting_a_group_takes_its_grants_away(site):
    access.add_group(site, "devs", ["bob"])
    access.grant(site, "foo", "@devs", "commit")
    access.grant(site, "foo", "carol", "ticket")
    access.delete_group(site, "devs")
    assert not site.snapshot().exists("groups/devs.json")
    assert site.project("foo")["access"] == {"users": {"carol": {"level": "ticket"}}}
    with pytest.raises(NotFound):
        access.delete_group(site, "devs")


# -- grants --------------------------------------------------------------------


def test_grants_to_users_and_groups_replace_what_was_held(site):
    access.add_group(site, "devs", ["bob"])
    access.grant(site, "foo", "bob", "collaborator", ["release/*", "docs"])
    access.grant(site, "foo", "@devs", "ticket")
    assert site.project("foo")["access"] == {
        "users": {"bob": {"level": "collaborator", "branches": ["docs", "release/*"]}},
        "groups": {"devs": {"level": "ticket"}},
    }
    access.grant(site, "foo", "bob", "commit")
    assert site.project("foo")["access"]["users"]["bob"] == {"level": "commit"}
    access.revoke(site, "foo", "bob")
    access.revoke(site, "foo", "@devs")
    assert site.project("foo")["access"] == {}


@pytest.mark.parametrize(
    "subject, level, branches, error, message",
    [("nobody", "ticket", [], NotFound, "user 'nobody'"),
     ("@nogroup", "ticket", [], NotFound, "group 'nogroup'"),
     ("alice", "commit", [], FormatError, "alice owns the project"),
     ("bob", "superuser", [], FormatError, "'level' must be one of"),
     ("bob", "collaborator", ["../x"], FormatError, "not a branch pattern"),
     ("bob", "collaborator", ["-x"], FormatError, "not a branch pattern"),
     ("bob", "collaborator", ["a b"], FormatError, "not a branch pattern"),
     ("bob", "collaborator", [], FormatError, "needs at least one branch"),
     ("bob", "commit", ["main"], FormatError, "only a collaborator"),
     ("../bob", "ticket", [], InvalidName, "invalid user name"),
     ("@-devs", "ticket", [], InvalidName, "invalid group name")],
)  # fmt: skip
def test_bad_grants_are_refused(site, subject, level, branches, error, message):
    with unchanged(site), pytest.raises(error, match=message):
        access.grant(site, "foo", subject, level, branches)


def test_revoking_what_nobody_holds_or_on_no_project_is_refused(site):
    with unchanged(site):
        with pytest.raises(NotFound, match="grant"):
            access.revoke(site, "foo", "bob")
        with pytest.raises(NotFound, match="project 'bar'"):
            access.grant(site, "bar", "bob", "ticket")


def test_privacy_protected_branches_and_ticket_settings(site):
    access.set_private(site, "foo", True)
    access.set_protected_branches(site, "foo", ["main", "release/*", "main"])
    settings = {"tags": {"bug": "#d73a4a"}, "close_reasons": ["Fixed"],
                "priorities": {"1": "High"}, "milestones": ["1.0"]}  # fmt: skip
    access.set_ticket_settings(site, "foo", settings)
    doc = site.project("foo")
    assert doc["private"] is True
    assert doc["protected_branches"] == ["main", "release/*"]
    assert doc["ticket_settings"] == settings
    with unchanged(site):
        with pytest.raises(FormatError, match="not a branch pattern"):
            access.set_protected_branches(site, "foo", ["../x"])
        with pytest.raises(FormatError, match="colour must look like"):
            access.set_ticket_settings(site, "foo", {"tags": {"bug": "red"}})
        with pytest.raises(FormatError, match="not a ticket setting"):
            access.set_ticket_settings(site, "foo", {"colours": {}})


def test_making_a_project_private_makes_its_forks_private(site):
    site.add_project("forks/bob/foo", "bob", parent="foo")
    site.add_project("forks/carol/foo", "carol", parent="forks/bob/foo")
    site.add_project("other", "alice")
    before = site.snapshot().oid
    access.set_private(site, "foo", True)
    assert site.snapshot().repo[site.snapshot().oid].parents[0].id == before
    private = {name: site.project(name).get("private") for name in
               ("foo", "forks/bob/foo", "forks/carol/foo", "other")}  # fmt: skip
    assert private == {"foo": True, "forks/bob/foo": True,
                       "forks/carol/foo": True, "other": False}  # fmt: skip
    access.set_private(site, "foo", False)
    assert site.project("forks/bob/foo")["private"] is True


def test_a_project_is_recorded_private_or_public(site):
    assert site.add_project("hidden", "alice", private=True)["private"] is True
    assert site.add_project("open", "alice")["private"] is False


def test_the_index_and_the_policy_follow_the_site_repo(config, site):
    access.add_group(site, "devs", ["bob"])
    access.grant(site, "foo", "@devs", "ticket")
    access.set_private(site, "foo", True)
    engine = engine_for(config)
    sync_repo(engine, config.repositories, SITE_REPO)
    row = queries.project(engine, "foo")
    assert row.private and json.loads(row.access)["groups"] == {
        "devs": {"level": "ticket"}
    }
    bob, carol = queries.viewer(engine, "bob"), queries.viewer(engine, "carol")
    assert bob.groups == {"devs"}
    assert may(bob, Action.READ_PROJECT, queries.facts(row))
    assert not may(carol, Action.READ_PROJECT, queries.facts(row))
    assert not may(None, Action.READ_PROJECT, queries.facts(row))
    assert access_queries.members_of(engine, "devs") == ["bob"]


# -- ssh keys ------------------------------------------------------------------


def test_a_key_is_stored_without_its_comment_and_titled(site):
    line = public_key("one", comment="bob@laptop")
    entry = keys.add_key(site, "bob", line)
    assert entry["title"] == "bob@laptop"
    assert entry["key"] == line.rsplit(" ", 1)[0]
    assert entry["fingerprint"].startswith("SHA256:")
    assert site.user("bob")["ssh_keys"] == [entry]
    named = keys.add_key(site, "bob", public_key("two"), title="  work  ")
    assert named["title"] == "work"


def test_the_fingerprint_is_openssh_s():
    line = public_key("one")
    blob = base64.b64decode(line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert fingerprint_of(line) == f"SHA256:{digest}"


@pytest.mark.parametrize(
    "text, message",
    [("", "exactly one public key"),
     (public_key("a") + "\n" + public_key("b"), "exactly one public key"),
     ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n"
      "-----END OPENSSH PRIVATE KEY-----", "private key"),
     ("-----BEGIN OPENSSH PRIVATE KEY----- abc", "private key"),
     ("ssh-dss AAAAB3NzaC1kc3M=", "starts with its type"),
     ("ssh-ed25519", "starts with its type"),
     ("ssh-ed25519 not*base64", "not valid base64"),
     (public_key("a", "ssh-rsa").replace("ssh-rsa", "ssh-ed25519", 1),
      "not an ssh-ed25519 key"),
     ("ssh-ed25519 " + "A" * 20000, "at most")],
)  # fmt: skip
def test_malformed_keys_are_refused(site, text, message):
    with unchanged(site), pytest.raises(keys.BadKey, match=message):
        keys.add_key(site, "bob", text)


def test_a_key_belongs_to_one_account(site):
    line = public_key("shared")
    keys.add_key(site, "bob", line)
    with unchanged(site):
        with pytest.raises(AlreadyExists, match="another account"):
            keys.add_key(site, "carol", line + " carol@box")
        with pytest.raises(AlreadyExists, match="held by this account"):
            keys.add_key(site, "bob", line)
        with pytest.raises(NotFound, match="user 'nobody'"):
            keys.add_key(site, "nobody", public_key("other"))


def test_keys_are_removed_by_fingerprint(config, site):
    line = public_key("gone")
    keys.add_key(site, "bob", line)
    engine = engine_for(config)
    sync_repo(engine, config.repositories, SITE_REPO)
    assert [k.fingerprint for k in access_queries.keys_of(engine, "bob")] == [
        fingerprint_of(line)
    ]
    keys.remove_key(site, "bob", fingerprint_of(line))
    assert site.user("bob")["ssh_keys"] == []
    sync_repo(engine, config.repositories, SITE_REPO)
    assert access_queries.keys_of(engine, "bob") == []
    with unchanged(site), pytest.raises(NotFound, match="ssh key"):
        keys.remove_key(site, "bob", fingerprint_of(line))
