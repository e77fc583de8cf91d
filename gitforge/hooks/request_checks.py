"""What a push to a request repo may change: the discussion, not the code.

gitforge writes everything that follows the code (new pull requests, the
merge status, CI flags, updates of the source branch, merges). A push from
an offline clone may add comments, edit the pusher's own comments, and
close, reopen, retitle, describe, tag or assign a pull request, under the
same policy as the web pages.
"""

from __future__ import annotations

import re

import pygit2

from gitforge.hooks.pusher import Pusher
from gitforge.hooks.ticket_checks import (
    COMMENT_FILE,
    FREE_FILES,
    UID_FOLDER,
    read_document,
)
from gitforge.policy import Action
from gitforge.store import formats
from gitforge.store.documents import Snapshot
from gitforge.store.errors import FormatError
from gitforge.store.requests import request_path

_REQUEST_FILE = re.compile(UID_FOLDER + r"/request\.json")

# Fields a push may change, and who may: the author and committers edit,
# those who may merge triage; the status moves between Open and Closed.
_EDITED = ("title", "description")
_TRIAGED = ("tags", "assignee")
_CLOSING = ("status", "closed_by", "closed_at")
_GITFORGE_ONLY = (
    "gitforge writes this file; a push may add comments and close, reopen, "
    "retitle, describe, tag or assign a pull request"
)


class RequestChanges:
    """The content check of a request repo push (see gitforge.hooks.validate)."""

    def __init__(self, pusher: Pusher):
        self.pusher = pusher

    def __call__(
        self, old: Snapshot, new: Snapshot, deltas: list[pygit2.DiffDelta]
    ) -> list[str]:
        problems = []
        for delta in deltas:
            try:
                if delta.status == pygit2.GIT_DELTA_DELETED:
                    raise FormatError(delta.old_file.path, None, _NO_DELETION)
                self.check_file(old, new, delta.new_file.path)
            except FormatError as err:
                problems.append(str(err))
        return problems

    def check_file(self, old: Snapshot, new: Snapshot, path: str) -> None:
        if path in FREE_FILES:
            return
        if _REQUEST_FILE.fullmatch(path):
            before = old.read(path)
            if before is None:
                raise FormatError(path, None, "pull requests are opened on the web")
            request = formats.check("request", path, read_document(new, path))
            self._check_request_change(path, before, request)
            return
        if match := COMMENT_FILE.fullmatch(path):
            request = new.read(request_path(match["uid"]))
            if request is None:
                raise FormatError(path, None, "comments a pull request that is absent")
            comment = formats.check("request_comment", path, read_document(new, path))
            if comment["uid"] != match["cuid"]:
                raise FormatError(path, "uid", "must equal the file's name")
            self._check_comment(path, request, comment, old.read(path))
            return
        raise FormatError(path, None, _GITFORGE_ONLY)

    def _check_request_change(self, path: str, before: dict, request: dict) -> None:
        changed = sorted(f for f in request if before.get(f) != request[f])
        for field in changed:
            if field not in _EDITED + _TRIAGED + _CLOSING:
                raise FormatError(path, field, _GITFORGE_ONLY)
            action = (
                Action.MERGE_PULL_REQUEST
                if field in _TRIAGED
                else (Action.EDIT_PULL_REQUEST)
            )
            if not self.pusher.may(
                action, comment_author=before["author"], ref=before["target_branch"]
            ):
                raise FormatError(path, field, f"{self.pusher.name} may not change it")
        if "status" in changed:
            self._check_status(path, before, request)
        elif {"closed_by", "closed_at"} & set(changed):
            raise FormatError(path, "closed_by", "changes only with the status")
        assignee = request["assignee"]
        if "assignee" in changed and assignee and not self.pusher.knows(assignee):
            raise FormatError(path, "assignee", f"no user is named {assignee!r}")

    def _check_status(self, path: str, before: dict, request: dict) -> None:
        moves = {("Open", "Closed"), ("Closed", "Open")}
        if (before["status"], request["status"]) not in moves:
            raise FormatError(
                path,
                "status",
                f"cannot go from {before['status']} to {request['status']} in a "
                "push; merges happen on the server",
            )
        closing = request["status"] == "Closed"
        if closing and request["closed_by"] != self.pusher.name:
            raise FormatError(
                path, "closed_by", f"must be {self.pusher.name!r}, who closes it"
            )
        if not closing and request["closed_by"] is not None:
            raise FormatError(path, "closed_by", "must be null once reopened")

    def _check_comment(
        self, path: str, request: dict, comment: dict, before: dict | None
    ) -> None:
        if before is None:
            if comment["author"] != self.pusher.name:
                raise FormatError(
                    path,
                    "author",
                    f"is {comment['author']!r}, but this push is by "
                    f"{self.pusher.name!r}: comment as yourself",
                )
            if comment["inline"] is not None:
                raise FormatError(path, "inline", "inline comments are made on the web")
            if not self.pusher.may(Action.COMMENT_PULL_REQUEST):
                raise FormatError(path, None, f"{self.pusher.name} may not comment")
            return
        for field in ("uid", "author", "created", "inline"):
            if before.get(field) != comment.get(field):
                raise FormatError(path, field, f"a comment's {field} never changes")
        on = {"author": request["author"], "private": False}
        if before != comment and not self.pusher.may(
            Action.EDIT_COMMENT, on, comment_author=comment["author"]
        ):
            who = comment["author"]
            raise FormatError(path, None, f"{self.pusher.name} may not edit {who}'s")


_NO_DELETION = (
    "nothing in a request repo can be deleted; close the pull request or edit "
    "the comment instead"
)
