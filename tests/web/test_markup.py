"""Markdown rendering: bounded in time, cached, and sanitized."""

from __future__ import annotations

import html
import re
import time

import pytest

from gitforge.config import Config
from gitforge.web import markup
from gitforge.web.markup import render_markdown

LIMIT = 1_000_000
_PLAIN = re.compile(r'<p class="muted">(.*?)</p><pre class="message">(.*)</pre>', re.S)


def plain_text(rendered: str) -> tuple[str, str]:
    """The note and the unescaped text of a text shown as plain text."""
    found = _PLAIN.fullmatch(str(rendered))
    assert found, f"not shown as plain text: {str(rendered)[:200]!r}"
    return found.group(1), html.unescape(found.group(2))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 15000,
        ">" * 5000,
        "*" * 20000,
        "`" * 20000,
        "<" * 20000,
        "[a" * 10000,  # no long run: caught by the bracket estimate
        "<a " * 6666,  # the HTML parser scans each for a ">"
        "a <b " * 4000,
        "1. " * 6666,  # nested lists: Python-Markdown recurses
        "> " * 5000,
    ],
    ids=lambda text: repr(text[:6]),
)
def test_pathological_text_is_quick_and_loses_nothing(text):
    started = time.monotonic()
    rendered = render_markdown(text, LIMIT)
    assert time.monotonic() - started < 1.0  # Python-Markdown alone: seconds
    note, shown = plain_text(rendered)
    assert shown == text
    assert note.startswith("Shown as plain text because")


def test_text_over_the_size_limit_is_plain_text():
    note, shown = plain_text(render_markdown("**big** " * 20, 100))
    assert shown == "**big** " * 20
    assert "larger than 100 bytes" in note


def test_size_limit_comes_from_the_site_config(site_home):
    from gitforge.web.app import create_app

    app = create_app(Config(site_home.home, {"max_render_bytes": "50"}))
    with app.app_context():
        assert "<strong>" in render_markdown("a **short** one")
        note, _ = plain_text(render_markdown("a **longer** one " * 4))
    assert "larger than 50 bytes" in note


def test_slow_text_the_checks_miss_is_cut_off_at_the_deadline(monkeypatch):
    # An unclosed fence and a long line: Python-Markdown takes seconds, and
    # nothing in the text looks like the shapes the checks know.
    monkeypatch.setattr(markup, "RENDER_SECONDS", 0.3)
    text = "```" + " " * 16000 + "x"
    started = time.monotonic()
    rendered = render_markdown(text, LIMIT)
    assert time.monotonic() - started < 2.0
    note, shown = plain_text(rendered)
    assert shown == text
    assert "takes more than 0.3 s" in note
    assert "<em>ok</em>" in render_markdown("*ok* after a killed renderer", LIMIT)


def test_nesting_too_deep_for_the_renderer_is_plain_text():
    text = "".join("    " * depth + "- item\n" for depth in range(300))
    note, shown = plain_text(render_markdown(text, LIMIT))
    assert shown == text
    assert "nests too deep" in note


def test_same_text_is_rendered_once(monkeypatch):
    calls = []
    render = markup._renderers.render

    def counting(text, seconds):
        calls.append(text)
        return render(text, seconds)

    monkeypatch.setattr(markup._renderers, "render", counting)
    text = f"A comment seen twice, {time.time()}, with a [link](https://a.example)."
    first = render_markdown(text, LIMIT)
    second = render_markdown(text, LIMIT)
    assert first == second and 'href="https://a.example"' in first
    assert calls == [text]


def test_long_comment_with_many_links_stays_markdown():
    paragraphs = [
        f"Step {n}: see [the log of run {n}](https://ci.example/runs/{n}) "
        f"and `job-{n}` (retried {n % 3} times), **then** _move on_."
        for n in range(600)
    ]
    text = "\n\n".join(paragraphs) + "\n\n```python\nprint('done')\n```\n"
    assert len(text) > 60_000
    rendered = str(render_markdown(text, LIMIT))
    assert "Shown as plain text" not in rendered
    assert rendered.count('<a href="https://ci.example/runs/') == 600
    assert '<code class="language-python">' in rendered


@pytest.mark.parametrize(
    "text",
    [
        '<div class="flash error">Your account is suspended</div>',
        '<span class="flash">Pay here</span>',
        '<p class="flash error">Log in again</p>',
        '<code class="flash error">x</code>',
        "```{.flash .error}\nfake\n```",
        '<pre class="flash"><code class="language-x flash">y</code></pre>',
    ],
)
def test_user_text_cannot_borrow_the_forges_classes(text):
    rendered = str(render_markdown(text, LIMIT))
    assert "flash" not in rendered.replace("language-flash", "")
    assert "error" not in rendered


def test_fenced_code_keeps_its_language_class():
    rendered = str(render_markdown("```c++\nint x;\n```", LIMIT))
    assert '<code class="language-c++">' in rendered
