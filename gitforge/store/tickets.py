"""A project's ticket repo: one folder per ticket, one file per comment.

    numbers.json                            {"format": 1, "next": 13}
    <xx>/<uid>/ticket.json                  the ticket's fields
    <xx>/<uid>/comments/<comment-uid>.json  one comment
    <xx>/<uid>/files/<name>                 an attachment

Folders are named by a random uid (inside a parent named by its last two
digits) so tickets made in two places never collide; the number people use
comes from `numbers.json`, the sequence that tickets and pull requests of a
project share.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Collection
from pathlib import Path

import pygit2

from gitforge.store import formats
from gitforge.store.documents import (
    SYSTEM,
    DocumentRepo,
    Identity,
    Snapshot,
    init_document_repo,
    parse_json,
    uid_folder,
    utc_now,
)
from gitforge.store.errors import FormatError, NotFound

NUMBERS_FILE = "numbers.json"
# Names gitforge's merge driver for the documents in a clone (see
# gitforge.merge_driver; git uses it once `merge.gitforge.driver` is set).
MERGE_ATTRIBUTES = b"*.json merge=gitforge\n"
EDITABLE_FIELDS = frozenset(
    {"title", "body", "tags", "assignee", "priority", "milestone", "private"}
)


_last_millis = 0
_uid_lock = threading.Lock()


def new_uid() -> str:
    """32 hex digits: 12 of milliseconds, 20 random.

    Leading with the time makes uids sort in creation order, so comments
    written in the same second still list in the order they were made.
    """
    global _last_millis
    with _uid_lock:
        _last_millis = max(_last_millis + 1, time.time_ns() // 1_000_000)
        millis = _last_millis
    return f"{millis:012x}{secrets.token_hex(10)}"


def ticket_path(uid: str) -> str:
    return f"{uid_folder(uid)}/ticket.json"


def comment_path(uid: str, comment_uid: str) -> str:
    return f"{uid_folder(uid)}/comments/{comment_uid}.json"


def attachments_folder(uid: str) -> str:
    return f"{uid_folder(uid)}/files"


MAX_ATTACHMENT_NAME_BYTES = 200
# Room kept at the end of a cut name for a clash's " (NNNN)".
_CLASH_ROOM = 8


def attachment_name(name: str, taken: Collection[str] = ()) -> str:
    """The name an uploaded file is stored under in its ticket's `files/`.

    Only the last part of a path counts (browsers on Windows send
    `C:\\x\\y.txt`), control characters go, and names git or a clone would
    treat specially (empty, `.`, `..`, dot files such as `.git`) are refused
    with FormatError. A name longer than 200 bytes of UTF-8 is cut before its
    extension; a name in `taken` gets ` (2)`, ` (3)`... before its extension.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c) != "Cc").strip()
    if not base or base.startswith("."):
        raise FormatError(
            "files/" + base, None, "an attachment needs a name not starting with '.'"
        )
    stem, ext = _split_extension(base)
    stem = _capped_stem(stem, ext)
    free, counter = stem + ext, 1
    while free in taken:
        counter += 1
        end = f" ({counter}){ext}"
        free = _capped_stem(stem, end) + end
    return free


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    # A long "extension" is part of the name; keep it out of the cap's way.
    if not stem or len(ext.encode()) > 16:
        return name, ""
    return stem, dot + ext


def _capped_stem(stem: str, ext: str) -> str:
    """The stem cut at a character boundary so that the name fits 200 bytes
    of UTF-8; a cut one leaves room for a clash's counter, so that a second
    upload of the same long name keeps the first one's stem."""
    room = MAX_ATTACHMENT_NAME_BYTES - len(ext.encode())
    if len(stem.encode()) <= room:
        return stem
    return stem.encode()[: room - _CLASH_ROOM].decode("utf-8", "ignore").rstrip()


