"""The application factory."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.store.errors import (
    AlreadyExists,
    BadPassword,
    FormatError,
    InvalidName,
    NotFound,
)
from gitforge.tasks.pull_requests import PullRequestError
from gitforge.web import context
from gitforge.web.markup import render_markdown
from gitforge.web.references import markdown_in

log = logging.getLogger(__name__)

# Store errors a user can cause, and the HTTP status each one becomes.
_USER_ERRORS = {
    NotFound: 404,
    AlreadyExists: 409,
    InvalidName: 400,
    FormatError: 400,
    BadPassword: 400,
    PullRequestError: 409,
}


def create_app(config: Config) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        MAX_CONTENT_LENGTH=None,  # git pushes can be large; forms check sizes
        CSRF_EXEMPT={"git_http", "api"},
    )
    app.extensions["gitforge"] = context.Site(config, engine_for(config))
    _register_blueprints(app)
    _register_template_helpers(app)
    app.before_request(context.check_csrf)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    for error_class in _USER_ERRORS:
        app.register_error_handler(error_class, _store_error)
    return app


def warm_up(app: Flask) -> None:
    """Compile every template and start a Markdown renderer, so that the
    first visitors of a fresh server do not wait for either (together about
    150 ms on the first page)."""
    from gitforge.web.markup import start_renderer

    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
    start_renderer()


def _register_blueprints(app: Flask) -> None:
    from gitforge.web import (
        accounts,
        api,
        attachment_views,
        code_views,
        compare_views,
        git_http,
        groups,
        home,
        project_settings,
        request_forms,
        request_views,
        ticket_views,
        token_views,
    )

    for module in (git_http, api, accounts, home, code_views, ticket_views,
                   request_views, request_forms, compare_views,
                   project_settings, attachment_views, groups,
                   token_views):  # fmt: skip
        app.register_blueprint(module.blueprint)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        csrf_token=context.csrf_token,
        viewer=context.viewer,
        project_url=project_url,
        site_name=app.extensions["gitforge"].config.get("site_name"),
    )
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["markdown_in"] = markdown_in


def project_url(endpoint: str, fullname: str, **kwargs) -> str:
    """url_for for a project route, with or without a namespace."""
    return url_for(endpoint, **context.project_url_args(fullname), **kwargs)


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data:; "
            "style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "object-src 'none'; frame-ancestors 'none'",
        )
    return response


def _http_error(error: HTTPException):
    if _wants_json():
        return {"error": error.name, "message": error.description}, error.code
    return render_template("error.html", error=error), error.code


def _store_error(error: Exception):
    status = next(code for cls, code in _USER_ERRORS.items() if isinstance(error, cls))
    if status == 404:
        message = "Not found."  # never confirm what exists but is hidden
    else:
        message = str(error)
    if _wants_json():
        return {"error": type(error).__name__, "message": message}, status
    return render_template("error.html", error=_Shown(status, message)), status


class _Shown:
    def __init__(self, code: int, description: str):
        self.code, self.description = code, description
        self.name = {400: "Bad request", 404: "Not found", 409: "Conflict"}.get(
            code, "Error"
        )


def _wants_json() -> bool:
    return request.path.startswith("/api/")
