"""Markdown for user text: rendered with Python-Markdown, then sanitized.

Sanitizing happens after rendering, on the HTML, so nothing a writer types
(raw HTML, odd link syntax, entities) can smuggle script, event handlers or
`javascript:` links past it.

Rendering is bounded, in two ways. A check on the text turns away, at once,
texts that are too large or have a known slow shape: Python-Markdown scans
ahead from every `[` for its closing bracket, and the stdlib HTML parser it
uses from every `<tag` for a `>`, so "[" * 4000 takes 1.7 s and "[" * 15000
about 25 s. Any other text is rendered in a child process with a deadline
(gitforge.web.render_pool). Turned away or overrun, a text is shown as
escaped plain text with a short note. Every outcome is cached by a digest
of the text, so a page view does not render the same comment twice.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import string
import threading
from collections import OrderedDict

import nh3
from markupsafe import Markup

from gitforge.web.context import site
from gitforge.web.render_pool import RenderFailed, RenderPool, RenderUnavailable

log = logging.getLogger(__name__)

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
# `class` only on code, and only the `language-xxx` that fenced code
# writes (see _keep_attribute): user text must not borrow the forge's own
# classes, such as a fake "flash error" box.
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
}
# What Python-Markdown's fenced_code allows after the fence, ASCII only.
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_#.+-]{1,50}")

# Limits of the check on the text.
MAX_RUN = 200  # one punctuation character repeated; ">" * 5000 nests 5000 deep
MAX_NESTING = 32  # quote or list markers at the start of one line
MAX_SCAN = 1_000_000  # characters scanned for closing brackets: about 0.2 s

# A substring search per character: a regex for "any repeated character"
# restarts inside every run and takes 0.7 s on 1 MB of 199-long runs.
_LONG_RUNS = tuple(char * (MAX_RUN + 1) for char in string.punctuation)
_LINE_MARKERS = re.compile(
    r"^(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))+", re.MULTILINE
)
_MARKER = re.compile(r">|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])")
# Brackets Python-Markdown matches within a paragraph, tag starts the HTML
# parser follows to the next ">" anywhere, and paragraph breaks.
_SCAN_EVENTS = re.compile(r"[\[\]()>]|<[A-Za-z/]|\n[ \t]*\n")

RENDER_SECONDS = 2.0  # a 900 kB release notes file renders in 2.1 s
CACHE_CHARS = 16_000_000  # of rendered HTML kept, across all entries


def render_markdown(text: str, max_bytes: int | None = None) -> Markup:
    """Safe HTML for a Markdown text, from the cache when it was seen.

    `max_bytes` defaults to the site's `max_render_bytes`; longer texts are
    shown as plain text."""
    if max_bytes is None:
        max_bytes = site().config.get_int("max_render_bytes")
    data = text.encode("utf-8", "surrogatepass")
    key = (hashlib.blake2b(data, digest_size=20).digest(), max_bytes)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    reason = plain_text_reason(text, len(data), max_bytes)
    try:
        rendered = _as_plain_text(text, reason) if reason else _as_markdown(text)
    except RenderUnavailable as err:  # passing trouble: not for the cache
        log.warning("markdown: shown as plain text: %s", err)
        return _as_plain_text(text, "the Markdown renderer is busy")
    _cache.put(key, rendered)
    return rendered


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    if name != "class":
        return value
    kept = [c for c in value.split() if _LANGUAGE_CLASS.fullmatch(c)]
    return " ".join(kept) if tag == "code" and kept else None


# -- the guard ---------------------------------------------------------------


def plain_text_reason(text: str, size: int, max_bytes: int) -> str | None:
    """Why `text` (of `size` bytes) is not rendered as Markdown, or None."""
    if size > max_bytes:
        return f"it is larger than {max_bytes} bytes"
    if any(run in text for run in _LONG_RUNS):
        return f"it repeats one character more than {MAX_RUN} times"
    if _deepest_nesting(text) > MAX_NESTING:
        return f"it nests quotes or lists more than {MAX_NESTING} deep"
    if scan_cost(text, MAX_SCAN) > MAX_SCAN:
        return "its brackets would take too long to match"
    return None


def _deepest_nesting(text: str) -> int:
    return max(
        (len(_MARKER.findall(m.group())) for m in _LINE_MARKERS.finditer(text)),
        default=0,
    )


def scan_cost(text: str, limit: int) -> int:
    """An estimate of the characters the renderer scans looking for closing
    brackets: from each `[` or `(` to its match (or to the end of its
    paragraph), from each `<tag` to the next `>` (or to the end). Linear;
    stops counting once past `limit`."""
    cost = 0
    square, round_, tags = _Openers(), _Openers(), _Openers()
    for event in _SCAN_EVENTS.finditer(text):
        char, pos = event.group()[0], event.start()
        if char == "[":
            square.push(pos)
        elif char == "(":
            round_.push(pos)
        elif char == "]":
            cost += square.close(pos)
        elif char == ")":
            cost += round_.close(pos)
        elif char == "<":
            tags.push(pos)
        elif char == ">":  # ends every tag the parser is scanning
            cost += tags.close_all(pos)
        else:  # a paragraph ends: no bracket is matched across it
            cost += square.close_all(pos) + round_.close_all(pos)
        pending = sum(o.pending(pos) for o in (square, round_, tags))
        if cost + pending > limit:
            return cost + pending
    end = len(text)
    return cost + sum(o.pending(end) for o in (square, round_, tags))


class _Openers:
    """Positions of opening brackets not yet closed, with their sum, so that
    the scanning they have cost so far is known in constant time."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.total = 0

    def push(self, pos: int) -> None:
        self.starts.append(pos)
        self.total += pos

    def close(self, pos: int) -> int:
        """Close the innermost opener at `pos`; the distance scanned."""
        if not self.starts:
            return 0
        start = self.starts.pop()
        self.total -= start
        return pos - start

    def close_all(self, pos: int) -> int:
        scanned = self.pending(pos)
        self.starts.clear()
        self.total = 0
        return scanned

    def pending(self, pos: int) -> int:
        return len(self.starts) * pos - self.total


# -- rendering ---------------------------------------------------------------


def _as_markdown(text: str) -> Markup:
    try:
        rendered = _renderers.render(text, RENDER_SECONDS)
    except RenderFailed as err:
        return _as_plain_text(text, err.reason)
    return Markup(sanitize(rendered))


def _as_plain_text(text: str, reason: str) -> Markup:
    note = f"Shown as plain text because {reason}."
    return Markup(
        f'<p class="muted">{html.escape(note)}</p>'
        f'<pre class="message">{html.escape(text)}</pre>'
    )


class _RenderCache:
    """Least recently used renderings, bounded by their total length."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self.chars = 0
        self.entries: OrderedDict[tuple, Markup] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> Markup | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: tuple, value: Markup) -> None:
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = value
            self.chars += len(value)
            while self.chars > self.max_chars and len(self.entries) > 1:
                _old, dropped = self.entries.popitem(last=False)
                self.chars -= len(dropped)


_cache = _RenderCache(CACHE_CHARS)
_renderers = RenderPool()


def start_renderer() -> None:
    """Start a renderer process now rather than on the first page with
    Markdown (about 65 ms), for a server that is about to take requests."""
    try:
        _renderers.render("warming up", RENDER_SECONDS)
    except (RenderFailed, RenderUnavailable) as err:
        log.warning("markdown: no renderer at start: %s", err)
