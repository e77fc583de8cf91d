"""Markdown rendered in child processes, each render with a deadline.

Python-Markdown has more slow inputs than a check on the text can list:
"```" and 8,000 spaces take 2.8 s, "- \\n" * 6666 3.9 s, and a thread
cannot be stopped. So texts are rendered by a few child processes
(`python -m gitforge.web.render_pool`), and one that overruns its deadline
is killed and replaced. The round trip through a pipe adds about 0.02 ms
to a short comment's 0.12 ms; results are cached by the caller
(gitforge.web.markup).

The protocol on the child's stdin and stdout: a request is a 4-byte length
and the UTF-8 text; an answer is a status byte, a 4-byte length and the
UTF-8 HTML. The child says it is ready with one byte once it has imported
Markdown, so start-up time never counts against a render's deadline.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]
START_SECONDS = 30  # for a child to import Markdown on a loaded machine
# A child whose parent died mid-render gives up by itself after this long.
CHILD_SECONDS = 60

_LENGTH = struct.Struct(">I")
_ANSWER = struct.Struct(">BI")
_READY = b"R"
_OK, _TOO_DEEP, _FAILED = 0, 1, 2


class RenderFailed(Exception):
    """The text cannot be rendered in time (or at all); saying so again
    next time is right, so the caller may cache the outcome."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class RenderUnavailable(Exception):
    """No renderer could take the text (all busy, or one died); another
    try later may work."""


class RenderPool:
    """Up to `size` child processes, started when first needed."""

    def __init__(self, size: int = 4):
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget_after_fork)

    def render(self, text: str, seconds: float) -> str:
        """The HTML for `text`, rendered within `seconds` of it being sent.

        Waits up to `seconds` for a free child first."""
        if not self._slots.acquire(timeout=seconds):
            raise RenderUnavailable("every Markdown renderer is busy")
        try:
            child = self._take()
            try:
                return child.render(text, seconds)
            finally:
                self._give_back(child)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop the idle children."""
        with self._lock:
            idle = self._idle[:]
            self._idle.clear()
        for child in idle:
            child.stop()

    def _take(self) -> _Child:
        with self._lock:
            idle = self._idle.pop() if self._idle else None
        if idle is not None and idle.alive():
            return idle
        if idle is not None:
            idle.stop()
        return _Child()

    def _give_back(self, child: _Child) -> None:
        if not (child.between_texts and child.alive()):
            child.stop()  # overran, died, or was cut off half-way
            return
        with self._lock:
            self._idle.append(child)

    def _forget_after_fork(self) -> None:
        """A forked web worker starts its own children: the pipes it
        inherited belong to its parent's."""
        for child in self._idle:
            child.close_pipes()
        self._idle.clear()
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()


class _Child:
    """One renderer process and its pipes."""

    def __init__(self) -> None:
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                env=_child_environment(),
            )
        except OSError as err:
            raise RenderUnavailable(f"cannot start a renderer: {err}") from err
        self.between_texts = True
        try:
            ready = self._read(len(_READY), time.monotonic() + START_SECONDS)
        except (RenderFailed, RenderUnavailable):
            ready = b""
        if ready != _READY:
            self.stop()
            raise RenderUnavailable("a renderer did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def render(self, text: str, seconds: float) -> str:
        self.between_texts = False
        data = text.encode("utf-8", "surrogatepass")
        try:
            _write_all(self.process.stdin.fileno(), _LENGTH.pack(len(data)) + data)
        except OSError as err:
            raise RenderUnavailable(f"a renderer went away: {err}") from err
        deadline = time.monotonic() + seconds
        try:
            status, length = _ANSWER.unpack(self._read(_ANSWER.size, deadline))
            html = self._read(length, deadline).decode("utf-8", "surrogatepass")
        except RenderFailed:
            log.warning("markdown: %d characters took over %gs", len(text), seconds)
            raise RenderFailed(f"it takes more than {seconds:g} s to render") from None
        self.between_texts = True
        if status == _TOO_DEEP:
            raise RenderFailed("it nests too deep")
        if status != _OK:
            raise RenderFailed("the Markdown renderer failed on it")
        return html

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self.close_pipes()

    def close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            pipe.close()

    def _read(self, size: int, deadline: float) -> bytes:
        """`size` bytes from the child, or RenderFailed at the deadline."""
        fd = self.process.stdout.fileno()
        # poll, not select: select fails on descriptors past 1024, which a
        # busy server (or a long test run) reaches.
        waiter = select.poll()
        waiter.register(fd, select.POLLIN)
        chunks, missing = [], size
        while missing:
            left = deadline - time.monotonic()
            if left <= 0 or not waiter.poll(left * 1000):
                raise RenderFailed("deadline passed")
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise RenderUnavailable("a renderer exited")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)


def _child_environment() -> dict[str, str]:
    """This environment, with gitforge importable even when it is not
    installed (run from a checkout)."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- the child ---------------------------------------------------------------


def serve() -> None:
    """Render texts from stdin until it closes."""
    import markdown

    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go there
    renderer = markdown.Markdown(extensions=EXTENSIONS, output_format="html")
    answers.write(_READY)
    answers.flush()
    while header := requests.read(_LENGTH.size):
        (length,) = _LENGTH.unpack(header)
        text = requests.read(length).decode("utf-8", "surrogatepass")
        signal.alarm(CHILD_SECONDS)  # SIGALRM ends the process
        try:
            status, html = _OK, renderer.reset().convert(text)
        except RecursionError:
            status, html = _TOO_DEEP, ""
        except Exception:
            log.exception("markdown: rendering failed")
            status, html = _FAILED, ""
        signal.alarm(0)
        if status != _OK:  # its state may be half-way through a text
            renderer = markdown.Markdown(extensions=EXTENSIONS, output_format="html")
        data = html.encode("utf-8", "surrogatepass")
        answers.write(_ANSWER.pack(status, len(data)) + data)
        answers.flush()


if __name__ == "__main__":
    serve()
