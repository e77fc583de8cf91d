"""Source files and patches as coloured HTML for the code pages.

A file becomes a table of two columns, line-number anchors beside the code
highlighted by Pygments, so that selecting the code does not pick up the
numbers; a patch becomes lines coloured by their first character. Both
return Markup that escapes everything taken from the repository.
"""

from __future__ import annotations

import functools
import html

from markupsafe import Markup
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_for_filename
from pygments.lexers.special import TextLexer
from pygments.token import STANDARD_TYPES, Text, Whitespace

# Pygments lexes Python at about 1 MB/s (100 ms for the 100 KB benchmark
# file); past this size a file is shown as plain text, which costs 2 ms/MB.
HIGHLIGHT_MAX_BYTES = 256 * 1024

_DIFF_LINE_CLASSES = {"+": "add", "-": "del", "@": "hunk", "\\": "note"}


def highlight_lines(text: str, name: str) -> tuple[Markup, int]:
    """Highlighted HTML of a file and its line count: a column of line
    numbers that are `#L<n>` anchors beside the code, so that selecting the
    code does not pick up the numbers."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    found = lexer_class(name) if len(text) <= HIGHLIGHT_MAX_BYTES else None
    if found is None:
        code = html.escape(text, quote=False)
    else:
        code = _highlight(text, found)
    lines = text.count("\n")
    numbers = "".join(
        f'<a id="L{n}" href="#L{n}">{n}</a>\n' for n in range(1, lines + 1)
    )
    table = (
        '<table class="code"><tr><td class="numbers"><pre>'
        f'{numbers}</pre></td><td class="source"><pre class="highlight">{code}'
        "</pre></td></tr></table>"
    )
    return Markup(table), lines


def patch_html(patch: str) -> Markup:
    """One file's patch as HTML lines coloured by their first character,
    from the first hunk on (the file header is on the page already). A
    coloured line keeps its line end inside its span, so the span can be a
    block that fills the width without adding a blank line."""
    # Escaping leaves the first characters that matter (+ - @ \) alone.
    # split, not splitlines: a \r or form feed inside a line is not an end.
    lines = html.escape(patch, quote=False).split("\n")
    if lines[-1] == "":
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.startswith("@@")), 0)
    out = []
    for line in lines[start:]:
        kind = _DIFF_LINE_CLASSES.get(line[:1])
        out.append(f'<span class="{kind}">{line}\n</span>' if kind else line + "\n")
    return Markup("".join(out))


@functools.lru_cache(maxsize=1024)
def lexer_class(name: str) -> type[Lexer] | None:
    """The Pygments lexer for a file name; None for plain text."""
    found = find_lexer_class_for_filename(name)
    return None if found is None or found is TextLexer else found


def lexer_name(name: str) -> str:
    """The name of the lexer a file name gets, "text" for none: a file's
    HTML depends on it, so render caches key on it."""
    found = lexer_class(name)
    return found.__name__ if found else "text"


def warm_up() -> None:
    """Pygments compiles every file name pattern it knows on its first
    lookup (60-80 ms): an app calls this when it starts, so that the first
    view of a file does not pay for it."""
    lexer_class("warm-up.py")


def _highlight(text: str, found: type[Lexer]) -> str:
    """`text` as HTML spans with Pygments' short class names.

    Not Pygments' HtmlFormatter: that one closes and reopens every span at
    each line end for its line options, which the separate number column
    does not need: on the 100 KB benchmark file this loop adds 2-3 ms to
    the 100 ms of lexing where the formatter added 10. stripnl is off, as
    it would drop leading blank lines and shift every number.
    """
    out = []
    classes = _token_classes
    tokens = found(stripnl=False).get_tokens_unprocessed(text)
    for _index, kind, value in tokens:
        name = classes.get(kind)
        if name is None:
            name = classes.setdefault(kind, _token_class(kind))
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(f'<span class="{name}">{value}</span>' if name else value)
    return "".join(out)


_token_classes: dict[tuple, str] = {}  # token types are tuples


def _token_class(kind: tuple) -> str:
    """The class of the nearest standard token type (`k` for every keyword
    kind that has no name of its own); none for plain text and spaces."""
    while kind not in STANDARD_TYPES:
        kind = kind.parent
    return "" if kind in (Text, Whitespace) else STANDARD_TYPES[kind]
