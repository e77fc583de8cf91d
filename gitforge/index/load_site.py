"""Loading the site repo into the index: users and projects."""

from __future__ import annotations

import json

from sqlalchemy import Connection, delete, insert, select, update

from gitforge.index.loading import read_valid
from gitforge.index.schema import projects, users
from gitforge.store.documents import Snapshot


def load_site(
    conn: Connection, relpath: str, snapshot: Snapshot, changed: list[str] | None
) -> list[str]:
    if changed is None:
        conn.execute(delete(users))
        changed = [p for p, _ in snapshot.walk("users")]
        changed += [p for p, _ in snapshot.walk("projects")]
        _delete_projects_not_in(conn, snapshot)
    done = []
    for path in changed:
        if path.startswith("users/") and path.endswith(".json"):
            _load_user(conn, snapshot, path)
            done.append(path)
        elif path.startswith("projects/") and path.endswith(".json"):
            _load_project(conn, snapshot, path)
            done.append(path)
    return done


def _load_user(conn: Connection, snapshot: Snapshot, path: str) -> None:
    name = path[len("users/") : -len(".json")]
    doc = read_valid(snapshot, "user", path)
    conn.execute(delete(users).where(users.c.name == name))
    if doc is None:
        return
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
    )
    touched = conn.execute(
        update(projects).where(projects.c.fullname == fullname).values(**values)
    )
    if touched.rowcount == 0:
        conn.execute(insert(projects).values(fullname=fullname, **values))


def _delete_projects_not_in(conn: Connection, snapshot: Snapshot) -> None:
    present = {
        p[len("projects/") : -len(".json")] for p, _ in snapshot.walk("projects")
    }
    known = conn.execute(select(projects.c.fullname)).scalars().all()
    gone = [name for name in known if name not in present]
    if gone:
        conn.execute(delete(projects).where(projects.c.fullname.in_(gone)))
