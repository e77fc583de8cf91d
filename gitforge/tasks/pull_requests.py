"""Pull request operations: open, refresh after a push, merge status, merge,
close and reopen.

Each ends in commits to the request repo (and, for a merge, the code repo)
followed by a sync, so the index and pages follow git. The head of a pull
request is kept in the target repo as `refs/pull/<n>/head`: merges and
merge statuses then work on one repository, and `git fetch origin
refs/pull/<n>/head` gives anyone the proposed commits.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitforge.config import Config
from gitforge.index import queries, request_queries
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.policy import Action, may
from gitforge.store import merging
from gitforge.store.documents import SYSTEM, Identity, utc_now
from gitforge.store.errors import NotFound, StoreError
from gitforge.store.layout import (
    RepoKind,
    repo_path,
    repo_relpath,
)
from gitforge.store.requests import RequestRepo, draft_request
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)

# "Fixes #12", "closes: #3", "Resolved #7": the words that close a ticket
# when the pull request that says them is merged.
_CLOSING = re.compile(
    r"\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\s*:?\s+#(\d{1,10})\b", re.I
)


class PullRequestError(StoreError):
    """An operation on a pull request that cannot be done, and why."""


@dataclass(frozen=True)
class Branch:
    """A branch of a project or fork: `repo` is its code repo's path below
    the repositories folder without `.git` (`foo`, `forks/ann/foo`)."""

    repo: str
    name: str

    def path(self, config: Config) -> Path:
        return config.repositories / f"{self.repo}.git"


# -- opening -----------------------------------------------------------------


def open_pull_request(
    config: Config,
    fullname: str,
    author: Identity,
    source: Branch,
    target_branch: str,
    title: str,
    description: str = "",
) -> dict:
    """Open a pull request from `source` into `target_branch` of `fullname`."""
    merging.check_branch_name(source.name)
    merging.check_branch_name(target_branch)
    target_repo = _code_repo(config, fullname)
    head = _source_tip(config, source)
    target_tip = merging.branch_tip(target_repo, target_branch)
    if source.repo == fullname and source.name == target_branch:
        raise PullRequestError("a branch cannot be merged into itself")
    fields = dict(title=title.strip(), description=description,
                  source_repo=source.repo, source_branch=source.name,
                  target_branch=target_branch, base=target_tip, head=head)  # fmt: skip
    draft_request(author, 1, **fields)  # refuse bad fields before writing
    with TicketRepo(repo_path(config.repositories, RepoKind.TICKETS, fullname)) as t:
        number = t.take_number(author, "pull request")
    publish_head(config, target_repo, number, source)
    fields["base"] = _merge_base(target_repo, target_tip, head)
    with _requests(config, fullname) as requests:
        doc = requests.open_request(author, number, **fields)
    _sync(config, fullname, RepoKind.TICKETS, RepoKind.REQUESTS)
    log.info("pull request #%d opened on %s by %s", number, fullname, author.username)
    update_merge_status(str(config.home), fullname, doc["uid"])
    return doc


def _source_tip(config: Config, source: Branch) -> str:
    path = source.path(config)
    if not path.is_dir():
        raise NotFound("project", source.repo)
    return merging.branch_tip(pygit2.Repository(str(path)), source.name)


def _merge_base(repo: pygit2.Repository, target: str, head: str) -> str:
    """Where the branch left its target; the target's tip for unrelated
    histories."""
    base = repo.merge_base(target, head)
    return str(base) if base is not None else target


def publish_head(
    config: Config, target_repo: pygit2.Repository, number: int, source: Branch
) -> str:
    """Point `refs/pull/<number>/head` of the target repo at the source
    branch's tip, copying the commits over when the source is a fork."""
    ref = f"refs/pull/{number}/head"
    source_path = source.path(config).resolve()
    if source_path == Path(target_repo.path).resolve():
        tip = merging.branch_tip(target_repo, source.name)
        target_repo.references.create(ref, tip, force=True)
        return tip
    # The refspec starts with "+refs/", so no branch name is ever read as
    # an option; the name itself passed check_branch_name.
    refspec = f"+refs/heads/{source.name}:{ref}"
    command = [config.get("git_binary"), "--git-dir", target_repo.path, "fetch",
               "--quiet", "--no-tags", "--", str(source_path), refspec]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise PullRequestError(f"could not fetch {source.name}: {done.stderr.strip()}")
    return str(target_repo.references[ref].target)


