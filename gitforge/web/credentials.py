"""Who a request says it is, from the credentials it sends along.

Two channels take explicit credentials instead of the session cookie: the
JSON API (`Authorization: token <TOKEN>`) and git over HTTP (that header,
or HTTP Basic auth with a user name and either the password or a token).
A cookie is sent by the browser on its own, so it never stands in for
these: a push or an API call needs credentials its client chose to send.

Nothing here logs a password or a token, nor the header that carries them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from flask import request

from gitforge.index import queries
from gitforge.policy import Viewer
from gitforge.store.documents import Snapshot
from gitforge.store.passwords import verify_password
from gitforge.store.site import SiteRepo
from gitforge.store.tokens import TokenRefused, check_token, token_path
from gitforge.web.context import site
from gitforge.web.throttle import record_check, too_many_failures

_TOKEN_SHAPE = re.compile(r"[0-9a-f]{64}")
WRONG_PASSWORD = "Unknown user or wrong password"
BAD_TOKEN = "Missing or invalid token"


class CredentialsRefused(Exception):
    """Credentials that were sent but open nothing; the message says why
    (unknown user, wrong password, a revoked or expired token)."""


@dataclass(frozen=True)
class Credentials:
    """A user proven by password or token; `token` is the record of the
    token when one was used (its scopes limit what the request may do)."""

    viewer: Viewer
    token: dict | None = None

    @property
    def name(self) -> str:
        return self.viewer.name

    @property
    def proof(self) -> str:
        """How the user was proven, for logs: never the secret itself."""
        return f"token {self.token['id']}" if self.token else "password"


def sent_credentials() -> Credentials | None:
    """The credentials of this request's Authorization header; None when
    it has none. CredentialsRefused for any that do not prove a user."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "token":
        return _by_token(value.strip())
    if scheme.lower() == "basic":
        return _by_basic(value.strip())
    raise CredentialsRefused(
        "Send a user name with a password or token (HTTP Basic auth), "
        "or the header `Authorization: token <TOKEN>`"
    )


def request_token() -> dict:
    """The token record of `Authorization: token <TOKEN>`, as the API takes
    it; CredentialsRefused saying why for a missing or unusable token."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "token":
        raise CredentialsRefused(BAD_TOKEN)
    return _checked_token(value.strip())


def missing_scope(token: dict, scope: str) -> str | None:
    if scope in token["acls"]:
        return None
    return f"The token lacks the scope {scope}"


def wrong_project(token: dict, fullname: str | None) -> str | None:
    """Why `token` does not reach project `fullname` (None: the site repo,
    which only a token for every project reaches)."""
    if token["project"] in (None, fullname):
        return None
    return f"The token is for another project ({token['project']})"


def _by_token(secret: str) -> Credentials:
    token = _checked_token(secret)
    return Credentials(_viewer_of_token(token), token)


def _by_basic(value: str) -> Credentials:
    name, password = _basic_pair(value)
    snapshot = _site_snapshot() if _TOKEN_SHAPE.fullmatch(password) else None
    # A password of 64 hex digits that names no token file is a password.
    if snapshot is not None and snapshot.exists(token_path(password[:16])):
        token = _checked_token(password, snapshot)
        if token["user"] != name:
            raise CredentialsRefused("The token belongs to another user")
        return Credentials(_viewer_of_token(token), token)
    if refusal := too_many_failures(name):
        raise CredentialsRefused(refusal)
    row = queries.user(site().engine, name)
    passed = row is not None and verify_password(row.password_hash, password)
    record_check(name, passed)
    if not passed:
        raise CredentialsRefused(WRONG_PASSWORD)
    return Credentials(queries.viewer(site().engine, row.name))


def _basic_pair(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise CredentialsRefused("Malformed Basic credentials") from None
    name, colon, password = decoded.partition(":")
    if not colon or not name:
        raise CredentialsRefused("Malformed Basic credentials")
    return name, password


def _checked_token(secret: str, snapshot: Snapshot | None = None) -> dict:
    try:
        return check_token(snapshot or _site_snapshot(), secret)
    except TokenRefused as refused:
        raise CredentialsRefused(str(refused)) from None


def _site_snapshot() -> Snapshot:
    with SiteRepo.open(site().config.repositories) as site_repo:
        return site_repo.snapshot()


def _viewer_of_token(token: dict) -> Viewer:
    viewer = queries.viewer(site().engine, token["user"])
    if viewer is None:
        raise CredentialsRefused(f"The token's user {token['user']} is gone")
    return viewer
