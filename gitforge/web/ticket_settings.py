"""A project's ticket settings as the ticket pages use them: tag colours,
close reasons, priority labels and milestones.

The settings live in the project's site-repo document and reach the index
as JSON (`projects.ticket_settings`); they are read once per request. Every
check of a submitted value against them lives here, so the views only ask.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import g
from sqlalchemy import Row

from gitforge.store import access_formats
from gitforge.store.formats import MAX_PRIORITY

log = logging.getLogger(__name__)

# Text on a tag is black when the background is at least this bright (0-255,
# weighted as the eye sees red, green and blue), white below it.
_BRIGHT = 150


@dataclass(frozen=True)
class TicketSettings:
    tags: dict[str, str] = field(default_factory=dict)  # tag -> "#rrggbb"
    close_reasons: tuple[str, ...] = ()
    priorities: dict[int, str] = field(default_factory=dict)  # number -> label
    milestones: tuple[str, ...] = ()

    def tag_style(self, tag: str) -> str | None:
        """The inline style of a coloured tag, None for a tag without a
        colour. Built from the validated `#rrggbb` value alone."""
        colour = self.tags.get(tag)
        if colour is None:
            return None
        return f"background-color: {colour}; color: {text_colour(colour)}"

    def priority_label(self, number: int | None) -> str:
        if number is None:
            return "-"
        return self.priorities.get(number, str(number))

    @property
    def priority_choices(self) -> list[tuple[str, str]]:
        """(form value, label) pairs for the triage form's select."""
        return [(str(number), label) for number, label in self.priorities.items()]

    @property
    def milestone_choices(self) -> list[tuple[str, str]]:
        return [(name, name) for name in self.milestones]

    def close_reason_problem(self, reason: str) -> str | None:
        if not self.close_reasons or not reason or reason in self.close_reasons:
            return None
        return _not_listed("close reasons", reason, self.close_reasons)

    def priority_problem(self, number: int | None, current: int | None) -> str | None:
        # The ticket's current value stays acceptable, so a ticket whose
        # priority was pushed, or dropped from the list, can still be triaged.
        if (
            not self.priorities
            or number in (None, current)
            or number in self.priorities
        ):
            return None
        offered = (f"{n} ({label})" for n, label in self.priorities.items())
        return _not_listed("priorities", str(number), offered)

    def milestone_problem(self, name: str | None, current: str | None) -> str | None:
        if not self.milestones or name in (None, current) or name in self.milestones:
            return None
        return _not_listed("milestones", name, self.milestones)


def _not_listed(what: str, value: str, offered: Iterable[str]) -> str:
    return (
        f"{value[:100]!r} is not one of this project's {what}; "
        f"choose one of: {', '.join(offered)}."
    )


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background` (#rrggbb)."""
    red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    brightness = (red * 299 + green * 587 + blue * 114) / 1000
    return "#000000" if brightness >= _BRIGHT else "#ffffff"


def settings_of(project_row: Row) -> TicketSettings:
    """The project's ticket settings, parsed once per request."""
    cache = g.setdefault("ticket_settings", {})
    if project_row.id not in cache:
        cache[project_row.id] = _parse(
            project_row.fullname, project_row.ticket_settings
        )
    return cache[project_row.id]


def _parse(fullname: str, text: str) -> TicketSettings:
    stored = json.loads(text or "{}")
    # The site repo's checks keep bad settings out; should the index hold some
    # anyway, no setting is better than a raw value in a page's style.
    problem = access_formats.ticket_settings(stored)
    if problem:
        log.warning("%s: ignoring ticket settings: %s", fullname, problem)
        return TicketSettings()
    return TicketSettings(
        tags=dict(stored.get("tags") or {}),
        close_reasons=tuple(stored.get("close_reasons") or ()),
        priorities=_usable_priorities(stored.get("priorities") or {}),
        milestones=tuple(stored.get("milestones") or ()),
    )


def _usable_priorities(priorities: dict[str, str]) -> dict[int, str]:
    """Labels by number, most urgent (smallest) first. Numbers a ticket may
    not hold (below 0, above MAX_PRIORITY) are left out of the choice."""
    labels = {_number(key): label for key, label in priorities.items()}
    return {
        number: labels[number]
        for number in sorted(n for n in labels if n is not None)
        if 0 <= number <= MAX_PRIORITY
    }


def _number(key: str) -> int | None:
    try:  # the site repo's check lets through digits int() cannot read
        return int(key)
    except ValueError:
        return None
