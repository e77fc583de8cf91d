"""The JSON API, version 0, at Pagure's paths (`/api/0/...`).

Requests authenticate with `Authorization: token <TOKEN>`; tokens live in
the site repo (gitforge.store.tokens). No cookie is read here, so the API
needs no CSRF token. Errors are JSON: {"error": ..., "error_code": ...}.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from gitforge.index import queries, request_queries
from gitforge.index.sync import sync_repo
from gitforge.policy import Action
from gitforge.store.documents import Identity
from gitforge.store.errors import FormatError
from gitforge.store.formats import FLAG_STATUSES, MAX_NUMBER
from gitforge.store.layout import RepoKind, repo_relpath
from gitforge.store.requests import RequestRepo
from gitforge.web.context import ProjectContext, project_route, site
from gitforge.web.credentials import (
    CredentialsRefused,
    missing_scope,
    request_token,
    wrong_project,
)

log = logging.getLogger(__name__)
blueprint = Blueprint("api", __name__, url_prefix="/api/0")


class ApiError(HTTPException):
    def __init__(self, code: int, error_code: str, message: str, **details):
        super().__init__(message)
        self.code, self.error_code, self.details = code, error_code, details


@blueprint.errorhandler(HTTPException)
def _json_error(err: HTTPException):
    code = getattr(err, "error_code", err.name.upper().replace(" ", "_"))
    body = {"error": err.description, "error_code": code}
    body.update(getattr(err, "details", {}))
    return jsonify(body), err.code


@blueprint.before_request
def _viewer_from_token() -> None:
    """Who asks is the token's user, never the session's: also when the
    project is looked up, so that a token opens the private projects its
    user may read (and nothing else). The token is checked once here; the
    views take it (or why it was refused) from `g`."""
    try:
        g.api_token = request_token()
    except CredentialsRefused as refused:
        g.api_token, g.api_token_refused = None, str(refused)
        g.viewer = None  # each view then answers 401 with the reason
        return
    g.viewer = queries.viewer(site().engine, g.api_token["user"])


@project_route(blueprint, "/pull-request/<int:number>/flag", methods=["POST"])
def flag_pull_request(project: ProjectContext, number: int):
    """Create or update a CI flag: name (Pagure: username), status, percent,
    comment, url; form fields or a JSON object."""
    token = _token_for(project, "pull_request_flag")
    row = None
    if number <= MAX_NUMBER:  # past it, the database could not even look
        row = request_queries.request(site().engine, project.row, number)
    if row is None:
        raise ApiError(404, "ENOREQ", "Pull request not found")
    fields = _flag_fields(_flag_body())
    author = _identity(token["user"])
    relpath = repo_relpath(RepoKind.REQUESTS, project.fullname)
    with RequestRepo(site().config.repositories / relpath) as requests:
        before = {flag["name"] for flag in requests.flags(row.uid)
                  if flag["username"] == author.username}  # fmt: skip
        try:
            flag = requests.set_flag(row.uid, author, **fields)
        except FormatError as err:
            errors = {err.field or "flag": [err.problem]}
            raise ApiError(
                400, "EINVALIDREQ", "Invalid input submitted", errors=errors
            ) from None
    sync_repo(site().engine, site().config.repositories, relpath)
    updated = fields["name"] in before
    log.info("flag %s on %s#%d by %s: %s", fields["name"], project.fullname,
             number, author.username, fields["status"])  # fmt: skip
    return jsonify(
        {
            "flag": {key: value for key, value in flag.items() if key != "format"},
            "message": "Flag updated" if updated else "Flag added",
            "uid": flag["uid"],
        }
    ), (200 if updated else 201)


def _flag_body() -> dict:
    """The posted fields: a JSON object, or a form."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "EINVALIDREQ", "The body must be a JSON object")
        return body
    return request.form.to_dict()


def _flag_fields(data: dict) -> dict:
    """Check and clean the flag fields, naming each one that is wrong."""
    errors: dict[str, list[str]] = {}
    text = {key: _text_field(data, key, errors)
            for key in ("name", "username", "status", "comment", "url")}  # fmt: skip
    name = text["name"] or text["username"]
    if not name and "name" not in errors and "username" not in errors:
        errors["name"] = ["This field is required."]
    if "status" not in errors and text["status"] not in FLAG_STATUSES:
        errors["status"] = [f"Use one of {', '.join(FLAG_STATUSES)}."]
    percent = _percent(data.get("percent"), errors)
    if errors:
        raise ApiError(400, "EINVALIDREQ", "Invalid input submitted", errors=errors)
    return dict(name=name, status=text["status"], percent=percent,
                comment=text["comment"], url=text["url"] or None)  # fmt: skip


def _text_field(data: dict, key: str, errors: dict) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[key] = ["Must be a string."]
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors[key] = ["Must be valid Unicode."]
        return ""
    return value.strip()


def _percent(value, errors: dict) -> int | None:
    if value is None or value == "":
        return None
    whole = isinstance(value, int) and not isinstance(value, bool)
    digits = isinstance(value, str) and value.strip().isdigit()
    if not (whole or digits):
        errors["percent"] = ["Must be a whole number from 0 to 100."]
        return None
    return int(value)


def _token_for(project: ProjectContext, acl: str) -> dict:
    """The token of this request, if it grants `acl` on `project` to a user
    the policy lets do it. 401 for a missing, unknown, revoked or expired
    token; 403 for one without the scope or for another project."""
    token = g.api_token
    if token is None:
        raise ApiError(401, "EINVALIDTOK", g.api_token_refused)
    if problem := missing_scope(token, acl):
        raise ApiError(403, "ENOSCOPE", problem)
    if problem := wrong_project(token, project.fullname):
        raise ApiError(403, "EINVALIDTOK", problem)
    if not project.may(Action.FLAG_PULL_REQUEST):  # as the token's user
        raise ApiError(403, "EINVALIDTOK", f"{token['user']} may not flag here")
    return token


def _identity(name: str) -> Identity:
    user = queries.user(site().engine, name)
    if user is None:
        abort(401)
    return Identity(user.name, user.email)
