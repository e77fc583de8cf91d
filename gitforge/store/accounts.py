"""Changes an account's owner makes to it: for now, a new password.

The user document lives in the site repo (`users/<name>.json`, see
gitforge.store.site); only the hash of a password reaches git.
"""

from __future__ import annotations

from gitforge.store import formats
from gitforge.store.documents import DocumentRepo, Identity, Snapshot
from gitforge.store.errors import NotFound
from gitforge.store.passwords import hash_password
from gitforge.store.site import user_path


def set_password(site: DocumentRepo, name: str, password: str, actor: Identity) -> None:
    """Replace `name`'s password; BadPassword if the new one is too weak."""
    password_hash = hash_password(password)
    path = user_path(name)

    def change(snapshot: Snapshot) -> dict:
        doc = snapshot.read(path)
        if doc is None:
            raise NotFound("user", name)
        return {path: formats.check("user", path, {**doc, "password": password_hash})}

    site.transact(change, actor, f"Change the password of {name}")
