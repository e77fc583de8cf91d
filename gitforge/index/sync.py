"""Sync: bring the index up to a repo's branch tip.

One function, `sync_repo`, serves every path into the index: a web write
(called at once, so the writer reads its own write), a push (through the
post-receive hook and a task), the reconciler and `gitforge reindex`. It loads
only what changed between the commit it loaded last and the tip, in one
database transaction, and records the tip. Running it twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from gitforge.index.load_requests import load_requests
from gitforge.index.load_site import load_site
from gitforge.index.load_tickets import load_tickets
from gitforge.index.schema import projects, repo_state
from gitforge.store.documents import DocumentRepo, Snapshot
from gitforge.store.layout import SITE_REPO, RepoKind, parse_relpath, repo_relpath

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    """What one sync loaded: the commit range and the documents it touched."""

    repo: str
    old: str | None
    new: str | None
    changed: list[str] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return self.old != self.new


def sync_repo(engine: Engine, repositories: Path, relpath: str) -> SyncResult:
    """Load what changed in one repo since the last sync."""
    try:
        result = _sync_once(engine, repositories, relpath)
    except IntegrityError:
        # Two first syncs of one repo raced to create its state row; the
        # loser runs again and finds the winner's work.
        result = _sync_once(engine, repositories, relpath)
    if result.moved:
        _after_sync(repositories, relpath)
    return result


def _after_sync(repositories: Path, relpath: str) -> None:
    """gitolite's rules are derived from the site repo and the private
    tickets too: they follow the same sync (a task, when the site uses
    gitolite)."""
    from gitforge.gitolite.trigger import synced

    synced(repositories.parent, relpath)


def _sync_once(engine: Engine, repositories: Path, relpath: str) -> SyncResult:
    loader = _loader_for(relpath)
    with DocumentRepo(repositories / relpath) as docs, engine.begin() as conn:
        old = _lock_state(conn, relpath)
        tip = docs.tip()
        new = str(tip.id) if tip is not None else None
        result = SyncResult(relpath, old, new)
        if old == new or loader is None:
            return result
        old_tree = _tree_or_none(docs.repo, old)
        new_snapshot = docs.snapshot(new) if new else Snapshot(docs.repo, None)
        changed = _changed_paths(docs.repo, old_tree, new_snapshot.tree)
        loaded = loader(conn, relpath, new_snapshot, changed)
        if loaded is None:  # its project is not in the index (yet)
            result.new = old
            return result
        result.changed = loaded
        conn.execute(
            update(repo_state).where(repo_state.c.repo == relpath).values(commit=new)
        )
    log.info("sync %s: %s..%s, %d changed", relpath, old, new, len(result.changed))
    return result


def recorded_commit(engine: Engine, relpath: str) -> str | None:
    """The commit of `relpath` the index loaded last, if any."""
    with engine.connect() as conn:
        return conn.execute(
            select(repo_state.c.commit).where(repo_state.c.repo == relpath)
        ).scalar()


def sync_all(
    engine: Engine,
    repositories: Path,
    progress: Callable[[str], None] | None = None,
) -> list[SyncResult]:
    """Sync the site repo, then every project's ticket and request repos."""
    if not (repositories / SITE_REPO).exists():
        return []
    results = [sync_repo(engine, repositories, SITE_REPO)]
    with engine.connect() as conn:
        names = conn.execute(select(projects.c.fullname)).scalars().all()
    for fullname in names:
        for kind in (RepoKind.TICKETS, RepoKind.REQUESTS):
            relpath = repo_relpath(kind, fullname)
            if (repositories / relpath).exists():
                results.append(sync_repo(engine, repositories, relpath))
        if progress:
            progress(fullname)
    return results


def _loader_for(relpath: str):
    if relpath == SITE_REPO:
        return load_site
    parsed = parse_relpath(relpath)
    if parsed and parsed[0] is RepoKind.TICKETS:
        return load_tickets
    if parsed and parsed[0] is RepoKind.REQUESTS:
        return load_requests
    return None


def _lock_state(conn: Connection, relpath: str) -> str | None:
    """Read the last loaded commit, holding a write lock on its row so that
    two syncs of one repo run one after the other."""
    touched = conn.execute(
        update(repo_state)
        .where(repo_state.c.repo == relpath)
        .values(repo=repo_state.c.repo)
    )
    if touched.rowcount == 0:
        conn.execute(insert(repo_state).values(repo=relpath, commit=None))
        return None
    return conn.execute(
        select(repo_state.c.commit).where(repo_state.c.repo == relpath)
    ).scalar_one()


def _tree_or_none(repo: pygit2.Repository, commit_id: str | None):
    if commit_id is None:
        return None
    try:
        return repo[commit_id].peel(pygit2.Commit).tree
    except (KeyError, ValueError):
        log.warning("last synced commit %s is gone; loading everything", commit_id)
        return None


def _changed_paths(repo, old_tree, new_tree) -> list[str] | None:
    """Paths that differ between two trees; None means "load everything".

    Compares entries by object id and only opens folders whose id changed.
    libgit2's tree diff opens every folder: on a fresh handle to a ticket
    repo of 2,000 tickets it took 20 ms, this takes 1.
    """
    if old_tree is None:
        return None
    return sorted(_tree_changes(old_tree, new_tree, ""))


def _tree_changes(old, new, prefix: str) -> set[str]:
    before = {entry.name: entry for entry in old} if old is not None else {}
    after = {entry.name: entry for entry in new} if new is not None else {}
    changed = set()
    for name in before.keys() | after.keys():
        was, now = before.get(name), after.get(name)
        if was is not None and now is not None and was.id == now.id:
            continue
        path = prefix + name
        was_tree = was is not None and was.filemode == pygit2.GIT_FILEMODE_TREE
        now_tree = now is not None and now.filemode == pygit2.GIT_FILEMODE_TREE
        if was_tree or now_tree:
            changed |= _tree_changes(
                was if was_tree else None, now if now_tree else None, path + "/"
            )
        if not (was_tree and now_tree):
            changed.add(path)
    return changed
