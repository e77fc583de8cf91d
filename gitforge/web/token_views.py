"""API tokens on the web: a user's own, and a project's for its admins.

A token is shown once, in the answer to the form that made it, and never
again: only its hash is kept (gitforge.store.tokens). It is never put in
the session cookie or a flashed message. A token never grants more than
its user may do: the channels that take it ask the policy with its user.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from gitforge.index import queries
from gitforge.policy import Action, may
from gitforge.store.access_formats import TOKEN_SCOPES
from gitforge.store.documents import parse_json
from gitforge.store.errors import FormatError, NotFound
from gitforge.store.site import SiteRepo
from gitforge.store.token_expiry import expiry_of_date
from gitforge.store.tokens import create_token, revoke_token, token_path, tokens_of
from gitforge.tasks.access import change_site
from gitforge.web.context import (
    ProjectContext,
    identity,
    login_required,
    project_route,
    project_url_args,
    site,
    viewer,
)
from gitforge.web.project_settings import TABS

log = logging.getLogger(__name__)
blueprint = Blueprint("tokens", __name__)

# The scopes gitforge acts on, and what each lets a token do. The rest of
# Pagure's names are accepted (for tools written for Pagure) but open
# nothing here yet.
USED_SCOPES = {
    "commit": "Push over HTTP (git push with the token as the password)",
    "pull_request_flag": "Post CI results on pull requests (the flag API)",
}
OTHER_SCOPES = tuple(scope for scope in TOKEN_SCOPES if scope not in USED_SCOPES)
DEFAULT_DAYS = 365


class BadTokenForm(ValueError):
    """A field of the token form the page refuses; shown as it is."""


# -- a user's own tokens ---------------------------------------------------------


@blueprint.route("/settings/tokens", methods=["GET", "POST"])
@login_required
def user_tokens():
    if request.method == "GET":
        return _user_page()
    try:
        secret, doc = _create(viewer().name, _form_fields(_project_field()))
    except BadTokenForm as err:
        flash(str(err), "error")
        return _user_page(), 400
    return _shown_once(_user_page(new=(secret, doc)))


@blueprint.route("/settings/tokens/<token_id>/revoke", methods=["POST"])
@login_required
def revoke_user_token(token_id: str):
    doc = _token_record(token_id)
    if doc is None or doc["user"] != viewer().name:
        abort(404)
    _revoke(doc)
    return redirect(url_for("tokens.user_tokens"))


def _user_page(new: tuple[str, dict] | None = None) -> str:
    with SiteRepo.open(site().config.repositories) as site_repo:
        tokens = tokens_of(site_repo.snapshot(), viewer().name)
    return render_template("tokens/user.html", **_page_values(tokens, new))


def _project_field() -> str | None:
    """The project a user limits their token to, if any; it must be one
    they may read, so the form tells nothing of private projects."""
    fullname = request.form.get("project", "").strip()
    if not fullname:
        return None
    row = queries.project(site().engine, fullname)
    if row is None or not may(viewer(), Action.READ_PROJECT, queries.facts(row)):
        raise BadTokenForm(f"There is no project {fullname!r}.")
    return row.fullname


# -- a project's tokens, for its admins ------------------------------------------


@project_route(blueprint, "/settings/tokens", methods=["GET", "POST"])
@login_required
def project_tokens(project: ProjectContext):
    _admin_only(project)
    if request.method == "GET":
        return _project_page(project)
    try:
        secret, doc = _create(viewer().name, _form_fields(project.fullname))
    except BadTokenForm as err:
        flash(str(err), "error")
        return _project_page(project), 400
    return _shown_once(_project_page(project, new=(secret, doc)))


@project_route(blueprint, "/settings/tokens/<token_id>/revoke", methods=["POST"])
@login_required
def revoke_project_token(project: ProjectContext, token_id: str):
    """An admin of the project may revoke any token limited to it."""
    _admin_only(project)
    doc = _token_record(token_id)
    if doc is None or doc["project"] != project.fullname:
        abort(404)
    _revoke(doc)
    args = project_url_args(project.fullname)
    return redirect(url_for("tokens.project_tokens", **args))


def _admin_only(project: ProjectContext) -> None:
    if not project.may(Action.CHANGE_SETTINGS):
        abort(403)


def _project_page(project: ProjectContext, new: tuple[str, dict] | None = None):
    with SiteRepo.open(site().config.repositories) as site_repo:
        tokens = _tokens_for_project(site_repo, project.fullname)
    return render_template("tokens/project.html", project=project, tabs=TABS,
                           **_page_values(tokens, new))  # fmt: skip


def _tokens_for_project(site_repo: SiteRepo, fullname: str) -> list[dict]:
    # Not yet: tokens are not in the index, so this reads every token file.
    found = [
        doc
        for path, data in site_repo.snapshot().walk("tokens")
        if (doc := parse_json(path, data)).get("project") == fullname
    ]
    return sorted(found, key=lambda doc: doc["created"], reverse=True)


# -- shared ------------------------------------------------------------------------


def _form_fields(project: str | None) -> dict:
    """The checked fields of the token form."""
    form = request.form
    scopes = form.getlist("scopes")
    if not scopes:
        raise BadTokenForm("Choose at least one scope.")
    if unknown := [scope for scope in scopes if scope not in TOKEN_SCOPES]:
        raise BadTokenForm(f"{unknown[0]!r} is not a scope.")
    description = form.get("description", "").strip()
    if len(description) > 255 or not description.isprintable():
        raise BadTokenForm("The description must be one line of at most 255 "
                           "characters.")  # fmt: skip
    try:
        expires = expiry_of_date(form.get("expires", ""))
    except ValueError as err:
        raise BadTokenForm(f"The expiry date: {err}.") from None
    return dict(acls=scopes, project=project, description=description,
                expires=expires)  # fmt: skip


def _create(user: str, fields: dict) -> tuple[str, dict]:
    try:
        secret, doc = change_site(site().config, create_token, user,
                                  actor=identity(), **fields)  # fmt: skip
    except (FormatError, NotFound) as err:
        # The form's checks come first; this is for what only the store knows.
        raise BadTokenForm(str(err)) from None
    log.info("%s made token %s (%s) for %s", identity().username, doc["id"],
             ", ".join(doc["acls"]), doc["project"] or "every project")  # fmt: skip
    return secret, doc


def _revoke(doc: dict) -> None:
    if doc.get("revoked"):
        flash(f"Token {doc['id']} was already revoked.")
        return
    change_site(site().config, revoke_token, doc["id"], actor=identity())
    flash(f"Token {doc['id']} is revoked; it opens nothing from now on.")


def _token_record(token_id: str) -> dict | None:
    if not (len(token_id) == 16 and all(ch in "0123456789abcdef" for ch in token_id)):
        return None
    with SiteRepo.open(site().config.repositories) as site_repo:
        return site_repo.snapshot().read(token_path(token_id))


def _page_values(tokens: list[dict], new: tuple[str, dict] | None) -> dict:
    default_expiry = datetime.now(UTC).date() + timedelta(days=DEFAULT_DAYS)
    form = request.form if request.method == "POST" and new is None else {}
    return dict(
        tokens=tokens,
        new_secret=new[0] if new else None,
        new_token=new[1] if new else None,
        used_scopes=USED_SCOPES,
        other_scopes=OTHER_SCOPES,
        form=form,
        chosen_scopes=set(form.getlist("scopes")) if form else {"commit"},
        default_expiry=default_expiry.isoformat(),
        today=datetime.now(UTC).date().isoformat(),
        now=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _shown_once(page: str):
    """The page that holds a new token: never kept by a cache or proxy."""
    return page, 201, {"Cache-Control": "no-store"}
