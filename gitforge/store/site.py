"""The site repo: users and projects, one JSON document each.

    users/<name>.json
    projects/<name>.json  or  projects/<namespace>/<name>.json
    projects/forks/<user>/[<namespace>/]<name>.json   a fork

Only hashes of passwords are stored. The site repo is for administrators only;
everything else reads these facts through the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitforge.store import formats
from gitforge.store.documents import (
    SYSTEM,
    DocumentRepo,
    Identity,
    Snapshot,
    init_document_repo,
    parse_json,
    utc_now,
)
from gitforge.store.errors import AlreadyExists, FormatError, InvalidName, NotFound
from gitforge.store.layout import (
    SITE_REPO,
    check_name,
    fork_user,
    is_fork,
    split_fullname,
)
from gitforge.store.passwords import hash_password


def user_path(name: str) -> str:
    return f"users/{name}.json"


def project_path(fullname: str) -> str:
    return f"projects/{fullname}.json"


@dataclass(frozen=True)
class NewUser:
    name: str
    email: str
    full_name: str = ""
    password: str | None = None
    admin: bool = False


class SiteRepo(DocumentRepo):
    """Users and projects of one site."""

    @classmethod
    def open(cls, repositories: Path) -> SiteRepo:
        return cls(repositories / SITE_REPO)

    @classmethod
    def create(cls, repositories: Path) -> SiteRepo:
        path = repositories / SITE_REPO
        if path.exists():
            raise AlreadyExists("site repo", str(path))
        init_document_repo(path, {"README.md": _SITE_README}, "Create the site repo")
        return cls(path)

    def user(self, name: str) -> dict:
        return self.read_existing(user_path(name), "user", name)

    def project(self, fullname: str) -> dict:
        doc = self.read_existing(project_path(fullname), "project", fullname)
        doc.setdefault("parent", None)  # written before forks existed
        return doc

    def add_user(self, new: NewUser, actor: Identity = SYSTEM) -> dict:
        """Add an account; refuses a taken name or email."""
        check_name("user", new.name)
        doc = {
            "format": formats.FORMAT_VERSION,
            "name": new.name,
            "full_name": new.full_name,
            "emails": [new.email],
            "password": hash_password(new.password) if new.password else None,
            "admin": new.admin,
            "created": utc_now(),
        }
        formats.check("user", user_path(new.name), doc)

        def change(snapshot: Snapshot) -> dict:
            _refuse_taken_user(snapshot, new.name, new.email)
            _refuse_kept_name(new)
            return {user_path(new.name): doc}

        self.transact(change, actor, f"Add user {new.name}")
        return doc

    def add_project(
        self,
        fullname: str,
        owner: str,
        description: str = "",
        actor: Identity = SYSTEM,
        parent: str | None = None,
        private: bool = False,
    ) -> dict:
        """Record a project, or with `parent` a fork (named `forks/...`) of
        the project `parent`; refuses a taken name, an owner without an
        account and a parent that is not recorded. A `private` project is
        absent for everybody without access to it (gitforge.policy)."""
        namespace, name = split_fullname(fullname)
        if is_fork(fullname) != (parent is not None):
            raise InvalidName(
                "project", fullname, "a fork, and only a fork, has a parent"
            )
        if parent is not None and owner != fork_user(fullname):
            raise InvalidName(
                "fork", fullname, f"must be owned by {fork_user(fullname)}"
            )
        doc = {
            "format": formats.FORMAT_VERSION,
            "name": name,
            "namespace": namespace,
            "description": description,
            "owner": owner,
            "created": utc_now(),
            "settings": {},
            "parent": parent,
            "private": private,
        }
        formats.check("project", project_path(fullname), doc)

        def change(snapshot: Snapshot) -> dict:
            if snapshot.exists(project_path(fullname)):
                raise AlreadyExists("fork" if parent else "project", fullname)
            if not snapshot.exists(user_path(owner)):
                raise NotFound("user", owner)
            if parent is not None and not snapshot.exists(project_path(parent)):
                raise NotFound("project", parent)
            return {project_path(fullname): doc}

        what = f"fork {fullname} of {parent}" if parent else f"project {fullname}"
        self.transact(change, actor, f"Add {what}")
        return doc

    def change_settings(
        self, fullname: str, settings: dict, actor: Identity = SYSTEM
    ) -> dict:
        """Set some of a project's settings (see formats.PROJECT_SETTINGS)."""
        return self.change_project(fullname, settings=settings, actor=actor)

    def change_project(
        self,
        fullname: str,
        description: str | None = None,
        private: bool | None = None,
        settings: dict | None = None,
        actor: Identity = SYSTEM,
    ) -> dict:
        """Change a project's description, privacy and some of its settings
        in one commit; None leaves a field as it is."""
        path = project_path(fullname)
        if description is not None and (problem := _description_problem(description)):
            raise FormatError(path, "description", problem)

        def edit(snapshot: Snapshot, project: dict) -> dict:
            if description is not None:
                project["description"] = description
            if private is not None:
                project["private"] = private
            if settings:
                project["settings"] = {**project["settings"], **settings}
            # Forks hold the project's code: they turn private with it (and
            # stay so when it turns public again).
            return forks_made_private(snapshot, fullname) if private else {}

        message = f"Change the settings of {fullname}"
        return self.edit_project(fullname, edit, actor, message)

    def edit_project(
        self,
        fullname: str,
        edit: Callable[[Snapshot, dict], dict | None],
        actor: Identity,
        message: str,
    ) -> dict:
        """Change project `fullname`'s document in one commit: `edit` changes
        the document it is given in place, raises to refuse, and may return
        changes of other documents to make in the same commit. Returns the
        document as written."""
        path = project_path(fullname)
        result: dict = {}

        def change(snapshot: Snapshot) -> dict:
            project = snapshot.read(path)
            if project is None:
                raise NotFound("project", fullname)
            more = edit(snapshot, project) or {}
            formats.check("project", path, project)
            result.clear()
            result.update(project)
            return {path: project, **more}

        self.transact(change, actor, message)
        return dict(result)

    def users(self) -> list[dict]:
        snapshot = self.snapshot()
        return [
            snapshot.read(f"users/{name}")
            for name in snapshot.listdir("users")
            if name.endswith(".json")
        ]


