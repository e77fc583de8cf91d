"""Ticket attachments: upload one, list them on the ticket page, serve one.

Attachments live in the ticket repo (`<xx>/<uid>/files/<name>`), so a file
pushed from a clone shows up like an uploaded one. They are served from the
forge's own origin, so never as active content: only plain text and a few
raster image types keep their type, everything else (HTML and SVG included)
is an `application/octet-stream` download, always with nosniff and a
sandbox policy.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, request
from sqlalchemy import Row

from gitforge.policy import Action
from gitforge.store import formats
from gitforge.store.errors import FormatError
from gitforge.store.layout import RepoKind, repo_path
from gitforge.store.tickets import TicketRepo
from gitforge.web.context import ProjectContext, project_route, site
from gitforge.web.ticket_views import (
    _readable_ticket,
    _show_again,
    _ticket_url,
    _url,
    _writable_ticket,
    _write,
)

log = logging.getLogger(__name__)
blueprint = Blueprint("attachments", __name__)

# Kept inline: raster images are inert under nosniff whatever their bytes.
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
# Shown as text/plain (as a download) when the bytes are UTF-8.
_TEXT_SUFFIXES = frozenset({".txt", ".log", ".patch", ".diff", ".md", ".csv"})
_SANDBOX = "sandbox; default-src 'none'"
# A multipart body carries headers and the other fields besides the file.
_FORM_SLACK = 64 * 1024


@blueprint.url_value_preprocessor
def _limit_upload_body(endpoint: str | None, _values: dict | None) -> None:
    # Runs before the CSRF check parses the form, so a body far over the
    # limit is refused (413) before it is spooled to disk.
    if endpoint == "attachments.upload":
        request.max_content_length = formats.MAX_ATTACHMENT_BYTES + _FORM_SLACK


@project_route(blueprint, "/issue/<int:number>/upload", methods=["POST"])
def upload(project: ProjectContext, number: int):
    ticket = _writable_ticket(project, number, Action.COMMENT_TICKET)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _show_again(project, ticket, "Choose a file to attach.")
    limit = formats.MAX_ATTACHMENT_BYTES
    data = sent.read(limit + 1)
    if len(data) > limit:
        return _show_again(
            project, ticket, f"The file is too large; an attachment holds at most "
            f"{limit:,} bytes."
        )  # fmt: skip
    try:
        name = _write(
            project, lambda repo, who: repo.attach(ticket.uid, who, sent.filename, data)
        )
    except FormatError as err:
        return _show_again(project, ticket, f"The file was not attached: {err.problem}")
    flash(f"Attached {name}.")
    return redirect(_ticket_url(project, number))


@project_route(blueprint, "/issue/<int:number>/files/<path:name>")
def download(project: ProjectContext, number: int, name: str):
    ticket = _readable_ticket(project, number)
    with _ticket_repo(project) as repo:
        data = repo.attachment(ticket.uid, name)
    if data is None:
        abort(404)
    return _inert_response(name, data)


@blueprint.app_template_global()
def ticket_attachments(project: ProjectContext, ticket: Row) -> list[dict]:
    """The ticket page's list: name, size and URL of each attachment."""
    # Not yet: read from the ticket repo on each view, not from the index.
    with _ticket_repo(project) as repo:
        found = repo.attachments(ticket.uid)
    return [
        {
            "name": name,
            "size": size,
            "url": _url(
                "attachments.download", project, number=ticket.number, name=name
            ),
        }
        for name, size in found
    ]


def _ticket_repo(project: ProjectContext) -> TicketRepo:
    config = site().config
    return TicketRepo(
        repo_path(config.repositories, RepoKind.TICKETS, project.fullname)
    )


def _inert_response(name: str, data: bytes) -> Response:
    suffix = "." + name.rpartition(".")[2].lower() if "." in name else ""
    disposition = "attachment"
    if suffix in _IMAGE_TYPES:
        mimetype, disposition = _IMAGE_TYPES[suffix], "inline"
    elif suffix in _TEXT_SUFFIXES and _is_utf8(data):
        mimetype = "text/plain"  # Flask adds the charset
    else:
        mimetype = "application/octet-stream"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = _SANDBOX
    # A private ticket's file must not stay in a shared cache.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
