"""Forks in the store: their names and paths, and their site documents."""

from __future__ import annotations

import pytest

from gitforge.index.db import engine_for
from gitforge.index.queries import project
from gitforge.index.sync import sync_repo
from gitforge.store import formats
from gitforge.store.documents import SYSTEM
from gitforge.store.errors import AlreadyExists, FormatError, InvalidName, NotFound
from gitforge.store.layout import (
    RepoKind,
    fork_fullname,
    fork_user,
    is_fork,
    parse_relpath,
    repo_relpath,
    split_fullname,
    unforked_fullname,
)
from gitforge.store.site import NewUser, SiteRepo, project_path

# -- names and paths -------------------------------------------------------------


@pytest.mark.parametrize(
    "fullname, split",
    [
        ("forks/alice/foo", (None, "foo")),
        ("forks/alice/ns/foo", ("ns", "foo")),
        ("foo", (None, "foo")),
        ("ns/foo", ("ns", "foo")),
    ],
)
def test_fork_names_split_like_their_project(fullname, split):
    assert split_fullname(fullname) == split


@pytest.mark.parametrize(
    "fullname",
    [
        "forks",
        "forks/alice",
        "forks//foo",
        "forks/../foo",
        "forks/-alice/foo",
        "forks/api/foo",
        "forks/alice/forks/bob/foo",
        "forks/alice/ns/foo/more",
        "forks/alice/ns/",
        "fork/alice/foo",
    ],
)
def test_bad_fork_names_are_refused(fullname):
    with pytest.raises(InvalidName):
        split_fullname(fullname)
    with pytest.raises(InvalidName):
        repo_relpath(RepoKind.CODE, fullname)
    assert parse_relpath(f"{fullname}.git") is None
    assert parse_relpath(f"tickets/{fullname}.git") is None


@pytest.mark.parametrize("fullname", ["forks/alice/foo", "forks/alice/ns/foo"])
def test_fork_repo_paths_go_there_and_back(fullname):
    for kind, path in [
        (RepoKind.CODE, f"{fullname}.git"),
        (RepoKind.TICKETS, f"tickets/{fullname}.git"),
        (RepoKind.REQUESTS, f"requests/{fullname}.git"),
    ]:
        assert repo_relpath(kind, fullname) == path
        assert parse_relpath(path) == (kind, fullname)


def test_fork_names_of_projects_and_forks():
    assert fork_fullname("bob", "foo") == "forks/bob/foo"
    assert fork_fullname("bob", "ns/foo") == "forks/bob/ns/foo"
    assert fork_fullname("bob", "forks/alice/ns/foo") == "forks/bob/ns/foo"
    assert unforked_fullname("forks/alice/ns/foo") == "ns/foo"
    assert unforked_fullname("ns/foo") == "ns/foo"
    assert (fork_user("forks/alice/foo"), fork_user("ns/foo")) == ("alice", None)
    assert is_fork("forks/alice/foo") and not is_fork("foo")
    with pytest.raises(InvalidName):
        fork_fullname("no/body", "foo")


# -- site documents ----------------------------------------------------------------


@pytest.fixture
def site(tmp_path):
    repo = SiteRepo.create(tmp_path)
    for name in ("alice", "bob"):
        repo.add_user(NewUser(name, f"{name}@example.org", password="password1"))
    repo.add_project("ns/tool", "alice", "A tool")
    yield repo
    repo.close()


def test_a_fork_document_names_its_parent(site):
    doc = site.add_project(
        "forks/bob/ns/tool", "bob", "A tool", SYSTEM, parent="ns/tool"
    )
    assert site.project("forks/bob/ns/tool") == doc
    assert (doc["name"], doc["namespace"], doc["parent"]) == ("tool", "ns", "ns/tool")
    assert site.project("ns/tool")["parent"] is None


@pytest.mark.parametrize(
    "fullname, owner, parent, error",
    [
        ("forks/bob/ns/tool", "bob", None, InvalidName),  # a fork needs a parent
        ("other", "bob", "ns/tool", InvalidName),  # only a fork has one
        ("forks/bob/ns/tool", "alice", "ns/tool", InvalidName),  # not bob's
        ("forks/bob/ns/gone", "bob", "ns/gone", NotFound),
        ("forks/carol/ns/tool", "carol", "ns/tool", NotFound),
    ],
)
def test_bad_fork_documents_are_refused(site, fullname, owner, parent, error):
    before = site.tip().id
    with pytest.raises(error):
        site.add_project(fullname, owner, parent=parent)
    assert site.tip().id == before


def test_a_second_fork_of_the_same_name_is_refused(site):
    site.add_project("forks/bob/ns/tool", "bob", parent="ns/tool")
    with pytest.raises(AlreadyExists, match="fork 'forks/bob/ns/tool'"):
        site.add_project("forks/bob/ns/tool", "bob", parent="ns/tool")


def test_a_project_document_without_parent_still_loads(config):
    """Documents written before forks have no `parent`: they stay valid,
    read as null and load into the index."""
    doc = {
        "format": 1,
        "name": "old",
        "namespace": None,
        "description": "From before forks",
        "owner": "admin",
        "created": "2026-01-01T00:00:00Z",
        "settings": {},
    }
    formats.check("project", "projects/old.json", doc)
    with SiteRepo.open(config.repositories) as site:
        path = project_path("old")
        site.transact(lambda _s: {path: doc}, SYSTEM, "An old project")
        assert site.project("old")["parent"] is None
    sync_repo(engine_for(config), config.repositories, "site.git")
    row = project(engine_for(config), "old")
    assert (row.description, row.parent) == ("From before forks", None)


@pytest.mark.parametrize("parent", ["", "a//b", "../foo", "a/b/c/d/e", 7])
def test_a_bad_parent_is_a_format_error(parent):
    doc = {
        "format": 1,
        "name": "tool",
        "namespace": None,
        "description": "",
        "owner": "bob",
        "created": "2026-01-01T00:00:00Z",
        "settings": {},
        "parent": parent,
    }
    with pytest.raises(FormatError, match="'parent'"):
        formats.check("project", "projects/forks/bob/tool.json", doc)
