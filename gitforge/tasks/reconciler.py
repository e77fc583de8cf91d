"""The reconciler: sync repos whose branch moved without a hook saying so.

A push reaches the index through the post-receive hook and a web write
syncs at once; a repo restored from a backup, fetched by a mirror job or
moved with `git update-ref` on disk tells nobody. The reconciler watches
`<home>/repositories` (watchdog) for ref changes — files under `refs/heads/`,
`packed-refs`, new repos — and, after a burst has settled, syncs each
document repo whose tip is not the commit the index recorded, through the
same `sync_repo` as everything else (a hook and the reconciler racing is
harmless: the second sync finds nothing to do). For a code repo it refreshes
the open pull requests of the branches that moved. At start it makes one
pass over every repo, for what changed while it was not running.

It runs as a thread of `gitforge serve` and `gitforge worker`; the setting
`reconcile = off` turns it off.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pygit2
from sqlalchemy import or_, select
from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.schema import projects, pull_requests, repo_state
from gitforge.index.sync import SyncResult, sync_repo
from gitforge.store.documents import DocumentRepo
from gitforge.store.layout import SITE_REPO, RepoKind, parse_relpath, repo_relpath
from gitforge.tasks.pull_requests import refresh_after_push

log = logging.getLogger(__name__)

# A burst (a push of many refs, a restore of many repos) settles this long
# before a repo is looked at; a steady stream waits at most MAX_WAIT.
DEBOUNCE = 0.2
MAX_WAIT = 2.0
# A code repo waits longer: its post-receive hook refreshes pull requests
# itself (a task, which may take a few seconds to start and run), and the
# reconciler comes after it, to find nothing left to do.
# Not yet: a refresh by the reconciler that overlaps the hook's task can
# record the same branch update twice; refresh_pull_request needs a lock.
CODE_REPO_DELAY = 5.0


def reconcile_enabled(config: Config) -> bool:
    """The `reconcile` setting (ValueError when it is neither on nor off)."""
    return config.get_switch("reconcile")


def changed_repo(repositories: Path, path: str) -> str | None:
    """The repo (relative path) whose refs a changed `path` may have moved:
    a branch file, `packed-refs`, or the repo folder itself (a new repo).
    None for anything else: objects, lock files, folders between repos."""
    try:
        parts = Path(path).relative_to(repositories).parts
    except ValueError:
        return None
    ends = [i for i, part in enumerate(parts) if part.endswith(".git")]
    if not ends:
        return None
    relpath = "/".join(parts[: ends[0] + 1])
    inside = parts[ends[0] + 1 :]
    if relpath != SITE_REPO and parse_relpath(relpath) is None:
        return None
    if inside and inside[-1].endswith(".lock"):
        return None  # the ref is only moved when the lock is renamed
    if inside in ((), ("packed-refs",), ("refs",)) or inside[:2] == ("refs", "heads"):
        return relpath
    return None


@dataclass
class _Pending:
    due: float
    deadline: float
    why: str


class Reconciler:
    """Watches a home's repositories and syncs what moved behind its back."""

    def __init__(
        self,
        config: Config,
        debounce: float = DEBOUNCE,
        code_repo_delay: float = CODE_REPO_DELAY,
        max_wait: float = MAX_WAIT,
    ):
        self.config = config
        self.repositories = config.repositories
        self.debounce, self.code_repo_delay = debounce, code_repo_delay
        self.max_wait = max_wait
        self._pending: dict[str, _Pending] = {}
        self._changed = threading.Condition()
        self._stopping = False
        self._passed = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="gitforge-reconciler", daemon=True
        )

    # -- starting and stopping ------------------------------------------------

    def start(self) -> Reconciler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (it ends its watch) once the repo at hand is done."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until it watches and its start-up pass is done."""
        return self._passed.wait(timeout)

    def _watch(self):
        """Start watching; None when that cannot be done."""
        if not self.repositories.is_dir():
            log.warning("reconciler: no %s to watch", self.repositories)
            return None
        observer = Observer()
        observer.daemon = True
        # Not yet: one recursive watch puts an inotify watch on every folder
        # below repositories, objects folders included; a site of very many
        # repos may need a higher fs.inotify.max_user_watches.
        _schedule(observer, _RefEvents(self), str(self.repositories))
        try:
            observer.start()
        except OSError as err:
            log.error("reconciler cannot watch %s (%s): only the start-up pass "
                      "runs", self.repositories, err)  # fmt: skip
            return None
        return observer

    # -- collecting changes -----------------------------------------------------

    def notice(self, relpath: str, why: str) -> None:
        """Look at `relpath` once the changes to it have settled: a document
        repo `debounce` after the last change (`max_wait` after the first at
        the latest), a code repo always `code_repo_delay` after the last, so
        that the hook's own refresh has had its time."""
        now = time.monotonic()
        document = _is_document_repo(relpath)
        with self._changed:
            pending = self._pending.get(relpath)
            deadline = pending.deadline if pending else now + self.max_wait
            if document:
                due = min(now + self.debounce, deadline)
            else:
                due = now + self.code_repo_delay
            self._pending[relpath] = _Pending(due, deadline, why)
            self._changed.notify_all()

    def _next_batch(self) -> dict[str, str] | None:
        """Wait for the repos whose changes have settled; None once stopping."""
        with self._changed:
            while not self._stopping:
                now = time.monotonic()
                due = {r: p.why for r, p in self._pending.items() if p.due <= now}
                if due:
                    for relpath in due:
                        del self._pending[relpath]
                    return due
                wait = min((p.due for p in self._pending.values()), default=None)
                self._changed.wait(None if wait is None else wait - now)
            return None

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        """Watch first, then make the start-up pass, so that nothing that
        moves during the pass is missed; then follow the changes."""
        observer = self._watch()
        try:
            self._guarded(self.reconcile_all)
            self._passed.set()
            while (batch := self._next_batch()) is not None:
                for relpath in sorted(batch, key=_site_first):
                    self._guarded(self.reconcile, relpath, batch[relpath])
        finally:
            if observer is not None:
                observer.stop()
                observer.join()

    def _guarded(self, work, *args) -> None:
        """Run one piece of work; an error is logged and the thread goes on."""
        try:
            work(*args)
        except Exception:
            log.exception("reconciler: %s%s failed", work.__name__, args)

    def reconcile_all(self) -> None:
        """The start-up pass: every document repo whose tip differs from the
        commit the index recorded, and the open pull requests whose branches
        moved. A repo that fails is logged and the pass goes on."""
        why = "changed while no reconciler ran"
        self._guarded(self.reconcile, SITE_REPO, why)
        with engine_for(self.config).connect() as conn:
            names = conn.execute(select(projects.c.fullname)).scalars().all()
        for fullname in names:
            for kind in (RepoKind.TICKETS, RepoKind.REQUESTS):
                if self._stopping:
                    return
                self._guarded(self.reconcile, repo_relpath(kind, fullname), why)
        self._refresh_pull_requests(None, why)

    def reconcile(self, relpath: str, why: str) -> None:
        """Bring the index up to one repo, if it lags behind it."""
        parsed = parse_relpath(relpath)
        if _is_document_repo(relpath):
            self._sync_if_behind(relpath, why)
        elif parsed and parsed[0] is RepoKind.CODE:
            self._refresh_pull_requests(parsed[1], why)

    # -- document repos -----------------------------------------------------------

    def _sync_if_behind(self, relpath: str, why: str) -> None:
        path = self.repositories / relpath
        engine = engine_for(self.config)
        if not path.is_dir() or _tip(path) == _recorded_commit(engine, relpath):
            return
        if relpath != SITE_REPO and not self._project_known(relpath, why):
            # Syncing now would record the commit with nothing loaded.
            log.info("reconciler: %s waits for its project in the site repo",
                     relpath)  # fmt: skip
            return
        result = sync_repo(engine, self.repositories, relpath)
        if result.moved:
            log.info("reconciler synced %s (%s): %s..%s", relpath, why,
                     _short(result.old), _short(result.new))  # fmt: skip
        if relpath == SITE_REPO:
            self._check_new_projects(result, why)

    def _project_known(self, relpath: str, why: str) -> bool:
        """Whether the index has the project of a ticket or request repo,
        syncing the site repo first if it does not yet."""
        fullname = parse_relpath(relpath)[1]
        if _project_in_index(self.config, fullname):
            return True
        self._sync_if_behind(SITE_REPO, why)
        return _project_in_index(self.config, fullname)

    def _check_new_projects(self, result: SyncResult, why: str) -> None:
        """A site sync that brought projects: their repos may have been
        waiting for them (a restore lands the repos in any order)."""
        for path in result.changed:
            if path.startswith("projects/") and path.endswith(".json"):
                fullname = path[len("projects/") : -len(".json")]
                for kind in (RepoKind.TICKETS, RepoKind.REQUESTS):
                    self._sync_if_behind(repo_relpath(kind, fullname), why)

    # -- code repos ----------------------------------------------------------------

    def _refresh_pull_requests(self, code_repo: str | None, why: str) -> None:
        """Refresh the open pull requests whose branches in `code_repo` (in
        every code repo for None) are not where they last saw them. Those a
        hook already refreshed are found up to date and left alone."""
        for repo, branches in self._stale_branches(code_repo).items():
            refresh_after_push(self.config, repo, branches)
            log.info("reconciler refreshed the pull requests of %s (%s): "
                     "branches %s", repo, why, ", ".join(branches))  # fmt: skip

    def _stale_branches(self, code_repo: str | None) -> dict[str, list[str]]:
        """Code repo -> branches of open pull requests whose tip is not the
        head (of a source) or merge target (of a target) they recorded."""
        rows = _open_pull_requests(self.config, code_repo)
        tips: dict[str, dict[str, str]] = {}
        stale: dict[str, set[str]] = {}
        for row in rows:
            for repo, branch, seen in (
                (row.source_repo, row.source_branch, row.head),
                (row.fullname, row.target_branch, row.merge_target),
            ):
                if code_repo is not None and repo != code_repo:
                    continue
                if repo not in tips:
                    tips[repo] = _branch_tips(self.repositories / f"{repo}.git")
                tip = tips[repo].get(branch)
                # A branch that is gone leaves nothing to refresh to.
                if tip is not None and tip != seen:
                    stale.setdefault(repo, set()).add(branch)
        return {repo: sorted(branches) for repo, branches in stale.items()}


