"""`#N` in rendered Markdown becomes a link to ticket or pull request N.

Runs on the sanitized HTML at each view (the Markdown rendering itself is
cached and knows nothing of projects): text outside links, code and
preformatted blocks is searched, and only numbers that name a ticket or
pull request of the project become links.
"""

from __future__ import annotations

import re

from flask import url_for
from markupsafe import Markup
from sqlalchemy import select

from gitforge.index.mentions import MENTION
from gitforge.index.schema import pull_requests, tickets
from gitforge.web.context import ProjectContext, project_url_args, site
from gitforge.web.markup import render_markdown

_TAG = re.compile(r"(<[^>]*>)")
_SKIPPED = {"a", "code", "pre"}
_TAG_NAME = re.compile(r"</?([a-zA-Z0-9]+)")


def markdown_in(text: str, project: ProjectContext) -> Markup:
    """The template filter: Markdown rendered, with `#N` linked."""
    return link_references(render_markdown(text), project)


def link_references(rendered: Markup, project: ProjectContext) -> Markup:
    numbers = {int(n) for n in MENTION.findall(rendered)}
    if not numbers:
        return rendered
    kinds = _kinds(project, numbers)
    if not kinds:
        return rendered
    parts = _TAG.split(str(rendered))
    depth = 0  # how many <a>, <code> or <pre> we are inside
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            depth += _depth_change(part)
        elif depth == 0 and "#" in part:
            parts[index] = MENTION.sub(lambda m: _link(m, project, kinds), part)
    return Markup("".join(parts))


def _depth_change(tag: str) -> int:
    match = _TAG_NAME.match(tag)
    if match is None or match[1].lower() not in _SKIPPED or tag.endswith("/>"):
        return 0
    return -1 if tag.startswith("</") else 1


def _link(match: re.Match, project: ProjectContext, kinds: dict[int, str]) -> str:
    number = int(match[1])
    kind = kinds.get(number)
    if kind is None:
        return match[0]
    endpoint = "requests.show_request" if kind == "request" else "tickets.show_ticket"
    url = url_for(endpoint, **project_url_args(project.fullname), number=number)
    return f'<a class="reference" href="{url}">#{number}</a>'


def _kinds(project: ProjectContext, numbers: set[int]) -> dict[int, str]:
    """Which of `numbers` are tickets and which pull requests."""
    wanted = sorted(numbers)[:200]  # a page of references, not a flood
    project_id = project.row.id
    with site().engine.connect() as conn:
        found = {
            n: "ticket"
            for n in conn.execute(
                select(tickets.c.number).where(
                    tickets.c.project_id == project_id, tickets.c.number.in_(wanted)
                )
            ).scalars()
        }
        for n in conn.execute(
            select(pull_requests.c.number).where(
                pull_requests.c.project_id == project_id,
                pull_requests.c.number.in_(wanted),
            )
        ).scalars():
            found[n] = "request"
    return found
