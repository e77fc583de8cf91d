"""Where each repository of a site lives, and which names are allowed.

All repositories sit under one folder (`<home>/repositories`) so that gitolite,
git over HTTP and the hooks see the same tree:

    site.git                      users and projects
    <ns>/<name>.git               a project's code
    forks/<user>/<ns>/<name>.git  a fork
    tickets/<ns>/<name>.git       the project's tickets
    requests/<ns>/<name>.git      the project's pull requests
    docs/<ns>/<name>.git          the project's documentation
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

from gitforge.store.errors import InvalidName

SITE_REPO = "site.git"

# Top folders of the repositories tree and words the web app routes on; a
# project, namespace, user or group by one of these names would shadow them.
RESERVED_NAMES = frozenset(
    {
        "site", "forks", "fork", "tickets", "requests", "docs", "api", "login",
        "logout", "register", "static", "user", "users", "group", "groups",
        "new", "settings", "search", "projects", "explore", "issues",
        "pull-requests", "releases", "about", "help", "raw", "git", "index",
        "queue", "gitolite",
    }
)  # fmt: skip

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


class RepoKind(Enum):
    CODE = ""
    TICKETS = "tickets"
    REQUESTS = "requests"
    DOCS = "docs"


def check_name(kind: str, name: str) -> str:
    """Return `name` if it may name a project, namespace, user or group.

    Names are data, never options or paths: no leading dash or dot, no
    slashes, no `..`, nothing that ends in `.git`, nothing reserved.
    """
    if not _NAME.fullmatch(name):
        raise InvalidName(
            kind,
            name,
            "use 1 to 100 letters, digits, '_', '.', '+' or '-', "
            "starting with a letter or digit",
        )
    if ".." in name:
        raise InvalidName(kind, name, "'..' is not allowed")
    if name.lower().endswith(".git") or name.lower().endswith(".lock"):
        raise InvalidName(kind, name, "must not end in .git or .lock")
    if name.lower() in RESERVED_NAMES:
        raise InvalidName(kind, name, "this name is reserved")
    return name


def split_fullname(fullname: str) -> tuple[str | None, str]:
    """Split `ns/name` or `name` into (namespace, name), checking both."""
    parts = fullname.split("/")
    if len(parts) == 1:
        return None, check_name("project", parts[0])
    if len(parts) == 2:
        return check_name("namespace", parts[0]), check_name("project", parts[1])
    raise InvalidName("project", fullname, "at most one namespace is allowed")


def repo_relpath(kind: RepoKind, fullname: str) -> str:
    """The path of a project's repo of `kind`, relative to the repositories
    folder, e.g. `tickets/ns/name.git`."""
    split_fullname(fullname)
    prefix = f"{kind.value}/" if kind.value else ""
    return f"{prefix}{fullname}.git"


def repo_path(root: Path, kind: RepoKind, fullname: str) -> Path:
    return root / repo_relpath(kind, fullname)


def parse_relpath(relpath: str) -> tuple[RepoKind, str] | None:
    """The inverse of `repo_relpath`, for hooks and git over HTTP.

    Returns None for the site repo, forks (not yet supported) and anything
    that is not a project's repository.
    """
    if not relpath.endswith(".git"):
        return None
    parts = relpath[: -len(".git")].split("/")
    kind = RepoKind.CODE
    if parts[0] in {k.value for k in RepoKind if k.value}:
        kind = RepoKind(parts[0])
        parts = parts[1:]
    if not 1 <= len(parts) <= 2:
        return None
    try:
        fullname = "/".join(parts)
        split_fullname(fullname)
    except InvalidName:
        return None
    return kind, fullname
