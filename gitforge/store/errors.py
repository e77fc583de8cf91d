"""Errors raised by the store; each carries its data and builds its message."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every store error."""


class InvalidName(StoreError):
    def __init__(self, kind: str, name: str, reason: str):
        self.kind, self.name, self.reason = kind, name, reason
        super().__init__(f"invalid {kind} name {name!r}: {reason}")


class NotFound(StoreError):
    def __init__(self, kind: str, name: str):
        self.kind, self.name = kind, name
        super().__init__(f"{kind} {name!r} not found")


class AlreadyExists(StoreError):
    def __init__(self, kind: str, name: str):
        self.kind, self.name = kind, name
        super().__init__(f"{kind} {name!r} already exists")


class FormatError(StoreError):
    """A document breaks docs/formats.md.

    `path` is the file inside the repo, `field` the offending key (or None
    when the file as a whole is wrong), `problem` what is wrong with it.
    """

    def __init__(self, path: str, field: str | None, problem: str):
        self.path, self.field, self.problem = path, field, problem
        where = f"{path}: field {field!r}" if field else path
        super().__init__(f"{where}: {problem}")


class ConflictRetriesExhausted(StoreError):
    def __init__(self, ref: str, attempts: int):
        self.ref, self.attempts = ref, attempts
        super().__init__(
            f"{ref} kept moving: gave up after {attempts} compare-and-swap attempts"
        )


class BadPassword(StoreError):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
