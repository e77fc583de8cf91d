"""A project's settings pages, for its admins (Action.CHANGE_SETTINGS), as
tabs: General (description, private, merge policy), Access, Protected
branches and Tickets.

Every change is one commit to the site repo as the signed-in user, then a
sync of the index (gitforge.tasks.access), so the page reads its own
write. Bad input gets the page back with a message and a 400, and changes
nothing.
"""

from __future__ import annotations

import json
import re

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from gitforge.policy import LEVEL_WORDS, Action, Level
from gitforge.store import access
from gitforge.store.access_formats import branch_pattern
from gitforge.store.errors import AlreadyExists, FormatError, InvalidName, NotFound
from gitforge.store.formats import PROJECT_SETTINGS
from gitforge.tasks.access import change_site
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
LEVEL_HELP = {
    "admin": "changes the project's settings and access",
    "commit": "pushes to any branch, merges pull requests",
    "collaborator": "pushes to and merges into the branches named",
    "ticket": "triages and edits tickets, reads private ones",
}
# The tabs of the settings pages: endpoint -> label.
TABS = {
    "project_settings.settings": "General",
    "project_settings.access_page": "Access",
    "project_settings.branches": "Protected branches",
    "project_settings.tickets": "Tickets",
    "tokens.project_tokens": "API tokens",
}
_LIST_SEPARATORS = re.compile(r"[\s,]+")
_PATTERN_SEPARATORS = re.compile(r"[\r\n,]+")


class BadInput(ValueError):
    """A form field the page refuses; the message is shown as it is."""


def _admin_only(project: ProjectContext) -> None:
    if not project.may(Action.CHANGE_SETTINGS):
        abort(403)


def _saved(project: ProjectContext, endpoint: str, message: str):
    flash(message)
    return redirect(url_for(endpoint, **project_url_args(project.fullname)))


def _write(write, *args) -> str | None:
    """Commit a change to the site repo and sync; the problem, if the
    store refused it."""
    try:
        change_site(site().config, write, *args, actor=identity())
    except (FormatError, InvalidName, NotFound, AlreadyExists) as err:
        return problem_text(err)
    return None


def problem_text(err: Exception) -> str:
    """What the page says about a change the store refused."""
    if isinstance(err, FormatError):
        return f"{err.problem}."  # it may start with a name: no capital
    if isinstance(err, NotFound):
        if err.kind == "grant":
            return f"There is no access to revoke: {err.name}."
        return f"There is no {err.kind} {err.name!r}."
    return str(err)[:1].upper() + str(err)[1:] + "."


# -- General -------------------------------------------------------------------


@project_route(blueprint, "/settings", methods=["GET", "POST"])
@login_required
def settings(project: ProjectContext):
    _admin_only(project)
    if request.method == "GET":
        return _general_page(project)
    try:
        changes = _general_changes(request.form)
    except BadInput as err:
        flash(str(err), "error")
        return _general_page(project), 400
    problem = _write(_change_general, project.fullname, changes)
    if problem:
        flash(problem, "error")
        return _general_page(project), 400
    return _saved(project, "project_settings.settings", "Settings saved.")


def _change_general(site_repo, fullname, changes, actor):
    return site_repo.change_project(fullname, actor=actor, **changes)


def _general_changes(form) -> dict:
    """The fields the form sent; a field it did not send stays as it is."""
    changes: dict = {}
    if "description" in form:
        changes["description"] = form["description"].strip()
    if "visibility" in form:
        if form["visibility"] not in ("public", "private"):
            raise BadInput("Choose public or private.")
        changes["private"] = form["visibility"] == "private"
    if "merge_policy" in form:
        if form["merge_policy"] not in PROJECT_SETTINGS["merge_policy"]:
            raise BadInput("Choose one of the merge policies listed.")
        changes["settings"] = {"merge_policy": form["merge_policy"]}
    return changes


def _general_page(project: ProjectContext) -> str:
    current = json.loads(project.row.settings)
    form = request.form if request.method == "POST" else {}
    return render_template(
        "project_settings.html",
        project=project,
        tabs=TABS,
        policies=MERGE_POLICIES,
        merge_policy=form.get("merge_policy")
        or current.get("merge_policy", "ffwd-or-merge"),
        description=form.get("description", project.row.description),
        private=bool(project.row.private),
    )


# -- Access --------------------------------------------------------------------


@project_route(blueprint, "/settings/access", methods=["GET", "POST"])
@login_required
def access_page(project: ProjectContext):
    """The users and groups with access; a post grants (or changes) one."""
    _admin_only(project)
    if request.method == "GET":
        return _access_page(project)
    form = request.form
    subject = form.get("subject", "").strip()
    try:
        level, branches = _grant_fields(subject, form)
    except BadInput as err:
        flash(str(err), "error")
        return _access_page(project), 400
    problem = _write(access.grant, project.fullname, subject, level, branches)
    if problem:
        flash(problem, "error")
        return _access_page(project), 400
    what = f"{level} on these branches: {', '.join(branches)}" if branches else level
    return _saved(project, "project_settings.access_page", f"{subject} has {what}.")


@project_route(blueprint, "/settings/access/revoke", methods=["POST"])
@login_required
def revoke(project: ProjectContext):
    _admin_only(project)
    subject = request.form.get("subject", "").strip()
    problem = _write(access.revoke, project.fullname, subject)
    if problem:
        flash(problem, "error")
        return _access_page(project), 400
    return _saved(
        project, "project_settings.access_page", f"{subject} has no access now."
    )


