"""Pushing over HTTP: the real git client against gitforge on loopback.

Who may push is asked of the policy with explicit credentials only (Basic
auth with a password or a token, or `Authorization: token`); the hooks see
the pusher as GITFORGE_USER and check each ref (tests/hooks cover them).
"""

# The fixtures of test_git_http are imported, and tests take them by name.
# ruff: noqa: F811

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import pytest

from gitforge.config import Config
from gitforge.store import access
from gitforge.store.site import NewUser, SiteRepo
from gitforge.store.tokens import create_token, revoke_token
from gitforge.tasks.access import change_site
from gitforge.tasks.site import add_user
from tests.conftest import git
from tests.web.signin import session_cookie
from tests.web.test_git_http import (  # noqa: F401  (fixtures)
    _clone,
    _commit,
    _get,
    forge,
    forge_app,
    source,
    url,
)

ADMIN_PASSWORD = "secret-pw1"  # tests/conftest.py's admin
NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


@pytest.fixture
def people(forge: Config) -> Config:
    """carol may read alpha but not push; rita commits to alpha."""
    for name in ("carol", "rita"):
        add_user(forge, NewUser(name, f"{name}@example.org", name.title(),
                                f"{name}-pw-123"))  # fmt: skip
    change_site(forge, access.grant, "alpha", "rita", "commit")
    return forge


