"""Hostile input to access control: git over HTTP, API tokens, the project
settings forms, groups, ssh keys and the hook service's socket.

Each attack must be refused with a clear message (or an answer that tells
nothing), leak nothing and change nothing: where a write is tried, the tips
of the site repo and of the code repo are compared before and after. The
client gets the 500 page a real server sends, so a crash shows up as a
wrong status code rather than as an exception.
"""

from __future__ import annotations

import base64
import html
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from gitforge.config import Config
from gitforge.gitolite.keydir import keydir_files
from gitforge.gitolite.state import SiteState, User
from gitforge.hooks.service import HookService
from gitforge.store import access
from gitforge.store.site import SiteRepo
from gitforge.store.tokens import create_token, revoke_token
from gitforge.tasks.access import change_site
from gitforge.tasks.projects import create_project
from tests.conftest import git
from tests.store.test_access import fingerprint_of, public_key
from tests.web import test_ticket_views as ticket_tests
from tests.web.request_support import post

# The ticket pages' fixtures, by name: alice and bob besides the admin, and
# a function that logs a test client in through /login.
people, login = ticket_tests.people, ticket_tests.login
PASSWORD = ticket_tests.PASSWORD  # alice's and bob's
UPLOAD = "service=git-upload-pack"
RECEIVE = "service=git-receive-pack"