# What can move a ref: a lock file renamed over it (git, libgit2), a file
# created or deleted, a file written in place and closed (a restore copying
# packed-refs back), a repo folder made or moved in. Opening and reading,
# which every page view does to objects, are left out.
_EVENTS = [DirCreatedEvent, DirMovedEvent, FileCreatedEvent, FileMovedEvent,
           FileDeletedEvent, FileClosedEvent]  # fmt: skip
_EVENT_TYPES = frozenset({"created", "moved", "deleted", "closed", "modified"})


def _schedule(observer: Observer, handler: FileSystemEventHandler, path: str):
    try:
        observer.schedule(handler, path, recursive=True, event_filter=_EVENTS)
    except TypeError:  # watchdog before 4 filters nothing; reads come too
        observer.schedule(handler, path, recursive=True)


class _RefEvents(FileSystemEventHandler):
    """Hands the repo of every ref change to the reconciler."""

    def __init__(self, reconciler: Reconciler):
        self.reconciler = reconciler
        self.repositories = reconciler.repositories

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _EVENT_TYPES:
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if not path:
                continue
            relpath = changed_repo(self.repositories, _text(path))
            if relpath is not None:
                self.reconciler.notice(relpath, "its refs changed on disk")


def _text(path) -> str:
    return path.decode() if isinstance(path, bytes) else path


