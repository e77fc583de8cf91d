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
from gitforge.store.keys import BadKey, parse_key
from gitforge.store.layout import check_name
from gitforge.store.site import user_path

_USER_FILE = re.compile(r"users/(?P<name>[^/]+)\.json")
# projects/<name>.json, projects/<ns>/<name>.json, and for forks
# projects/forks/<user>/[<ns>/]<name>.json
_PROJECT_FILE = re.compile(r"projects/(?:forks/[^/]+/)?(?:[^/]+/)?[^/]+\.json")
_GROUP_FILE = re.compile(r"groups/(?P<name>[^/]+)\.json")
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
                if _GROUP_FILE.fullmatch(delta.old_file.path):
                    _check_group_deleted(new, delta.old_file.path)
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
    # Deleting a token file is allowed: it revokes the token; a group file
    # too, once no project grants the group anything (see _check_file).


def _check_group_deleted(new: Snapshot, path: str) -> None:
    name = _GROUP_FILE.fullmatch(path)["name"]
    for project_path, data in new.walk("projects"):
        groups = (parse_json(project_path, data).get("access") or {}).get("groups")
        if name in (groups or {}):
            raise FormatError(
                path, None, f"{project_path} still grants @{name} access; revoke it too"
            )


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
    elif match := _GROUP_FILE.fullmatch(path):
        _check_group(old, new, path, match["name"])
    else:
        raise FormatError(
            path,
            None,
            "unexpected file; the site repo holds users/, groups/ and projects/",
        )


def _check_group(old: Snapshot, new: Snapshot, path: str, name: str) -> None:
    group = formats.check("group", path, read_document(new, path))
    if group["name"] != name:
        raise FormatError(path, "name", "must equal the file's name")
    if not old.exists(path):
        _check_new_name(path, name, "group")
        same = [n for n in new.listdir("groups") if n.lower() == f"{name.lower()}.json"]
        if len(same) > 1:
            raise FormatError(path, "name", "differs from another only in case")
    for member in group["members"]:
        if not new.exists(user_path(member)):
            raise FormatError(path, "members", f"no user is named {member!r}")


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
    _check_keys(path, user.get("ssh_keys", []))
    _refuse_taken(new, path, user)


def _check_keys(path: str, keys: list[dict]) -> None:
    for entry in keys:
        try:
            stored, fingerprint = parse_key(entry["key"])
        except BadKey as err:
            raise FormatError(path, "ssh_keys", str(err)) from None
        if (stored, fingerprint) != (entry["key"], entry["fingerprint"]):
            raise FormatError(
                path, "ssh_keys", f"{entry['fingerprint']} is not the key's fingerprint"
            )


def _check_new_name(path: str, name: str, kind: str = "user") -> None:
    try:
        check_name(kind, name)
    except InvalidName as err:
        raise FormatError(path, "name", err.reason) from None


def _refuse_name_taken(new: Snapshot, name: str) -> None:
    same = [n for n in new.listdir("users") if n.lower() == f"{name.lower()}.json"]
    if len(same) > 1:
        raise FormatError(user_path(name), "name", "differs from another only in case")


def _refuse_taken(new: Snapshot, path: str, user: dict) -> None:
    """Emails and ssh keys belong to one account each."""
    # Not yet: this reads every account, as adding one on the web does.
    emails = {email.lower() for email in user["emails"]}
    keys = {key["fingerprint"] for key in user.get("ssh_keys", [])}
    for other_path, data in new.walk("users"):
        if other_path == path or not other_path.endswith(".json"):
            continue
        other = parse_json(other_path, data)
        taken = emails & {e.lower() for e in other.get("emails", [])}
        if taken:
            raise FormatError(
                path, "emails", f"{sorted(taken)[0]} belongs to {other_path}"
            )
        held = keys & {k.get("fingerprint") for k in other.get("ssh_keys", [])}
        if held:
            raise FormatError(
                path, "ssh_keys", f"{sorted(held)[0]} belongs to {other_path}"
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
    access = project.get("access") or {}
    for name in access.get("users") or {}:
        if not new.exists(user_path(name)):
            raise FormatError(path, "access", f"no user is named {name!r}")
    for name in access.get("groups") or {}:
        if not new.exists(f"groups/{name}.json"):
            raise FormatError(path, "access", f"no group is named {name!r}")
    if project.get("parent") and project["owner"] != before["owner"]:
        raise FormatError(path, "owner", "a fork belongs to the user who made it")
