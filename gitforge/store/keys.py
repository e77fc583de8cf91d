"""Users' ssh public keys, kept in their user documents in the site repo.

A key is stored as `<type> <base64>` (the comment is dropped: it is free
text that ends up in gitolite's keydir and in authorized_keys lines) with
a title of the user's choosing and OpenSSH's SHA256 fingerprint, by which
keys are told apart: no two accounts may hold the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from gitforge.store import formats
from gitforge.store.access_formats import SSH_KEY_TYPES
from gitforge.store.documents import (
    SYSTEM,
    DocumentRepo,
    Identity,
    Snapshot,
    parse_json,
    utc_now,
)
from gitforge.store.errors import AlreadyExists, NotFound
from gitforge.store.site import user_path

MAX_KEY_CHARS = 16_384  # an RSA key of 16,384 bits is about 2,800


class BadKey(ValueError):
    """Text that is not one ssh public key."""


class KeyTaken(AlreadyExists):
    """A key that an account holds already: the same one, or another."""

    def __init__(self, fingerprint: str, mine: bool):
        super().__init__("ssh key", fingerprint)
        holder = "this account" if mine else "another account"
        self.args = (f"the ssh key {fingerprint} is held by {holder} already",)


def parse_key(text: str) -> tuple[str, str]:
    """The stored form (`<type> <base64>`) and fingerprint of the public key
    in `text`, as found in an `id_*.pub` file; BadKey with the reason for
    anything else."""
    if "PRIVATE KEY" in text:
        raise BadKey("this is a private key; paste the .pub file instead")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        raise BadKey("paste exactly one public key (one line of an .pub file)")
    if len(lines[0]) > MAX_KEY_CHARS:
        raise BadKey(f"a public key is at most {MAX_KEY_CHARS} characters")
    parts = lines[0].split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise BadKey(
            "a public key starts with its type, one of " + ", ".join(SSH_KEY_TYPES)
        )
    key_type, encoded = parts[0], parts[1]
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadKey("the key's data is not valid base64") from None
    if _blob_type(blob) != key_type:
        raise BadKey(f"the key's data is not an {key_type} key")
    digest = hashlib.sha256(blob).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    return f"{key_type} {encoded}", fingerprint


def _blob_type(blob: bytes) -> str | None:
    """The type name a key blob starts with (a length-prefixed string)."""
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if length > 64 or len(blob) < 4 + length + 4:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def add_key(
    site: DocumentRepo, user: str, text: str, title: str = "", actor: Identity = SYSTEM
) -> dict:
    """Add a public key to `user`; returns the stored entry. Refuses a
    malformed key and one that any account already holds."""
    key, fingerprint = parse_key(text)
    title = title.strip() or _comment(text) or fingerprint[:19]
    title = "".join(ch for ch in title if ch.isprintable())[:100]
    entry = {"key": key, "title": title, "fingerprint": fingerprint}

    def change(snapshot: Snapshot) -> dict:
        doc = snapshot.read(user_path(user))
        if doc is None:
            raise NotFound("user", user)
        owner = key_owner(snapshot, fingerprint)
        if owner is not None:
            raise KeyTaken(fingerprint, mine=owner == user)
        entry["added"] = utc_now()
        doc["ssh_keys"] = [*doc.get("ssh_keys", []), entry]
        formats.check("user", user_path(user), doc)
        return {user_path(user): doc}

    site.transact(change, actor, f"Add an ssh key for {user}")
    return entry


def remove_key(
    site: DocumentRepo, user: str, fingerprint: str, actor: Identity = SYSTEM
) -> None:
    def change(snapshot: Snapshot) -> dict:
        doc = snapshot.read(user_path(user))
        if doc is None:
            raise NotFound("user", user)
        keys = doc.get("ssh_keys", [])
        kept = [k for k in keys if k["fingerprint"] != fingerprint]
        if len(kept) == len(keys):
            raise NotFound("ssh key", fingerprint)
        doc["ssh_keys"] = kept
        return {user_path(user): doc}

    site.transact(change, actor, f"Remove an ssh key of {user}")


def key_owner(snapshot: Snapshot, fingerprint: str) -> str | None:
    """The account holding the key with `fingerprint`, if any."""
    # Not yet: this reads every user file; a fingerprint index file would
    # be needed beyond some thousands of accounts.
    for path, data in snapshot.walk("users"):
        doc = parse_json(path, data)
        if any(k.get("fingerprint") == fingerprint for k in doc.get("ssh_keys", ())):
            return doc.get("name")
    return None


def _comment(text: str) -> str:
    parts = text.strip().split(None, 2)
    return parts[2].strip() if len(parts) == 3 else ""
