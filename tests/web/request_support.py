"""Shared by the pull request page tests: a site with alice and bob whose
project foo has a main branch pushed with the real git, and helpers that
open pull requests and read what landed in git."""

from __future__ import annotations

import re

import pytest

from gitforge.index import queries, request_queries
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity
from gitforge.store.layout import RepoKind, repo_relpath
from gitforge.store.requests import RequestRepo
from gitforge.tasks import pull_requests as prs
from tests.conftest import git
from tests.tasks.test_pull_requests import _commit, _push
from tests.web import test_ticket_views as ticket_tests

# The ticket pages' fixtures: the site with alice and bob, and logging in.
people = ticket_tests.people
login = ticket_tests.login

ADMIN = Identity("admin", "admin@example.org", "Ad Min")
ALICE = ticket_tests.ALICE
BOB = ticket_tests.BOB
ODD_BRANCH = "feature/ünï.code+x@y"
_NUMBER_LINK = re.compile(r'href="/foo/pull-request/(\d+)"')
LINE_LINK = re.compile(r'href="\?file=(\d+)&amp;side=(new|old)&amp;line=(\d+)')


@pytest.fixture
def code(people, tmp_path):
    """Project foo's main branch (shared.txt, one commit), pushed from a
    work clone; gives the site's config and the clone."""
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    _commit(work, "shared.txt", "one\ntwo\nthree\n", "First")
    _push(people, work, "main")
    return people, work


def open_request(config, branch, author=ALICE, title="Change", description=""):
    """A pull request opened by the operation itself, as a push offer
    would lead to; the index follows."""
    source = prs.Branch("foo", branch)
    return prs.open_pull_request(config, "foo", author, source, "main", title,
                                 description)  # fmt: skip


def post(client, url, /, **fields):
    """A form post with the session's CSRF token; fields may be named
    like the parameters (an inline comment has a `path`)."""
    token = ticket_tests.token(client)
    return client.post(url, data={"csrf_token": token, **fields})


def requests_repo(config) -> RequestRepo:
    return RequestRepo(config.repositories / repo_relpath(RepoKind.REQUESTS, "foo"))


def sync_requests(config) -> None:
    relpath = repo_relpath(RepoKind.REQUESTS, "foo")
    sync_repo(engine_for(config), config.repositories, relpath)


def code_git(config, *args) -> str:
    return git(*args, cwd=config.repositories / "foo.git").stdout.strip()


def stored(config, uid) -> dict:
    with requests_repo(config) as repo:
        return repo.request(uid)


def uid_of(config, number: int) -> str:
    engine = engine_for(config)
    return request_queries.request(engine, queries.project(engine, "foo"), number).uid


def request_tip(config) -> str:
    with requests_repo(config) as repo:
        return str(repo.tip().id)


def numbers_on(page: str) -> list[int]:
    return [int(n) for n in _NUMBER_LINK.findall(page)]
