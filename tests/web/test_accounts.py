"""Register, log in, log out, and the pages around them."""

from __future__ import annotations

import re

import pytest

from gitforge.store.site import SiteRepo
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