# -- after a push --------------------------------------------------------------


@huey.task(retries=2, retry_delay=1)
def code_pushed(home: str, code_repo: str, branches: list[str]) -> None:
    """The post-receive task of a code repo."""
    refresh_after_push(Config.load(home), code_repo, branches)


def refresh_after_push(config: Config, code_repo: str, branches: list[str]) -> None:
    """A push moved `branches` of the code repo `code_repo` (`foo`,
    `forks/ann/foo`): refresh the open pull requests they are the source
    of, and the merge status of those they are the target of."""
    engine = engine_for(config)
    touched = request_queries.open_requests_touching(engine, code_repo, branches)
    for fullname, uid, role in touched:
        try:
            if role == "source":
                refresh_pull_request(config, fullname, uid)
            else:
                update_merge_status.call_local(str(config.home), fullname, uid)
        except StoreError as err:
            log.warning("refresh of pull request %s on %s failed: %s",
                        uid, fullname, err)  # fmt: skip


def refresh_pull_request(config: Config, fullname: str, uid: str) -> dict | None:
    """Follow the source branch: new head, base and update record. Returns
    the update, or None when the branch did not move (or is gone), or the
    pull request is no longer open."""
    with project_lock(config, fullname):
        update = _refresh(config, fullname, uid)
    if update is not None:
        update_merge_status.call_local(str(config.home), fullname, uid)
    return update


def _refresh(config: Config, fullname: str, uid: str) -> dict | None:
    with _requests(config, fullname) as requests:
        request = requests.request(uid)
    if request["status"] != "Open":
        return None
    source = Branch(request["source_repo"], request["source_branch"])
    try:
        new_head = _source_tip(config, source)
    except NotFound:
        log.info("pull request %s: source branch %s is gone", uid, source)
        return None
    if new_head == request["head"]:
        return None
    target_repo = _code_repo(config, fullname)
    publish_head(config, target_repo, request["number"], source)
    old_head = request["head"]
    forced = old_head not in target_repo or not target_repo.descendant_of(
        new_head, old_head
    )
    target_tip = merging.branch_tip(target_repo, request["target_branch"])
    base = _merge_base(target_repo, target_tip, new_head)
    with _requests(config, fullname) as requests:
        update = requests.record_update(uid, SYSTEM, old_head=old_head,
                                        new_head=new_head, forced=forced)  # fmt: skip
        requests.edit(uid, SYSTEM, {"head": new_head, "base": base,
                                    "merge_status": None}, "Branch moved")  # fmt: skip
    _sync(config, fullname, RepoKind.REQUESTS)
    return update


# -- merge status --------------------------------------------------------------


@huey.task(retries=2, retry_delay=1)
def update_merge_status(home: str, fullname: str, uid: str) -> dict | None:
    """Compute and store whether the pull request merges, unless the stored
    status is for the same pair of commits."""
    config = Config.load(home)
    with _requests(config, fullname) as requests:
        request = requests.request(uid)
    if request["status"] != "Open":
        return request["merge_status"]
    target_repo = _code_repo(config, fullname)
    target = merging.branch_tip(target_repo, request["target_branch"])
    stored = request["merge_status"]
    if stored and (stored["target"], stored["head"]) == (target, request["head"]):
        return stored
    status = merging.merge_status(target_repo, target, request["head"])
    found = {"kind": status.kind, "target": target, "head": request["head"],
             "conflicts": list(status.conflicts)}  # fmt: skip
    with _requests(config, fullname) as requests:
        requests.edit(uid, SYSTEM, {"merge_status": found}, "Merge status of")
    _sync(config, fullname, RepoKind.REQUESTS)
    return found


