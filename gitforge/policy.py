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
    EDIT_COMMENT needs `comment_author`; CLONE_TICKETS needs the authors of
    the project's private tickets."""
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
    if action in (Action.PUSH_CODE, Action.TRIAGE_TICKET):
        return committer
    if action is Action.CREATE_TICKET:
        return True
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


def _hidden(ticket: TicketFacts | None) -> bool:
    if ticket is None:
        raise ValueError("reading a ticket needs the ticket")
    return ticket.private
