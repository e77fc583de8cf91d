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
# A project's own pages follow Pagure's scheme, `/<project>/tree/...`, so a
# namespaced project `foo/tree` would be reached at the URL of foo's tree:
# the words of that scheme are kept back too, those we serve and those we
# are likely to.
RESERVED_NAMES = frozenset(
    {
        # folders of <home>/repositories and <home>
        "site", "forks", "tickets", "requests", "docs", "index", "queue",
        "gitolite",
        # site pages
        "api", "login", "logout", "register", "static", "user", "users",
        "group", "groups", "new", "settings", "search", "projects",
        "explore", "dashboard", "browse", "about", "help", "git",
        # a project's pages: code
        "tree", "blob", "raw", "commits", "commit", "c", "history", "blame",
        "branches", "tags", "releases", "diff", "fork", "stats", "activity",
        # a project's pages: tickets and pull requests
        "issues", "issue", "new_issue", "roadmap", "pull-requests",
        "pull-request",
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
    """Split `ns/name` or `name` into (namespace, name), checking both.

    A fork, `forks/<user>/name` or `forks/<user>/ns/name`, splits into the
    namespace and name it carries after its user, whose name is checked too.
    """
    if is_fork(fullname):
        forked = unforked_fullname(fullname)
        if not forked:
            raise InvalidName(
                "fork", fullname, "a fork is named forks/<user>/[<namespace>/]<name>"
            )
        check_name("user", fork_user(fullname) or "")
        fullname = forked
    parts = fullname.split("/")
    if len(parts) == 1:
        return None, check_name("project", parts[0])
    if len(parts) == 2:
        return check_name("namespace", parts[0]), check_name("project", parts[1])
    raise InvalidName("project", fullname, "at most one namespace is allowed")


FORKS_FOLDER = "forks"


def is_fork(fullname: str) -> bool:
    """Whether `fullname` names a fork (`forks/<user>/...`). No project or
    namespace can be called `forks`: it is a reserved name."""
    return fullname.split("/", 1)[0] == FORKS_FOLDER


def fork_fullname(user: str, parent: str) -> str:
    """The full name of `user`'s fork of `parent`. A fork of a fork is named
    after the project at its root, as in Pagure: bob's fork of
    `forks/alice/ns/foo` is `forks/bob/ns/foo`."""
    check_name("user", user)
    fullname = f"{FORKS_FOLDER}/{user}/{unforked_fullname(parent)}"
    split_fullname(fullname)
    return fullname


def unforked_fullname(fullname: str) -> str:
    """`ns/foo` for `forks/<user>/ns/foo`; a project's own name unchanged."""
    if not is_fork(fullname):
        return fullname
    parts = fullname.split("/", 2)
    return parts[2] if len(parts) == 3 else ""


def fork_user(fullname: str) -> str | None:
    """The user who owns the fork `fullname`; None for a project."""
    if not is_fork(fullname):
        return None
    parts = fullname.split("/", 2)
    return parts[1] if len(parts) > 1 else ""


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

    Returns None for the site repo and anything that is not the repository
    of a project or a fork.
    """
    if not relpath.endswith(".git"):
        return None
    parts = relpath[: -len(".git")].split("/")
    kind = RepoKind.CODE
    if parts[0] in {k.value for k in RepoKind if k.value}:
        kind = RepoKind(parts[0])
        parts = parts[1:]
    if not 1 <= len(parts) <= 4:  # up to forks/<user>/<ns>/<name>
        return None
    try:
        fullname = "/".join(parts)
        split_fullname(fullname)
    except InvalidName:
        return None
    return kind, fullname