@pytest.fixture
def web(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app.test_client()


@pytest.fixture
def tool(people, tmp_path):
    """Project `tool`, owned by alice (no site admin), with a main branch;
    foo (the admin's) gets the same commit."""
    create_project(people, "tool", "alice", "A tool")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    (work / "README").write_text("hello\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "First", cwd=work)
    for name in ("tool", "foo"):
        git("push", "-q", str(people.repositories / f"{name}.git"), "main", cwd=work)
    return people


def site_tip(config: Config) -> str:
    with SiteRepo.open(config.repositories) as site:
        return str(site.tip().id)


def code_tip(config: Config, relpath: str = "tool.git") -> str:
    repo = config.repositories / relpath
    return git("rev-parse", "--verify", "-q", "main", cwd=repo, check=False).stdout


def stored_project(config: Config, fullname: str = "tool") -> dict:
    with SiteRepo.open(config.repositories) as site:
        return site.project(fullname)


def token_of(config, user, scopes=("commit",), project=None, days=30) -> str:
    with SiteRepo.open(config.repositories) as site:
        return create_token(site, user, list(scopes), project, days)[0]


def basic(user: str | bytes, password: str | bytes) -> dict:
    raw = user if isinstance(user, bytes) else user.encode()
    raw += b":" + (password if isinstance(password, bytes) else password.encode())
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# -- git over HTTP: credentials ------------------------------------------------


def _raw_basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize(
    "header",
    [
        _raw_basic(b"no-colon-at-all"),
        _raw_basic(b":" + PASSWORD.encode()),  # no user name
        _raw_basic(b"alice:\xff\xfe" + PASSWORD.encode()),  # not UTF-8
        _raw_basic(b"\xc3(:" + PASSWORD.encode()),
        {"Authorization": "Basic " + "QUFB" * 250_000},  # a megabyte, no colon
        _raw_basic(b"alice:" + b"x" * 1_000_000),  # a megabyte of password
        {"Authorization": "Basic YWxpY2U6c2VjcmV0LXB3MQ"},  # padding cut off
        {"Authorization": "Basic"},
        {"Authorization": "Basic \x7f\x00"},
        {"Authorization": "token " + "g" * 64},
        {"Authorization": "token "},
    ],
)
def test_malformed_credentials_get_a_plain_401_that_echoes_nothing(web, tool, header):
    before = code_tip(tool)
    for method, path in (("GET", f"/tool.git/info/refs?{RECEIVE}"),
                         ("POST", "/tool.git/git-receive-pack"),
                         ("GET", f"/tool.git/info/refs?{UPLOAD}")):  # fmt: skip
        answer = web.open(path, method=method, headers=header, data=b"0000")
        assert answer.status_code == 401, (path, answer.status_code, answer.data[:200])
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="gitforge"'
        assert answer.content_type.startswith("text/plain")
        assert len(answer.data) < 300  # a reason, not what was sent
        assert PASSWORD.encode() not in answer.data
    assert code_tip(tool) == before


def test_a_password_that_looks_like_another_users_token_is_not_that_token(web, tool):
    """bob's token as alice's Basic password: refused by name, and it does
    not open what bob may do."""
    change_site(tool, access.grant, "tool", "bob", "commit")
    stolen = token_of(tool, "bob")
    before = code_tip(tool)
    for path, method in ((f"/tool.git/info/refs?{RECEIVE}", "GET"),
                         ("/tool.git/git-receive-pack", "POST")):  # fmt: skip
        refused = web.open(path, method=method, headers=basic("alice", stolen))
        assert refused.status_code == 401
        assert refused.text == "The token belongs to another user.\n"
    # In any letter case: names are compared as they are stored.
    refused = web.get(f"/tool.git/info/refs?{RECEIVE}", headers=basic("BOB", stolen))
    assert refused.status_code == 401
    assert code_tip(tool) == before


def test_a_token_limited_to_one_project_opens_no_other(web, tool):
    """alice holds commit on foo too, but her token is for tool only."""
    change_site(tool, access.grant, "foo", "alice", "commit")
    for_tool = token_of(tool, "alice", project="tool")
    before = code_tip(tool, "foo.git")
    for headers in ({"Authorization": f"token {for_tool}"}, basic("alice", for_tool)):
        read = web.get(f"/foo.git/info/refs?{UPLOAD}", headers=headers)
        assert read.status_code == 403
        assert read.text == "The token is for another project (tool).\n"
        push = web.get(f"/foo.git/info/refs?{RECEIVE}", headers=headers)
        assert push.status_code == 403 and "another project (tool)" in push.text
        body = web.post("/foo.git/git-receive-pack", headers=headers, data=b"0000")
        assert body.status_code == 403
        # Nor a fork of it, nor the site repo, nor the ticket repo of another.
        for path in ("/tickets/foo.git", "/requests/foo.git"):
            assert web.get(f"{path}/info/refs?{RECEIVE}", headers=headers
                           ).status_code == 403  # fmt: skip
        # Its own project's repos it does reach.
        own = web.get(f"/tool.git/info/refs?{RECEIVE}", headers=headers)
        assert own.status_code == 200
    assert code_tip(tool, "foo.git") == before


def _answer(response, asked: str = "", instead: str = "") -> tuple:
    """What a client learns from `response`; the 404 page links to the
    login with the path it was asked for, which may be put back to
    `instead` to compare answers to two paths of one length."""
    headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
    body = response.data.replace(asked.encode(), instead.encode())
    return response.status_code, headers, body


@pytest.mark.parametrize(
    "present, absent",
    [
        # Names of one length: the 404 page shows the path it was asked for.
        ("/tool.git", "/nope.git"),
        ("/tickets/tool.git", "/tickets/nope.git"),
        ("/requests/tool.git", "/requests/nope.git"),
        ("/site.git", "/nope.git"),
    ],
)
def test_a_private_repo_answers_exactly_like_an_absent_one(web, tool, present, absent):
    change_site(tool, access.set_private, "tool", True)
    bob_token = token_of(tool, "bob")
    bob_for_foo = token_of(tool, "bob", project="foo")
    strangers = [
        {},  # anonymous
        basic("bob", PASSWORD),
        {"Authorization": f"token {bob_token}"},
        basic("bob", bob_token),
        {"Authorization": f"token {bob_for_foo}"},
    ]
    for headers in strangers:
        for method, suffix in (("GET", f"/info/refs?{UPLOAD}"),
                               ("GET", f"/info/refs?{RECEIVE}"),
                               ("GET", "/info/refs"),
                               ("POST", "/git-upload-pack"),
                               ("POST", "/git-receive-pack")):  # fmt: skip
            private = web.open(present + suffix, method=method, headers=headers)
            missing = web.open(absent + suffix, method=method, headers=headers)
            assert private.status_code in (401, 404), private.status_code
            same = _answer(private, present, absent) == _answer(missing)
            assert same, (headers, suffix)


@pytest.mark.parametrize(
    "path",
    [
        "/../site.git",
        "/tool.git/../site.git",
        "/tickets/../site.git",
        "/forks/../site.git",
        "/forks/alice/../../site.git",
        "/./site.git",
        "/%2e%2e/site.git",
        "/tool.git/%2e%2e/site.git",
        "/tickets/..%2fsite.git",
        "/SITE.git",
        "/site.git.git",
        "/tool.git/objects/../../site.git",
        "/forks/alice/tool.git",
    ],
)
def test_receive_pack_path_tricks_reach_no_other_repo(web, tool, path):
    """alice pushes with her password to paths that might lead a careless
    bridge to the site repo (hers to push to only if she were a site
    admin) or to a repo that does not exist."""
    before = site_tip(tool), code_tip(tool)
    headers = basic("alice", PASSWORD)
    refs = web.get(f"{path}/info/refs?{RECEIVE}", headers=headers)
    pushed = web.post(f"{path}/git-receive-pack", headers=headers, data=b"0000")
    assert refs.status_code == 404, (refs.status_code, refs.data[:200])
    assert pushed.status_code == 404
    assert (site_tip(tool), code_tip(tool)) == before


def test_site_repo_is_absent_for_a_non_admin_even_with_a_commit_token(web, tool):
    """alice owns a project and has a token for every project with every
    scope: still no site repo, whether she reads or pushes."""
    everything = token_of(tool, "alice", scopes=("commit", "modify_project"))
    before = site_tip(tool)
    for headers in (basic("alice", PASSWORD), {"Authorization": f"token {everything}"}):
        for method, suffix in (("GET", f"/info/refs?{RECEIVE}"),
                               ("GET", f"/info/refs?{UPLOAD}"),
                               ("POST", "/git-receive-pack")):  # fmt: skip
            answer = web.open(f"/site.git{suffix}", method=method, headers=headers,
                              data=b"0000")  # fmt: skip
            assert answer.status_code == 404
    assert site_tip(tool) == before


def test_a_token_revoked_between_the_two_requests_of_a_push_pushes_nothing(web, tool):
    secret = token_of(tool, "alice")
    headers = basic("alice", secret)
    assert web.get(f"/tool.git/info/refs?{RECEIVE}", headers=headers).status_code == 200
    with SiteRepo.open(tool.repositories) as site:
        revoke_token(site, secret[:16])
    before = code_tip(tool)
    pushed = web.post("/tool.git/git-receive-pack", headers=headers, data=b"0000")
    assert pushed.status_code == 401 and "was revoked on" in pushed.text
    assert code_tip(tool) == before


def test_a_grant_revoked_between_the_two_requests_of_a_push_pushes_nothing(web, tool):
    change_site(tool, access.grant, "tool", "bob", "commit")
    headers = basic("bob", PASSWORD)
    assert web.get(f"/tool.git/info/refs?{RECEIVE}", headers=headers).status_code == 200
    change_site(tool, access.revoke, "tool", "bob")
    before = code_tip(tool)
    pushed = web.post("/tool.git/git-receive-pack", headers=headers, data=b"0000")
    assert pushed.status_code == 403 and "bob may not push to tool" in pushed.text
    assert code_tip(tool) == before


def test_a_session_cookie_with_a_strangers_token_reads_as_the_token(app, web, tool):
    """Signed in as the admin in the browser, but sending bob's token: the
    request is bob's, and the private project is absent."""
    change_site(tool, access.set_private, "tool", True)
    from tests.web.signin import sign_in

    sign_in(app, web, "admin")
    assert web.get(f"/tool.git/info/refs?{UPLOAD}").status_code == 200
    bobs = {"Authorization": f"token {token_of(tool, 'bob')}"}
    assert web.get(f"/tool.git/info/refs?{UPLOAD}", headers=bobs).status_code == 404


# -- the JSON API --------------------------------------------------------------

FLAG = "/api/0/{}/pull-request/1/flag"


def test_api_token_of_a_user_removed_from_a_private_project_finds_nothing(web, tool):
    change_site(tool, access.grant, "tool", "bob", "commit")
    change_site(tool, access.set_private, "tool", True)
    secret = token_of(tool, "bob", scopes=("pull_request_flag",), project="tool")
    headers = {"Authorization": f"token {secret}"}
    body = {"name": "CI", "status": "success"}
    reached = web.post(FLAG.format("tool"), json=body, headers=headers)
    assert reached.status_code == 404 and reached.json["error_code"] == "ENOREQ"
    change_site(tool, access.revoke, "tool", "bob")
    gone = web.post(FLAG.format("tool"), json=body, headers=headers)
    absent = web.post(FLAG.format("nothing"), json=body, headers=headers)
    assert gone.status_code == 404
    assert _answer(gone) == _answer(absent)


@pytest.mark.parametrize(
    "authorization",
    [
        "token {secret} ",  # a trailing space is stripped, and still works
        "token {secret}x",
        "token {secret}\tjunk",
        "Token  {secret}",
        "Bearer {secret}",
        "Basic {basic}",  # the API takes tokens only, not Basic auth
        "token {upper}",
    ],
)
def test_api_token_header_variants(web, tool, authorization):
    """Only `token <TOKEN>` opens the API; anything else is a JSON 401."""
    secret = token_of(tool, "admin", scopes=("pull_request_flag",))
    header = authorization.format(
        secret=secret,
        upper=secret.upper(),
        basic=base64.b64encode(f"admin:{secret}".encode()).decode(),
    )
    answer = web.post(FLAG.format("tool"), json={"name": "CI", "status": "success"},
                      headers={"Authorization": header})  # fmt: skip
    if authorization in ("token {secret} ", "Token  {secret}"):
        assert answer.status_code == 404  # reached: there is no pull request 1
        return
    assert answer.status_code == 401, (answer.status_code, answer.data[:200])
    assert answer.json["error_code"] == "EINVALIDTOK"
    assert secret not in answer.text


def test_api_ignores_the_session_cookie(app, web, tool):
    """A page that makes the browser post to the API gets nothing from the
    admin's session: no token, no request, and a private project is
    absent."""
    from tests.web.signin import sign_in

    change_site(tool, access.set_private, "tool", True)
    sign_in(app, web, "admin")
    answer = web.post(FLAG.format("tool"), data={"name": "CI", "status": "success"})
    assert answer.status_code == 404  # the project, for nobody
    answer = web.post(FLAG.format("foo"), data={"name": "CI", "status": "success"})
    assert answer.status_code == 401 and answer.json["error_code"] == "EINVALIDTOK"


# -- project settings forms ----------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(subject="nobody", level="commit"), "There is no user 'nobody'."),
        (dict(subject="@nonexistent", level="commit"),
         "There is no group 'nonexistent'."),
        (dict(subject="@", level="commit"), "Name a user, or a group as @group."),
        (dict(subject="@@devs", level="commit"), "Invalid group name '@devs'"),
        (dict(subject="bob", level="owner"), "Choose a level"),
        # The form takes any letter case, the store only its own words.
        (dict(subject="bob", level="Admin"),
         "Choose a level|'level' must be one of admin, commit"),
        (dict(subject="bob", level="admin\n"), "Choose a level"),
        (dict(subject="bob", level="collaborator", branches="../*"),
         "'../*' is not a branch pattern"),
        (dict(subject="bob", level="collaborator", branches="release/../main"),
         "is not a branch pattern"),
        (dict(subject="bob", level="collaborator", branches="/main"),
         "'/main' is not a branch pattern"),
        (dict(subject="bob", level="collaborator", branches="main\n- = @all"),
         "'- = @all' is not a branch pattern"),
        (dict(subject="bob", level="collaborator", branches="ma$in"),
         "is not a branch pattern"),
        (dict(subject="bob", level="collaborator", branches="x" * 201),
         "is not a branch pattern"),
        (dict(subject="bob", level="collaborator",
              branches=",".join(f"b{n}" for n in range(51))),
         "at most 50 branch patterns"),
        (dict(subject="bob\nrepo site\n    RW+ = bob", level="commit"),
         "Invalid user name"),
        (dict(subject="bob\r\nX-Injected: 1", level="commit"), "Invalid user name"),
        (dict(subject="b" * 100_000, level="commit"), "Invalid user name"),
        (dict(subject="alice", level="ticket"), "alice owns the project"),
        (dict(subject="admin", level="ticket") | {"subject": "ADMIN"},
         "There is no user 'ADMIN'."),
    ],
)  # fmt: skip
def test_hostile_grants_are_refused_and_write_nothing(tool, login, fields, message):
    alice = login("alice")
    before = site_tip(tool), stored_project(tool)
    refused = post(alice, "/tool/settings/access", **fields)
    assert refused.status_code == 400, refused.status_code
    page = text(refused)
    assert any(part in page for part in message.split("|")), page[:2000]
    assert (site_tip(tool), stored_project(tool)) == before


