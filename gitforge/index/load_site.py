"""Loading the site repo into the index: users with their ssh keys, groups
and projects with their access."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, delete, insert, select, update

from gitforge.index.loading import read_valid
from gitforge.index.schema import group_members, groups, projects, ssh_keys, users
from gitforge.store.documents import Snapshot

log = logging.getLogger(__name__)


def load_site(
    conn: Connection, relpath: str, snapshot: Snapshot, changed: list[str] | None
) -> list[str]:
    if changed is None:
        for table in (ssh_keys, users, group_members, groups):
            conn.execute(delete(table))
        changed = [
            path
            for folder in ("users", "groups", "projects")
            for path, _ in snapshot.walk(folder)
        ]
        _delete_projects_not_in(conn, snapshot)
    done = []
    for path in changed:
        folder = path.partition("/")[0]
        loader = _LOADERS.get(folder)
        if loader is not None and path.endswith(".json"):
            loader(conn, snapshot, path)
            done.append(path)
    return done


def _load_user(conn: Connection, snapshot: Snapshot, path: str) -> None:
    name = path[len("users/") : -len(".json")]
    doc = read_valid(snapshot, "user", path)
    conn.execute(delete(ssh_keys).where(ssh_keys.c.user_name == name))
    conn.execute(delete(users).where(users.c.name == name))
    if doc is None:
        return
    for key in doc.get("ssh_keys", ()):
        holder = conn.execute(
            select(ssh_keys.c.user_name).where(
                ssh_keys.c.fingerprint == key["fingerprint"]
            )
        ).scalar()
        if holder is not None:  # only a push around the hooks gets here
            log.warning("sync: %s's key %s is %s's", name, key["fingerprint"], holder)
            continue
        conn.execute(insert(ssh_keys).values(user_name=name, **key))
    conn.execute(
        insert(users).values(
            name=doc["name"],
            full_name=doc["full_name"],
            email=doc["emails"][0],
            emails=json.dumps(doc["emails"]),
            password_hash=doc["password"],
            admin=doc["admin"],
            created=doc["created"],
        )
    )


def _load_project(conn: Connection, snapshot: Snapshot, path: str) -> None:
    fullname = path[len("projects/") : -len(".json")]
    doc = read_valid(snapshot, "project", path)
    if doc is None:
        conn.execute(delete(projects).where(projects.c.fullname == fullname))
        return
    values = dict(
        namespace=doc["namespace"],
        name=doc["name"],
        description=doc["description"],
        owner=doc["owner"],
        created=doc["created"],
        settings=json.dumps(doc["settings"], sort_keys=True),
        parent=doc.get("parent"),  # absent in documents older than forks
        private=bool(doc.get("private")),
        access=json.dumps(doc.get("access") or {}, sort_keys=True),
        protected_branches=json.dumps(doc.get("protected_branches") or []),
        ticket_settings=json.dumps(doc.get("ticket_settings") or {}, sort_keys=True),
    )
    touched = conn.execute(
        update(projects).where(projects.c.fullname == fullname).values(**values)
    )
    if touched.rowcount == 0:
        conn.execute(insert(projects).values(fullname=fullname, **values))


def _load_group(conn: Connection, snapshot: Snapshot, path: str) -> None:
    name = path[len("groups/") : -len(".json")]
    doc = read_valid(snapshot, "group", path)
    conn.execute(delete(group_members).where(group_members.c.group_name == name))
    conn.execute(delete(groups).where(groups.c.name == name))
    if doc is None:
        return
    conn.execute(
        insert(groups).values(
            name=name, description=doc["description"], created=doc["created"]
        )
    )
    for member in doc["members"]:
        conn.execute(insert(group_members).values(group_name=name, user_name=member))


_LOADERS = {"users": _load_user, "groups": _load_group, "projects": _load_project}


def _delete_projects_not_in(conn: Connection, snapshot: Snapshot) -> None:
    present = {
        p[len("projects/") : -len(".json")] for p, _ in snapshot.walk("projects")
    }
    known = conn.execute(select(projects.c.fullname)).scalars().all()
    gone = [name for name in known if name not in present]
    if gone:
        conn.execute(delete(projects).where(projects.c.fullname.in_(gone)))
