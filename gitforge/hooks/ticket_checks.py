"""What a push to a ticket repo may change.

The same format rules as the web forms (gitforge.store.formats), plus what
only a whole push can break: a ticket's identity (uid, number, author and
creation time never change), the number sequence (new tickets take the next
free numbers, and `numbers.json` moves on by exactly that many), and the
people named (authors and assignees must have accounts).
"""

from __future__ import annotations

import re

import pygit2

from gitforge.hooks.pusher import Pusher
from gitforge.policy import Action
from gitforge.store import formats
from gitforge.store.documents import Snapshot, parse_json
from gitforge.store.errors import FormatError
from gitforge.store.tickets import NUMBERS_FILE, ticket_path

# A ticket's or pull request's folder (documents.uid_folder), the file of one
# comment in it, and the files a document repo may hold beside the folders.
UID_FOLDER = r"(?P<bucket>[0-9a-f]{2})/(?P<uid>[0-9a-f]{30}(?P=bucket))"
_TICKET_FILE = re.compile(UID_FOLDER + r"/ticket\.json")
COMMENT_FILE = re.compile(UID_FOLDER + r"/comments/(?P<cuid>[0-9a-f]{32})\.json")
_ATTACHMENT = re.compile(UID_FOLDER + r"/files/[^/]+")
FREE_FILES = {"README.md", ".gitattributes"}
_FIXED_FIELDS = {
    "ticket": ("uid", "number", "author", "created"),
    "comment": ("uid", "author", "created"),
}


# Who may change which ticket fields, as on the web: the ticket's author and
# the committers edit it, only committers triage it.
_EDITED = ("title", "body", "status", "close_reason", "private")
_TRIAGED = ("tags", "assignee", "priority", "milestone")


class TicketChanges:
    """The content check of a ticket repo push (see gitforge.hooks.validate):
    formats, identities, numbers, and what the access policy lets the
    pusher change."""

    def __init__(self, pusher: Pusher):
        self.pusher = pusher

    def __call__(
        self, old: Snapshot, new: Snapshot, deltas: list[pygit2.DiffDelta]
    ) -> list[str]:
        problems = []
        added_tickets: dict[str, int] = {}  # path -> number
        for delta in deltas:
            try:
                if delta.status == pygit2.GIT_DELTA_DELETED:
                    check_deletion(delta.old_file.path)
                    continue
                path = delta.new_file.path
                number = self.check_file(old, new, path)
                if number is not None:  # a new ticket that names its number
                    added_tickets[path] = number
            except FormatError as err:
                problems.append(str(err))
        return problems + sequence_problems(old, new, added_tickets)

    def check_file(self, old: Snapshot, new: Snapshot, path: str) -> int | None:
        """Raise FormatError if the file at `path` breaks the rules; return
        the number of a ticket that the push adds."""
        if path in FREE_FILES:
            return None
        if match := _ATTACHMENT.fullmatch(path):
            if not new.exists(ticket_path(match["uid"])):
                raise FormatError(
                    path, None, "attaches to a ticket that does not exist"
                )
            return None
        if path == NUMBERS_FILE:
            formats.check("numbers", path, read_document(new, path))
            return None
        if match := _TICKET_FILE.fullmatch(path):
            ticket = formats.check("ticket", path, read_document(new, path))
            if ticket["uid"] != match["uid"]:
                raise FormatError(path, "uid", "must equal the ticket's folder name")
            before = self._check_identity(old, path, "ticket", ticket)
            self._check_ticket_rights(path, ticket, before)
            self._check_assignee(path, ticket, before)
            # A new ticket may come without a number: the server gives it one.
            return ticket["number"] if before is None else None
        if match := COMMENT_FILE.fullmatch(path):
            comment = formats.check("comment", path, read_document(new, path))
            if comment["uid"] != match["cuid"]:
                raise FormatError(path, "uid", "must equal the file's name")
            ticket = new.read(ticket_path(match["uid"]))
            if ticket is None:
                raise FormatError(path, None, "comments a ticket that does not exist")
            before = self._check_identity(old, path, "comment", comment)
            self._check_comment_rights(path, ticket, comment, before)
            return None
        raise FormatError(
            path,
            None,
            "unexpected file; a ticket's folder is <last 2 digits of uid>/<uid>/ "
            "and holds ticket.json, comments/<uid>.json and files/<name>",
        )

    def _check_identity(
        self, old: Snapshot, path: str, kind: str, doc: dict
    ) -> dict | None:
        """Compare with the stored version; a new document is written by the
        pusher. Returns the stored version, if any."""
        data = old.read_bytes(path)
        if data is None:
            if doc["author"] != self.pusher.name:
                raise FormatError(
                    path,
                    "author",
                    f"is {doc['author']!r}, but this push is by "
                    f"{self.pusher.name!r}: add tickets and comments as yourself",
                )
            return None
        before = parse_json(path, data)
        for field in _FIXED_FIELDS[kind]:
            if before.get(field) != doc[field]:
                raise FormatError(path, field, f"a {kind}'s {field} never changes")
        return before

    def _check_ticket_rights(self, path: str, ticket: dict, before: dict | None):
        if before is None:
            if not self.pusher.may(Action.CREATE_TICKET):
                raise FormatError(
                    path, None, f"{self.pusher.name} may not open tickets"
                )
            return
        changed = [f for f in _EDITED + _TRIAGED if before.get(f) != ticket.get(f)]
        for field in changed:
            action = Action.EDIT_TICKET if field in _EDITED else Action.TRIAGE_TICKET
            if not self.pusher.may(action, before):
                who = "its author and" if field in _EDITED else "only"
                raise FormatError(
                    path,
                    field,
                    f"{self.pusher.name} may not change it: {who} the project's "
                    "committers may",
                )

    def _check_comment_rights(
        self, path: str, ticket: dict, comment: dict, before: dict | None
    ) -> None:
        if before is None:
            allowed = self.pusher.may(Action.COMMENT_TICKET, ticket)
            what = "comment on this ticket"
        else:  # the same content in another layout is no edit
            author = before["author"]
            allowed = before == comment or self.pusher.may(
                Action.EDIT_COMMENT, ticket, comment_author=author
            )
            what = f"edit {author}'s comment"
        if not allowed:
            raise FormatError(path, None, f"{self.pusher.name} may not {what}")

    def _check_assignee(self, path: str, ticket: dict, before: dict | None) -> None:
        assignee = ticket.get("assignee")
        unchanged = before is not None and before.get("assignee") == assignee
        if assignee is None or unchanged or self.pusher.knows(assignee):
            return
        raise FormatError(path, "assignee", f"no user is named {assignee!r}")