def test_a_pattern_named_like_a_full_ref_grants_no_real_branch(tool, login):
    """`refs/heads/*` is a valid pattern of branch names, so it matches only
    branches called refs/heads/...: not main."""
    from gitforge.index import queries
    from gitforge.index.db import engine_for
    from gitforge.policy import Action, may

    alice = login("alice")
    saved = post(alice, "/tool/settings/access", subject="bob", level="collaborator",
                 branches="refs/heads/*")  # fmt: skip
    assert saved.status_code == 302
    engine = engine_for(tool)
    bob = queries.viewer(engine, "bob")
    facts = queries.facts(queries.project(engine, "tool"))
    assert not may(bob, Action.PUSH_CODE, facts, ref="refs/heads/main")
    assert not may(bob, Action.REWRITE_BRANCH, facts, ref="refs/heads/main")
    assert not may(bob, Action.PUSH_CODE, facts, ref="refs/tags/v1")


def test_the_owner_cannot_be_revoked_nor_replaced(tool, login):
    change_site(tool, access.grant, "tool", "bob", "admin")
    bob = login("bob")
    before = site_tip(tool)
    revoked = post(bob, "/tool/settings/access/revoke", subject="alice")
    assert revoked.status_code == 400
    assert "There is no access to revoke: alice on tool." in text(revoked)
    for subject in ("", "@", "../alice", "ALICE", "@alice"):
        refused = post(bob, "/tool/settings/access/revoke", subject=subject)
        assert refused.status_code == 400, subject
    assert site_tip(tool) == before
    # The general form has no owner field: one sent is ignored.
    post(bob, "/tool/settings", owner="bob", description="Mine now")
    assert stored_project(tool)["owner"] == "alice"


