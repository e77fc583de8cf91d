"""Links between tickets and pull requests that mention each other."""

from __future__ import annotations

from dataclasses import dataclass

from gitforge.index import queries, request_queries
from gitforge.policy import Action, TicketFacts
from gitforge.web.context import ProjectContext, site


@dataclass(frozen=True)
class Mention:
    kind: str  # "ticket" or "request"
    number: int

    @property
    def label(self) -> str:
        what = "pull request" if self.kind == "request" else "ticket"
        return f"{what} #{self.number}"


def mentions_of(project: ProjectContext, number: int) -> list[Mention]:
    """What mentions `#number` in this project, leaving out private tickets
    the viewer may not read (their existence is private too)."""
    engine = site().engine
    found = []
    for row in request_queries.mentions_of(engine, project.row, number):
        if row.source_kind == "ticket":
            ticket = queries.ticket(engine, project.row, row.source_number)
            facts = ticket and TicketFacts(ticket.author, ticket.private)
            if ticket is None or not project.may(Action.READ_TICKET, ticket=facts):
                continue
        found.append(Mention(row.source_kind, row.source_number))
    return found
