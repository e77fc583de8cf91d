"""Turning a Pagure ticket into gitforge documents: the ticket, its
comments, and the attachments it links to or that Pagure added to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

from gitforge.pagure.conversion import Conversion, Planned
from gitforge.pagure.people import People
from gitforge.pagure.reading import PagureItem, PagureRepo
from gitforge.pagure.values import (
    TICKET,
    Warnings,
    checked,
    one_line,
    pagure_time,
    safe_attachment_name,
    text,
    whole_number,
)
from gitforge.store import formats
from gitforge.store.documents import Content, uid_folder
from gitforge.store.tickets import comment_path, ticket_path

# Pagure links an upload from the text as .../issue/raw/files/<name>; its
# names are werkzeug's secure_filename, so they hold no spaces or quotes.
_FILE_LINK = re.compile(r"/raw/files/([^\s)\]\"'<>?#]+)")


class TicketConversion(Conversion):
    """Turns Pagure tickets into gitforge documents for project `fullname`."""

    def __init__(self, fullname: str, people: People, warnings: Warnings):
        super().__init__(fullname, people, warnings)
        self.attached: set[str] = set()  # names under Pagure's files/ given out

    def ticket(self, item: PagureItem, source: PagureRepo) -> Planned:
        data, where, uid = item.data, item.label, item.uid
        status, reason = self._ticket_status(data, where)
        doc = {
            "format": formats.FORMAT_VERSION,
            "uid": uid,
            "number": whole_number(data.get("id"), where, "id"),
            "title": self._title(data, where),
            "body": text(data.get("content"), where, "content"),
            "author": self.people.name_of(data.get("user"), where, "user"),
            "created": pagure_time(data.get("date_created"), where, "date_created"),
            "status": status,
            "close_reason": reason,
            "tags": self._tags(data.get("tags"), where),
            "assignee": self.people.optional(data.get("assignee"), where, "assignee"),
            "priority": self._priority(data.get("priority"), where),
            "milestone": self._milestone(data.get("milestone"), where),
            "private": bool(data.get("private", False)),
        }
        files: dict[str, Content] = {
            ticket_path(uid): checked("ticket", ticket_path(uid), doc, where)
        }
        for index, raw in enumerate(self._list(data, "comments", where)):
            note = self._comment(item, raw, index)
            files[comment_path(uid, note["uid"])] = checked(
                "comment", comment_path(uid, note["uid"]), note, where
            )
        for name, content in self._attachments(item, source):
            files[f"{uid_folder(uid)}/files/{name}"] = content
        return Planned(TICKET, uid, doc["number"], where, files)

    def _ticket_status(self, data: dict, where: str) -> tuple[str, str | None]:
        """Open, or Closed with Pagure's close_status as the reason. Old
        Pagure had no close_status: its status itself (Fixed, Invalid, ...)
        said why."""
        status = data.get("status") or "Open"
        if status == "Open":
            return "Open", None
        reason = data.get("close_status") or (None if status == "Closed" else status)
        reason = one_line(reason, where, "close_status", self.warnings)
        return "Closed", reason or None

    def _priority(self, value: object, where: str) -> int | None:
        if value is None or value == "":
            return None
        number = whole_number(value, where, "priority")
        if 0 <= number <= formats.MAX_PRIORITY:
            return number
        self.warnings.add(
            f"{where}: priority {number} is outside 0 to "
            f"{formats.MAX_PRIORITY}; left out"
        )
        return None

    def _milestone(self, value: object, where: str) -> str | None:
        return one_line(value, where, "milestone", self.warnings) or None

    def _attachments(
        self, item: PagureItem, source: PagureRepo
    ) -> Iterator[tuple[str, bytes]]:
        """The files of `source` that this ticket links to or that Pagure
        added to it, under safe names that stay inside its folder."""
        texts = [item.data.get("content") or ""]
        texts += [c.get("comment") or "" for c in item.data.get("comments") or []]
        linked = {
            unquote(m)
            for t in texts
            if isinstance(t, str)
            for m in _FILE_LINK.findall(t)
        }
        given: set[str] = set()
        for name, content in sorted(source.files.items()):
            added_here = item.name.lower() in source.file_owners.get(name, set())
            if name not in linked and not added_here:
                continue
            if len(content) > formats.MAX_ATTACHMENT_BYTES:
                self.warnings.add(
                    f"{item.label}: attachment {name!r} is larger "
                    f"than {formats.MAX_ATTACHMENT_BYTES} bytes; "
                    "left out"
                )
                continue
            safe = _unique(safe_attachment_name(name), given)
            given.add(safe)
            self.attached.add(name)
            yield safe, content


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate in taken:
        count += 1
        candidate = f"{name}-{count}"
    return candidate
