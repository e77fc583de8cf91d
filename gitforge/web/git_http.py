"""Git over HTTP (smart protocol), served by git itself.

Clone, fetch and push run `git http-backend` as a CGI program, one per
request: this module only decides which repository a URL names and whether
the requester may read it or push to it, then streams the request body in
and the answer out. Packs never pass through Python as a whole.

Reading goes by the session cookie or by explicit credentials. Pushing
takes explicit credentials only (gitforge.web.credentials: HTTP Basic auth
with a password or a token, or `Authorization: token <TOKEN>`); without
them the answer is a 401 that makes git ask for them. The policy then says
whether the pusher may push to the repo at all; the pre-receive hook asks it
again for each pushed ref, with the pusher named in GITFORGE_USER.

URLs follow Pagure: `/<project>.git`, `/<ns>/<project>.git`,
`/tickets/<ns>/<project>.git`, a fork's `/forks/<user>/<project>.git` and
`/tickets/forks/<user>/<project>.git` and so on, whatever `store.layout` can
parse, and `/site.git` for site admins; git appends
`/info/refs?service=...`, `/git-upload-pack` and `/git-receive-pack`.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from flask import Blueprint, Response, abort, request
from sqlalchemy import Row
from werkzeug.exceptions import ClientDisconnected, NotFound

from gitforge.index import queries
from gitforge.index.queries import private_ticket_authors
from gitforge.index.sync import sync_repo
from gitforge.policy import Action, ProjectFacts, Viewer, may
from gitforge.store.layout import SITE_REPO, RepoKind, parse_relpath, repo_relpath
from gitforge.web.context import site, viewer
from gitforge.web.credentials import (
    Credentials,
    CredentialsRefused,
    missing_scope,
    sent_credentials,
    wrong_project,
)

log = logging.getLogger(__name__)

blueprint = Blueprint("git_http", __name__)

# Pipes on Linux hold 64 KiB and upload-pack writes side-band packets of
# just under 64 KiB, so larger reads would not fill up any further.
CHUNK = 64 * 1024

PUSH_NEEDS_CREDENTIALS = (
    "Pushing needs your user name and your password or an API token\n"
    "with the scope commit; a browser session does not count.\n"
)
READ_NEEDS_CREDENTIALS = (
    "Repository not found, or it is not public: to read a private project, "
    "give your user name and password or an API token.\n"
)
DUMB_REFUSED = (
    "This server speaks git's smart HTTP protocol only; use git 1.6.6 or newer.\n"
)
CHUNKED_REFUSED = (
    "This web server cannot read chunked request bodies; "
    "raise http.postBuffer in your git config and try again.\n"
)
# Sent with every 401, so that git asks its credential helper or the user.
CHALLENGE = 'Basic realm="gitforge"'

# What http-backend and the git programs it starts inherit from our
# environment. A GIT_DIR or GIT_* left over from a hook or a shell must not
# reach them and point them at another repository, nor a GITFORGE_USER or
# GL_USER name another pusher to the hooks.
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
    service = request.args.get("service")
    if service == "git-receive-pack":
        target, pusher = pushable_repo(repo)
        return run_backend(target.relpath, "/info/refs", query=f"service={service}",
                           user=pusher.name, push=True)  # fmt: skip
    target, reader = readable_repo(repo)
    if service != "git-upload-pack":
        return _plain(403, DUMB_REFUSED)
    return run_backend(target.relpath, "/info/refs", query=f"service={service}",
                       user=reader)  # fmt: skip


@blueprint.route(f"{_REPO}/git-upload-pack", methods=["POST"])
def upload_pack(repo: str) -> Response:
    """Negotiation and the pack of a clone or fetch."""
    target, reader = readable_repo(repo)
    if _unreadable_chunked_body():
        return _plain(411, CHUNKED_REFUSED)
    return run_backend(target.relpath, "/git-upload-pack", body=request.stream,
                       user=reader)  # fmt: skip


@blueprint.route(f"{_REPO}/git-receive-pack", methods=["POST"])
def receive_pack(repo: str) -> Response:
    """The commands and the pack of a push. The pre-receive hook then asks
    the policy about each ref (GITFORGE_USER names the pusher to it) and
    checks document repos file by file; post-receive syncs the index."""
    target, pusher = pushable_repo(repo)
    if _unreadable_chunked_body():
        return _plain(411, CHUNKED_REFUSED)
    log.info("git push over HTTP to %s by %s (%s)", target.relpath, pusher.name,
             pusher.proof)  # fmt: skip
    return run_backend(target.relpath, "/git-receive-pack", body=request.stream,
                       user=pusher.name, push=True)  # fmt: skip


# -- access ----------------------------------------------------------------


@dataclass(frozen=True)
class GitRepo:
    """A repository a URL names: the site repo (no kind, no project) or one
    of a project's repos."""

    relpath: str  # relative to the repositories folder
    kind: RepoKind | None = None
    project: Row | None = None
    private_authors: frozenset[str] = frozenset()  # of a ticket repo

    @property
    def fullname(self) -> str | None:
        return self.project.fullname if self.project is not None else None

    @property
    def facts(self) -> ProjectFacts | None:
        return queries.facts(self.project) if self.project is not None else None


