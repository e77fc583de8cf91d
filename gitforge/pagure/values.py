"""Pagure's values as gitforge takes them: its kinds of item, times,
numbers, text and attachment names, each checked or cleaned, and the
errors and warnings an import gives when one does not fit."""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from datetime import UTC, datetime

from gitforge.store import formats
from gitforge.store.errors import FormatError, StoreError

log = logging.getLogger(__name__)

TICKET, REQUEST = "ticket", "pull request"


class ImportRefused(StoreError):
    """The import cannot go ahead; raised before anything is written."""


class BadPagureData(ImportRefused):
    """A Pagure item that cannot become a gitforge document."""

    def __init__(self, where: str, field: str | None, problem: str):
        self.where, self.field, self.problem = where, field, problem
        at = f"{where}: field {field!r}" if field else where
        super().__init__(f"{at} {problem}; nothing was imported")


class Warnings(list):
    """What an import noticed and worked around, for the person running it."""

    def add(self, message: str) -> None:
        log.warning("import: %s", message)
        self.append(message)


def derived_uid(*parts: object) -> str:
    """A stable gitforge uid for something Pagure names otherwise, so that a
    second import finds what the first one wrote."""
    key = "\0".join(["pagure", *(str(part) for part in parts)])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def pagure_time(value: object, where: str, field: str) -> str:
    """Pagure's epoch seconds (a string, as it writes them, or a number) as
    a gitforge time."""
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        moment = datetime.fromtimestamp(int(float(value)), UTC)
    except (ValueError, OverflowError, OSError):
        raise BadPagureData(
            where, field, f"is {value!r}, not a time in epoch seconds"
        ) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_number(value: object, where: str, field: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadPagureData(where, field, f"is {value!r}, not a whole number")


def text(value: object, where: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPagureData(where, field, "must be text")
    return value


def safe_attachment_name(name: str) -> str:
    """A name that stays one file inside a ticket's `files/` folder: no
    slashes, no control characters (NUL among them), no leading dots (so
    never `.`, `..` or `.git`), valid UTF-8 of at most 200 bytes (a clone
    must be able to check it out)."""
    cleaned = "".join(
        "_" if ch in "/\\" else ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
    )
    cleaned = cleaned.strip().lstrip(".").strip()
    cut = cleaned.encode("utf-8", "ignore")[:200].decode("utf-8", "ignore")
    return cut.strip() or "attachment"


def one_line(value: object, where: str, field: str, warnings: Warnings) -> str:
    """Text for a one-line field (title, tag, milestone, close reason):
    Pagure allows line breaks, control characters and any length there,
    gitforge does not."""
    raw = text(value, where, field)
    line = " ".join(raw.split())
    line = "".join(ch for ch in line if unicodedata.category(ch) != "Cc")
    if len(line) > formats.MAX_LINE:
        line = line[: formats.MAX_LINE - 1] + "…"
    if line != raw.strip():
        warnings.add(
            f"{where}: {field} made one line of at most {formats.MAX_LINE} "
            "characters without control characters"
        )
    return line


def checked(kind: str, path: str, doc: dict, where: str) -> dict:
    """formats.check, naming the Pagure item rather than our file."""
    try:
        return formats.check(kind, path, doc)
    except FormatError as err:
        raise BadPagureData(where, err.field, err.problem) from None