# -- merge, close, reopen -----------------------------------------------------


@huey.task()
def merge_pull_request(
    home: str, fullname: str, uid: str, merger: str, delete_source: bool = False
) -> dict:
    """Merge as `merger` under the project's lock. Returns {"ok": True,
    "kind": ..., "commit": ...} or {"ok": False, "reason": ..., "conflicts":
    [...]}, which the page shows."""
    config = Config.load(home)
    actor = _identity(config, merger)
    with project_lock(config, fullname):
        try:
            outcome = _merge(config, fullname, uid, actor)
        except (merging.MergeRefused, PullRequestError, NotFound) as err:
            conflicts = list(getattr(err, "conflicts", ()))
            log.info("merge of %s on %s refused: %s", uid, fullname, err)
            return {"ok": False, "reason": str(err), "conflicts": conflicts}
        if delete_source:
            _delete_source(config, fullname, uid, actor)
    return {"ok": True, "kind": outcome.kind, "commit": outcome.new_target}


def _merge(config: Config, fullname: str, uid: str, actor: Identity):
    with _requests(config, fullname) as requests:
        request = requests.request(uid)
    if request["status"] != "Open":
        raise PullRequestError(f"the pull request is {request['status'].lower()}")
    target_repo = _code_repo(config, fullname)
    policy = _project_settings(config, fullname).get(
        "merge_policy", merging.FFWD_OR_MERGE
    )
    message = (
        f"Merge pull request #{request['number']} from "
        f"{request['source_repo']}:{request['source_branch']}\n\n{request['title']}"
    )
    outcome = merging.merge(
        target_repo,
        request["target_branch"],
        request["head"],
        committer=actor,
        message=message,
        policy=policy,
    )
    now = utc_now()
    with _requests(config, fullname) as requests:
        # The head merged, even if the branch moved meanwhile: what the
        # pull request says it merged is then in the target.
        requests.edit(uid, actor, {"status": "Merged", "merge_commit":
                                   outcome.new_target, "closed_by": actor.username,
                                   "closed_at": now, "head": request["head"]},
                      "Merge")  # fmt: skip
    _close_fixed_tickets(config, fullname, request, target_repo, actor)
    _sync(config, fullname, RepoKind.TICKETS, RepoKind.REQUESTS)
    log.info("pull request #%d of %s merged by %s (%s)", request["number"],
             fullname, actor.username, outcome.kind)  # fmt: skip
    return outcome


def close_pull_request(
    config: Config, fullname: str, uid: str, actor: Identity
) -> dict:
    changes = {"status": "Closed", "closed_by": actor.username,
               "closed_at": utc_now()}  # fmt: skip
    return _set_status(config, fullname, uid, actor, "Open", changes, "Close")


def reopen_pull_request(
    config: Config, fullname: str, uid: str, actor: Identity
) -> dict:
    changes = {"status": "Open", "closed_by": None, "closed_at": None}
    doc = _set_status(config, fullname, uid, actor, "Closed", changes, "Reopen")
    if refresh_pull_request(config, fullname, uid) is None:
        update_merge_status(str(config.home), fullname, uid)
    return doc


def _set_status(config, fullname, uid, actor, expected, changes, verb) -> dict:
    with project_lock(config, fullname), _requests(config, fullname) as requests:
        request = requests.request(uid)
        if request["status"] != expected:
            raise PullRequestError(
                f"the pull request is {request['status'].lower()}; only "
                f"{expected.lower()} ones can be {verb.lower()}d"
            )
        doc = requests.edit(uid, actor, changes, verb)
    _sync(config, fullname, RepoKind.REQUESTS)
    return doc