def readable_repo(repo: str) -> tuple[GitRepo, str | None]:
    """The repo that the URL part `repo` (without `.git`) names, and the
    name of who reads it; 404 unless they may. The reader is the user of
    explicit credentials when the request sends some, else the session's."""
    credentials = _sent_credentials()
    who = credentials.viewer if credentials else viewer()
    try:
        target = find_repo(repo, who)
    except NotFound:
        if who is not None:
            raise
        # git sends credentials only when asked: an anonymous reader of a
        # repo that is private or absent (the same answer for both) is
        # asked to sign in, so that `git clone` of a private project works.
        abort(_challenge(READ_NEEDS_CREDENTIALS))
    token = credentials.token if credentials else None
    if token is not None and (problem := wrong_project(token, target.fullname)):
        abort(_plain(403, f"{problem}.\n"))
    return target, who.name if who else None


def pushable_repo(repo: str) -> tuple[GitRepo, Credentials]:
    """The repo that the URL part `repo` names, and the credentials of its
    pusher: 401 without credentials (whatever the repo, so that the
    answer tells nothing of it), 404 for a repo they may not read, 403 with
    the reason for one they may read but not push to."""
    credentials = _sent_credentials()
    if credentials is None:
        abort(_challenge(PUSH_NEEDS_CREDENTIALS))
    target = find_repo(repo, credentials.viewer)
    problem = push_problem(credentials, target)
    if problem:
        log.info("git push over HTTP to %s by %s (%s) refused: %s", target.relpath,
                 credentials.name, credentials.proof, problem)  # fmt: skip
        abort(_plain(403, f"{problem}.\n"))
    return target, credentials


def find_repo(repo: str, who: Viewer | None) -> GitRepo:
    """The repo that the URL part `repo` names; 404 unless `who` may read
    it. Private means absent, so unreadable and unknown look the same."""
    if repo == "site":
        if not may(who, Action.ADMINISTER_SITE, None):
            abort(404)
        return GitRepo(SITE_REPO)
    parsed = parse_relpath(f"{repo}.git")
    if parsed is None:
        abort(404)
    kind, fullname = parsed
    row = queries.project(site().engine, fullname)
    if row is None or not may(who, Action.READ_PROJECT, queries.facts(row)):
        abort(404)
    relpath = repo_relpath(kind, fullname)  # rebuilt from checked names
    tickets = kind is RepoKind.TICKETS
    authors = _private_ticket_authors(row) if tickets else frozenset()
    target = GitRepo(relpath, kind, row, authors)
    clone = Action.CLONE_TICKETS
    if tickets and not may(who, clone, target.facts, private_ticket_authors=authors):
        abort(404)  # it holds a ticket they may not read
    # Not yet: private pull requests; a request repo is as readable as its
    # project until they exist.
    if not (site().config.repositories / relpath).is_dir():
        abort(404)
    return target


def push_problem(credentials: Credentials, target: GitRepo) -> str | None:
    """Why this pusher may not push to `target` at all; None lets the push
    reach the pre-receive hook, which checks each ref and file."""
    token = credentials.token
    if token is not None and (problem := _token_problem(token, target)):
        return problem
    return _policy_problem(credentials.viewer, target)


