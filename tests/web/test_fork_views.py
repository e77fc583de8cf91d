"""Forks on the web: the Fork button, the fork's pages under Pagure's
`/fork/<user>/...` URLs, and the parent's list of forks.

Forks are made through the real form (the task runs inline: the suite runs
Huey in immediate mode) and checked in git and on the pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitforge.config import Config
from gitforge.store.site import NewUser
from gitforge.tasks.forks import fork_project
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git

PASSWORD = "secret-pw1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def forge(site_home: Config, tmp_path: Path) -> Config:
    """The web fixtures' site (`foo`, `ns/bar`, both empty) with `lib` and
    `ns/tool` imported from a small repo, and accounts for alice and bob."""
    work = tmp_path / "source"
    git("init", "-q", "-b", "trunk", str(work))
    (work / "src").mkdir()
    (work / "src" / "lib.py").write_text("def answer():\n    return 42\n")
    (work / "README.md").write_text("# Lib\n\nA library.\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Start the library", cwd=work)
    git("tag", "v1", cwd=work)
    create_project(site_home, "lib", "admin", "The library", source=str(work))
    create_project(site_home, "ns/tool", "admin", "A tool", source=str(work))
    for name in ("alice", "bob"):
        add_user(site_home, NewUser(name, f"{name}@example.org", name, PASSWORD))
    return site_home


@pytest.fixture
def login(app, forge):
    def log_in(name: str):
        client = app.test_client()
        response = client.post(
            "/login",
            data={"csrf_token": token(client), "name": name, "password": PASSWORD},
        )
        assert response.status_code == 302, response.text
        return client

    return log_in


def token(client, page: str = "/login") -> str:
    return _CSRF.search(client.get(page).text).group(1)


def fork_by_form(client, project_path: str):
    return client.post(
        f"{project_path}/fork", data={"csrf_token": token(client, project_path)}
    )


def site_tip(config: Config) -> str:
    return git("rev-parse", "main", cwd=config.repositories / "site.git").stdout


def grep_main(repo: Path, text: str) -> list[str]:
    """The files on the repo's main branch that hold `text`."""
    found = git("grep", "-l", "-F", text, "main", cwd=repo, check=False)
    return found.stdout.splitlines()


def head_of(config: Config, fullname: str) -> str:
    return git("rev-parse", "trunk", cwd=config.repositories / f"{fullname}.git").stdout


# -- the Fork button -------------------------------------------------------------


def test_fork_button_is_for_signed_in_users(client, login, forge):
    anonymous = client.get("/lib").text
    assert 'action="/lib/fork"' not in anonymous

    page = login("alice").get("/lib").text
    form = re.search(r'<form class="fork" [^>]*action="/lib/fork">(.*?)</form>',
                     page, re.S)  # fmt: skip
    assert form and 'name="csrf_token"' in form.group(1) and "Fork" in form.group(1)


def test_fork_form_makes_the_fork_and_goes_to_it(login, forge):
    alice = login("alice")

    response = fork_by_form(alice, "/lib")

    assert response.status_code == 302
    assert response.headers["Location"] == "/fork/alice/lib"
    assert head_of(forge, "forks/alice/lib") == head_of(forge, "lib")
    page = alice.get("/fork/alice/lib")
    assert page.status_code == 200
    assert "forks/alice/lib" in page.text
    assert 'forked from <a href="/lib">lib</a>' in page.text
    assert "/forks/alice/lib.git</code>" in page.text  # the clone URL
    assert "/tickets/forks/alice/lib.git</code>" in page.text
    assert 'action="/fork/alice/lib/fork"' not in page.text  # no fork of itself


def test_parent_lists_its_forks_and_shows_your_fork(client, login, forge):
    alice = login("alice")
    fork_by_form(alice, "/lib")
    fork_by_form(login("bob"), "/lib")

    page = client.get("/lib").text
    assert '<a href="/fork/alice/lib">forks/alice/lib</a>' in page
    assert '<a href="/fork/bob/lib">forks/bob/lib</a>' in page
    mine = alice.get("/lib").text
    assert 'href="/fork/alice/lib">Your fork: forks/alice/lib</a>' in mine
    assert 'action="/lib/fork"' not in mine


def test_empty_project_can_be_forked_from_its_page(login, forge):
    alice = login("alice")
    assert 'action="/ns/bar/fork"' in alice.get("/ns/bar").text

    response = fork_by_form(alice, "/ns/bar")

    assert response.headers["Location"] == "/fork/alice/ns/bar"
    page = alice.get("/fork/alice/ns/bar").text
    assert "This project has no code yet" in page
    assert 'forked from <a href="/ns/bar">ns/bar</a>' in page
    assert "git clone http://localhost/forks/alice/ns/bar.git" in page
    assert (
        '<a href="/fork/alice/ns/bar">forks/alice/ns/bar</a>'
        in alice.get("/ns/bar").text
    )


