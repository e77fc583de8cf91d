"""What a push to the site repo may change.

Administrators may edit accounts and project settings with git, held to the
same formats as every other writer. Projects are only made and removed by
gitforge itself, because a project is more than its document: its code,
ticket and request repos must exist with it.
"""

from __future__ import annotations

import re

import pygit2

from gitforge.hooks.ticket_checks import read_document
from gitforge.store import formats
from gitforge.store.documents import Snapshot, parse_json
from gitforge.store.errors import FormatError, InvalidName
from gitforge.store.layout import check_name
from gitforge.store.site import user_path

_USER_FILE = re.compile(r"users/(?P<name>[^/]+)\.json")
# projects/<name>.json, projects/<ns>/<name>.json, and for forks
# projects/forks/<user>/[<ns>/]<name>.json
_PROJECT_FILE = re.compile(r"projects/(?:forks/[^/]+/)?(?:[^/]+/)?[^/]+\.json")
_FREE_FILES = {"README.md"}


def check_change(
    old: Snapshot, new: Snapshot, deltas: list[pygit2.DiffDelta]
) -> list[str]:
    """The content check of a site repo push (see gitforge.hooks.validate)."""
    problems = []
    for delta in deltas:
        try:
            if delta.status == pygit2.GIT_DELTA_DELETED:
                _check_deletion(delta.old_file.path)
            else:
                _check_file(old, new, delta.new_file.path)
        except FormatError as err:
            problems.append(str(err))
    return problems


def _check_deletion(path: str) -> None:
    if _USER_FILE.fullmatch(path):
        # Not yet: removing an account needs a decision about what it wrote.
        raise FormatError(path, None, "accounts cannot be deleted with a push")
    if _PROJECT_FILE.fullmatch(path):
        raise FormatError(path, None, "projects cannot be deleted with a push")
    # Deleting a token file is allowed: it revokes the token.


def _check_file(old: Snapshot, new: Snapshot, path: str) -> None:
    if path in _FREE_FILES:
        return
    if path.startswith("tokens/"):
        raise FormatError(
            path, None, "tokens are made with `gitforge token create`, not pushed"
        )
    if match := _USER_FILE.fullmatch(path):
        _check_user(old, new, path, match["name"])
    elif match := _PROJECT_FILE.fullmatch(path):
        _check_project(old, new, path)
    else:
        raise FormatError(
            path, None, "unexpected file; the site repo holds users/ and projects/"
        )


def _check_user(old: Snapshot, new: Snapshot, path: str, name: str) -> None:
    user = formats.check("user", path, read_document(new, path))
    if user["name"] != name:
        raise FormatError(path, "name", "must equal the file's name")
    before = old.read(path) if old.exists(path) else None
    if before is None:
        _check_new_name(path, name)
        _refuse_name_taken(new, name)
    elif before["created"] != user["created"]:
        raise FormatError(path, "created", "an account's creation time never changes")
    _refuse_emails_taken(new, path, user["emails"])


def _check_new_name(path: str, name: str) -> None:
    try:
        check_name("user", name)
    except InvalidName as err:
        raise FormatError(path, "name", err.reason) from None


def _refuse_name_taken(new: Snapshot, name: str) -> None:
    same = [n for n in new.listdir("users") if n.lower() == f"{name.lower()}.json"]
    if len(same) > 1:
        raise FormatError(user_path(name), "name", "differs from another only in case")


def _refuse_emails_taken(new: Snapshot, path: str, emails: list[str]) -> None:
    # Not yet: this reads every account, as adding one on the web does.
    mine = {email.lower() for email in emails}
    for other_path, data in new.walk("users"):
        if other_path == path or not other_path.endswith(".json"):
            continue
        other = parse_json(other_path, data)
        taken = mine & {e.lower() for e in other.get("emails", [])}
        if taken:
            raise FormatError(
                path, "emails", f"{sorted(taken)[0]} belongs to {other_path}"
            )


def _check_project(old: Snapshot, new: Snapshot, path: str) -> None:
    if not old.exists(path):
        raise FormatError(
            path,
            None,
            "projects are created with `gitforge project create` or on the web, "
            "which also make their repos",
        )
    project = formats.check("project", path, read_document(new, path))
    before = read_document(old, path)
    for field in ("name", "namespace", "created", "parent"):
        if project.get(field) != before.get(field):
            raise FormatError(path, field, "never changes")
    if not new.exists(user_path(project["owner"])):
        raise FormatError(path, "owner", f"no user is named {project['owner']!r}")
    if project.get("parent") and project["owner"] != before["owner"]:
        raise FormatError(path, "owner", "a fork belongs to the user who made it")
