"""Markdown for user text: rendered with Python-Markdown, then sanitized.

Sanitizing happens after rendering, on the HTML, so nothing a writer types
(raw HTML, odd link syntax, entities) can smuggle script, event handlers or
`javascript:` links past it.
"""

from __future__ import annotations

import markdown
import nh3
from markupsafe import Markup

_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
}


def render_markdown(text: str) -> Markup:
    """Safe HTML for a Markdown text."""
    html = markdown.markdown(text, extensions=_EXTENSIONS, output_format="html")
    return Markup(sanitize(html))


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