def _delete_source(config: Config, fullname: str, uid: str, actor: Identity) -> None:
    """Delete the merged branch, if the merger may push where it lives."""
    with _requests(config, fullname) as requests:
        request = requests.request(uid)
    source = Branch(request["source_repo"], request["source_branch"])
    if not _may_delete(config, actor.username, source):
        log.info("source branch of %s kept: %s may not push to %s", uid,
                 actor.username, source.repo)  # fmt: skip
        return
    repo = pygit2.Repository(str(source.path(config)))
    try:
        merging.delete_branch(repo, source.name, expected=request["head"])
    except StoreError as err:
        log.info("source branch of %s kept: %s", uid, err)


def _close_fixed_tickets(config, fullname, request, repo, actor) -> list[int]:
    """Close the tickets the description or the commits say they fix."""
    texts = [request["title"], request["description"]]
    walker = repo.walk(request["head"], pygit2.GIT_SORT_TOPOLOGICAL)
    walker.hide(request["base"])
    texts += [commit.message for commit in walker]
    numbers = sorted({int(n) for text in texts for n in _CLOSING.findall(text)})
    engine = engine_for(config)
    project_row = queries.project(engine, fullname)
    closed = []
    tickets_path = repo_path(config.repositories, RepoKind.TICKETS, fullname)
    with TicketRepo(tickets_path) as tickets:
        for number in numbers:
            row = queries.ticket(engine, project_row, number)
            if row is None or row.status != "Open":
                continue
            reason = f"Fixed by pull request #{request['number']}"
            tickets.close_ticket(row.uid, actor, reason)
            closed.append(number)
    if closed:
        log.info("merge of #%d closed tickets %s", request["number"], closed)
    return closed


# -- helpers -----------------------------------------------------------------


_held = threading.local()  # the project locks this thread holds


@contextmanager
def project_lock(config: Config, fullname: str) -> Iterator[None]:
    """One change of a project's pull requests' state at a time (merge,
    refresh, close, reopen), across threads and processes. A thread that
    holds the lock may take it again."""
    held = _held.__dict__.setdefault("names", set())
    if fullname in held:
        yield
        return
    folder = config.home / "locks"
    folder.mkdir(exist_ok=True)
    path = folder / (fullname.replace("/", "~") + ".lock")
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(fullname)
        try:
            yield
        finally:
            held.discard(fullname)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _requests(config: Config, fullname: str) -> RequestRepo:
    path = repo_path(config.repositories, RepoKind.REQUESTS, fullname)
    if not path.is_dir():  # projects made before request repos existed
        RequestRepo.create(path).close()
        from gitforge.hooks.install import install_hooks

        install_hooks(path, config.home)
    return RequestRepo(path)


def _code_repo(config: Config, fullname: str) -> pygit2.Repository:
    return pygit2.Repository(str(repo_path(config.repositories, RepoKind.CODE,
                                           fullname)))  # fmt: skip


def _may_delete(config: Config, user: str, branch: Branch) -> bool:
    """The access policy's answer for deleting `branch`."""
    engine = engine_for(config)
    row, viewer = queries.project(engine, branch.repo), queries.viewer(engine, user)
    if row is None or viewer is None:
        return False
    facts = queries.facts(row)
    return may(viewer, Action.REWRITE_BRANCH, facts, ref=branch.name)


def _identity(config: Config, name: str) -> Identity:
    row = queries.user(engine_for(config), name)
    if row is None:
        raise NotFound("user", name)
    return Identity(row.name, row.email)


def _project_settings(config: Config, fullname: str) -> dict:
    row = queries.project(engine_for(config), fullname)
    return json.loads(row.settings) if row is not None else {}


def _sync(config: Config, fullname: str, *kinds: RepoKind) -> None:
    engine = engine_for(config)
    for kind in kinds:
        sync_repo(engine, config.repositories, repo_relpath(kind, fullname))
