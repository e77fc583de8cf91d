"""The front page and user pages.

Private means absent: every list here shows only the projects the viewer
may read (gitforge.policy, Action.READ_PROJECT), and so does every link to
another project that a page draws (`may_read_project`).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from gitforge.index import queries
from gitforge.policy import Action, may
from gitforge.web.context import site, viewer

blueprint = Blueprint("home", __name__)


def readable(rows):
    """The project rows among `rows` that the viewer may read."""
    return [
        row for row in rows
        if may(viewer(), Action.READ_PROJECT, queries.facts(row))
    ]  # fmt: skip


@blueprint.app_template_global()
def may_read_project(fullname: str) -> bool:
    """Whether the viewer may read project `fullname`, for pages that link
    to another project (a fork's parent, a pull request's source)."""
    row = queries.project(site().engine, fullname)
    return row is not None and bool(readable([row]))


@blueprint.route("/")
def index():
    # Forks are listed on their parent's page and their owner's, as in Pagure.
    rows = [row for row in queries.all_projects(site().engine) if row.parent is None]
    return render_template("index.html", projects=readable(rows))


@blueprint.route("/user/<name>")
def user_page(name: str):
    row = queries.user(site().engine, name)
    if row is None:
        abort(404)
    projects = readable(queries.projects_of(site().engine, name))
    return render_template("user.html", user=row, projects=projects)