SETTINGS_FORMS = [
    ("/tool/settings", dict(description="pwned", visibility="private")),
    ("/tool/settings/access", dict(subject="bob", level="admin")),
    ("/tool/settings/access/revoke", dict(subject="carol")),
    ("/tool/settings/branches", dict(patterns="")),
    ("/tool/settings/tickets", dict(tags="pwned #ff0000")),
    ("/tool/settings/tokens", dict(scopes="commit", expires="")),
]


@pytest.mark.parametrize("path, fields", SETTINGS_FORMS)
def test_settings_forms_without_the_csrf_token_write_nothing(tool, login, path, fields):
    alice = login("alice")
    alice.get("/tool/settings")  # the session has a CSRF token
    before = site_tip(tool)
    for token in (None, "", "forged"):
        data = dict(fields) if token is None else dict(fields, csrf_token=token)
        refused = alice.post(path, data=data)
        assert refused.status_code == 400 and "CSRF" in text(refused)
    assert site_tip(tool) == before


@pytest.mark.parametrize("level", [None, "ticket", "collaborator", "commit"])
@pytest.mark.parametrize("path, fields", SETTINGS_FORMS)
def test_settings_forms_are_refused_to_non_admins(tool, login, level, path, fields):
    if level is not None:
        branches = ["main"] if level == "collaborator" else []
        change_site(tool, access.grant, "tool", "bob", level, branches)
    change_site(tool, access.add_group, "ops", ["alice"])
    change_site(tool, access.grant, "tool", "@ops", "ticket")
    bob = login("bob")
    before = site_tip(tool)
    refused = post(bob, path, **fields)
    assert refused.status_code == 403, refused.status_code
    revoke_group = post(bob, "/tool/settings/access/revoke", subject="@ops")
    assert revoke_group.status_code == 403
    assert site_tip(tool) == before


