"""Git over HTTP (smart protocol), served by git itself.

Clone and fetch run `git http-backend` as a CGI program, one per request:
this module only decides which repository a URL names and whether the
viewer may read it, then streams the request body in and the pack out.
Packs never pass through Python as a whole.

URLs follow Pagure: `/<project>.git`, `/<ns>/<project>.git`,
`/tickets/<ns>/<project>.git`, a fork's `/forks/<user>/<project>.git` and
`/tickets/forks/<user>/<project>.git` and so on, whatever `store.layout` can
parse; git appends `/info/refs?service=...` and `/git-upload-pack`.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import IO

from flask import Blueprint, Response, abort, request
from werkzeug.exceptions import ClientDisconnected

from gitforge.index.queries import private_ticket_authors
from gitforge.index.sync import sync_repo
from gitforge.policy import Action
from gitforge.store.layout import RepoKind, parse_relpath, repo_relpath
from gitforge.web.context import ProjectContext, load_project, site, viewer

log = logging.getLogger(__name__)

blueprint = Blueprint("git_http", __name__)

# Pipes on Linux hold 64 KiB and upload-pack writes side-band packets of
# just under 64 KiB, so larger reads would not fill up any further.
CHUNK = 64 * 1024

PUSH_REFUSED = (
    "Pushing over HTTP is not available yet.\n"
    "Push by path on the server or over ssh instead.\n"
)
DUMB_REFUSED = (
    "This server speaks git's smart HTTP protocol only; use git 1.6.6 or newer.\n"
)
CHUNKED_REFUSED = (
    "This web server cannot read chunked request bodies; "
    "raise http.postBuffer in your git config and try again.\n"
)

# What http-backend and the git programs it starts inherit from our
# environment. A GIT_DIR or GIT_* left over from a hook or a shell must not
# reach them and point them at another repository.
_INHERITED = (
    "PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CONFIG_HOME",
    "GIT_EXEC_PATH", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_GLOBAL",
)  # fmt: skip

# The Git-Protocol header is colon-separated key=value pairs ("version=2").
_GIT_PROTOCOL = re.compile(r"[A-Za-z0-9=:._-]{1,256}")

_REPO = "/<path:repo>.git"


@blueprint.route(f"{_REPO}/info/refs", methods=["GET"])
def info_refs(repo: str) -> Response:
    """The ref advertisement that starts every clone, fetch and push."""
    relpath = readable_repo(repo)
    service = request.args.get("service")
    if service == "git-receive-pack":
        return _plain(403, PUSH_REFUSED)
    if service != "git-upload-pack":
        return _plain(403, DUMB_REFUSED)
    return run_backend(relpath, "/info/refs", query="service=git-upload-pack")


@blueprint.route(f"{_REPO}/git-upload-pack", methods=["POST"])
def upload_pack(repo: str) -> Response:
    """Negotiation and the pack of a clone or fetch."""
    relpath = readable_repo(repo)
    if _unreadable_chunked_body():
        return _plain(411, CHUNKED_REFUSED)
    return run_backend(relpath, "/git-upload-pack", body=request.stream)


@blueprint.route(f"{_REPO}/git-receive-pack", methods=["POST"])
def receive_pack(repo: str) -> Response:
    # Not yet: authenticated push over HTTP; git stops at info/refs anyway.
    readable_repo(repo)
    return _plain(403, PUSH_REFUSED)


# -- access ----------------------------------------------------------------


def readable_repo(repo: str) -> str:
    """The path, relative to the repositories folder, of the repo that the
    URL part `repo` (without `.git`) names; 404 unless the viewer may read
    it. Private means absent, so unreadable and unknown look the same."""
    parsed = parse_relpath(f"{repo}.git")
    if parsed is None:
        abort(404)
    kind, fullname = parsed
    project = load_project(fullname)
    if kind is RepoKind.TICKETS and _hides_tickets(project):
        abort(404)
    # Not yet: private pull requests; a request repo is as readable as its
    # project until they exist.
    relpath = repo_relpath(kind, fullname)  # rebuilt from checked names
    if not (site().config.repositories / relpath).is_dir():
        abort(404)
    return relpath


def _hides_tickets(project: ProjectContext) -> bool:
    """Whether the ticket repo holds a ticket the viewer may not read."""
    # Sync first: the index must know every private ticket on the branch
    # before git serves it (a no-op when it is up to date).
    relpath = repo_relpath(RepoKind.TICKETS, project.fullname)
    sync_repo(site().engine, site().config.repositories, relpath)
    authors = private_ticket_authors(site().engine, project.row)
    return not project.may(Action.CLONE_TICKETS, private_ticket_authors=authors)


def _unreadable_chunked_body() -> bool:
    """True for a chunked body whose end the WSGI server does not mark
    (werkzeug's and gunicorn's do; some others do not)."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return chunked and not request.environ.get("wsgi.input_terminated")


def _plain(status: int, message: str) -> Response:
    # git prints a text/plain error body to the user, each line after
    # "remote: ", and ignores any other kind.
    return Response(message, status=status, content_type="text/plain; charset=utf-8")