def test_forking_twice_says_so_and_changes_nothing(login, forge):
    alice = login("alice")
    fork_by_form(alice, "/lib")
    before = site_tip(forge)

    again = fork_by_form(alice, "/lib")

    assert again.status_code == 302
    assert again.headers["Location"] == "/fork/alice/lib"
    page = alice.get("/fork/alice/lib").text
    assert "You already have a fork of lib: forks/alice/lib." in page
    assert site_tip(forge) == before


def test_fork_needs_a_signed_in_user_and_a_csrf_token(client, login, forge):
    before = site_tip(forge)

    anonymous = client.post("/lib/fork", data={"csrf_token": token(client)})
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=/lib")
    forged = login("alice").post("/lib/fork", data={"csrf_token": "forged"})
    assert forged.status_code == 400

    assert site_tip(forge) == before
    assert not (forge.repositories / "forks").exists()


def test_fork_of_unknown_project_is_not_found(login, forge):
    alice = login("alice")
    assert (
        alice.post("/nothing/fork", data={"csrf_token": token(alice)}).status_code
        == 404
    )


def test_a_failed_fork_task_says_so(login, forge, monkeypatch):
    import gitforge.tasks.forks as forks

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(forks, "fork_project", broken)
    alice = login("alice")

    response = fork_by_form(alice, "/lib")

    assert response.headers["Location"] == "/lib"
    assert "Your fork of lib could not be made." in alice.get("/lib").text


# -- the fork's pages --------------------------------------------------------------


@pytest.fixture
def forked(forge):
    fork_project(forge, "lib", "alice")
    fork_project(forge, "ns/tool", "alice")
    return forge


@pytest.mark.parametrize("base", ["/fork/alice/lib", "/fork/alice/ns/tool"])
@pytest.mark.parametrize(
    "page, shows",
    [
        ("", "A library."),
        ("/tree", "README.md"),
        ("/tree/trunk/f/src", "lib.py"),
        ("/blob/trunk/f/src/lib.py", "answer"),
        ("/commits", "Start the library"),
        ("/commits/trunk", "Start the library"),
        ("/branches", "trunk"),
        ("/tags", "v1"),
        ("/issues", "0 open"),
    ],
)
def test_fork_pages_render_under_fork_urls(client, forked, base, page, shows):
    response = client.get(base + page)
    assert response.status_code == 200, response.text
    assert shows in response.text
    assert "forked from" in response.text
    assert f'href="{base}/issues"' in response.text  # links stay in the fork


def test_fork_raw_and_commit_pages(client, forked):
    raw = client.get("/fork/alice/lib/raw/trunk/f/src/lib.py")
    assert raw.status_code == 200 and b"return 42" in raw.data
    sha = head_of(forked, "forks/alice/lib").strip()
    commit = client.get(f"/fork/alice/ns/tool/c/{sha}")
    assert commit.status_code == 200 and "Start the library" in commit.text
    browse = f'<a href="/fork/alice/ns/tool/tree/{sha}">Browse files</a>'
    assert browse in commit.text


def test_fork_tickets_live_in_the_fork(login, forked):
    alice = login("alice")
    response = alice.post(
        "/fork/alice/lib/new_issue",
        data={"csrf_token": token(alice), "title": "Fork-only bug", "body": "Hm."},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/fork/alice/lib/issue/1"
    assert "Fork-only bug" in alice.get("/fork/alice/lib/issue/1").text
    assert "Fork-only bug" not in alice.get("/lib/issues").text
    tickets = forked.repositories / "tickets"
    assert grep_main(tickets / "forks/alice/lib.git", "Fork-only bug")
    assert not grep_main(tickets / "lib.git", "Fork-only bug")


def test_fork_of_a_fork_through_the_fork_url(login, forked):
    bob = login("bob")

    response = fork_by_form(bob, "/fork/alice/lib")

    assert response.headers["Location"] == "/fork/bob/lib"
    page = bob.get("/fork/bob/lib").text
    assert 'forked from <a href="/fork/alice/lib">forks/alice/lib</a>' in page
    assert (
        '<a href="/fork/bob/lib">forks/bob/lib</a>' in bob.get("/fork/alice/lib").text
    )


@pytest.mark.parametrize(
    "path",
    [
        "/fork/bob/lib",  # no such fork
        "/fork/alice/foo",
        "/fork/alice/ns/bar/tree",
        "/fork/nobody/lib/issues",
        "/fork/alice",
        "/fork/-x/lib",
        "/forks/alice/lib",  # the repo path is not a page
    ],
)
def test_missing_forks_are_not_found(client, forked, path):
    assert client.get(path).status_code == 404


def test_namespaced_parent_lists_its_fork(client, forked):
    page = client.get("/ns/tool").text
    assert '<a href="/fork/alice/ns/tool">forks/alice/ns/tool</a>' in page