@pytest.mark.parametrize("path, fields", SETTINGS_FORMS)
def test_settings_forms_of_a_private_project_are_absent_to_strangers(
    tool, login, path, fields
):
    change_site(tool, access.set_private, "tool", True)
    bob = login("bob")
    before = site_tip(tool)
    refused = post(bob, path, **fields)
    absent = post(bob, path.replace("/tool/", "/nothing/"), **fields)
    assert refused.status_code == absent.status_code == 404
    assert refused.data == absent.data
    assert site_tip(tool) == before


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(tags="\x1b[2J #ff0000"), "must be a short line"),
        (dict(tags="x" * 300 + " #ff0000"), "must be a short line"),
        (dict(milestones="v1\nv1"), "names one entry twice"),
        (dict(priorities="99999999999999999999999 High\n1 Low"), None),
        (dict(close_reasons="Fixed\u2028Injected"), None),
    ],
)
def test_hostile_ticket_settings_are_refused_or_kept_as_lines(
    tool, login, fields, message
):
    alice = login("alice")
    before = site_tip(tool), stored_project(tool)
    answer = post(alice, "/tool/settings/tickets", **fields)
    if message is not None:
        assert answer.status_code == 400 and message in text(answer)
        assert (site_tip(tool), stored_project(tool)) == before
        return
    # Accepted or refused, but never a crash, and every stored entry is
    # one printable line.
    assert answer.status_code in (302, 400), answer.status_code
    settings = stored_project(tool).get("ticket_settings") or {}
    for entries in settings.values():
        for entry in entries if isinstance(entries, list) else entries.values():
            assert entry.isprintable() and "\n" not in entry


