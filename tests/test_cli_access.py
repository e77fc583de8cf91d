"""`gitforge group`, `access`, `key` and `project create --private`: each a
commit to the site repo that the index shows at once; bad input exits 1
with a message and commits nothing. Names that would shadow routes or
folders are refused at creation."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from gitforge.cli import main
from gitforge.index import access_queries, queries
from gitforge.index.db import engine_for
from gitforge.policy import Action, may
from gitforge.store.site import NewUser, SiteRepo
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.store.test_access import fingerprint_of, public_key


@pytest.fixture
def site(config, monkeypatch):
    """The site with alice, bob and carol and alice's project foo."""
    monkeypatch.setenv("GITFORGE_HOME", os.environ["GITFORGE_HOME"])
    for name in ("alice", "bob", "carol"):
        add_user(config, NewUser(name, f"{name}@example.org"))
    create_project(config, "foo", "alice")
    return config


def run(config, *args: str):
    """The command's result; `--home` goes before a `--` that ends the
    options (a name starting with a dash must come after one)."""
    args = list(args)
    at = args.index("--") if "--" in args else len(args)
    args[at:at] = ["--home", str(config.home)]
    return CliRunner().invoke(main, args)


def site_tip(config):
    with SiteRepo.open(config.repositories) as repo:
        return repo.tip().id


def stored_project(config, fullname="foo") -> dict:
    with SiteRepo.open(config.repositories) as repo:
        return repo.project(fullname)


def refused(config, *args: str) -> str:
    """Run a command that must fail with exit 1 and change nothing; gives
    its output."""
    before = site_tip(config)
    done = run(config, *args)
    assert done.exit_code == 1, done.output
    assert site_tip(config) == before
    return done.output


# -- projects ------------------------------------------------------------------


def test_project_create_private(site):
    done = run(site, "project", "create", "hidden", "--owner", "alice", "--private")
    assert done.exit_code == 0, done.output
    assert "Created private project hidden" in done.output
    assert stored_project(site, "hidden")["private"] is True
    row = queries.project(engine_for(site), "hidden")
    assert row.private
    assert not may(None, Action.READ_PROJECT, queries.facts(row))
    run(site, "project", "create", "open", "--owner", "alice")
    assert stored_project(site, "open")["private"] is False


@pytest.mark.parametrize(
    "name, message",
    [("api", "reserved"), ("login", "reserved"), ("static", "reserved"),
     ("forks", "invalid fork name"), ("tickets", "reserved"),
     ("groups", "reserved"), ("-x", "starting with a letter or digit"),
     ("../x", "starting with a letter"),
     ("a/../b", "at most one namespace"), ("a/b/c", "at most one namespace"),
     ("/x", "starting with a letter"), ("x.git", "must not end in .git"),
     ("api/x", "reserved"), ("ns/login", "reserved")],
)  # fmt: skip
def test_project_names_that_would_shadow_routes_are_refused(site, name, message):
    output = refused(site, "project", "create", "--owner", "alice", "--", name)
    assert message in output
    assert not (site.repositories / f"{name}.git").exists()


@pytest.mark.parametrize(
    "name, message",
    [("api", "reserved"), ("login", "reserved"), ("static", "reserved"),
     ("forks", "reserved"), ("tickets", "reserved"), ("-x", "starting with"),
     ("a/b", "starting with"), ("..", "starting with"), ("a..b", "'..'")],
)  # fmt: skip
def test_user_names_that_would_shadow_routes_are_refused(site, name, message):
    output = refused(site, "user", "add", "--email", "x@example.org",
                     "--no-password", "--", name)  # fmt: skip
    assert message in output


# -- groups --------------------------------------------------------------------


def test_group_add_members_and_delete(site):
    done = run(site, "group", "add", "devs", "--member", "alice", "--member", "bob",
               "--description", "Developers")  # fmt: skip
    assert done.exit_code == 0, done.output
    engine = engine_for(site)
    assert access_queries.members_of(engine, "devs") == ["alice", "bob"]
    assert queries.viewer(engine, "bob").groups == {"devs"}

    done = run(site, "group", "members", "devs", "--add", "carol", "--remove", "alice")
    assert done.exit_code == 0 and done.output.split() == ["bob", "carol"]
    assert access_queries.members_of(engine, "devs") == ["bob", "carol"]

    run(site, "access", "grant", "foo", "@devs", "commit")
    done = run(site, "group", "delete", "devs")
    assert done.exit_code == 0, done.output
    assert access_queries.group(engine, "devs") is None
    assert stored_project(site)["access"] == {}


@pytest.mark.parametrize(
    "args, message",
    [(["add", "api"], "reserved"), (["add", "login"], "reserved"),
     (["add", "forks"], "reserved"), (["add", "--", "-x"], "starting with"),
     (["add", "a/b"], "starting with"), (["add", ".."], "starting with"),
     (["add", "devs", "--member", "nobody"], "user 'nobody' not found"),
     (["members", "nogroup", "--add", "bob"], "group 'nogroup' not found"),
     (["delete", "nogroup"], "group 'nogroup' not found")],
)  # fmt: skip
def test_bad_group_commands_are_refused(site, args, message):
    assert message in refused(site, "group", *args)


