"""Login sessions, kept on the server so that logging out ends them.

The session cookie is signed, but a copy saved before logout would stay
valid; so the cookie carries a random session id, and a session counts only
while its id is listed here. Logging out deletes the row. Each row also
holds a mark of the user's password hash at login: a password changed by
any path (the settings page, a push to the site repo) ends every older
session at its next request.

Sessions are ephemeral state (losing them only logs people out), so they
live in an SQLite file of their own beside the index,
`<home>/index/sessions.db`, where `gitforge reindex` leaves them alone. WAL
mode lets several web processes of one machine share it.
# Not yet: web processes on several machines need a shared store for this
# (the index's PostgreSQL, or Redis).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,      -- SHA-256 of the id in the cookie
    user TEXT NOT NULL,
    mark TEXT NOT NULL,       -- password_mark() at login
    created INTEGER NOT NULL  -- Unix time
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
"""


@dataclass(frozen=True)
class Session:
    user: str
    mark: str


def password_mark(password_hash: str | None) -> str:
    """A digest of a password hash: a new password gives a new mark."""
    data = (password_hash or "").encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class SessionStore:
    """The sessions of one data home."""

    def __init__(self, path: Path, max_age: timedelta):
        self.path = path
        self.max_age = int(max_age.total_seconds())
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def start(self, user: str, password_hash: str | None) -> str:
        """A new session of `user`; returns the id for the cookie."""
        session_id = secrets.token_urlsafe(32)
        now = int(time.time())
        with closing(self._connect()) as db:
            db.execute("DELETE FROM sessions WHERE created < ?", (now - self.max_age,))
            db.execute(
                "INSERT INTO sessions (id, user, mark, created) VALUES (?, ?, ?, ?)",
                (_key(session_id), user, password_mark(password_hash), now),
            )
        return session_id

    def find(self, session_id: str) -> Session | None:
        """The live session with this id, or None."""
        oldest = int(time.time()) - self.max_age
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT user, mark FROM sessions WHERE id = ? AND created >= ?",
                (_key(session_id), oldest),
            ).fetchone()
        return Session(*row) if row else None

    def end(self, session_id: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (_key(session_id),))

    def end_all(self, user: str) -> None:
        """End every session of `user`."""
        with closing(self._connect()) as db:
            db.execute("DELETE FROM sessions WHERE user = ?", (user,))

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: every statement above stands alone.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)


@functools.cache
def session_store(path: Path, max_age: timedelta) -> SessionStore:
    """The store at `path`, opened (and its table made) once a process."""
    return SessionStore(path, max_age)


def _key(session_id: str) -> str:
    """What is stored of an id: a leaked table gives no usable cookie."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()
