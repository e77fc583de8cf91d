"""The one access policy: may user U do action A on project P?

The web UI, the JSON API, git over HTTP, the hooks and the gitolite config
generator all ask `may`; none has rules of its own. Until project access
levels exist, a project's committers are its owner and the site admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    READ_PROJECT = "read project"
    PUSH_CODE = "push code"
    CREATE_TICKET = "create ticket"
    READ_TICKET = "read ticket"
    COMMENT_TICKET = "comment on ticket"
    EDIT_TICKET = "edit ticket"  # title, body, open/close
    TRIAGE_TICKET = "triage ticket"  # tags, assignee, priority, milestone
    EDIT_COMMENT = "edit comment"
    CLONE_TICKETS = "clone the ticket repo"
    FORK_PROJECT = "fork the project"
    OPEN_PULL_REQUEST = "open a pull request"
    COMMENT_PULL_REQUEST = "comment on a pull request"
    EDIT_PULL_REQUEST = "edit a pull request"  # title, description, close, reopen
    MERGE_PULL_REQUEST = "merge a pull request"
    FLAG_PULL_REQUEST = "flag a pull request"  # CI results
    CHANGE_SETTINGS = "change the project's settings"


@dataclass(frozen=True)
class Viewer:
    """Who is asking; None stands for an anonymous visitor."""

    name: str
    admin: bool = False


@dataclass(frozen=True)
class ProjectFacts:
    fullname: str
    owner: str
    private: bool = False


@dataclass(frozen=True)
class TicketFacts:
    author: str
    private: bool


def is_committer(viewer: Viewer | None, project: ProjectFacts) -> bool:
    if viewer is None:
        return False
    return viewer.admin or viewer.name == project.owner


def may(
    viewer: Viewer | None,
    action: Action,
    project: ProjectFacts,
    ticket: TicketFacts | None = None,
    comment_author: str | None = None,
    private_ticket_authors: frozenset[str] = frozenset(),
) -> bool:
    """The answer for every channel. Ticket actions need `ticket`;
    EDIT_COMMENT needs `comment_author` (also for editing a pull request:
    its author); CLONE_TICKETS needs the authors of the project's private
    tickets."""
    committer = is_committer(viewer, project)
    if project.private and not committer:
        return False
    if action is Action.READ_PROJECT:
        return True
    if action is Action.CLONE_TICKETS:
        # A clone cannot leave files out: it is for those who may read
        # every ticket in the repo.
        me = viewer.name if viewer else None
        return committer or private_ticket_authors <= {me}
    if viewer is None:
        return action is Action.READ_TICKET and not _hidden(ticket)
    if action in _COMMITTER_ACTIONS:
        return committer
    if action in _MEMBER_ACTIONS:
        return True
    if action is Action.EDIT_PULL_REQUEST:
        return committer or viewer.name == comment_author
    if ticket is None:
        raise ValueError(f"{action.value} needs a ticket")
    if ticket.private and not (committer or viewer.name == ticket.author):
        return False
    if action in (Action.READ_TICKET, Action.COMMENT_TICKET):
        return True
    if action is Action.EDIT_TICKET:
        return committer or viewer.name == ticket.author
    if action is Action.EDIT_COMMENT:
        return viewer.admin or viewer.name == comment_author
    raise ValueError(f"no rule for {action}")


# Anyone logged in may do these; committers alone may do those.
_MEMBER_ACTIONS = frozenset(
    {Action.CREATE_TICKET, Action.FORK_PROJECT, Action.OPEN_PULL_REQUEST,
     Action.COMMENT_PULL_REQUEST}
)  # fmt: skip
_COMMITTER_ACTIONS = frozenset(
    {Action.PUSH_CODE, Action.TRIAGE_TICKET, Action.MERGE_PULL_REQUEST,
     Action.FLAG_PULL_REQUEST, Action.CHANGE_SETTINGS}
)  # fmt: skip


def _hidden(ticket: TicketFacts | None) -> bool:
    if ticket is None:
        raise ValueError("reading a ticket needs the ticket")
    return ticket.private
