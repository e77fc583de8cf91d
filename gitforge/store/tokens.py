"""API tokens, kept in the site repo as `tokens/<id>.json`.

A token is 64 hex digits: a 16-digit id that names its file, then 48
secret digits. Only a SHA-256 hash of the whole token is stored, so a copy
of the site repo does not hand out working tokens. A token belongs to a
user, may be limited to one project, and carries the ACLs it grants (for
now `pull_request_flag`, which lets CI post flags on pull requests).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from gitforge.store import formats
from gitforge.store.documents import SYSTEM, DocumentRepo, Identity, Snapshot, utc_now
from gitforge.store.errors import NotFound

TOKEN_ACLS = ("pull_request_flag",)
_TOKEN = re.compile(r"(?P<id>[0-9a-f]{16})[0-9a-f]{48}")


def token_path(token_id: str) -> str:
    return f"tokens/{token_id}.json"


def create_token(
    site: DocumentRepo,
    user: str,
    acls: list[str],
    project: str | None = None,
    days: int | None = 365,
    actor: Identity = SYSTEM,
) -> tuple[str, dict]:
    """Make a token; returns the token itself (shown once) and its record."""
    token = secrets.token_hex(32)
    token_id = token[:16]
    expires = None
    if days is not None:
        when = datetime.now(UTC) + timedelta(days=days)
        expires = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "format": formats.FORMAT_VERSION,
        "id": token_id,
        "user": user,
        "project": project,
        "acls": sorted(set(acls)),
        "created": utc_now(),
        "expires": expires,
        "hash": _hash(token),
    }
    formats.check("token", token_path(token_id), doc)

    def change(snapshot: Snapshot) -> dict:
        if not snapshot.exists(f"users/{user}.json"):
            raise NotFound("user", user)
        return {token_path(token_id): doc}

    site.transact(change, actor, f"Create a token for {user}")
    return token, doc


def check_token(snapshot: Snapshot, token: str) -> dict | None:
    """The record of a valid, unexpired token; None for anything else."""
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        return None
    doc = snapshot.read(token_path(match["id"]))
    if doc is None or not hmac.compare_digest(doc["hash"], _hash(token)):
        return None
    if doc["expires"] is not None and doc["expires"] <= utc_now():
        return None
    return doc


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
