"""The JSON API: CI flags on pull requests, with tokens."""

from __future__ import annotations

import pytest

from gitforge.index import queries, request_queries
from gitforge.index.db import engine_for
from gitforge.store.documents import Identity
from gitforge.store.site import NewUser, SiteRepo
from gitforge.store.tokens import create_token, revoke_token
from gitforge.tasks import pull_requests as prs
from gitforge.tasks.site import add_user
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
FLAG_URL = "/api/0/foo/pull-request/1/flag"


@pytest.fixture
def pull_request(site_home, tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    for branch, name in (("main", "a.txt"), ("topic", "b.txt")):
        if branch != "main":
            git("checkout", "-q", "-b", branch, cwd=work)
        (work / name).write_text(name)
        git("add", "-A", cwd=work)
        git("commit", "-qm", f"add {name}", cwd=work)
        git("push", "-q", str(site_home.repositories / "foo.git"), branch, cwd=work)
    return prs.open_pull_request(site_home, "foo", ADMIN, prs.Branch("foo", "topic"),
                                 "main", "Topic")  # fmt: skip


def _token(site_home, user="admin", project="foo", acls=("pull_request_flag",),
           days=30):  # fmt: skip
    with SiteRepo.open(site_home.repositories) as site:
        return create_token(site, user, list(acls), project, days)[0]


def _flags(site_home):
    engine = engine_for(site_home)
    row = request_queries.request(engine, queries.project(engine, "foo"), 1)
    return request_queries.flags_of_request(engine, row.id)


def _post(client, token, **data):
    headers = {"Authorization": f"token {token}"} if token else {}
    return client.post(FLAG_URL, json=data, headers=headers)


def test_flag_is_added_then_updated(client, site_home, pull_request):
    token = _token(site_home)
    added = _post(client, token, username="CI", status="pending", comment="running",
                  url="https://ci.example.org/1")  # fmt: skip
    assert added.status_code == 201, added.json
    assert added.json["message"] == "Flag added"
    updated = _post(client, token, name="CI", status="success", percent="100",
                    comment="passed", url="https://ci.example.org/1")  # fmt: skip
    assert updated.status_code == 200 and updated.json["message"] == "Flag updated"
    [flag] = _flags(site_home)
    assert (flag.status, flag.percent, flag.username) == ("success", 100, "admin")


@pytest.mark.parametrize(
    "token_kind, status, message",
    [
        ("none", 401, "Missing or invalid token"),
        ("garbage", 401, "Missing or invalid token"),
        ("expired", 401, "expired on"),
        ("revoked", 401, "was revoked on"),
        ("other project", 403, "for another project"),
        ("no acl", 403, "lacks the scope pull_request_flag"),
        ("not a committer", 403, "carol may not flag here"),
    ],
)
def test_flag_without_a_valid_token_is_refused(
    client, site_home, pull_request, token_kind, status, message
):
    add_user(site_home, NewUser("carol", "carol@example.org", "Carol"))
    token = {
        "none": lambda: None,
        "garbage": lambda: "f" * 64,
        "other project": lambda: _token(site_home, project="ns/bar"),
        "no acl": lambda: _token(site_home, acls=()),
        "expired": lambda: _token(site_home, days=-1),
        "revoked": lambda: _revoked_token(site_home),
        "not a committer": lambda: _token(site_home, user="carol"),
    }[token_kind]()
    refused = _post(client, token, name="CI", status="success")
    assert refused.status_code == status
    assert message in refused.json["error"]
    assert _flags(site_home) == []


def _revoked_token(site_home) -> str:
    token = _token(site_home)
    with SiteRepo.open(site_home.repositories) as site:
        revoke_token(site, token[:16])
    return token


@pytest.mark.parametrize(
    "data, field",
    [
        ({"status": "success"}, "name"),
        ({"name": "CI", "status": "great"}, "status"),
        ({"name": "CI", "status": "success", "percent": "lots"}, "percent"),
        ({"name": "CI", "status": "success", "percent": 101}, "percent"),
        ({"name": "CI", "status": "success", "url": "javascript:alert(1)"}, "url"),
        ({"name": "CI", "status": "success", "comment": "a\nb"}, "comment"),
    ],
)
def test_bad_flag_fields_are_refused_by_name(
    client, site_home, pull_request, data, field
):
    refused = _post(client, _token(site_home), **data)
    assert refused.status_code == 400
    assert refused.json["error_code"] == "EINVALIDREQ"
    assert field in refused.json["errors"]
    assert _flags(site_home) == []


def test_unknown_pull_request_is_a_json_404(client, site_home, pull_request):
    token = _token(site_home)
    missing = client.post("/api/0/foo/pull-request/99/flag",
                          json={"name": "CI", "status": "success"},
                          headers={"Authorization": f"token {token}"})  # fmt: skip
    assert missing.status_code == 404 and missing.json["error_code"] == "ENOREQ"
    unknown = client.post("/api/0/nope/pull-request/1/flag", json={})
    assert unknown.status_code == 404 and "error" in unknown.json


def test_token_made_on_the_command_line_works(client, site_home, pull_request):
    from click.testing import CliRunner

    from gitforge.cli import main

    home = str(site_home.home)
    made = CliRunner().invoke(main, ["token", "create", "admin", "--project", "foo",
                                     "--home", home])  # fmt: skip
    assert made.exit_code == 0, made.output
    token = made.stdout.splitlines()[0]
    assert len(token) == 64
    assert _post(client, token, name="CI", status="success").status_code == 201
    with SiteRepo.open(site_home.repositories) as site:
        stored = site.snapshot().read(f"tokens/{token[:16]}.json")
    assert token not in str(stored)  # only its hash is kept
