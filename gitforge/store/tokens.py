"""API tokens, kept in the site repo as `tokens/<id>.json`.

A token is 64 hex digits: a 16-digit id that names its file, then 48
secret digits. Only a SHA-256 hash of the whole token is stored, so a copy
of the site repo does not hand out working tokens. A token belongs to a
user, may be limited to one project, and carries the scopes it grants
(Pagure's ACL names, such as `pull_request_flag` for CI flags or `commit`
for git pushes over HTTP). It never grants more than its user may do.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from gitforge.store import formats
from gitforge.store.documents import (
    SYSTEM,
    DocumentRepo,
    Identity,
    Snapshot,
    parse_json,
    utc_now,
)
from gitforge.store.errors import NotFound

_TOKEN = re.compile(r"(?P<id>[0-9a-f]{16})[0-9a-f]{48}")


class TokenRefused(Exception):
    """A token that opens nothing; the message says why (shown to the
    client with a 401)."""


def token_path(token_id: str) -> str:
    return f"tokens/{token_id}.json"


def create_token(
    site: DocumentRepo,
    user: str,
    acls: list[str],
    project: str | None = None,
    days: int | None = 365,
    actor: Identity = SYSTEM,
    description: str = "",
    expires: str | None = None,
) -> tuple[str, dict]:
    """Make a token; returns the token itself (shown once) and its record.
    It lapses at `expires` (a timestamp) if given, else after `days`."""
    token = secrets.token_hex(32)
    token_id = token[:16]
    if expires is None and days is not None:
        when = datetime.now(UTC) + timedelta(days=days)
        expires = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "format": formats.FORMAT_VERSION,
        "id": token_id,
        "user": user,
        "project": project,
        "acls": sorted(set(acls)),
        "description": description,
        "created": utc_now(),
        "expires": expires,
        "revoked": None,
        "hash": _hash(token),
    }
    formats.check("token", token_path(token_id), doc)

    def change(snapshot: Snapshot) -> dict:
        if not snapshot.exists(f"users/{user}.json"):
            raise NotFound("user", user)
        if project is not None and not snapshot.exists(f"projects/{project}.json"):
            raise NotFound("project", project)
        return {token_path(token_id): doc}

    site.transact(change, actor, f"Create a token for {user}")
    return token, doc


def revoke_token(site: DocumentRepo, token_id: str, actor: Identity = SYSTEM) -> dict:
    """Mark a token revoked; it opens nothing from then on."""
    result: dict = {}

    def change(snapshot: Snapshot) -> dict:
        doc = snapshot.read(token_path(token_id)) if _ID.fullmatch(token_id) else None
        if doc is None:
            raise NotFound("token", token_id)
        result.clear()
        result.update(doc, revoked=doc.get("revoked") or utc_now())
        return {token_path(token_id): result}

    site.transact(change, actor, f"Revoke token {token_id}")
    return dict(result)


def tokens_of(snapshot: Snapshot, user: str) -> list[dict]:
    """The records of `user`'s tokens, newest first."""
    found = [
        doc
        for path, data in snapshot.walk("tokens")
        if (doc := parse_json(path, data)).get("user") == user
    ]
    return sorted(found, key=lambda doc: doc["created"], reverse=True)


def check_token(snapshot: Snapshot, token: str) -> dict:
    """The record of a valid token; TokenRefused saying why for anything
    else (unknown, revoked, expired)."""
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        raise TokenRefused("Missing or invalid token")
    doc = snapshot.read(token_path(match["id"]))
    if doc is None or not hmac.compare_digest(doc["hash"], _hash(token)):
        raise TokenRefused("Missing or invalid token")
    if doc.get("revoked"):
        raise TokenRefused(f"The token {doc['id']} was revoked on {doc['revoked']}")
    if doc["expires"] is not None and doc["expires"] <= utc_now():
        raise TokenRefused(f"The token {doc['id']} expired on {doc['expires']}")
    return doc


_ID = re.compile(r"[0-9a-f]{16}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
