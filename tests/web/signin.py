"""Signing a test client in without the login form.

Sessions are listed on the server (gitforge.web.sessions), so a cookie
that merely names a user logs nobody in. These helpers make a real session
and hand out its id, for a test client or for a raw Cookie header.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from gitforge.index import queries
from gitforge.web.context import session_store, site


def session_id(app: Flask, name: str) -> str:
    """The id of a new server-side session of user `name`."""
    with app.app_context():
        row = queries.user(site().engine, name)
        assert row is not None, f"no user {name!r} in the index"
        return session_store().start(name, row.password_hash)


def sign_in(app: Flask, client: FlaskClient, name: str) -> None:
    """Make `client` signed in as `name`, as a login would."""
    sid = session_id(app, name)
    with client.session_transaction() as session:
        session.clear()
        session["sid"] = sid


def session_cookie(app: Flask, name: str) -> str:
    """A `Cookie:` header value signed in as `name`, for clients other than
    the test client (git over HTTP)."""
    signer = app.session_interface.get_signing_serializer(app)
    return f"session={signer.dumps({'sid': session_id(app, name)})}"
