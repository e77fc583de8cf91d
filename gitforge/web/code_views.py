"""Code pages: summary, tree, blob, raw, commits, one commit, branches."""

from __future__ import annotations

from flask import Blueprint, render_template

from gitforge.web.context import project_route

blueprint = Blueprint("code", __name__)


@project_route(blueprint, "")
def summary(project):
    return render_template("project_base.html", project=project)


@project_route(blueprint, "/tree/")
def tree(project):
    return render_template("project_base.html", project=project)


@project_route(blueprint, "/commits/")
def commits(project):
    return render_template("project_base.html", project=project)


@project_route(blueprint, "/branches")
def branches(project):
    return render_template("project_base.html", project=project)
