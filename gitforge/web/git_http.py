"""Git over HTTP (smart protocol), served by git itself."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("git_http", __name__)
