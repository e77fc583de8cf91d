"""May this pusher make these ref updates? Asked before any content check.

Every channel that ends in a push (by path, HTTP, ssh through gitolite)
runs this hook, so the policy holds even where a front end let a push
through: a collaborator's push to a branch outside their patterns, a
force-push to a protected branch, a push to the site repo by somebody who
is not a site administrator.
"""

from __future__ import annotations

from pathlib import Path

import pygit2

from gitforge.hooks.pusher import Pusher, UnknownPusher, pusher_for
from gitforge.policy import Action, Level, grant_of, sees_private_tickets
from gitforge.store.documents import Snapshot
from gitforge.store.errors import NotFound
from gitforge.store.layout import SITE_REPO, RepoKind, parse_relpath
from gitforge.store.tickets import private_ticket_authors

ZERO = "0" * 40


def identify_pusher(repositories: Path, relpath: str, env: dict) -> Pusher:
    """The pusher of a push to the repo at `relpath`; UnknownPusher with the
    reason when there is none to attribute it to."""
    parsed = parse_relpath(relpath) if relpath != SITE_REPO else None
    if relpath != SITE_REPO and parsed is None:
        raise UnknownPusher(f"{relpath} is not a repository of this forge")
    try:
        return pusher_for(repositories, parsed[1] if parsed else None, env)
    except NotFound as err:
        raise UnknownPusher(str(err)) from None


def access_problems(
    pusher: Pusher, repo: pygit2.Repository, relpath: str, updates: list[list[str]]
) -> list[str]:
    """Why `pusher` may not make `updates` to the repo at `relpath`; an
    empty list lets the push go on to the content checks."""
    parsed = parse_relpath(relpath) if relpath != SITE_REPO else None
    if parsed is None:
        return _site_problems(pusher)
    kind, fullname = parsed
    if kind is RepoKind.TICKETS:
        # Which tickets a push may change is for the per-file checks.
        authors = _private_authors(pusher, repo)
        if pusher.may(Action.PUSH_TICKETS, private_ticket_authors=authors):
            return []
        return [f"{pusher.name} may not push to the ticket repo of {fullname}"]
    if kind is RepoKind.REQUESTS:
        return []  # the discussion only; its content check says what may change
    return [
        problem
        for old, new, ref in updates
        if (problem := _ref_problem(pusher, repo, old, new, ref))
    ]


def _private_authors(pusher: Pusher, repo: pygit2.Repository) -> frozenset[str]:
    """The authors of the ticket repo's private tickets, which the policy
    needs for a pusher who does not see every ticket anyway (reading them
    all costs tens of milliseconds in a big repo)."""
    if sees_private_tickets(pusher.viewer, pusher.project) or repo.head_is_unborn:
        return frozenset()
    return private_ticket_authors(Snapshot(repo, repo.head.peel(pygit2.Commit)))


def _site_problems(pusher: Pusher) -> list[str]:
    if pusher.may(Action.ADMINISTER_SITE):
        return []
    return [f"{pusher.name} may not push to the site repo: it is for site admins"]


def _ref_problem(
    pusher: Pusher, repo: pygit2.Repository, old: str, new: str, ref: str
) -> str | None:
    rewrite = new == ZERO or (old != ZERO and not _fast_forward(repo, old, new))
    action = Action.REWRITE_BRANCH if rewrite else Action.PUSH_CODE
    if pusher.may(action, ref=ref):
        return None
    if pusher.may(Action.PUSH_CODE, ref=ref):  # a rewrite of a protected branch
        if new == ZERO:
            return f"{ref} is protected: it cannot be deleted"
        return f"{ref} is protected: it cannot be force-pushed; push new commits on top"
    return f"{ref}: {pusher.name} may not push here; {_why(pusher)}"


def _why(pusher: Pusher) -> str:
    grant = grant_of(pusher.viewer, pusher.project)
    project = pusher.project.fullname
    if grant is not None and grant.level is Level.COLLABORATOR:
        patterns = ", ".join(grant.branches)
        return f"your access to {project} covers the branches {patterns}"
    if grant is not None:
        return f"{grant.level.word} access to {project} does not include pushing code"
    return f"ask an admin of {project} for commit access, or push to a fork"


def _fast_forward(repo: pygit2.Repository, old: str, new: str) -> bool:
    try:
        return new == old or repo.descendant_of(new, old)
    except (KeyError, ValueError, pygit2.GitError):
        return False  # a tag or a ref to something else: treat as a rewrite
