"""A project's settings page, for its committers."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from gitforge.policy import Action
from gitforge.store.formats import PROJECT_SETTINGS
from gitforge.tasks.site import change_project_settings
from gitforge.web.context import (
    ProjectContext,
    identity,
    login_required,
    project_route,
    project_url_args,
    site,
)

blueprint = Blueprint("project_settings", __name__)

MERGE_POLICIES = {
    "ffwd-or-merge": "Fast-forward when possible, else a merge commit",
    "always-merge": "Always a merge commit",
    "ffwd-only": "Fast-forward only: a pull request must be up to date",
}


@project_route(blueprint, "/settings", methods=["GET", "POST"])
@login_required
def settings(project: ProjectContext):
    if not project.may(Action.CHANGE_SETTINGS):
        abort(403)
    current = json.loads(project.row.settings)
    if request.method == "POST":
        policy = request.form.get("merge_policy", "")
        if policy not in PROJECT_SETTINGS["merge_policy"]:
            flash("Choose one of the merge policies listed.", "error")
            return _page(project, current), 400
        change_project_settings(site().config, project.fullname,
                                {"merge_policy": policy}, identity())  # fmt: skip
        flash("Settings saved.")
        args = project_url_args(project.fullname)
        return redirect(url_for("project_settings.settings", **args))
    return _page(project, current)


def _page(project: ProjectContext, current: dict) -> str:
    return render_template(
        "project_settings.html",
        project=project,
        policies=MERGE_POLICIES,
        merge_policy=current.get("merge_policy", "ffwd-or-merge"),
    )
