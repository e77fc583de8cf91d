"""A private project on a real server: made and shared on the command line
while `gitforge serve` runs; absent for a visitor (page, list, clone) and
for a signed-in user until a group of theirs is granted access."""

from __future__ import annotations

from tests.conftest import git
from tests.e2e.conftest import Browser, gitforge


def test_private_project_is_absent_until_granted(forge, browser, tmp_path):
    home = forge.home
    gitforge(home, "project", "create", "hushed", "--owner", "admin", "--private")
    gitforge(home, "user", "add", "bob", "--email", "bob@example.org",
             "--password-stdin", input="bob-pass-1\n")  # fmt: skip
    gitforge(home, "group", "add", "devs", "--member", "bob")

    assert browser.get("/hushed")[0] == 404
    assert "hushed" not in browser.get("/")[1]
    # An anonymous clone is asked to sign in, as for a repo that is absent.
    hushed, absent = (_clone(forge.url, name, tmp_path) for name in ("hushed", "nil"))
    assert hushed.returncode != 0 and "could not read Username" in hushed.stderr
    assert hushed.stderr.replace("hushed", "nil") == absent.stderr
    # bob's credentials: not found until he is granted access, then a clone.
    bobs = forge.url.replace("http://", "http://bob:bob-pass-1@")
    refused = _clone(bobs, "hushed", tmp_path)
    assert refused.returncode != 0 and "not found" in refused.stderr

    bob = Browser(forge.url)
    login = {"name": "bob", "password": "bob-pass-1"}
    status, _page = bob.submit("/login", "/login", login)
    assert status == 200  # the redirect, followed
    assert bob.get("/hushed")[0] == 404

    gitforge(home, "access", "grant", "hushed", "@devs", "ticket")
    assert bob.get("/hushed")[0] == 200
    assert _clone(bobs, "hushed", tmp_path).returncode == 0
    assert 'href="/hushed"' in bob.get("/")[1]
    assert bob.get("/hushed/settings/access")[0] == 403
    assert browser.get("/hushed")[0] == 404


def _clone(url: str, name: str, tmp_path):
    target = tmp_path / f"clone-{len(list(tmp_path.iterdir()))}"
    return git("clone", "-q", f"{url}/{name}.git", str(target), check=False,
               env={"GIT_TERMINAL_PROMPT": "0"})  # fmt: skip