class TicketRepo(DocumentRepo):
    """The tickets of one project."""

    @classmethod
    def create(cls, path: Path) -> TicketRepo:
        numbers = {"format": formats.FORMAT_VERSION, "next": 1}
        init_document_repo(
            path,
            {
                NUMBERS_FILE: numbers,
                "README.md": _TICKETS_README,
                ".gitattributes": MERGE_ATTRIBUTES,
            },
            "Create the ticket repo",
        )
        return cls(path)

    def ticket(self, uid: str) -> dict:
        return self.read_existing(ticket_path(uid), "ticket", uid)

    def comments(self, uid: str) -> list[dict]:
        return read_comments(self.snapshot(), uid)

    def create_ticket(
        self,
        author: Identity,
        title: str,
        body: str = "",
        *,
        private: bool = False,
        tags: list[str] | tuple[str, ...] = (),
    ) -> dict:
        """Create a ticket with the next number of the project's sequence."""
        uid = new_uid()
        fields = {
            "format": formats.FORMAT_VERSION,
            "uid": uid,
            "title": title.strip(),
            "body": body,
            "author": author.username,
            "created": utc_now(),
            "status": "Open",
            "close_reason": None,
            "tags": sorted(set(tags)),
            "assignee": None,
            "priority": None,
            "milestone": None,
            "private": private,
        }
        made: dict = {}

        def change(snapshot: Snapshot) -> dict:
            number, numbers = take_number(snapshot)
            made.clear()
            made.update(fields, number=number)
            formats.check("ticket", ticket_path(uid), made)
            return {NUMBERS_FILE: numbers, ticket_path(uid): made}

        self.transact(change, author, f"Create ticket: {fields['title']}")
        return dict(made)

    def update_ticket(self, uid: str, actor: Identity, **fields) -> dict:
        """Change some of the editable fields of a ticket."""
        unknown = set(fields) - EDITABLE_FIELDS
        if unknown:
            raise FormatError(ticket_path(uid), sorted(unknown)[0], "is not editable")
        if "tags" in fields:
            fields["tags"] = sorted(set(fields["tags"]))
        return self._edit(uid, actor, fields, "Edit ticket")

    def close_ticket(self, uid: str, actor: Identity, reason: str | None) -> dict:
        changes = {"status": "Closed", "close_reason": reason or None}
        return self._edit(uid, actor, changes, "Close ticket")

    def reopen_ticket(self, uid: str, actor: Identity) -> dict:
        changes = {"status": "Open", "close_reason": None}
        return self._edit(uid, actor, changes, "Reopen ticket")

    def add_comment(self, uid: str, author: Identity, body: str) -> dict:
        comment = {
            "format": formats.FORMAT_VERSION,
            "uid": new_uid(),
            "author": author.username,
            "created": utc_now(),
            "edited": None,
            "body": body,
        }
        path = comment_path(uid, comment["uid"])
        formats.check("comment", path, comment)

        def change(snapshot: Snapshot) -> dict:
            _require_ticket(snapshot, uid)
            return {path: comment}

        self.transact(change, author, f"Comment on ticket {uid}")
        return comment

    def edit_comment(
        self, uid: str, comment_uid: str, actor: Identity, body: str
    ) -> dict:
        path = comment_path(uid, comment_uid)
        result: dict = {}

        def change(snapshot: Snapshot) -> dict:
            comment = snapshot.read(path)
            if comment is None:
                raise NotFound("comment", comment_uid)
            result.clear()
            result.update(comment, body=body, edited=utc_now())
            return {path: result}

        self.transact(change, actor, f"Edit comment on ticket {uid}")
        return dict(result)

    def attach(self, uid: str, actor: Identity, name: str, data: bytes) -> str:
        """Store `data` as an attachment of the ticket, in one commit, under a
        name made from `name` by `attachment_name`; returns that name."""
        folder = attachments_folder(uid)
        limit = formats.MAX_ATTACHMENT_BYTES
        if len(data) > limit:
            raise FormatError(
                folder,
                None,
                f"the file is {len(data)} bytes; an attachment holds at most {limit}",
            )
        stored: list[str] = []

        def change(snapshot: Snapshot) -> dict:
            _require_ticket(snapshot, uid)
            free = attachment_name(name, taken=snapshot.listdir(folder))
            stored[:] = [free]
            return {f"{folder}/{free}": data}

        self.transact(change, actor, f"Attach a file to ticket {uid}")
        return stored[0]

    def attachments(self, uid: str) -> list[tuple[str, int]]:
        """(name, size in bytes) of each attachment of a ticket, by name."""
        folder = self.snapshot()._entry(attachments_folder(uid))
        if folder is None or folder.type != pygit2.GIT_OBJECT_TREE:
            return []
        return sorted(
            (entry.name, entry.size)
            for entry in folder
            if entry.type == pygit2.GIT_OBJECT_BLOB
        )

    def attachment(self, uid: str, name: str) -> bytes | None:
        """The bytes of one attachment, or None; a name that is not a single
        plain file name (`..`, `a/b`, NUL) finds nothing."""
        if name in ("", ".", "..") or "/" in name or "\0" in name:
            return None
        return self.snapshot().read_bytes(f"{attachments_folder(uid)}/{name}")

    def take_number(self, actor: Identity, purpose: str) -> int:
        """Take the next number of the shared sequence for something kept
        elsewhere (a pull request)."""
        taken: list[int] = []

        def change(snapshot: Snapshot) -> dict:
            number, numbers = take_number(snapshot)
            taken[:] = [number]
            return {NUMBERS_FILE: numbers}

        self.transact(change, actor, f"Take number for {purpose}")
        return taken[0]

    def number_new_tickets(self, since: str | None = None) -> list[tuple[str, int]]:
        """Give the next free numbers to tickets that arrived without one
        (made offline and pushed), oldest first, in one commit of the
        server's own. `since` is a commit whose tickets all had numbers:
        only tickets changed after it are looked at (None: all of them).
        Returns (uid, number) pairs."""
        given: list[tuple[str, int]] = []

        def change(snapshot: Snapshot) -> dict:
            waiting = sorted(_unnumbered(snapshot, since),
                             key=lambda t: (t["created"], t["uid"]))  # fmt: skip
            given.clear()
            changes: dict = {}
            numbers = snapshot.read(NUMBERS_FILE)
            for ticket in waiting:
                number, numbers = next_number(numbers)
                changes[ticket_path(ticket["uid"])] = {**ticket, "number": number}
                given.append((ticket["uid"], number))
            if changes:
                changes[NUMBERS_FILE] = numbers
            return changes

        self.transact(change, SYSTEM, "Number the tickets made offline")
        return list(given)

    def _edit(self, uid: str, actor: Identity, changes: dict, message: str) -> dict:
        result: dict = {}

        def change(snapshot: Snapshot) -> dict:
            ticket = _require_ticket(snapshot, uid)
            result.clear()
            result.update(ticket, **changes)
            formats.check("ticket", ticket_path(uid), result)
            return {ticket_path(uid): result}

        self.transact(change, actor, f"{message} #{self._number_hint(uid)}")
        return dict(result)

    def _number_hint(self, uid: str) -> str:
        ticket = self.read(ticket_path(uid))
        return str(ticket["number"]) if ticket else uid