def _token_problem(token: dict, target: GitRepo) -> str | None:
    """A push with a token needs Pagure's `commit` scope, whatever the
    repo, and a token for every project or for this one."""
    if problem := wrong_project(token, target.fullname):
        return problem
    if missing_scope(token, "commit"):
        return "The token lacks the scope commit, which pushing needs"
    return None


def _policy_problem(who: Viewer, target: GitRepo) -> str | None:
    if target.kind is None:
        if may(who, Action.ADMINISTER_SITE, None):
            return None
        return f"{who.name} may not push to the site repo"
    if target.kind is RepoKind.REQUESTS:
        # Anybody signed in may discuss; the hook checks each changed file
        # against the pull request rules (gitforge.hooks.request_checks).
        if may(who, Action.COMMENT_PULL_REQUEST, target.facts):
            return None
        return f"{who.name} may not push to the request repo of {target.fullname}"
    if target.kind is RepoKind.TICKETS:
        authors = target.private_authors
        if may(who, Action.PUSH_TICKETS, target.facts, private_ticket_authors=authors):
            return None
        return f"{who.name} may not push to the ticket repo of {target.fullname}"
    # Without a ref: may they push to some branch? The hook asks per ref.
    if may(who, Action.PUSH_CODE, target.facts):
        return None
    return (
        f"{who.name} may not push to {target.fullname}; ask an admin of the "
        "project for commit access, or push to a fork"
    )


def _sent_credentials() -> Credentials | None:
    """This request's explicit credentials, or None; 401 with the reason
    for credentials that prove nobody (never with what was sent)."""
    try:
        return sent_credentials()
    except CredentialsRefused as refused:
        log.info("git over HTTP %s: credentials refused: %s", request.path, refused)
        abort(_challenge(f"{refused}.\n"))


def _private_ticket_authors(row: Row) -> frozenset[str]:
    # Sync first: the index must know every private ticket on the branch
    # before git serves it (a no-op when it is up to date).
    relpath = repo_relpath(RepoKind.TICKETS, row.fullname)
    sync_repo(site().engine, site().config.repositories, relpath)
    return private_ticket_authors(site().engine, row)


def _unreadable_chunked_body() -> bool:
    """True for a chunked body whose end the WSGI server does not mark
    (werkzeug's and gunicorn's do; some others do not)."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return chunked and not request.environ.get("wsgi.input_terminated")


def _plain(status: int, message: str) -> Response:
    # git prints a text/plain error body to the user, each line after
    # "remote: ", and ignores any other kind.
    return Response(message, status=status, content_type="text/plain; charset=utf-8")


def _challenge(message: str) -> Response:
    response = _plain(401, message)
    response.headers["WWW-Authenticate"] = CHALLENGE
    return response


# -- the CGI bridge ----------------------------------------------------------


def run_backend(
    relpath: str,
    suffix: str,
    query: str = "",
    body: IO[bytes] | None = None,
    user: str | None = None,
    push: bool = False,
) -> Response:
    """Run `git http-backend` for the repo at `relpath` and stream its
    answer; `body`, when given, is copied to its standard input. `user` is
    who reads or pushes; only with `push` may receive-pack run."""
    git = site().config.get("git_binary")
    env = _cgi_environ(f"/{relpath}{suffix}", query, user, push)
    # http-backend turns receive-pack on for any REMOTE_USER; say it outright.
    receive_pack = f"http.receivepack={'true' if push else 'false'}"
    stderr = tempfile.TemporaryFile()  # read after the run, never a pipe to fill
    try:
        process = subprocess.Popen(
            [git, "-c", receive_pack, "http-backend"],
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


def _cgi_environ(
    path_info: str, query: str, user: str | None, push: bool
) -> dict[str, str]:
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
    if user is not None:
        env["REMOTE_USER"] = user  # also the name in the repo's reflog
    if push:
        # The hooks run inside receive-pack and attribute the push to this
        # user; the policy checks each ref with it (gitforge.hooks.pusher).
        env["GITFORGE_USER"] = user
        # gitolite's own update hook (on sites with `gitolite = on`) only
        # knows pushes through gitolite-shell; ours decide this one.
        env["GL_BYPASS_ACCESS_CHECKS"] = "1"
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
