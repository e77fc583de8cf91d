"""What turning a Pagure ticket and a Pagure pull request into gitforge
documents share: the planned result, and the fields and comments both
kinds of item have (ticket_conversion and request_conversion do the
rest)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from gitforge.pagure.people import People
from gitforge.pagure.reading import PagureItem
from gitforge.pagure.values import (
    BadPagureData,
    Warnings,
    derived_uid,
    one_line,
    pagure_time,
    text,
)
from gitforge.store import formats
from gitforge.store.documents import Content


@dataclass
class Planned:
    """One ticket or pull request to import, with all its files."""

    kind: str
    uid: str
    number: int
    label: str
    files: dict[str, Content]


class Conversion:
    """Turns Pagure items into gitforge documents for project `fullname`;
    a subclass does one kind of item."""

    def __init__(self, fullname: str, people: People, warnings: Warnings):
        self.fullname = fullname
        self.people = people
        self.warnings = warnings

    def _title(self, data: dict, where: str) -> str:
        title = one_line(data.get("title"), where, "title", self.warnings)
        if not title:
            self.warnings.add(f"{where}: has no title; imported as '(no title)'")
        return title or "(no title)"

    def _tags(self, value: object, where: str) -> list[str]:
        if value is not None and not isinstance(value, list):
            raise BadPagureData(where, "tags", "must be a list")
        tags = (one_line(tag, where, "tags", self.warnings) for tag in value or [])
        return sorted({tag for tag in tags if tag})

    def _list(self, data: dict, key: str, where: str) -> list:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise BadPagureData(where, key, "must be a list of objects")
        return value

    def _comment(self, item: PagureItem, raw: dict, index: int) -> dict:
        """A ticket comment; a pull request comment adds `inline`. Its uid is
        made from the item's and Pagure's comment id, so it is found again."""
        key = raw.get("id")
        if key is None:  # not seen in Pagure's output; keyed by content then
            key = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
        where = f"{item.label}, comment {raw.get('id', index + 1)}"
        edited = raw.get("edited_on")
        return {
            "format": formats.FORMAT_VERSION,
            "uid": derived_uid(item.uid, "comment", key),
            "author": self.people.name_of(raw.get("user"), where, "user"),
            "created": pagure_time(raw.get("date_created"), where, "date_created"),
            "edited": pagure_time(edited, where, "edited_on") if edited else None,
            "body": text(raw.get("comment"), where, "comment"),
        }