# -- the CGI bridge ----------------------------------------------------------


def run_backend(
    relpath: str, suffix: str, query: str = "", body: IO[bytes] | None = None
) -> Response:
    """Run `git http-backend` for the repo at `relpath` and stream its
    answer; `body`, when given, is copied to its standard input."""
    git = site().config.get("git_binary")
    env = _cgi_environ(f"/{relpath}{suffix}", query)
    stderr = tempfile.TemporaryFile()  # read after the run, never a pipe to fill
    try:
        process = subprocess.Popen(
            [git, "http-backend"],
            env=env,
            stdin=subprocess.DEVNULL if body is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            bufsize=CHUNK,
        )
    except OSError:
        stderr.close()
        raise
    output = BackendOutput(relpath, process, stderr)
    if body is not None:
        output.feed(body)
    try:
        status, headers = output.read_headers()
    except BaseException:
        output.close()
        raise
    return Response(output, status=status, headers=headers, direct_passthrough=True)


def _cgi_environ(path_info: str, query: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.update(
        GIT_PROJECT_ROOT=str(site().config.repositories),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=path_info,
        QUERY_STRING=query,
        REQUEST_METHOD=request.method,
        REMOTE_ADDR=request.remote_addr or "",
    )
    if request.content_type:
        env["CONTENT_TYPE"] = request.content_type
    if request.content_length is not None:
        env["CONTENT_LENGTH"] = str(request.content_length)
    # http-backend inflates gzip bodies itself when told the encoding.
    encoding = request.headers.get("Content-Encoding")
    if encoding:
        env["HTTP_CONTENT_ENCODING"] = encoding
    protocol = request.headers.get("Git-Protocol", "")
    if _GIT_PROTOCOL.fullmatch(protocol):
        env["GIT_PROTOCOL"] = protocol
    who = viewer()
    if who is not None:
        env["REMOTE_USER"] = who.name
    return env


class BackendOutput:
    """The response body of one http-backend run, as a WSGI iterable.

    The WSGI server calls `close` when the response ends, early or not, so
    the process is reaped even if the body is never read.
    """

    def __init__(self, relpath: str, process: subprocess.Popen, stderr: IO[bytes]):
        self.relpath = relpath
        self.process = process
        self.stderr = stderr
        self.feeder: threading.Thread | None = None
        self.complete = False  # all of the output was read
        self.closed = False

    def feed(self, body: IO[bytes]) -> None:
        """Copy `body` to the backend's input in a thread of its own: with
        gzip bodies upload-pack answers while it still reads, and a pipe
        full both ways would stall both sides."""
        self.feeder = threading.Thread(
            target=_copy_body,
            args=(body, self.process.stdin, self.relpath),
            name=f"git-http-body {self.relpath}",
            daemon=True,
        )
        self.feeder.start()

    def read_headers(self) -> tuple[str, list[tuple[str, str]]]:
        """The CGI status and headers that start the backend's output."""
        status, headers = "200 OK", []
        while True:
            line = self.process.stdout.readline()
            if not line:
                log.error("git http-backend %s: no CGI headers", self.relpath)
                abort(500)
            line = line.rstrip(b"\r\n").decode("latin-1")
            if not line:
                return status, headers
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name.strip(), value.strip()))

    def __iter__(self) -> Iterator[bytes]:
        read = self.process.stdout.read1
        while chunk := read(CHUNK):
            yield chunk
        self.complete = True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        cut_short = not self.complete and self.process.poll() is None
        if cut_short:  # the client went away mid-pack, or asked for HEAD
            # SIGTERM, not SIGKILL: http-backend then stops upload-pack and
            # pack-objects too, which may be counting objects for minutes
            # before their next write would fail.
            self.process.terminate()
        self.process.stdout.close()
        code = self.process.wait()
        if self.feeder is not None:
            self.feeder.join()
        self._log_end(code, cut_short)

    def _log_end(self, code: int, cut_short: bool) -> None:
        self.stderr.seek(0)
        errors = self.stderr.read().decode("utf-8", "replace").strip()
        self.stderr.close()
        if cut_short:
            log.info("git over HTTP %s: response cut short", self.relpath)
        elif code or errors:
            log.warning(
                "git http-backend %s exited %s: %s",
                self.relpath,
                code,
                errors or "(no message)",
            )


def _copy_body(body: IO[bytes], sink: IO[bytes], relpath: str) -> None:
    try:
        while chunk := body.read(CHUNK):
            sink.write(chunk)
    except BrokenPipeError:
        pass  # the backend stopped reading; its exit status tells why
    except (OSError, ClientDisconnected) as error:
        log.info("git over HTTP %s: request body cut short: %s", relpath, error)
    finally:
        _close_quietly(sink)


def _close_quietly(sink: IO[bytes]) -> None:
    try:
        sink.close()
    except BrokenPipeError:
        pass  # unflushed bytes nobody will read
