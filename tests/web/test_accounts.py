"""Register, log in, log out, and the pages around them."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from gitforge.store.documents import SYSTEM
from gitforge.store.passwords import verify_password
from gitforge.store.site import SiteRepo
from gitforge.tasks.accounts import change_password as commit_password
from tests.web.conftest import ADMIN_PASSWORD


def token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def register(client, name="carol", email="carol@example.org", password="carol-pw-1",
             confirm=None):  # fmt: skip
    return client.post("/register", data={
        "csrf_token": token(client, "/register"), "name": name, "email": email,
        "password": password, "confirm": confirm or password})  # fmt: skip


def test_register_commits_the_user_and_logs_in(client, site_home):
    response = register(client)
    assert response.status_code == 302
    with SiteRepo.open(site_home.repositories) as site:
        stored = site.user("carol")
    assert stored["emails"] == ["carol@example.org"]
    assert "carol-pw-1" not in str(stored)
    page = client.get("/").get_data(as_text=True)
    assert "Log out" in page and "carol" in page


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(name="-bad"), "invalid user name"),
        (dict(name="api"), "reserved"),
        (dict(name="admin"), "already exists"),
        (dict(email="admin@example.org"), "already exists"),
        (dict(email="nope"), "does not look like an email"),
        (dict(password="short"), "at least 8 characters"),
        (dict(confirm="different-1"), "passwords differ"),
        (dict(name="gitforge"), "the forge&#39;s own name"),
        (dict(name="Root"), "kept for administrators"),
        (dict(name="tree"), "reserved"),
        (dict(name="new_issue"), "reserved"),
        (
            dict(email="carol@example.org\r\nBcc: all@example.org"),
            "must not contain line breaks or other control characters",
        ),
        (dict(email="carol@exa\nmple.org"), "line breaks"),
        (dict(email="carol\x1b@example.org"), "control characters"),
        (dict(email="carol@example.org\u2028x"), "line breaks"),
        (dict(email="Carol <carol@example.org>"), "must not contain &#39;&lt;&#39;"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(client, site_home, fields,
                                                       message):  # fmt: skip
    with SiteRepo.open(site_home.repositories) as site:
        before = site.tip().id
    response = register(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with SiteRepo.open(site_home.repositories) as site:
        assert site.tip().id == before


def test_login_wrong_password_and_logout(client):
    data = {"csrf_token": token(client), "name": "admin", "password": "wrong-pw-1"}
    wrong = client.post("/login", data=data)
    assert wrong.status_code == 401
    assert "wrong password" in wrong.get_data(as_text=True)
    data["password"] = ADMIN_PASSWORD
    assert client.post("/login", data=data).status_code == 302
    assert "Log out" in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token(client, "/")})
    assert "Log in" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\\evil.example",
        "/\r\nSet-Cookie:x=1",
    ],
)
def test_login_never_redirects_off_site(client, target):
    data = {"csrf_token": token(client), "name": "admin",
            "password": ADMIN_PASSWORD, "next": target}  # fmt: skip
    response = client.post("/login", data=data)
    assert response.headers["Location"] == "/"


def test_login_gives_a_fresh_session(client):
    before = token(client)
    data = {"csrf_token": before, "name": "admin", "password": ADMIN_PASSWORD}
    client.post("/login", data=data)
    assert token(client, "/") != before


def test_post_without_csrf_token_is_refused(client, site_home):
    response = client.post("/register", data={
        "name": "mallory", "email": "m@example.org", "password": "mallory-pw1",
        "confirm": "mallory-pw1"})  # fmt: skip
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with SiteRepo.open(site_home.repositories) as site:
        assert "mallory.json" not in site.snapshot().listdir("users")


def test_closed_registration(site_home):
    from gitforge.config import Config
    from gitforge.web.app import create_app

    closed = Config(site_home.home, {"registration": "closed"})
    client = create_app(closed).test_client()
    assert client.get("/register").status_code == 403


def test_home_and_user_pages(client):
    home = client.get("/").get_data(as_text=True)
    assert "foo" in home and "ns/bar" in home
    user = client.get("/user/admin").get_data(as_text=True)
    assert "Ad Min" in user and "admin@example.org" not in user
    assert client.get("/user/nobody").status_code == 404


def test_pages_carry_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_register_names_the_email_field_in_its_message(client):
    response = register(client, email="carol@example.org\nBcc: all@example.org")
    page = response.get_data(as_text=True)
    assert "The email address must not contain line breaks" in page


# -- sessions end when they should ------------------------------------------


def log_in(client, name="admin", password=ADMIN_PASSWORD):
    data = {"csrf_token": token(client), "name": name, "password": password}
    return client.post("/login", data=data)


def signed_in_as(client) -> str | None:
    page = client.get("/").get_data(as_text=True)
    found = re.search(r'<a href="/user/([^"]+)">', page)
    return found.group(1) if found and "Log out" in page else None


def test_logout_ends_the_session_on_the_server(client):
    log_in(client)
    saved = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": token(client, "/")})
    assert signed_in_as(client) is None

    client.set_cookie("session", saved)  # a copy taken before logging out
    assert signed_in_as(client) is None
    assert client.get("/settings").status_code == 302  # to the login page


def test_a_cookie_naming_a_user_logs_nobody_in(app, client):
    signer = app.session_interface.get_signing_serializer(app)
    client.set_cookie("session", signer.dumps({"user": "admin"}))
    assert signed_in_as(client) is None


def test_sessions_outlive_other_logins_and_logouts(app):
    first, second = app.test_client(), app.test_client()
    log_in(first)
    log_in(second)
    second.post("/logout", data={"csrf_token": token(second, "/")})
    assert signed_in_as(first) == "admin"
    assert signed_in_as(second) is None


# -- changing the password ----------------------------------------------------


def change_password(client, current=ADMIN_PASSWORD, new="new-secret-2",
                    confirm=None):  # fmt: skip
    return client.post("/settings/password", data={
        "csrf_token": token(client, "/settings"), "current": current,
        "password": new, "confirm": confirm or new})  # fmt: skip


def test_password_change_commits_and_swaps_the_passwords(app, site_home):
    client, elsewhere = app.test_client(), app.test_client()
    log_in(client)
    log_in(elsewhere)
    with SiteRepo.open(site_home.repositories) as site:
        before = site.tip().id

    response = change_password(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings"
    with SiteRepo.open(site_home.repositories) as site:
        tip = site.tip()
        stored = site.user("admin")
    assert tip.parents[0].id == before
    assert tip.author.name == "Ad Min" and "password of admin" in tip.message
    assert verify_password(stored["password"], "new-secret-2")
    assert "new-secret-2" not in str(stored)
    assert signed_in_as(client) == "admin"  # this browser stays in
    assert signed_in_as(elsewhere) is None  # every other one is out
    stranger = app.test_client()
    assert log_in(stranger).status_code == 401  # the old password
    assert log_in(stranger, password="new-secret-2").status_code == 302


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(current="wrong-pw-1"), "current password is wrong"),
        (dict(new="short"), "at least 8 characters"),
        (dict(confirm="other-secret-3"), "new passwords differ"),
        (dict(new=""), "new password is missing"),
    ],
)
def test_password_change_refuses_bad_input(client, site_home, fields, message):
    log_in(client)
    with SiteRepo.open(site_home.repositories) as site:
        before = site.tip().id
    response = change_password(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with SiteRepo.open(site_home.repositories) as site:
        assert site.tip().id == before
    assert signed_in_as(client) == "admin"


def test_password_change_needs_the_form_token_and_a_login(client, site_home):
    log_in(client)
    forged = client.post("/settings/password", data={
        "current": ADMIN_PASSWORD, "password": "new-secret-2",
        "confirm": "new-secret-2"})  # fmt: skip
    assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token(client, "/")})
    anonymous = client.get("/settings")
    assert anonymous.headers["Location"] == "/login?next=/settings"
    with SiteRepo.open(site_home.repositories) as site:
        assert verify_password(site.user("admin")["password"], ADMIN_PASSWORD)


def test_password_changed_by_another_path_ends_sessions(client, site_home):
    log_in(client)
    commit_password(site_home, "admin", "set-by-admin-9", SYSTEM)
    assert signed_in_as(client) is None


# -- the "Log in" link ----------------------------------------------------------


def login_link_next(client, path: str) -> str | None:
    page = client.get(path).get_data(as_text=True)
    href = html.unescape(re.search(r'<a href="([^"]*)">Log in</a>', page).group(1))
    assert urlsplit(href).path == "/login"
    return parse_qs(urlsplit(href).query).get("next", [None])[0]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/foo/issues?status=Closed", "/foo/issues?status=Closed"),
        ("/login", None),
        ("/login?next=/foo/issues", "/foo/issues"),
        ("/login?next=/login", None),
        ("/login?next=/register", None),
        ("/login?next=//evil.example", None),
        ("/register", None),
        ("/register?next=/logout", None),
    ],
)
def test_login_link_leads_back_to_a_sensible_page(client, path, expected):
    assert login_link_next(client, path) == expected


@pytest.mark.parametrize("target", ["/login", "/register?x=1", "/logout", "/login#x"])
def test_login_never_leads_back_to_an_account_page(client, target):
    data = {"csrf_token": token(client), "name": "admin",
            "password": ADMIN_PASSWORD, "next": target}  # fmt: skip
    assert client.post("/login", data=data).headers["Location"] == "/"