def _with_user(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def _work(url: str, tmp_path: Path, name: str = "work") -> Path:
    """A clone of alpha with one new commit on main."""
    work = tmp_path / name
    _clone(f"{url}/alpha.git", work)
    _commit(work, f"{name}.txt", "pushed\n")
    return work


def _push(work: Path, remote: str, *refspecs: str, settings=()):
    configured = [arg for setting in settings for arg in ("-c", setting)]
    return git(*configured, "push", remote, *(refspecs or ("main",)), cwd=work,
               check=False, env=NO_PROMPT)  # fmt: skip


def _tip(config: Config, relpath: str = "alpha.git", ref: str = "main") -> str:
    repo = config.repositories / relpath
    return git("rev-parse", "--verify", "-q", ref, cwd=repo, check=False).stdout


def _token(config: Config, user: str, scopes=("commit",), project=None, days=30):
    with SiteRepo.open(config.repositories) as site:
        return create_token(site, user, list(scopes), project, days)[0]


def _basic(user: str, password: str) -> dict:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


# -- pushes that go through ------------------------------------------------------


def test_push_with_password_moves_the_branch(url, people, tmp_path, caplog):
    work = _work(url, tmp_path)
    remote = _with_user(f"{url}/alpha.git", "rita", "rita-pw-123")
    caplog.set_level(logging.INFO)

    pushed = _push(work, remote)

    assert pushed.returncode == 0, pushed.stderr
    assert _tip(people) == git("rev-parse", "main", cwd=work).stdout
    assert "rita-pw-123" not in caplog.text  # credentials never reach a log
    assert "git push over HTTP to alpha.git by rita (password)" in caplog.text


def test_push_with_token_as_password_and_in_header(url, people, tmp_path):
    work = _work(url, tmp_path)
    token = _token(people, "rita")

    as_password = _push(work, _with_user(f"{url}/alpha.git", "rita", token))
    assert as_password.returncode == 0, as_password.stderr
    _commit(work, "more.txt", "more\n")
    header = f"http.extraHeader=Authorization: token {token}"
    in_header = _push(work, f"{url}/alpha.git", settings=[header])

    assert in_header.returncode == 0, in_header.stderr
    assert _tip(people) == git("rev-parse", "main", cwd=work).stdout


def test_pusher_reaches_the_hooks_as_gitforge_user(url, people, tmp_path):
    """The pre-receive hook attributes the push to the authenticated user:
    a collaborator's push outside their branches is refused by name."""
    change_site(people, access.grant, "alpha", "carol", "collaborator",
                ["release/*"])  # fmt: skip
    work = _work(url, tmp_path)
    remote = _with_user(f"{url}/alpha.git", "carol", "carol-pw-123")
    before = _tip(people)

    release = _push(work, remote, "main:refs/heads/release/1.0")
    refused = _push(work, remote, "main")

    assert release.returncode == 0, release.stderr
    assert _tip(people, ref="release/1.0") == git("rev-parse", "main", cwd=work).stdout
    assert refused.returncode != 0
    assert "refs/heads/main: carol may not push here" in refused.stderr
    assert _tip(people) == before


# -- refusals ----------------------------------------------------------------------


def test_anonymous_push_is_asked_for_credentials(url, people, tmp_path):
    work = _work(url, tmp_path)
    before = _tip(people)

    pushed = _push(work, f"{url}/alpha.git")

    assert pushed.returncode != 0
    assert "could not read Username" in pushed.stderr  # git was asked to log in
    assert _tip(people) == before
    for path in ("/alpha.git/info/refs?service=git-receive-pack",
                 "/nothing.git/info/refs?service=git-receive-pack"):  # fmt: skip
        answer = _get(url, path)
        assert answer.status == 401  # the same for a repo that is not there
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="gitforge"'
    assert _get(url, "/alpha.git/git-receive-pack", method="POST").status == 401


def test_session_cookie_alone_does_not_push(url, people, forge_app, tmp_path):
    work = _work(url, tmp_path)
    cookie = f"http.extraHeader=Cookie: {session_cookie(forge_app, 'admin')}"
    before = _tip(people)

    pushed = _push(work, f"{url}/alpha.git", settings=[cookie])

    assert pushed.returncode != 0
    assert _tip(people) == before


@pytest.mark.parametrize(
    "user, password, message",
    [
        ("rita", "wrong-password", "remote: Unknown user or wrong password."),
        ("nobody", "whatever-pw", "remote: Unknown user or wrong password."),
    ],
)
def test_wrong_password_is_refused(url, people, tmp_path, user, password, message):
    work = _work(url, tmp_path)
    before = _tip(people)

    pushed = _push(work, _with_user(f"{url}/alpha.git", user, password))

    assert pushed.returncode != 0
    assert message in pushed.stderr
    assert "Authentication failed" in pushed.stderr
    assert _tip(people) == before


@pytest.mark.parametrize(
    "make, status, message",
    [
        (lambda c: _token(c, "rita", days=-1), 401, "expired on"),
        (lambda c: _revoked(c, "rita"), 401, "was revoked on"),
        (lambda c: _token(c, "rita", scopes=["pull_request_flag"]), 403,
         "The token lacks the scope commit, which pushing needs."),
        (lambda c: _token(c, "rita", project="ns/beta"), 403,
         "The token is for another project (ns/beta)."),
        (lambda c: _token(c, "carol"), 403,
         "carol may not push to alpha; ask an admin of the project"),
    ],
)  # fmt: skip
def test_unusable_token_is_refused(url, people, tmp_path, make, status, message):
    work = _work(url, tmp_path)
    token = make(people)
    user = "carol" if "carol" in message else "rita"
    before = _tip(people)

    pushed = _push(work, _with_user(f"{url}/alpha.git", user, token))

    assert pushed.returncode != 0
    assert _remote_says(pushed.stderr, message)
    assert _tip(people) == before
    refs = "/alpha.git/info/refs?service=git-receive-pack"
    assert _get_with(url, refs, {"Authorization": f"token {token}"}) == status


def _remote_says(stderr: str, message: str) -> bool:
    """Whether git showed `message` on a line from the server."""
    lines = stderr.splitlines()
    return any(line.startswith("remote: ") and message in line for line in lines)


def _revoked(config: Config, user: str) -> str:
    token = _token(config, user)
    with SiteRepo.open(config.repositories) as site:
        revoke_token(site, token[:16])
    return token


def test_token_of_another_user_is_refused(url, people, tmp_path):
    work = _work(url, tmp_path)
    pushed = _push(
        work, _with_user(f"{url}/alpha.git", "carol", _token(people, "rita"))
    )
    assert pushed.returncode != 0
    assert "remote: The token belongs to another user." in pushed.stderr


def test_private_project_is_absent_for_strangers(url, people, tmp_path):
    work = _work(url, tmp_path)
    change_site(people, access.set_private, "alpha", True)
    before = _tip(people)

    pushed = _push(work, _with_user(f"{url}/alpha.git", "carol", "carol-pw-123"))
    cloned = _clone(_with_user(f"{url}/alpha.git", "carol", "carol-pw-123"),
                    tmp_path / "again", check=False, env=NO_PROMPT)  # fmt: skip

    assert pushed.returncode != 0 and "not found" in pushed.stderr
    assert cloned.returncode != 0 and "not found" in cloned.stderr
    assert _tip(people) == before
    refs = "/alpha.git/info/refs?service=git-receive-pack"
    assert _get_with(url, refs, _basic("carol", "carol-pw-123")) == 404
    assert _get_with(url, refs, _basic("rita", "rita-pw-123")) == 200


def test_private_project_clones_with_credentials_sent_up_front(url, people, tmp_path):
    change_site(people, access.set_private, "alpha", True)
    token = _token(people, "rita")
    header = f"http.extraHeader=Authorization: token {token}"
    _clone(f"{url}/alpha.git", tmp_path / "clone", settings=[header], env=NO_PROMPT)
    assert (tmp_path / "clone" / "README").is_file()


def test_request_repo_push_reaches_the_request_checks(url, people, tmp_path):
    """Anybody signed in may push the discussion of a pull request; the
    hook then refuses what gitforge alone writes, naming the file."""
    work = tmp_path / "requests"
    _clone(f"{url}/requests/alpha.git", work)
    _commit(work, "mine.txt", "no\n")
    before = _tip(people, "requests/alpha.git")

    pushed = _push(work, _with_user(f"{url}/requests/alpha.git", "carol",
                                    "carol-pw-123"))  # fmt: skip

    assert pushed.returncode != 0
    assert "remote: gitforge: mine.txt: gitforge writes this file" in pushed.stderr
    assert _tip(people, "requests/alpha.git") == before
    anonymous = _push(work, f"{url}/requests/alpha.git")
    assert "could not read Username" in anonymous.stderr


def test_site_repo_is_for_site_admins(url, people):
    refs = "/site.git/info/refs?service=git-receive-pack"
    assert _get_with(url, refs, _basic("admin", ADMIN_PASSWORD)) == 200
    assert _get_with(url, refs, _basic("rita", "rita-pw-123")) == 404
    project_token = _token(people, "admin", project="alpha")
    assert _get_with(url, refs, {"Authorization": f"token {project_token}"}) == 403


def test_malformed_credentials_are_refused(url, people):
    refs = "/alpha.git/info/refs?service=git-receive-pack"
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Bearer abc", "token " + "f" * 64):  # fmt: skip
        assert _get_with(url, refs, {"Authorization": header}) == 401


def _get_with(url: str, path: str, headers: dict) -> int:
    import http.client

    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_large_push_in_chunks_goes_through(url, people, tmp_path):
    """Past http.postBuffer git probes the credentials with a small request,
    then sends the pack with chunked transfer encoding."""
    work = _work(url, tmp_path)
    (work / "noise.bin").write_bytes(os.urandom(3_000_000))  # will not compress
    git("add", "noise.bin", cwd=work)
    git("commit", "-qm", "Noise", cwd=work)
    trace = tmp_path / "curl.trace"

    pushed = git("push", _with_user(f"{url}/alpha.git", "rita", "rita-pw-123"),
                 "main", cwd=work, check=False,
                 env={**NO_PROMPT, "GIT_TRACE_CURL": str(trace),
                      "GIT_TRACE_CURL_NO_DATA": "1"})  # fmt: skip

    assert pushed.returncode == 0, pushed.stderr
    assert "Send header: Transfer-Encoding: chunked" in trace.read_text()
    assert _tip(people) == git("rev-parse", "main", cwd=work).stdout


def test_reads_with_credentials_go_by_them(url, people):
    refs = "/alpha.git/info/refs?service=git-upload-pack"
    assert _get_with(url, refs, _basic("carol", "carol-pw-123")) == 200
    assert _get_with(url, refs, _basic("carol", "wrong-password")) == 401
    for_beta = _token(people, "carol", scopes=["pull_request_flag"], project="ns/beta")
    assert _get_with(url, refs, {"Authorization": f"token {for_beta}"}) == 403
    beta = "/ns/beta.git/info/refs?service=git-upload-pack"
    assert _get_with(url, beta, {"Authorization": f"token {for_beta}"}) == 200
