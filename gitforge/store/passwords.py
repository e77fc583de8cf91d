"""Password hashing with argon2id; only hashes ever reach git."""

from __future__ import annotations

from functools import cache

from gitforge.store.errors import BadPassword

MIN_LENGTH = 8


@cache
def _hasher():
    # Imported on first use: the git hooks load the site store but never
    # hash a password, and argon2 costs them 50 ms of start-up.
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise BadPassword(f"a password needs at least {MIN_LENGTH} characters")
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; False for a wrong one or an account
    that cannot log in (no hash)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if not stored_hash:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
