"""Register, log in, log out, and the account's settings."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import Row

from gitforge.index import access_queries, queries
from gitforge.store import keys
from gitforge.store.errors import (
    AlreadyExists,
    BadPassword,
    FormatError,
    InvalidName,
    NotFound,
)
from gitforge.store.passwords import verify_password
from gitforge.store.site import NewUser
from gitforge.tasks.access import change_site
from gitforge.tasks.accounts import change_password as commit_password
from gitforge.tasks.site import add_user
from gitforge.web.context import (
    current_user_row,
    forget_signed_in_user,
    identity,
    login_required,
    session_store,
    site,
)
from gitforge.web.throttle import record_check, too_many_failures

log = logging.getLogger(__name__)
blueprint = Blueprint("accounts", __name__)

# The fields of a user document, as the register form calls them.
_FIELD_WORDS = {"emails": "email address", "full_name": "full name", "name": "name"}
# Pages that must never be where a login sends the user back to.
_ACCOUNT_ENDPOINTS = ("accounts.login", "accounts.register", "accounts.logout")


@blueprint.route("/register", methods=["GET", "POST"])
def register():
    if site().config.get("registration") != "open":
        abort(403, "Registration is closed on this site; ask an administrator.")
    if request.method == "GET":
        return render_template("register.html", form={})
    form = request.form
    problem = _registration_problem(form)
    if problem is None:
        new = NewUser(
            name=form["name"].strip(),
            email=form["email"].strip(),
            full_name=form.get("full_name", "").strip(),
            password=form["password"],
        )
        try:
            add_user(site().config, new)
        except (AlreadyExists, InvalidName, BadPassword) as err:
            problem = str(err)
        except FormatError as err:  # the store's checks of the fields
            field = _FIELD_WORDS.get(err.field, err.field or "account")
            problem = f"The {field} {err.problem}."
    if problem:
        flash(problem, "error")
        return render_template("register.html", form=form), 400
    _start_session(queries.user(site().engine, new.name))
    flash(f"Welcome, {new.name}.")
    return redirect(url_for("home.index"))


def _registration_problem(form) -> str | None:
    for field in ("name", "email", "password"):
        if not form.get(field, "").strip():
            return f"The {field} is missing."
    if form["password"] != form.get("confirm", ""):
        return "The two passwords differ."
    if "@" not in form["email"]:
        return "That does not look like an email address."
    return None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target)
    name = request.form.get("name", "").strip()
    if refusal := too_many_failures(name):
        flash(f"{refusal}.", "error")
        return render_template("login.html", next=target), 429
    row = queries.user(site().engine, name)
    passed = row is not None and verify_password(
        row.password_hash, request.form.get("password", "")
    )
    record_check(name, passed)
    if not passed:
        flash("Unknown user or wrong password.", "error")
        return render_template("login.html", next=target), 401
    _start_session(row)
    return redirect(target)


@blueprint.route("/logout", methods=["POST"])
def logout():
    session_id = session.get("sid")
    if session_id:
        session_store().end(session_id)  # a saved copy of the cookie dies too
    session.clear()
    forget_signed_in_user()
    return redirect(url_for("home.index"))


# -- settings ----------------------------------------------------------------


@blueprint.route("/settings")
@login_required
def settings():
    return _settings_page()


def _settings_page() -> str:
    row = current_user_row()
    ssh_keys = access_queries.keys_of(site().engine, row.name)
    return render_template("account.html", ssh_keys=ssh_keys, key_form=request.form)


@blueprint.route("/settings/password", methods=["POST"])
@login_required
def change_password():
    row = current_user_row()
    form = request.form
    problem = _password_change_problem(row, form)
    if problem is None:
        try:
            commit_password(site().config, row.name, form["password"], identity())
        except BadPassword as err:
            problem = f"The new password is too weak: {err}."
    if problem:
        flash(problem, "error")
        return _settings_page(), 400
    log.info("user %s changed their password", row.name)
    session_store().end_all(row.name)  # every other browser logs in anew
    _start_session(queries.user(site().engine, row.name))
    flash("Your password is changed; your other sessions are logged out.")
    return redirect(url_for("accounts.settings"))


def _password_change_problem(row: Row, form) -> str | None:
    if not verify_password(row.password_hash, form.get("current", "")):
        return "The current password is wrong."
    if not form.get("password"):
        return "The new password is missing."
    if form["password"] != form.get("confirm", ""):
        return "The two new passwords differ."
    return None


@blueprint.route("/settings/keys", methods=["POST"])
@login_required
def add_key():
    """Add a pasted ssh public key to the signed-in user."""
    name = current_user_row().name
    form = request.form
    try:
        entry = change_site(site().config, keys.add_key, name, form.get("key", ""),
                            form.get("title", ""), actor=identity())  # fmt: skip
    except (keys.BadKey, AlreadyExists, FormatError) as err:
        flash(f"The key was not added: {err}.", "error")
        return _settings_page(), 400
    flash(f"Key {entry['title']} added ({entry['fingerprint']}).")
    return redirect(url_for("accounts.settings"))


@blueprint.route("/settings/keys/remove", methods=["POST"])
@login_required
def remove_key():
    name = current_user_row().name
    fingerprint = request.form.get("fingerprint", "")
    try:
        change_site(site().config, keys.remove_key, name, fingerprint,
                    actor=identity())  # fmt: skip
    except NotFound:
        flash("You have no such key.", "error")
        return _settings_page(), 400
    flash(f"Key {fingerprint} removed.")
    return redirect(url_for("accounts.settings"))


# -- sessions and where they lead ---------------------------------------------


def _start_session(row: Row) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login
    session["sid"] = session_store().start(row.name, row.password_hash)
    session.permanent = True
    forget_signed_in_user()


def _safe_next(target: str | None) -> str:
    """Only same-site paths, never an open redirect, never an account page."""
    return _checked_next(target) or url_for("home.index")


def _checked_next(target: str | None) -> str | None:
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers drop tabs and newlines and read "\\" as "/", which would
    # turn "/\t/evil.example" into "//evil.example".
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    if path in {url_for(endpoint) for endpoint in _ACCOUNT_ENDPOINTS}:
        return None
    return target


@blueprint.app_template_global()
def login_next() -> str | None:
    """Where the "Log in" link should lead back to: this page, or on the
    login and register pages, the page they would lead back to."""
    if request.endpoint in _ACCOUNT_ENDPOINTS:
        return _checked_next(request.args.get("next"))
    return _checked_next(request.full_path.removesuffix("?"))
