"""Register, log in, log out."""

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

from gitforge.index import queries
from gitforge.store.errors import AlreadyExists, BadPassword, InvalidName
from gitforge.store.passwords import verify_password
from gitforge.store.site import NewUser
from gitforge.tasks.site import add_user
from gitforge.web.context import site

log = logging.getLogger(__name__)
blueprint = Blueprint("accounts", __name__)


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
    if problem:
        flash(problem, "error")
        return render_template("register.html", form=form), 400
    _start_session(new.name)
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
    row = queries.user(site().engine, name)
    if row is None or not verify_password(
        row.password_hash, request.form.get("password", "")
    ):
        flash("Unknown user or wrong password.", "error")
        return render_template("login.html", next=target), 401
    _start_session(row.name)
    return redirect(target)


@blueprint.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("home.index"))


def _start_session(name: str) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login
    session["user"] = name
    session.permanent = True


def _safe_next(target: str | None) -> str:
    """Only same-site paths; never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    # Browsers drop tabs and newlines and read "\\" as "/", which would
    # turn "/\t/evil.example" into "//evil.example".
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return url_for("home.index")
    return target
