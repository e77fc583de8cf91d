"""Who may do what, as the site repo records it: groups of users, the access
levels each project grants, its protected branches and its ticket settings.

    groups/<name>.json            a group and its members
    projects/<fullname>.json      "private", "access", "protected_branches",
                                  "ticket_settings" (see docs/formats.md)

Every change is one commit to the site repo; gitforge.policy reads the
result.
"""

from __future__ import annotations

from gitforge.store import formats
from gitforge.store.documents import (
    SYSTEM,
    DocumentRepo,
    Identity,
    Snapshot,
    parse_json,
    utc_now,
)
from gitforge.store.errors import AlreadyExists, FormatError, NotFound
from gitforge.store.layout import check_name
from gitforge.store.site import SiteRepo, name_taken, project_path, user_path


def group_path(name: str) -> str:
    return f"groups/{name}.json"


def add_group(
    site: DocumentRepo,
    name: str,
    members: list[str] = (),
    description: str = "",
    actor: Identity = SYSTEM,
) -> dict:
    """Create a group; refuses a taken name (groups and users share one
    namespace in grants, so a group may not be named like a user either)."""
    check_name("group", name)
    doc = {
        "format": formats.FORMAT_VERSION,
        "name": name,
        "description": description,
        "members": sorted(set(members)),
        "created": utc_now(),
    }
    formats.check("group", group_path(name), doc)

    def change(snapshot: Snapshot) -> dict:
        if name_taken(snapshot, "groups", name):
            raise AlreadyExists("group", name)
        if name_taken(snapshot, "users", name):
            raise AlreadyExists("user", name)
        _refuse_unknown_users(snapshot, doc["members"])
        return {group_path(name): doc}

    site.transact(change, actor, f"Add group {name}")
    return doc


def change_members(
    site: DocumentRepo,
    name: str,
    add: list[str] = (),
    remove: list[str] = (),
    actor: Identity = SYSTEM,
) -> dict:
    """Add and remove members of group `name`."""
    result: dict = {}

    def change(snapshot: Snapshot) -> dict:
        group = snapshot.read(group_path(name))
        if group is None:
            raise NotFound("group", name)
        _refuse_unknown_users(snapshot, add)
        members = (set(group["members"]) | set(add)) - set(remove)
        result.clear()
        result.update(group, members=sorted(members))
        return {group_path(name): result}

    site.transact(change, actor, f"Change the members of group {name}")
    return dict(result)


def delete_group(site: DocumentRepo, name: str, actor: Identity = SYSTEM) -> None:
    """Remove a group and every grant to it."""

    def change(snapshot: Snapshot) -> dict:
        if not snapshot.exists(group_path(name)):
            raise NotFound("group", name)
        changes: dict = {group_path(name): None}
        for path, project in _projects(snapshot):
            groups = (project.get("access") or {}).get("groups") or {}
            if name in groups:
                changes[path] = _without_grant(project, "groups", name)
        return changes

    site.transact(change, actor, f"Delete group {name}")


def grant(
    site: DocumentRepo,
    fullname: str,
    subject: str,
    level: str,
    branches: list[str] = (),
    actor: Identity = SYSTEM,
) -> dict:
    """Give user `subject` (or group `@name`) `level` on project `fullname`,
    replacing what they held before."""
    kind, name = _subject(subject)
    entry = {"level": level}
    if branches:
        entry["branches"] = sorted(set(branches))

    def edit(snapshot: Snapshot, project: dict) -> None:
        holder = user_path(name) if kind == "users" else group_path(name)
        if not snapshot.exists(holder):
            raise NotFound("user" if kind == "users" else "group", name)
        if kind == "users" and name == project["owner"]:
            raise FormatError(
                project_path(fullname), "access", f"{name} owns the project"
            )
        access = {k: dict(v) for k, v in (project.get("access") or {}).items()}
        access.setdefault(kind, {})[name] = entry
        project["access"] = access

    return _change_project(site, fullname, edit, actor, f"Grant {level} to {subject}")


def revoke(
    site: DocumentRepo, fullname: str, subject: str, actor: Identity = SYSTEM
) -> dict:
    """Take away what user `subject` (or group `@name`) held on the project."""
    kind, name = _subject(subject)

    def edit(_snapshot: Snapshot, project: dict) -> None:
        if name not in ((project.get("access") or {}).get(kind) or {}):
            raise NotFound("grant", f"{subject} on {fullname}")
        project.update(_without_grant(project, kind, name))

    return _change_project(site, fullname, edit, actor, f"Revoke access of {subject}")


def set_private(
    site: SiteRepo, fullname: str, private: bool, actor: Identity = SYSTEM
) -> dict:
    """Make a project private (its forks too: they hold its code) or public."""
    return site.change_project(fullname, private=private, actor=actor)


def set_protected_branches(
    site: DocumentRepo, fullname: str, patterns: list[str], actor: Identity = SYSTEM
) -> dict:
    """Branches matching `patterns` can be neither force-pushed nor deleted."""

    def edit(_snapshot: Snapshot, project: dict) -> None:
        project["protected_branches"] = sorted(set(patterns))

    return _change_project(site, fullname, edit, actor, "Protect branches")


def set_ticket_settings(
    site: DocumentRepo, fullname: str, settings: dict, actor: Identity = SYSTEM
) -> dict:
    """Tags with colours, close reasons, priorities and milestones."""

    def edit(_snapshot: Snapshot, project: dict) -> None:
        project["ticket_settings"] = settings

    return _change_project(site, fullname, edit, actor, "Change ticket settings")


def _change_project(site: SiteRepo, fullname, edit, actor, message) -> dict:
    return site.edit_project(fullname, edit, actor, f"{message} on {fullname}")


def _subject(subject: str) -> tuple[str, str]:
    """("users", name) for a user, ("groups", name) for `@name`."""
    if subject.startswith("@"):
        return "groups", check_name("group", subject[1:])
    return "users", check_name("user", subject)


def _without_grant(project: dict, kind: str, name: str) -> dict:
    access = {k: dict(v) for k, v in (project.get("access") or {}).items()}
    access.get(kind, {}).pop(name, None)
    access = {k: v for k, v in access.items() if v}
    return {**project, "access": access}


def _projects(snapshot: Snapshot):
    for path, data in snapshot.walk("projects"):
        if path.endswith(".json"):
            yield path, parse_json(path, data)


def _refuse_unknown_users(snapshot: Snapshot, names) -> None:
    for name in names:
        if not snapshot.exists(user_path(name)):
            raise NotFound("user", name)


def groups_of(snapshot: Snapshot, user: str) -> frozenset[str]:
    """The names of the groups `user` is a member of, read from the site
    repo (the hooks use this; pages read the index)."""
    found = set()
    for path, data in snapshot.walk("groups"):
        group = parse_json(path, data)
        if user in group.get("members", ()):
            found.add(group["name"])
    return frozenset(found)
