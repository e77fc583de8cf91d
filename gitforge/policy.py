"""The one access policy: may user U do action A on project P (ref R)?

The web UI, the JSON API, git over HTTP and ssh, the hooks and the gitolite
config generator all ask `may`; none has rules of its own.

Each project grants access levels to users and to groups (`@name`); each
level includes the ones below it:

    admin         change the project's settings and access
    commit        push to any branch, merge pull requests, post CI flags
    collaborator  push to (and merge into) branches matching its patterns
    ticket        triage and edit tickets, read private ones; no push

The owner and the site's administrators are admins of every project. A
private project is absent for anybody without a level on it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum


class Action(Enum):
    READ_PROJECT = "read project"
    PUSH_CODE = "push code"  # with `ref`: to that branch; without: to some
    REWRITE_BRANCH = "force-push or delete a branch"  # needs `ref`
    CREATE_TICKET = "create ticket"
    READ_TICKET = "read ticket"
    COMMENT_TICKET = "comment on ticket"
    EDIT_TICKET = "edit ticket"  # title, body, open/close
    TRIAGE_TICKET = "triage ticket"  # tags, assignee, priority, milestone
    EDIT_COMMENT = "edit comment"
    CLONE_TICKETS = "clone the ticket repo"
    PUSH_TICKETS = "push to the ticket repo"  # each file is checked as well
    FORK_PROJECT = "fork the project"
    OPEN_PULL_REQUEST = "open a pull request"
    COMMENT_PULL_REQUEST = "comment on a pull request"
    EDIT_PULL_REQUEST = "edit a pull request"  # title, description, close, reopen
    MERGE_PULL_REQUEST = "merge a pull request"  # `ref`: the target branch
    FLAG_PULL_REQUEST = "flag a pull request"  # CI results
    CHANGE_SETTINGS = "change the project's settings"
    # Site actions: asked with project None.
    ADMINISTER_SITE = "read and write the site repo"
    MANAGE_GROUP = "change a group's members or delete it"  # `group_members`


class Level(IntEnum):
    TICKET = 1
    COLLABORATOR = 2
    COMMIT = 3
    ADMIN = 4

    @property
    def word(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, word: str) -> Level:
        try:
            return cls[word.upper()]
        except KeyError:
            raise ValueError(f"unknown access level {word!r}") from None


LEVEL_WORDS = tuple(level.word for level in Level)


@dataclass(frozen=True)
class Grant:
    """A level on a project; `branches` are the patterns a collaborator may
    push to (`release/*`), unused at other levels."""

    level: Level
    branches: tuple[str, ...] = ()

    def joined(self, other: Grant | None) -> Grant:
        """The access of somebody holding both grants."""
        if other is None or self.level > other.level:
            return self
        if other.level > self.level:
            return other
        return Grant(self.level, tuple(sorted(set(self.branches + other.branches))))

    def covers(self, ref: str | None) -> bool:
        """Whether this grant lets its holder push to `ref` (any ref when
        None means "some branch")."""
        if self.level >= Level.COMMIT:
            return True
        if self.level < Level.COLLABORATOR:
            return False
        return ref is None or any(branch_matches(p, ref) for p in self.branches)


ADMIN_GRANT = Grant(Level.ADMIN)


def branch_matches(pattern: str, ref: str) -> bool:
    """`release/*` matches the branch `release/1.0` (given as a branch name
    or as `refs/heads/release/1.0`). `*` may span slashes."""
    branch = ref.removeprefix("refs/heads/")
    if ref.startswith("refs/") and not ref.startswith("refs/heads/"):
        return False  # tags and other refs are for committers
    return fnmatch.fnmatchcase(branch, pattern)


@dataclass(frozen=True)
class Viewer:
    """Who is asking; None stands for an anonymous visitor."""

    name: str
    admin: bool = False
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ProjectFacts:
    fullname: str
    owner: str
    private: bool = False
    # subject -> grant; a subject is a user name or `@` and a group name
    grants: tuple[tuple[str, Grant], ...] = ()
    protected_branches: tuple[str, ...] = field(default=())

    @classmethod
    def from_document(cls, fullname: str, doc: Mapping) -> ProjectFacts:
        """The facts of a project document (formats.md), as the site repo
        or the index holds it."""
        return cls(
            fullname=fullname,
            owner=doc["owner"],
            private=bool(doc.get("private")),
            grants=grants_of(doc.get("access") or {}),
            protected_branches=tuple(doc.get("protected_branches") or ()),
        )

    def is_protected(self, ref: str) -> bool:
        return any(branch_matches(p, ref) for p in self.protected_branches)


def grants_of(access: Mapping) -> tuple[tuple[str, Grant], ...]:
    """The grants of a project document's `access` object:
    {"users": {name: {"level": ..., "branches": [...]}}, "groups": {...}}."""
    grants = []
    for kind, prefix in (("users", ""), ("groups", "@")):
        for name, entry in sorted((access.get(kind) or {}).items()):
            level = Level.named(entry["level"])
            branches = tuple(entry.get("branches") or ())
            grants.append((prefix + name, Grant(level, branches)))
    return tuple(grants)


@dataclass(frozen=True)
class TicketFacts:
    author: str
    private: bool


def grant_of(viewer: Viewer | None, project: ProjectFacts) -> Grant | None:
    """The access `viewer` holds on `project`, all grants joined."""
    if viewer is None:
        return None
    if viewer.admin or viewer.name == project.owner:
        return ADMIN_GRANT
    held = None
    for subject, grant in project.grants:
        group = subject[1:] if subject.startswith("@") else None
        if subject == viewer.name or (group is not None and group in viewer.groups):
            held = grant.joined(held)
    return held


def level_of(viewer: Viewer | None, project: ProjectFacts) -> Level | None:
    grant = grant_of(viewer, project)
    return grant.level if grant else None


def is_committer(viewer: Viewer | None, project: ProjectFacts) -> bool:
    """Whether `viewer` may push to every branch of `project`."""
    return _at_least(level_of(viewer, project), Level.COMMIT)


def sees_private_tickets(viewer: Viewer | None, project: ProjectFacts) -> bool:
    """Whether every ticket of `project` is readable by `viewer`, as it is
    for those who triage them."""
    return _at_least(level_of(viewer, project), Level.TICKET)


def may(
    viewer: Viewer | None,
    action: Action,
    project: ProjectFacts | None,
    ticket: TicketFacts | None = None,
    comment_author: str | None = None,
    private_ticket_authors: frozenset[str] = frozenset(),
    ref: str | None = None,
    group_members: frozenset[str] = frozenset(),
) -> bool:
    """The answer for every channel. Ticket actions need `ticket`;
    EDIT_COMMENT needs `comment_author` (also for editing a pull request:
    its author); CLONE_TICKETS needs the authors of the project's private
    tickets; REWRITE_BRANCH needs `ref`, and PUSH_CODE and
    MERGE_PULL_REQUEST take one; MANAGE_GROUP needs the group's members."""
    if action is Action.ADMINISTER_SITE:
        return viewer is not None and viewer.admin
    if action is Action.MANAGE_GROUP:  # its members run a group
        return viewer is not None and (viewer.admin or viewer.name in group_members)
    if project is None:
        raise ValueError(f"{action.value} needs a project")
    grant = grant_of(viewer, project)
    level = grant.level if grant else None
    if project.private and grant is None:
        return False
    if action is Action.READ_PROJECT:
        return True
    if action is Action.CLONE_TICKETS or action is Action.PUSH_TICKETS:
        # A clone cannot leave files out: it is for those who may read
        # every ticket in the repo.
        if action is Action.PUSH_TICKETS and viewer is None:
            return False
        me = viewer.name if viewer else None
        return _at_least(level, Level.TICKET) or private_ticket_authors <= {me}
    if viewer is None:
        return action is Action.READ_TICKET and not _hidden(ticket)
    if action in (Action.PUSH_CODE, Action.MERGE_PULL_REQUEST):
        return grant is not None and grant.covers(ref)
    if action is Action.REWRITE_BRANCH:
        if ref is None:
            raise ValueError("rewriting a branch needs the branch")
        return grant is not None and grant.covers(ref) and not project.is_protected(ref)
    if action in _MEMBER_ACTIONS:
        return True
    if action in _LEVEL_ACTIONS:
        return _at_least(level, _LEVEL_ACTIONS[action])
    if action is Action.EDIT_PULL_REQUEST:
        return _at_least(level, Level.COMMIT) or viewer.name == comment_author
    return _may_on_ticket(viewer, level, action, ticket, comment_author)


