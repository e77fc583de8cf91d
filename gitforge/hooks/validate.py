"""Checks of a push to a document repo, run before git accepts it.

Every document repo (the site repo, a ticket repo) keeps its documents on
the main branch and nowhere else. A push may only move that branch forward:
no other refs, no deletion, no rewritten history. The files it changes must
be plain files of a bounded size, and each kind of repo then checks what
those files say (gitforge.hooks.ticket_checks, gitforge.hooks.site_checks).

The checks look at the tree the branch would end with and at every path
that differs from the current tip, so a broken file is refused whichever
commit of the push brought it in, and an untouched old file never blocks a
push.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pygit2

from gitforge.hooks.pusher import Pusher
from gitforge.store import formats
from gitforge.store.documents import DEFAULT_BRANCH, Snapshot
from gitforge.store.layout import SITE_REPO, RepoKind, parse_relpath

ZERO = "0" * 40
MAIN_REF = f"refs/heads/{DEFAULT_BRANCH}"
_PLAIN_FILE_MODES = {pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE}

# (old snapshot, new snapshot, the changed files) -> problems
ContentCheck = Callable[[Snapshot, Snapshot, list[pygit2.DiffDelta]], list[str]]


def content_check_for(relpath: str, pusher: Pusher) -> ContentCheck | None:
    """The content rules of the repo at `relpath`; None for repos that take
    any push (code repos)."""
    from gitforge.hooks import request_checks, site_checks, ticket_checks

    if relpath == SITE_REPO:
        return site_checks.check_change
    parsed = parse_relpath(relpath)
    if parsed is not None and parsed[0] is RepoKind.TICKETS:
        return ticket_checks.TicketChanges(pusher)
    if parsed is not None and parsed[0] is RepoKind.REQUESTS:
        return request_checks.RequestChanges(pusher)
    return None


def refusals(
    repo: pygit2.Repository, check_content: ContentCheck, updates: list[list[str]]
) -> list[str]:
    """Problems with a push to a document repo (opened with
    `open_with_quarantine`); an empty list accepts it."""
    problems = []
    for old, new, ref in updates:
        problem = ref_problem(repo, old, new, ref)
        if problem:
            problems.append(problem)
            continue
        old_snapshot = Snapshot(repo, None if old == ZERO else repo[old])
        new_snapshot = Snapshot(repo, repo[new].peel(pygit2.Commit))
        readable = []
        for delta in changed_files(old_snapshot, new_snapshot):
            problem = file_problem(repo, delta)
            if problem:
                problems.append(problem)
            else:
                readable.append(delta)
        problems += check_content(old_snapshot, new_snapshot, readable)
    return problems


def open_with_quarantine(repo_dir: Path, env: dict) -> pygit2.Repository:
    """Open the repo so that objects of the push being checked are visible:
    git keeps them in a quarantine folder (named in the hook's `env`) that
    libgit2 does not look in."""
    repo = pygit2.Repository(str(repo_dir))
    for variable in ("GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH"):
        folder = env.get(variable)
        if folder and Path(folder).is_dir():
            repo.odb.add_disk_alternate(folder)
    return repo


def ref_problem(repo: pygit2.Repository, old: str, new: str, ref: str) -> str | None:
    """Why this ref update is refused, if it is."""
    if ref != MAIN_REF:
        return (
            f"{ref}: this repo keeps its documents on {DEFAULT_BRANCH} only; "
            f"push to {DEFAULT_BRANCH} (other branches and tags are refused)"
        )
    if new == ZERO:
        return f"{ref} holds the documents and cannot be deleted"
    try:
        repo[new].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.InvalidSpecError):
        return f"{ref}: {new} is not a commit"
    if old != ZERO and new != old and not repo.descendant_of(new, old):
        return (
            f"{ref}: the push rewrites history that the server already has; "
            f"fetch, merge or rebase onto origin/{DEFAULT_BRANCH}, and push again"
        )
    return None


def changed_files(old: Snapshot, new: Snapshot) -> list[pygit2.DiffDelta]:
    """Every file that differs between two snapshots."""
    empty = new.repo[new.repo.TreeBuilder().write()]
    old_tree = old.tree if old.tree is not None else empty
    return list(old_tree.diff_to_tree(new.tree).deltas)


def file_problem(repo: pygit2.Repository, delta: pygit2.DiffDelta) -> str | None:
    """A problem with the kind or size of a changed file, whatever it holds."""
    if delta.status == pygit2.GIT_DELTA_DELETED:
        return None
    path, mode = delta.new_file.path, delta.new_file.mode
    if mode not in _PLAIN_FILE_MODES:
        what = {
            pygit2.GIT_FILEMODE_LINK: "a symbolic link",
            pygit2.GIT_FILEMODE_COMMIT: "a submodule",
        }.get(mode, f"a tree entry of mode {mode:o}")
        return f"{path}: is {what}; only plain files are allowed here"
    size = repo[delta.new_file.id].size
    limit = (
        formats.MAX_DOCUMENT_BYTES
        if path.endswith(".json")
        else formats.MAX_ATTACHMENT_BYTES
    )
    if size > limit:
        return f"{path}: is {size} bytes; at most {limit} are allowed"
    return None