def take_number(snapshot: Snapshot) -> tuple[int, dict]:
    """The next number of the shared sequence and the updated counter."""
    return next_number(snapshot.read(NUMBERS_FILE))


def next_number(numbers: dict | None) -> tuple[int, dict]:
    """The number `numbers.json` gives next, and the file moved on by one."""
    numbers = numbers or {"format": formats.FORMAT_VERSION}
    number = int(numbers.get("next", 1))
    return number, {**numbers, "next": number + 1}


def _unnumbered(snapshot: Snapshot, since: str | None) -> list[dict]:
    """Tickets without a number among those changed after `since`."""
    repo = snapshot.repo
    if snapshot.tree is None:
        return []
    try:
        old_tree = repo[since].peel(pygit2.Commit).tree if since else None
    except (KeyError, ValueError):
        old_tree = None  # history rewritten on disk: look at everything
    if old_tree is None:
        paths = [ticket_path(uid) for uid in snapshot.uids()]
    else:
        deltas = old_tree.diff_to_tree(snapshot.tree).deltas
        paths = [d.new_file.path for d in deltas
                 if d.new_file.path.endswith("/ticket.json")]  # fmt: skip
    waiting = []
    for path in paths:
        try:
            ticket = snapshot.read(path)
        except FormatError:
            continue  # not ours to fix here; sync reports broken files
        if ticket is not None and ticket.get("number", 0) is None:
            waiting.append(ticket)
    return waiting


def read_comments(snapshot: Snapshot, uid: str, kind: str = "comment") -> list[dict]:
    """The comments of a ticket (or, with kind "request_comment", of a pull
    request), oldest first."""
    folder = f"{uid_folder(uid)}/comments"
    comments = [
        formats.check(kind, path, parse_json(path, data))
        for path, data in snapshot.walk(folder)
        if path.endswith(".json")
    ]
    return sorted(comments, key=lambda c: (c["created"], c["uid"]))


def _require_ticket(snapshot: Snapshot, uid: str) -> dict:
    ticket = snapshot.read(ticket_path(uid))
    if ticket is None:
        raise NotFound("ticket", uid)
    return ticket


_TICKETS_README = b"""\
# Tickets

Every folder here is one ticket: `ticket.json` holds its fields and each file
in `comments/` one comment. The format is described in gitforge's
docs/formats.md. Edit, commit and push: the forge checks each pushed file and
refuses a broken one with a message that names the file and the field.
"""


_PRIVATE = re.compile(rb'"private"\s*:\s*true')


def private_ticket_authors(snapshot: Snapshot) -> frozenset[str]:
    """Who wrote the private tickets at `snapshot`, read from git (the
    index knows it too, but a hook must not wait for it)."""
    authors = set()
    for uid in snapshot.uids():
        data = snapshot.read_bytes(ticket_path(uid))
        if data is None or not _PRIVATE.search(data):  # most are public
            continue
        ticket = parse_json(ticket_path(uid), data)
        if ticket.get("private") is True and isinstance(ticket.get("author"), str):
            authors.add(ticket["author"])
    return frozenset(authors)
