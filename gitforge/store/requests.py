"""A project's request repo: one folder per pull request.

    <xx>/<uid>/request.json                 the pull request's fields
    <xx>/<uid>/comments/<comment-uid>.json  one comment (general or inline)
    <xx>/<uid>/flags/<flag-uid>.json        one CI flag
    <xx>/<uid>/updates/<update-uid>.json    one move of the source branch

(`<xx>` is the uid's last two hex digits; see `uid_folder`.)

Like the ticket repo, every conversation part is a file of its own, so
nothing written in two places conflicts. A pull request's number comes from
the project's shared ticket/pull request sequence in the ticket repo
(`TicketRepo.take_number`).

Source repos are named by their path under the repositories folder without
`.git`: `foo`, `ns/foo`, or a fork, `forks/alice/foo`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gitforge.store import formats
from gitforge.store.documents import (
    DocumentRepo,
    Identity,
    Snapshot,
    init_document_repo,
    parse_json,
    uid_folder,
    utc_now,
)
from gitforge.store.errors import FormatError, NotFound
from gitforge.store.tickets import MERGE_ATTRIBUTES, new_uid, read_comments

REQUEST_STATUSES = formats.REQUEST_STATUSES
EDITABLE_FIELDS = frozenset({"title", "description", "tags", "assignee"})


def request_path(uid: str) -> str:
    return f"{uid_folder(uid)}/request.json"


def part_path(uid: str, part: str, part_uid: str) -> str:
    """A comment, flag or update of a pull request: `part` is the folder."""
    return f"{uid_folder(uid)}/{part}/{part_uid}.json"


def flag_uid(username: str, name: str) -> str:
    """Stable per poster and flag name, so posting a flag again updates it."""
    return hashlib.sha256(f"{username}\0{name}".encode()).hexdigest()[:32]


class RequestRepo(DocumentRepo):
    """The pull requests of one project."""

    @classmethod
    def create(cls, path: Path) -> RequestRepo:
        init_document_repo(
            path,
            {"README.md": _REQUESTS_README, ".gitattributes": MERGE_ATTRIBUTES},
            "Create the request repo",
        )
        return cls(path)

    def request(self, uid: str) -> dict:
        return self.read_existing(request_path(uid), "pull request", uid)

    def comments(self, uid: str) -> list[dict]:
        return read_comments(self.snapshot(), uid, kind="request_comment")

    def flags(self, uid: str) -> list[dict]:
        return read_folder(self.snapshot(), f"{uid_folder(uid)}/flags", "flag")

    def updates(self, uid: str) -> list[dict]:
        return read_folder(self.snapshot(), f"{uid_folder(uid)}/updates", "update")

    def open_request(self, author: Identity, number: int, **fields) -> dict:
        """Record a new pull request under `number` (taken from the ticket
        repo's sequence by the caller)."""
        doc = draft_request(author, number, **fields)

        def change(snapshot: Snapshot) -> dict:
            return {request_path(doc["uid"]): doc}

        self.transact(change, author, f"Open pull request #{number}: {doc['title']}")
        return doc

    def update_request(self, uid: str, actor: Identity, **fields) -> dict:
        """Change the fields people edit: title, description, tags, assignee."""
        unknown = set(fields) - EDITABLE_FIELDS
        if unknown:
            field = sorted(unknown)[0]
            raise FormatError(request_path(uid), field, "is not editable")
        if "tags" in fields:
            fields["tags"] = sorted(set(fields["tags"]))
        return self.edit(uid, actor, fields, "Edit pull request")

    def edit(self, uid: str, actor: Identity, changes: dict, message: str) -> dict:
        """Apply `changes` (any fields) to a pull request, checked."""
        result: dict = {}
        path = request_path(uid)

        def change(snapshot: Snapshot) -> dict:
            request = _require(snapshot, uid)
            result.clear()
            result.update(request, **changes)
            formats.check("request", path, result)
            return {path: result}

        self.transact(change, actor, f"{message} #{self._number_hint(uid)}")
        return dict(result)

    def add_comment(
        self, uid: str, author: Identity, body: str, inline: dict | None = None
    ) -> dict:
        """A general comment, or with `inline` = {commit, path, line, side}
        one on a line of a file at a commit."""
        comment = {
            "format": formats.FORMAT_VERSION,
            "uid": new_uid(),
            "author": author.username,
            "created": utc_now(),
            "edited": None,
            "body": body,
            "inline": inline,
        }
        path = part_path(uid, "comments", comment["uid"])
        formats.check("request_comment", path, comment)
        self._add_file(uid, path, comment, author, "Comment on")
        return comment

    def set_flag(self, uid: str, author: Identity, **fields) -> dict:
        """Create or update the CI flag `fields["name"]` of this poster."""
        path = part_path(uid, "flags", flag_uid(author.username, fields["name"]))
        now = utc_now()
        result: dict = {}

        def change(snapshot: Snapshot) -> dict:
            _require(snapshot, uid)
            before = snapshot.read(path)
            result.clear()
            result.update(
                format=formats.FORMAT_VERSION,
                uid=flag_uid(author.username, fields["name"]),
                username=author.username,
                created=before["created"] if before else now,
                updated=now,
                **fields,
            )
            formats.check("flag", path, result)
            return {path: result}

        self.transact(change, author, f"Flag {fields['name']} on pull request {uid}")
        return dict(result)

    def record_update(self, uid: str, actor: Identity, **fields) -> dict:
        """Note that the source branch moved (old head, new head, forced)."""
        update = {
            "format": formats.FORMAT_VERSION,
            "uid": new_uid(),
            "created": utc_now(),
            **fields,
        }
        path = part_path(uid, "updates", update["uid"])
        formats.check("update", path, update)
        self._add_file(uid, path, update, actor, "Branch updated for")
        return update

    def _add_file(
        self, uid: str, path: str, doc: dict, actor: Identity, verb: str
    ) -> None:
        def change(snapshot: Snapshot) -> dict:
            _require(snapshot, uid)
            return {path: doc}

        self.transact(change, actor, f"{verb} pull request #{self._number_hint(uid)}")

    def _number_hint(self, uid: str) -> str:
        request = self.read(request_path(uid))
        return str(request["number"]) if request else uid


def draft_request(author: Identity, number: int, **fields) -> dict:
    """A new pull request document, checked; raises FormatError naming the
    first bad field, so callers can check before they take a number."""
    uid = new_uid()
    doc = {
        "format": formats.FORMAT_VERSION,
        "uid": uid,
        "number": number,
        "author": author.username,
        "created": utc_now(),
        "status": "Open",
        "closed_by": None,
        "closed_at": None,
        "merge_commit": None,
        "merge_status": None,
        "tags": [],
        "assignee": None,
        "description": "",
        **fields,
    }
    return formats.check("request", request_path(uid), doc)


def read_folder(snapshot: Snapshot, folder: str, kind: str) -> list[dict]:
    """Every document of `kind` in a folder, oldest first."""
    docs = [
        formats.check(kind, path, parse_json(path, data))
        for path, data in snapshot.walk(folder)
        if path.endswith(".json")
    ]
    return sorted(docs, key=lambda doc: (doc["created"], doc["uid"]))


def _require(snapshot: Snapshot, uid: str) -> dict:
    request = snapshot.read(request_path(uid))
    if request is None:
        raise NotFound("pull request", uid)
    return request


_REQUESTS_README = b"""\
# Pull requests

Every folder here is one pull request: `request.json` holds its fields, and
`comments/`, `flags/` and `updates/` one file per comment, CI flag and move
of the source branch. The format is described in gitforge's
docs/formats.md. gitforge writes this repository; clone it to read or back
up the discussions.
"""