@pytest.mark.parametrize("separator", [" ", ",", "\n"])
def test_a_huge_settings_form_is_refused_and_writes_nothing(tool, login, separator):
    alice = login("alice")
    before = site_tip(tool), stored_project(tool)
    patterns = separator.join(f"b{number}" for number in range(300_000))
    huge = post(alice, "/tool/settings/branches", patterns=patterns)
    assert huge.status_code in (400, 413)
    assert (site_tip(tool), stored_project(tool)) == before


# -- groups --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["all", "site", "devs.lock", ".devs", "devs/", "a b", "x" * 101, "devs\n",
     "d\u00e9vs", "CON", "@devs", "group.devs"],
)  # fmt: skip
def test_group_names_never_make_odd_paths(people, login, name):
    """Refused, or made under exactly that name as one file of groups/."""
    bob = login("bob")
    answer = post(bob, "/groups", name=name)
    assert answer.status_code in (302, 400), answer.status_code
    with SiteRepo.open(people.repositories) as site:
        names = site.snapshot().listdir("groups")
    if answer.status_code == 302:
        assert names == [f"{name.strip()}.json"]
    else:
        assert names == []


def test_a_group_may_not_take_the_name_of_a_user(people, login):
    """add_group's docstring: groups and users share one namespace in
    grants, so a group may not be named like a user. alice makes `@bob`,
    which an admin granting to bob may pick by mistake."""
    alice = login("alice")
    before = site_tip(people)
    refused = post(alice, "/groups", name="bob")
    assert refused.status_code == 400
    assert site_tip(people) == before


def test_a_stranger_cannot_change_a_granted_group(people, login):
    change_site(people, access.add_group, "devs", ["alice"])
    change_site(people, access.grant, "foo", "@devs", "commit")
    bob = login("bob")
    before = site_tip(people)
    for path, fields in (("/group/devs/members", {"add": "bob"}),
                         ("/group/devs/members", {"add": "bob", "remove": "alice"}),
                         ("/group/devs/members", {"remove": "alice"}),
                         ("/group/devs/delete", {}),
                         ("/group/DEVS/members", {"add": "bob"}),
                         ("/group/devs%2f..%2fx/members", {"add": "bob"})):  # fmt: skip
        assert post(bob, path, **fields).status_code in (403, 404), path
    assert site_tip(people) == before


def test_a_group_member_cannot_add_a_hostile_member_name(people, login):
    change_site(people, access.add_group, "devs", ["bob"])
    bob = login("bob")
    before = site_tip(people)
    for add in ("../users/admin", "admin\nrepo site", "@all", "-x"):
        refused = post(bob, "/group/devs/members", add=add)
        assert refused.status_code == 400, add
    assert site_tip(people) == before


def test_a_group_made_again_under_a_deleted_name_inherits_no_grant(people, login):
    change_site(people, access.add_group, "devs", ["alice"])
    change_site(people, access.grant, "foo", "@devs", "commit")
    assert post(login("alice"), "/group/devs/delete").status_code == 302
    bob = login("bob")
    assert post(bob, "/groups", name="devs").status_code == 302
    from gitforge.index import queries
    from gitforge.index.db import engine_for
    from gitforge.policy import Action, may

    engine = engine_for(people)
    facts = queries.facts(queries.project(engine, "foo"))
    assert not may(queries.viewer(engine, "bob"), Action.PUSH_CODE, facts)
    assert stored_project(people, "foo").get("access") == {}


