"""Groups of users: `/groups` lists them and makes one, `/group/<name>`
shows one and changes its members.

As in Pagure, anybody signed in may make a group and becomes its first
member; its members (and the site's administrators) add and remove
members and may delete it. Each change is one commit to the site repo as
the signed-in user, then a sync.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from gitforge.index import access_queries
from gitforge.policy import Action, may
from gitforge.store import access
from gitforge.store.errors import AlreadyExists, FormatError, InvalidName, NotFound
from gitforge.tasks.access import change_site
from gitforge.web.context import identity, login_required, site, viewer
from gitforge.web.project_settings import problem_text, split_list

blueprint = Blueprint("groups", __name__)
_REFUSED = (FormatError, InvalidName, NotFound, AlreadyExists)


@blueprint.route("/groups")
def list_groups():
    return _list_page({})


@blueprint.route("/groups", methods=["POST"])
@login_required
def create_group():
    form = request.form
    name = form.get("name", "").strip()
    try:
        change_site(site().config, access.add_group, name, [viewer().name],
                    form.get("description", "").strip(), actor=identity())  # fmt: skip
    except _REFUSED as err:
        flash(problem_text(err), "error")
        return _list_page(form), 400
    flash(f"Group {name} made; you are its first member.")
    return redirect(url_for("groups.group_page", name=name))


def _list_page(form) -> str:
    groups = access_queries.all_groups(site().engine)
    return render_template("groups/list.html", groups=groups, form=form)


@blueprint.route("/group/<name>")
def group_page(name: str):
    return _group_page(_group(name))


@blueprint.route("/group/<name>/members", methods=["POST"])
@login_required
def change_members(name: str):
    """Add the users named in `add` (comma- or space-separated) or remove
    the one named in `remove`."""
    group = _group(name)
    members = access_queries.members_of(site().engine, name)
    if not may_manage(members):
        abort(403)
    add = split_list(request.form.get("add", ""))
    remove = split_list(request.form.get("remove", ""))
    if not add and not remove:
        flash("Name a user to add or remove.", "error")
        return _group_page(group), 400
    try:
        change_site(site().config, access.change_members, name, add, remove,
                    actor=identity())  # fmt: skip
    except _REFUSED as err:
        flash(problem_text(err), "error")
        return _group_page(group), 400
    flash("Members changed.")
    return redirect(url_for("groups.group_page", name=name))


@blueprint.route("/group/<name>/delete", methods=["POST"])
@login_required
def delete_group(name: str):
    """Delete the group, and every grant to it."""
    _group(name)
    if not may_manage(access_queries.members_of(site().engine, name)):
        abort(403)
    change_site(site().config, access.delete_group, name, actor=identity())
    flash(f"Group {name} deleted; the projects it had access to no longer grant it.")
    return redirect(url_for("groups.list_groups"))


def may_manage(members: list[str]) -> bool:
    """Whether the viewer may change a group with these members."""
    return may(viewer(), Action.MANAGE_GROUP, None, group_members=frozenset(members))


def _group(name: str):
    row = access_queries.group(site().engine, name)
    if row is None:
        abort(404)
    return row


def _group_page(group) -> str:
    members = access_queries.members_of(site().engine, group.name)
    return render_template(
        "groups/show.html",
        group=group,
        members=members,
        may_manage=may_manage(members),
    )