def check_deletion(path: str) -> None:
    if _TICKET_FILE.fullmatch(path) or COMMENT_FILE.fullmatch(path):
        raise FormatError(
            path,
            None,
            "tickets and comments cannot be deleted; "
            "close the ticket or edit the comment instead",
        )
    if path == NUMBERS_FILE:
        raise FormatError(path, None, "the number sequence cannot be deleted")


def sequence_problems(
    old: Snapshot, new: Snapshot, added_tickets: dict[str, int]
) -> list[str]:
    """New tickets take the next free numbers in turn, and numbers.json's
    `next` moves on by as many. Every stored ticket's number is below the
    old `next`, so this keeps numbers unique without reading every ticket."""
    try:
        old_next, new_next = _next_number(old), _next_number(new)
    except FormatError:
        return []  # numbers.json itself is broken; that is reported already
    count = len(added_tickets)
    free = range(old_next, old_next + count)
    taken: set[int] = set()
    problems = []
    for path, number in sorted(added_tickets.items(), key=lambda item: item[1]):
        if number not in free or number in taken:
            span = f"{free.start} to {free[-1]}" if count > 1 else str(free.start)
            problem = (
                f"{number} is not free; the {count} new ticket(s) of this push "
                f"take {span} in turn (numbers.json 'next' is {old_next} "
                "on the server)"
            )
            problems.append(str(FormatError(path, "number", problem)))
        taken.add(number)
    if new_next != old_next + count:
        problem = (
            f"must be {old_next + count}: it is {old_next} on the server "
            f"and this push adds {count} ticket(s)"
        )
        problems.append(str(FormatError(NUMBERS_FILE, "next", problem)))
    return problems


def _next_number(snapshot: Snapshot) -> int:
    if snapshot.tree is None or not snapshot.exists(NUMBERS_FILE):
        return 1
    doc = formats.check("numbers", NUMBERS_FILE, read_document(snapshot, NUMBERS_FILE))
    return doc["next"]


def read_document(snapshot: Snapshot, path: str) -> dict:
    data = snapshot.read_bytes(path)
    if data is None:
        raise FormatError(path, None, "is not a file")
    return parse_json(path, data)
