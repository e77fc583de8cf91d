"""Per-request context: the site, the signed-in user, CSRF, project routes."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, g, request, session
from sqlalchemy import Engine, Row

from gitforge.config import Config
from gitforge.index import queries
from gitforge.policy import Action, ProjectFacts, Viewer, may
from gitforge.store import layout
from gitforge.store.documents import Identity
from gitforge.web import sessions


@dataclass(frozen=True)
class Site:
    """What the app holds for the life of the process."""

    config: Config
    engine: Engine


def site() -> Site:
    return current_app.extensions["gitforge"]


def viewer() -> Viewer | None:
    """The signed-in user as the policy sees them, or None."""
    if "viewer" not in g:
        row = current_user_row()
        g.viewer = queries.viewer(site().engine, row.name) if row else None
    return g.viewer


def current_user_row() -> Row | None:
    """The signed-in user's index row, or None; looked up once a request."""
    if "user_row" not in g:
        g.user_row = _session_user_row()
    return g.user_row


def _session_user_row() -> Row | None:
    session_id = session.get("sid")
    if not session_id:
        return None
    store = session_store()
    found = store.find(session_id)
    row = queries.user(site().engine, found.user) if found else None
    if row is None or found.mark != sessions.password_mark(row.password_hash):
        # Logged out, expired, the account gone or its password changed.
        store.end(session_id)
        session.pop("sid")  # the CSRF token stays: this page may hold it
        return None
    return row


def session_store() -> sessions.SessionStore:
    """Where this site's login sessions are listed (gitforge.web.sessions)."""
    path = site().config.index_dir / "sessions.db"
    return sessions.session_store(path, current_app.permanent_session_lifetime)


def forget_signed_in_user() -> None:
    """Drop what this request looked up about its user, after a login or
    logout changed it."""
    g.pop("user_row", None)
    g.pop("viewer", None)


def identity() -> Identity:
    """The signed-in user as the author of a commit."""
    row = current_user_row()
    if row is None:
        abort(401)
    return Identity(row.name, row.email, row.full_name or row.name)


def login_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if viewer() is None:
            from flask import redirect, url_for

            return redirect(url_for("accounts.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


# -- CSRF ------------------------------------------------------------------


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse a form post that does not carry this session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.blueprint in current_app.config.get("CSRF_EXEMPT", ()):
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(
            400,
            "The form was stale or forged (CSRF token mismatch); "
            "reload the page and try again.",
        )


# -- projects --------------------------------------------------------------


@dataclass(frozen=True)
class ProjectContext:
    row: Row
    facts: ProjectFacts

    @property
    def fullname(self) -> str:
        return self.row.fullname

    def may(self, action: Action, **kwargs) -> bool:
        return may(viewer(), action, self.facts, **kwargs)

    @property
    def may_change_settings(self) -> bool:  # for the project's tabs
        return self.may(Action.CHANGE_SETTINGS)


def load_project(fullname: str) -> ProjectContext:
    """The project by full name, or 404 when it is absent or not readable."""
    row = queries.project(site().engine, fullname)
    if row is None:
        abort(404)
    project = ProjectContext(row, queries.facts(row))
    if not project.may(Action.READ_PROJECT):
        abort(404)  # private means absent
    return project


# Where a project's pages live: `/<project>`, `/<ns>/<project>`, and for a
# fork `forks/<user>/[<ns>/]<project>` Pagure's `/fork/<user>/[<ns>/]<project>`.
# `fork` is a reserved name, so no namespace shadows the fork forms.
_PROJECT_PREFIXES = (
    "/<repo>",
    "/<namespace>/<repo>",
    "/fork/<fork_user>/<repo>",
    "/fork/<fork_user>/<namespace>/<repo>",
)


def project_route(blueprint: Blueprint, *rules: str, **options) -> Callable:
    """Register a view at `/<project>{rule}`, `/<namespace>/<project>{rule}`
    and at the fork forms `/fork/<user>/[<namespace>/]<project>{rule}` for
    each rule (Pagure's URL scheme), all under one endpoint. The view gets
    the loaded `project` as its first argument."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(
            repo: str,
            namespace: str | None = None,
            fork_user: str | None = None,
            **kwargs,
        ):
            fullname = f"{namespace}/{repo}" if namespace else repo
            if fork_user is not None:
                fullname = f"{layout.FORKS_FOLDER}/{fork_user}/{fullname}"
            return view(load_project(fullname), **kwargs)

        for rule in rules:
            for prefix in _PROJECT_PREFIXES:
                blueprint.add_url_rule(prefix + rule, view_func=wrapper, **options)
        return wrapper

    return decorator


def project_url_args(fullname: str) -> dict[str, str]:
    """`url_for` arguments for a project route; a fork's give its
    `/fork/<user>/...` URL."""
    args = {}
    if layout.is_fork(fullname):
        args["fork_user"] = layout.fork_user(fullname)
        fullname = layout.unforked_fullname(fullname)
    namespace, _, repo = fullname.rpartition("/")
    args["repo"] = repo
    if namespace:
        args["namespace"] = namespace
    return args
