"""The lines a push of a new branch prints: where to open a pull request."""

from __future__ import annotations

from urllib.parse import quote

import pygit2

from gitforge.config import Config
from gitforge.store.errors import InvalidName
from gitforge.store.merging import check_branch_name

ZERO = "0" * 40


def pull_request_offers(
    home: str, code_repo: str, updates: list[list[str]]
) -> list[str]:
    new_branches = [
        ref.removeprefix("refs/heads/")
        for old, new, ref in updates
        if old == ZERO and new != ZERO and ref.startswith("refs/heads/")
    ]
    if not new_branches:
        return []
    config = Config.load(home)
    repo = pygit2.Repository(str(config.repositories / f"{code_repo}.git"))
    default = repo.head.shorthand if not repo.head_is_unborn else None
    site = (config.get("site_url") or _served_url(config)).rstrip("/")
    lines = []
    for branch in new_branches:
        if branch == default or default is None or not _proposable(branch):
            continue
        page = f"{_project_path(code_repo)}/diff/{quote(default)}..{quote(branch)}"
        lines += [f"Create a pull request for {branch}:", f"  {site}{page}"]
    return lines


def _served_url(config: Config) -> str:
    """The address `gitforge serve` last said it answers on, or the
    default one."""
    try:
        return (config.home / "run" / "url").read_text().strip()
    except OSError:
        return "http://127.0.0.1:8080"


def _proposable(branch: str) -> bool:
    """Whether the diff page would take the name (no offer that leads to an
    error, and no odd name printed to the pusher's terminal)."""
    try:
        check_branch_name(branch)
    except InvalidName:
        return False
    return branch.isprintable()


def _project_path(code_repo: str) -> str:
    """The web path of a project or fork: `/foo`, `/ns/foo`, `/fork/ann/foo`."""
    if code_repo.startswith("forks/"):
        return "/fork/" + code_repo.removeprefix("forks/")
    return "/" + code_repo