def _may_on_ticket(
    viewer: Viewer,
    level: Level | None,
    action: Action,
    ticket: TicketFacts | None,
    comment_author: str | None,
) -> bool:
    if ticket is None:
        raise ValueError(f"{action.value} needs a ticket")
    triager = _at_least(level, Level.TICKET)
    if ticket.private and not (triager or viewer.name == ticket.author):
        return False
    if action in (Action.READ_TICKET, Action.COMMENT_TICKET):
        return True
    if action is Action.EDIT_TICKET:
        return triager or viewer.name == ticket.author
    if action is Action.EDIT_COMMENT:
        return viewer.admin or viewer.name == comment_author
    raise ValueError(f"no rule for {action}")


def _at_least(level: Level | None, wanted: Level) -> bool:
    return level is not None and level >= wanted


# Anyone signed in may do these on a project they can read.
_MEMBER_ACTIONS = frozenset(
    {Action.CREATE_TICKET, Action.FORK_PROJECT, Action.OPEN_PULL_REQUEST,
     Action.COMMENT_PULL_REQUEST}
)  # fmt: skip
# These need a level on the project.
_LEVEL_ACTIONS = {
    Action.TRIAGE_TICKET: Level.TICKET,
    Action.FLAG_PULL_REQUEST: Level.COMMIT,
    Action.CHANGE_SETTINGS: Level.ADMIN,
}


def _hidden(ticket: TicketFacts | None) -> bool:
    if ticket is None:
        raise ValueError("reading a ticket needs the ticket")
    return ticket.private