def test_a_taken_group_name_is_refused(site):
    run(site, "group", "add", "devs")
    assert "already exists" in refused(site, "group", "add", "Devs")


# -- access --------------------------------------------------------------------


def test_access_grant_list_and_revoke(site):
    done = run(site, "access", "grant", "foo", "bob", "collaborator",
               "--branches", "release/*,docs", "--branches", "main")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert stored_project(site)["access"] == {
        "users": {"bob": {"level": "collaborator",
                          "branches": ["docs", "main", "release/*"]}}
    }  # fmt: skip
    row = queries.project(engine_for(site), "foo")
    assert json.loads(row.access)["users"]["bob"]["level"] == "collaborator"
    bob = queries.viewer(engine_for(site), "bob")
    assert may(bob, Action.PUSH_CODE, queries.facts(row), ref="refs/heads/docs")

    run(site, "group", "add", "devs", "--member", "carol")
    assert run(site, "access", "grant", "foo", "@devs", "ticket").exit_code == 0
    listed = run(site, "access", "list", "foo").output
    assert "alice\tadmin (owner)" in listed
    assert "bob\tcollaborator docs,main,release/*" in listed
    assert "@devs\tticket" in listed

    assert run(site, "access", "revoke", "foo", "bob").exit_code == 0
    assert run(site, "access", "revoke", "foo", "@devs").exit_code == 0
    assert stored_project(site)["access"] == {}
    assert json.loads(queries.project(engine_for(site), "foo").access) == {}


@pytest.mark.parametrize(
    "args, message",
    [(["foo", "bob", "boss"], "unknown level 'boss'"),
     (["foo", "bob", "collaborator"], "a collaborator needs --branches"),
     (["foo", "bob", "commit", "--branches", "main"], "collaborator level only"),
     (["foo", "bob", "collaborator", "--branches", "../x"], "not a branch pattern"),
     (["foo", "bob", "collaborator", "--branches", "-x"], "not a branch pattern"),
     (["foo", "nobody", "ticket"], "user 'nobody' not found"),
     (["foo", "@nogroup", "ticket"], "group 'nogroup' not found"),
     (["foo", "alice", "commit"], "alice owns the project"),
     (["bar", "bob", "ticket"], "project 'bar' not found"),
     (["foo", "../bob", "ticket"], "invalid user name")],
)  # fmt: skip
def test_bad_grants_are_refused(site, args, message):
    assert message in refused(site, "access", "grant", *args)


def test_revoking_what_nobody_holds_is_refused(site):
    assert "not found" in refused(site, "access", "revoke", "foo", "bob")


# -- keys ----------------------------------------------------------------------


def test_key_add_list_and_remove(site, tmp_path):
    keyfile = tmp_path / "id_ed25519.pub"
    line = public_key("bob's", comment="bob@laptop")
    keyfile.write_text(line + "\n")
    done = run(site, "key", "add", "bob", str(keyfile))
    assert done.exit_code == 0, done.output
    fingerprint = fingerprint_of(line)
    assert fingerprint in done.output
    keys = access_queries.keys_of(engine_for(site), "bob")
    assert [(k.fingerprint, k.title) for k in keys] == [(fingerprint, "bob@laptop")]
    assert fingerprint in run(site, "key", "list", "bob").output

    done = run(site, "key", "remove", "bob", fingerprint)
    assert done.exit_code == 0, done.output
    assert access_queries.keys_of(engine_for(site), "bob") == []
    assert "bob has no keys" in run(site, "key", "list", "bob").output


def test_key_add_from_stdin_with_a_title(site):
    line = public_key("piped")
    done = CliRunner().invoke(
        main,
        ["key", "add", "bob", "-", "--title", "ci", "--home", str(site.home)],
        input=line,
    )
    assert done.exit_code == 0, done.output
    assert access_queries.keys_of(engine_for(site), "bob")[0].title == "ci"


@pytest.mark.parametrize(
    "text, message",
    [("not a key", "a public key starts with its type"),
     ("-----BEGIN OPENSSH PRIVATE KEY----- AAAA", "this is a private key"),
     ("ssh-ed25519 AAAA!!!", "not valid base64"),
     ("", "paste exactly one public key")],
)  # fmt: skip
def test_malformed_key_files_are_refused(site, tmp_path, text, message):
    keyfile = tmp_path / "bad.pub"
    keyfile.write_text(text)
    output = refused(site, "key", "add", "bob", str(keyfile))
    assert message in output and "bad.pub" in output


def test_a_key_of_another_account_or_nobody_is_refused(site, tmp_path):
    keyfile = tmp_path / "shared.pub"
    keyfile.write_text(public_key("shared"))
    assert run(site, "key", "add", "alice", str(keyfile)).exit_code == 0
    assert "another account" in refused(site, "key", "add", "bob", str(keyfile))
    assert "user 'nobody' not found" in refused(
        site, "key", "add", "nobody", str(tmp_path / "shared.pub")
    )
    assert "ssh key" in refused(site, "key", "remove", "bob", "SHA256:nothing")
