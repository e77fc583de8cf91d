"""Ticket pages: list, one ticket, new ticket, comment, edit, close."""

from __future__ import annotations

from flask import Blueprint, render_template

from gitforge.web.context import project_route

blueprint = Blueprint("tickets", __name__)


@project_route(blueprint, "/issues")
def list_tickets(project):
    return render_template("project_base.html", project=project)