# -- ssh keys ------------------------------------------------------------------


def _keys(config, user="bob") -> list[dict]:
    with SiteRepo.open(config.repositories) as site:
        return site.user(user).get("ssh_keys", [])


KEY = public_key("bob-laptop")


@pytest.mark.parametrize(
    "pasted, message",
    [
        (f'command="sh -i" {KEY}', "starts with its type"),
        (f'no-pty,from="*" {KEY}', "starts with its type"),
        (f'environment="X=1" {KEY} x', "starts with its type"),
        (f"{KEY}\ncommand=\"sh\" {public_key('x')}", "exactly one public key"),
        (f"{KEY}\rcommand=\"sh\" {public_key('x')}", "exactly one public key"),
        (f"{KEY}\u2028{public_key('x')}", "exactly one public key"),
        (f"{KEY} " + "c" * 20_000, "at most 16384 characters"),
        ("ssh-ed25519 " + public_key("x", "ssh-rsa").split()[1],
         "is not an ssh-ed25519 key"),
        ("ssh-ed25519 AAAA\x00BBBB", "not valid base64"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "is not an ssh-ed25519 key"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
         "private key"),
    ],
)  # fmt: skip
def test_hostile_keys_are_refused_and_commit_nothing(people, login, pasted, message):
    bob = login("bob")
    before = site_tip(people)
    refused = post(bob, "/settings/keys", key=pasted, title="")
    assert refused.status_code == 400
    assert message in text(refused), text(refused)[-1500:]
    assert site_tip(people) == before and _keys(people) == []


def test_a_keys_comment_and_title_never_reach_the_stored_key(people, login):
    bob = login("bob")
    comment = 'x" command="sh" ' + "y" * 2000
    added = post(bob, "/settings/keys", key=f"{KEY} {comment}",
                 title="t\n\x1b]0;owned\x07" + "z" * 500)  # fmt: skip
    assert added.status_code == 302
    [entry] = _keys(people)
    assert entry["key"] == KEY
    assert entry["title"].isprintable() and len(entry["title"]) <= 100


def test_one_key_is_held_by_one_account_and_the_other_is_not_named(people, login):
    assert post(login("alice"), "/settings/keys", key=KEY).status_code == 302
    bob = login("bob")
    before = site_tip(people)
    for pasted in (KEY, f"{KEY} other-comment", f"  {KEY}\n\n"):
        refused = post(bob, "/settings/keys", key=pasted)
        assert refused.status_code == 400
        assert "held by another account" in text(refused)
        assert "alice" not in text(refused)
    assert site_tip(people) == before
    assert _keys(people) == [] and [k["fingerprint"] for k in _keys(people, "alice")
                                    ] == [fingerprint_of(KEY)]  # fmt: skip


def test_keydir_leaves_out_every_key_that_could_carry_an_option():
    good = public_key("good")
    state = SiteState(users={
        "eve": User("eve", False, (
            f"{good}\ncommand=\"sh\" {good}",
            f'command="sh" {good}',
            f"{good} comment",
            f"{good}\r",
            good.replace(" ", "\t"),
            "ssh-dss " + good.split()[1],
        )),
        "eve\nrepo site": User("eve\nrepo site", True, (good,)),
        "../x": User("../x", False, (good,)),
        "ok": User("ok", False, (good,)),
    })  # fmt: skip
    files = keydir_files(state)
    assert files == {"ok@0.pub": f"{good}\n".encode()}


# -- the hook service socket ---------------------------------------------------


@pytest.fixture
def service(people):
    started = HookService(people.home).start()
    if started is None:
        pytest.skip("the home's path is too long for a unix socket here")
    yield started
    started.stop()