MAX_DESCRIPTION = 255


def _description_problem(description: str) -> str | None:
    """A description is one line: it is shown in lists and page heads."""
    if len(description) > MAX_DESCRIPTION:
        return f"must be at most {MAX_DESCRIPTION} characters"
    if not description.isprintable():
        return "must be one line without control characters"
    return None


def forks_made_private(snapshot: Snapshot, fullname: str) -> dict[str, dict]:
    """The documents of the forks of `fullname` (and of their forks) that
    are not private yet, made private."""
    children: dict[str, list[tuple[str, dict]]] = {}
    for path, data in snapshot.walk("projects/forks"):
        doc = parse_json(path, data)
        children.setdefault(doc.get("parent"), []).append((path, doc))
    changes, parents = {}, [fullname]
    while parents:
        for path, doc in children.get(parents.pop(), []):
            parents.append(path[len("projects/") : -len(".json")])
            if not doc.get("private"):
                changes[path] = {**doc, "private": True}
    return changes


# Account names kept back: the forge's own commit identity from everybody,
# and names that pass for the site's staff from all but administrators.
_FORGE_NAMES = frozenset({SYSTEM.username})
_STAFF_NAMES = frozenset(
    {
        "admin", "administrator", "root", "system", "staff", "moderator",
        "postmaster", "hostmaster", "webmaster", "abuse", "noreply",
        "no-reply", "mailer-daemon", "nobody", "anonymous",
    }
)  # fmt: skip


def _refuse_kept_name(new: NewUser) -> None:
    name = new.name.lower()
    if name in _FORGE_NAMES:
        raise InvalidName("user", new.name, "it is the forge's own name")
    if name in _STAFF_NAMES and not new.admin:
        raise InvalidName("user", new.name, "it is kept for administrators")


def name_taken(snapshot: Snapshot, folder: str, name: str) -> bool:
    """Whether `folder` (users, groups) holds `name`, in any case."""
    return f"{name.lower()}.json" in {n.lower() for n in snapshot.listdir(folder)}


def _refuse_taken_user(snapshot: Snapshot, name: str, email: str) -> None:
    # A group's name is taken too: grants name both, `bob` and `@bob`.
    for folder, kind in (("users", "user"), ("groups", "group")):
        if name_taken(snapshot, folder, name):
            raise AlreadyExists(kind, name)
    # Not yet: this reads every user file; fine for thousands of accounts,
    # an email index file would be needed beyond that.
    # Read leniently: one account stored before a rule was added must not
    # stop everybody else from registering.
    for path, data in snapshot.walk("users"):
        try:
            emails = parse_json(path, data).get("emails")
        except FormatError:
            continue
        if not isinstance(emails, list):
            continue
        if email.lower() in (e.lower() for e in emails if isinstance(e, str)):
            raise AlreadyExists("email", email)


_SITE_README = b"""\
# The site repo

Users and projects of this gitforge site, one JSON document each (see
docs/formats.md). Only administrators may read or write this repository.
"""
