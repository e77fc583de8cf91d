"""API tokens on the web: a user's own page, a project's page for its
admins, and `gitforge token create/revoke` on the command line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from gitforge.cli import main
from gitforge.store import access
from gitforge.store.site import NewUser, SiteRepo
from gitforge.store.tokens import check_token, create_token, tokens_of
from gitforge.tasks.access import change_site
from gitforge.tasks.site import add_user
from tests.web.signin import sign_in

NEXT_YEAR = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()
_SECRET = re.compile(r'class="token-secret" readonly value="([0-9a-f]{64})"')


@pytest.fixture
def users(site_home):
    """carol (a plain user) and dave (admin of foo, nothing on ns/bar)."""
    for name in ("carol", "dave"):
        add_user(site_home, NewUser(name, f"{name}@example.org", name.title(),
                                    f"{name}-pw-123"))  # fmt: skip
    change_site(site_home, access.grant, "foo", "dave", "admin")
    return site_home


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _post(client, path: str, form_page: str | None = None, **fields):
    data = dict(fields, csrf_token=_csrf(client, form_page or path))
    return client.post(path, data=data)


def _stored(site_home, user: str) -> list[dict]:
    with SiteRepo.open(site_home.repositories) as site:
        return tokens_of(site.snapshot(), user)


def _check(site_home, secret: str) -> dict:
    with SiteRepo.open(site_home.repositories) as site:
        return check_token(site.snapshot(), secret)


# -- a user's own tokens -----------------------------------------------------------


def test_user_makes_a_token_and_sees_it_once(app, client, users):
    sign_in(app, client, "carol")

    made = _post(client, "/settings/tokens", description="laptop push",
                 expires=NEXT_YEAR, scopes=["commit", "issue_comment"])  # fmt: skip

    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    secret = _SECRET.search(made.get_data(as_text=True)).group(1)
    token = _check(users, secret)
    assert token["user"] == "carol" and token["project"] is None
    assert token["acls"] == ["commit", "issue_comment"]
    assert token["description"] == "laptop push"
    assert token["expires"] == f"{NEXT_YEAR}T23:59:59Z"
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert token["id"] in listing and "laptop push" in listing
    assert secret not in listing  # shown once, never again
    with client.session_transaction() as session:
        assert secret not in str(dict(session))


def test_user_limits_a_token_to_a_project(app, client, users):
    sign_in(app, client, "carol")
    made = _post(client, "/settings/tokens", project="ns/bar", expires=NEXT_YEAR,
                 scopes=["commit"])  # fmt: skip
    assert made.status_code == 201
    [token] = _stored(users, "carol")
    assert token["project"] == "ns/bar"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"expires": NEXT_YEAR}, "Choose at least one scope."),
        ({"expires": NEXT_YEAR, "scopes": ["root"]}, "&#39;root&#39; is not a scope."),
        ({"expires": "2001-01-01", "scopes": ["commit"]}, "is already past"),
        ({"expires": "next week", "scopes": ["commit"]}, "is not a date like"),
        ({"expires": NEXT_YEAR, "scopes": ["commit"], "project": "nope"},
         "There is no project &#39;nope&#39;."),
        ({"expires": NEXT_YEAR, "scopes": ["commit"], "description": "a\nb"},
         "must be one line"),
    ],
)  # fmt: skip
def test_bad_token_form_is_refused_and_kept(app, client, users, fields, message):
    sign_in(app, client, "carol")
    fields = dict(fields, description=fields.get("description", "keep me"))

    refused = _post(client, "/settings/tokens", **fields)

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert message in page
    assert 'value="keep me"' in page or "a\nb" in fields["description"]
    assert _stored(users, "carol") == []


def test_private_project_is_no_project_for_strangers(app, client, users):
    change_site(users, access.set_private, "ns/bar", True)
    sign_in(app, client, "carol")
    refused = _post(client, "/settings/tokens", project="ns/bar", expires=NEXT_YEAR,
                    scopes=["commit"])  # fmt: skip
    assert refused.status_code == 400
    assert "There is no project &#39;ns/bar&#39;." in refused.get_data(as_text=True)


def test_user_revokes_own_token_only(app, client, users):
    with SiteRepo.open(users.repositories) as site:
        mine, doc = create_token(site, "carol", ["commit"])
        _theirs, other = create_token(site, "dave", ["commit"])
    sign_in(app, client, "carol")

    foreign = _post(client, f"/settings/tokens/{other['id']}/revoke",
                    form_page="/settings/tokens")  # fmt: skip
    revoked = _post(client, f"/settings/tokens/{doc['id']}/revoke",
                    form_page="/settings/tokens")  # fmt: skip

    assert foreign.status_code == 404
    assert revoked.status_code == 302
    assert _stored(users, "dave")[0]["revoked"] is None
    assert _stored(users, "carol")[0]["revoked"]
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert f"Token {doc['id']} is revoked" in listing
    assert "revoked " in listing


def test_token_pages_need_login_and_csrf(app, client, users):
    assert client.get("/settings/tokens").status_code == 302
    sign_in(app, client, "carol")
    forged = client.post("/settings/tokens", data={"expires": NEXT_YEAR,
                                                   "scopes": ["commit"]})  # fmt: skip
    assert forged.status_code == 400
    assert _stored(users, "carol") == []


def test_account_settings_link_to_tokens(app, client, users):
    sign_in(app, client, "carol")
    page = client.get("/settings").get_data(as_text=True)
    assert 'href="/settings/tokens"' in page


# -- a project's tokens --------------------------------------------------------------


def test_project_admin_makes_a_project_token(app, client, users):
    sign_in(app, client, "dave")

    made = _post(client, "/foo/settings/tokens", description="CI",
                 expires=NEXT_YEAR, scopes=["pull_request_flag"])  # fmt: skip

    assert made.status_code == 201
    secret = _SECRET.search(made.get_data(as_text=True)).group(1)
    token = _check(users, secret)
    assert (token["user"], token["project"]) == ("dave", "foo")
    listing = client.get("/foo/settings/tokens").get_data(as_text=True)
    assert token["id"] in listing and "API tokens" in listing


def test_project_admin_revokes_a_token_of_the_project_only(app, client, users):
    with SiteRepo.open(users.repositories) as site:
        _s, for_foo = create_token(site, "carol", ["commit"], "foo")
        _s, for_bar = create_token(site, "carol", ["commit"], "ns/bar")
    sign_in(app, client, "dave")
    page = "/foo/settings/tokens"

    other = _post(client, f"/foo/settings/tokens/{for_bar['id']}/revoke",
                  form_page=page)  # fmt: skip
    done = _post(client, f"/foo/settings/tokens/{for_foo['id']}/revoke",
                 form_page=page)  # fmt: skip

    assert other.status_code == 404
    assert done.status_code == 302
    revoked = {doc["project"]: doc["revoked"] for doc in _stored(users, "carol")}
    assert revoked["foo"] and revoked["ns/bar"] is None


def test_project_tokens_page_is_for_admins(app, client, users):
    sign_in(app, client, "carol")
    assert client.get("/foo/settings/tokens").status_code == 403
    sign_in(app, client, "dave")
    assert client.get("/ns/bar/settings/tokens").status_code == 403
    refused = _post(client, "/ns/bar/settings/tokens", form_page="/settings/tokens",
                    expires=NEXT_YEAR, scopes=["commit"])  # fmt: skip
    assert refused.status_code == 403
    assert _stored(users, "dave") == []


# -- the command line -------------------------------------------------------------


def _cli(site_home, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(site_home.home)])


def test_cli_creates_a_token_with_scopes_expiry_and_description(site_home):
    made = _cli(site_home, "token", "create", "admin", "--project", "foo",
                "--scope", "commit", "--scope", "pull_request_flag",
                "--expires", NEXT_YEAR, "--description", "build box")  # fmt: skip

    assert made.exit_code == 0, made.output
    secret = made.stdout.splitlines()[0]
    token = _check(site_home, secret)
    assert token["acls"] == ["commit", "pull_request_flag"]
    assert token["expires"] == f"{NEXT_YEAR}T23:59:59Z"
    assert (token["project"], token["description"]) == ("foo", "build box")
    assert f"id {token['id']}" in made.stderr


def test_cli_old_options_still_work(site_home):
    made = _cli(site_home, "token", "create", "admin", "--acl", "commit",
                "--days", "2")  # fmt: skip
    assert made.exit_code == 0, made.output
    token = _check(site_home, made.stdout.splitlines()[0])
    assert token["acls"] == ["commit"]
    soon = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert token["expires"].startswith(soon)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--expires", "2001-01-01"], "2001-01-01 is already past"),
        (["--expires", "soon"], "'soon' is not a date like"),
        (["--expires", NEXT_YEAR, "--days", "3"], "give --expires or --days"),
        (["--scope", "root"], "'root' is not one of"),
    ],
)
def test_cli_refuses_bad_options_and_makes_nothing(site_home, args, message):
    made = _cli(site_home, "token", "create", "admin", *args)
    assert made.exit_code == 2
    assert message in made.output
    assert _stored(site_home, "admin") == []


def test_cli_revokes_a_token(site_home):
    with SiteRepo.open(site_home.repositories) as site:
        secret, doc = create_token(site, "admin", ["commit"])

    revoked = _cli(site_home, "token", "revoke", doc["id"])

    assert revoked.exit_code == 0, revoked.output
    assert f"Revoked token {doc['id']} of admin" in revoked.stdout
    with pytest.raises(Exception, match="was revoked on"):
        _check(site_home, secret)
    unknown = _cli(site_home, "token", "revoke", "0123456789abcdef")
    assert unknown.exit_code == 1 and "not found" in unknown.output