def _ask(path: str, line: bytes) -> dict | None:
    """Send one request line; the answer, or None if the service hung up."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(path)
        try:
            sock.sendall(line)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.makefile("rb").readline()
        except ConnectionResetError:
            return None
    return json.loads(answer) if answer else None


def _request(relpath="tickets/foo.git", updates=(), env=None) -> bytes:
    body = {"relpath": relpath, "updates": list(updates), "env": env or {}}
    return json.dumps(body).encode() + b"\n"


def test_the_hook_socket_is_the_forge_users_alone(service):
    mode = os.stat(service.path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) & 0o077 == 0, oct(stat.S_IMODE(mode))


ZERO = "0" * 40


@pytest.mark.parametrize(
    "line",
    [
        b"\n",
        b"null\n",
        b"[]\n",
        b'"tickets/foo.git"\n',
        b"\xff\xfe{}\n",
        b'{"relpath": 5, "updates": [], "env": {}}\n',
        b'{"relpath": "tickets/foo.git", "updates": {}, "env": {}}\n',
        b'{"relpath": "tickets/foo.git", "updates": [[1, 2, 3]], "env": {}}\n',
        b'{"relpath": "tickets/foo.git", "updates": [["a", "b"]], "env": {}}\n',
        b'{"relpath": "tickets/foo.git", "updates": [], "env": []}\n',
        b'{"relpath": "tickets/foo.git", "updates": [], "env": {"LD_PRELOAD": "x"}}\n',
        _request("/etc"),
        _request("../../.."),
        _request("tickets/../../../etc"),
        _request("nothing.git", [[ZERO, "1" * 40, "refs/heads/main"]]),
        b"{" * 100_000 + b"\n",  # nested past the parser's recursion limit
        b'{"relpath": "' + b"a" * (5 * 1024 * 1024) + b'"}\n',  # past the limit
    ],
)
def test_odd_hook_requests_get_no_verdict_and_leave_the_service_up(
    people, service, line
):
    answer = _ask(service.path, line)
    assert answer is None or "problems" not in answer, answer
    assert service.answered == 0
    # Still answering, and right.
    assert _ask(service.path, _request()) == {"problems": []}
    assert service.answered == 1


@pytest.mark.parametrize(
    "updates",
    [
        [["zz", "yy", "refs/heads/main"]],
        [[ZERO, ZERO, "refs/heads/main\x00x"]],
        [[ZERO, "1" * 40, "refs/heads/../../site"]],
        [[ZERO, "1" * 40, "-main"]],
    ],
)
def test_hook_requests_with_garbage_updates_are_never_accepted(
    people, service, updates
):
    answer = _ask(service.path, _request("tickets/foo.git", updates))
    assert answer is not None
    assert "problems" not in answer or answer["problems"], answer


@pytest.mark.parametrize("value", [["admin"], {"a": 1}, 5, None])
def test_hook_request_with_a_pusher_that_is_not_text_is_never_accepted(
    people, service, value
):
    update = [[ZERO, "1" * 40, "refs/heads/main"]]
    answer = _ask(service.path, _request("tickets/foo.git", update,
                                         {"GITFORGE_USER": value}))  # fmt: skip
    assert answer is not None
    assert "problems" not in answer or answer["problems"], answer


def test_a_hook_request_with_a_json_true_pusher_gets_no_verdict(tool, service):
    """The env of a hook holds strings only. A request whose GITFORGE_USER
    is JSON `true` is forged or broken, yet the service checks it as a
    push by the user called "True" (a valid name) and accepts it."""
    from gitforge.store.site import NewUser
    from gitforge.tasks.site import add_user

    add_user(tool, NewUser("True", "true@example.org", "T", PASSWORD))
    change_site(tool, access.grant, "tool", "True", "commit")
    tip = code_tip(tool).strip()
    update = [[tip, tip, "refs/heads/main"]]
    as_text = _ask(service.path, _request("tool.git", update,
                                          {"GITFORGE_USER": "True"}))  # fmt: skip
    assert as_text == {"problems": []}  # the real user True may push
    forged = _ask(service.path, _request("tool.git", update,
                                         {"GITFORGE_USER": True}))  # fmt: skip
    assert forged is not None and "problems" not in forged, forged


def test_a_hook_request_through_a_symlink_out_of_the_repositories_is_refused(
    people, service, tmp_path: Path
):
    outside = tmp_path / "outside.git"
    git("init", "-q", "--bare", str(outside))
    (people.repositories / "escape.git").symlink_to(outside)
    update = [[ZERO, "1" * 40, "refs/heads/main"]]
    answer = _ask(service.path, _request("escape.git", update))
    assert answer is not None and "problems" not in answer, answer
    assert service.answered == 0
