"""The front page and user pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from gitforge.index import queries
from gitforge.policy import Action, may
from gitforge.web.context import site, viewer

blueprint = Blueprint("home", __name__)


def _readable(rows):
    return [
        row for row in rows
        if may(viewer(), Action.READ_PROJECT, queries.facts(row))
    ]  # fmt: skip


@blueprint.route("/")
def index():
    # Forks are listed on their parent's page and their owner's, as in Pagure.
    rows = [row for row in queries.all_projects(site().engine) if row.parent is None]
    return render_template("index.html", projects=_readable(rows))


@blueprint.route("/user/<name>")
def user_page(name: str):
    row = queries.user(site().engine, name)
    if row is None:
        abort(404)
    projects = _readable(queries.projects_of(site().engine, name))
    return render_template("user.html", user=row, projects=projects)