def _grant_fields(subject: str, form) -> tuple[str, list[str]]:
    """The level and branch patterns of a grant form, checked."""
    if not subject.lstrip("@"):
        raise BadInput("Name a user, or a group as @group.")
    level = form.get("level", "")
    try:
        Level.named(level)
    except ValueError:
        raise BadInput(f"Choose a level: {', '.join(LEVEL_WORDS)}.") from None
    branches = split_patterns(form.get("branches", ""))
    if level != Level.COLLABORATOR.word:
        return level, []  # the field is for collaborators only, as it says
    if not branches:
        raise BadInput("A collaborator needs the branches they may push to.")
    check_patterns(branches)
    return level, branches


def split_list(text: str) -> list[str]:
    """Patterns given comma- or space-separated, or one per line."""
    return [part for part in _LIST_SEPARATORS.split(text) if part]


def split_patterns(text: str) -> list[str]:
    """Branch patterns, comma-separated or one per line. Spaces separate
    nothing: a pattern cannot hold one, so `bad pattern` is refused whole
    instead of being taken for two."""
    return [part.strip() for part in _PATTERN_SEPARATORS.split(text) if part.strip()]


def check_patterns(patterns: list[str]) -> None:
    for pattern in patterns:
        if problem := branch_pattern(pattern):
            raise BadInput(problem[:1].upper() + problem[1:] + ".")


def _access_page(project: ProjectContext) -> str:
    return render_template(
        "settings/access.html",
        project=project,
        tabs=TABS,
        entries=access_entries(project.row),
        levels=LEVEL_HELP,
        form=request.form if request.method == "POST" else {},
    )


def access_entries(row) -> list[dict]:
    """Who holds what on the project in index row `row`: the owner first,
    then users, then groups (`@name`), by name."""
    stored = json.loads(row.access)
    entries = [{"subject": row.owner, "level": "admin", "branches": [], "owner": True}]
    for kind, prefix in (("users", ""), ("groups", "@")):
        for name, grant in sorted((stored.get(kind) or {}).items()):
            entries.append(
                {"subject": prefix + name, "level": grant["level"],
                 "branches": grant.get("branches", []), "owner": False}
            )  # fmt: skip
    return entries


# -- Protected branches --------------------------------------------------------


@project_route(blueprint, "/settings/branches", methods=["GET", "POST"])
@login_required
def branches(project: ProjectContext):
    _admin_only(project)
    current = json.loads(project.row.protected_branches)
    if request.method == "GET":
        return _branches_page(project, "\n".join(current))
    text = request.form.get("patterns", "")
    patterns = split_patterns(text)
    try:
        check_patterns(patterns)
    except BadInput as err:
        flash(str(err), "error")
        return _branches_page(project, text), 400
    problem = _write(access.set_protected_branches, project.fullname, patterns)
    if problem:
        flash(problem, "error")
        return _branches_page(project, text), 400
    return _saved(project, "project_settings.branches", "Protected branches saved.")


def _branches_page(project: ProjectContext, text: str) -> str:
    return render_template(
        "settings/branches.html", project=project, tabs=TABS, patterns=text
    )


# -- Tickets -------------------------------------------------------------------


@project_route(blueprint, "/settings/tickets", methods=["GET", "POST"])
@login_required
def tickets(project: ProjectContext):
    _admin_only(project)
    if request.method == "GET":
        stored = json.loads(project.row.ticket_settings)
        return _tickets_page(project, ticket_settings_text(stored))
    form = {key: request.form.get(key, "") for key in _TICKET_FIELDS}
    try:
        settings = parse_ticket_settings(form)
    except BadInput as err:
        flash(str(err), "error")
        return _tickets_page(project, form), 400
    problem = _write(access.set_ticket_settings, project.fullname, settings)
    if problem:
        flash(problem, "error")
        return _tickets_page(project, form), 400
    return _saved(project, "project_settings.tickets", "Ticket settings saved.")


_TICKET_FIELDS = ("tags", "close_reasons", "priorities", "milestones")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def ticket_settings_text(settings: dict) -> dict[str, str]:
    """The form's text for stored ticket settings: one entry a line."""
    priorities = sorted(
        (settings.get("priorities") or {}).items(), key=lambda item: int(item[0])
    )
    return {
        "tags": "\n".join(f"{t} {c}" for t, c in (settings.get("tags") or {}).items()),
        "close_reasons": "\n".join(settings.get("close_reasons") or ()),
        "priorities": "\n".join(f"{n} {label}" for n, label in priorities),
        "milestones": "\n".join(settings.get("milestones") or ()),
    }


def parse_ticket_settings(form: dict[str, str]) -> dict:
    """Ticket settings from the form's text, one entry a line: `tag
    #rrggbb`, `reason`, `number label`, `milestone`."""
    settings: dict = {}
    tags = {}
    for line in _lines(form["tags"]):
        tag, _, colour = line.rpartition(" ")
        if not tag.strip() or not _COLOUR.fullmatch(colour):
            raise BadInput(f"Tag line {line!r}: write the tag, then a colour "
                           "like #1a2b3c.")  # fmt: skip
        tags[tag.strip()] = colour.lower()
    priorities = {}
    for line in _lines(form["priorities"]):
        number, _, label = line.partition(" ")
        if not number.lstrip("-").isdigit() or not label.strip():
            raise BadInput(f"Priority line {line!r}: write a whole number, then "
                           "its label, like 1 High.")  # fmt: skip
        priorities[str(int(number))] = label.strip()
    for key, value in (("tags", tags), ("priorities", priorities),
                       ("close_reasons", _lines(form["close_reasons"])),
                       ("milestones", _lines(form["milestones"]))):  # fmt: skip
        if value:
            settings[key] = value
    return settings


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _tickets_page(project: ProjectContext, text: dict[str, str]) -> str:
    return render_template(
        "settings/tickets.html", project=project, tabs=TABS, text=text
    )