def _is_document_repo(relpath: str) -> bool:
    if relpath == SITE_REPO:
        return True
    parsed = parse_relpath(relpath)
    return bool(parsed) and parsed[0] in (RepoKind.TICKETS, RepoKind.REQUESTS)


def _site_first(relpath: str) -> tuple[bool, str]:
    return relpath != SITE_REPO, relpath


def _tip(path: Path) -> str | None:
    """The tip of a document repo's branch; None without a repo or branch."""
    if not path.is_dir():
        return None
    with DocumentRepo(path) as docs:
        tip = docs.tip()
    return str(tip.id) if tip is not None else None


def _branch_tips(path: Path) -> dict[str, str]:
    """Branch name -> commit id of a code repo; {} when it is gone."""
    try:
        repo = pygit2.Repository(str(path))
    except pygit2.GitError:
        return {}
    try:
        tips = {}
        for name in repo.references:
            if not name.startswith("refs/heads/"):
                continue
            try:
                target = repo.references[name].resolve().target
            except (KeyError, pygit2.GitError):  # a dangling symbolic ref
                continue
            tips[name[len("refs/heads/") :]] = str(target)
        return tips
    finally:
        repo.free()


def _recorded_commit(engine, relpath: str) -> str | None:
    query = select(repo_state.c.commit).where(repo_state.c.repo == relpath)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def _open_pull_requests(config: Config, code_repo: str | None) -> list:
    """Open pull requests (all, or those from or into `code_repo`) with
    where their branches were when they last looked."""
    query = (
        select(projects.c.fullname, pull_requests.c.source_repo,
               pull_requests.c.source_branch, pull_requests.c.head,
               pull_requests.c.target_branch, pull_requests.c.merge_target)
        .join(projects, projects.c.id == pull_requests.c.project_id)
        .where(pull_requests.c.status == "Open")
    )  # fmt: skip
    if code_repo is not None:
        query = query.where(
            or_(
                pull_requests.c.source_repo == code_repo,
                projects.c.fullname == code_repo,
            )
        )
    with engine_for(config).connect() as conn:
        return conn.execute(query).all()


def _project_in_index(config: Config, fullname: str) -> bool:
    query = select(projects.c.id).where(projects.c.fullname == fullname)
    with engine_for(config).connect() as conn:
        return conn.execute(query).first() is not None


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "none"
