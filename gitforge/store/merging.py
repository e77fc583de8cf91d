"""Merging a pull request's head into its target branch, in a bare code repo.

`merge_status` says what the merge would take: nothing, a fast-forward, a
clean merge commit, or which paths conflict. `merge` does it and moves the
target branch by compare-and-swap. Both work on commits and trees only: no
working copy, no index file, no git command.

A trial merge is not free of writes in libgit2: every file it merges by
content is stored as a new blob. So trial merges run over a scratch object
store layered on the repository's own, and only a merge that is going ahead
copies the objects its tree needs into the repository. A status check or a
refused merge leaves the repository byte for byte as it was (`merge` says
when a retry is the exception).

Histories with no common commit are merged as git's
`--allow-unrelated-histories` does: against an empty base, so a path that
both sides added with different content conflicts and the rest merges.

Branch names are data: they are checked by `check_branch_name` and only ever
used as full ref names through pygit2.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pygit2
from pygit2.enums import RepositoryOpenFlag

from gitforge.store.code import MAX_REF_LENGTH
from gitforge.store.documents import Identity
from gitforge.store.errors import (
    ConflictRetriesExhausted,
    InvalidName,
    NotFound,
    StoreError,
)

log = logging.getLogger(__name__)

FFWD_OR_MERGE = "ffwd-or-merge"
ALWAYS_MERGE = "always-merge"
FFWD_ONLY = "ffwd-only"
POLICIES = (FFWD_OR_MERGE, ALWAYS_MERGE, FFWD_ONLY)

# Each attempt recomputes the merge on the branch's new tip; a branch that
# moves five times during one merge is being pushed to in a loop.
MAX_ATTEMPTS = 5
# Statuses are small (a few ids and paths); this many open pull requests
# per process is plenty.
STATUS_CACHE_SIZE = 1024
# How many conflicting paths an error message names before "and N more".
_SHOWN_CONFLICTS = 10

_COMMIT_ID = re.compile(r"[0-9a-f]{40}")
# Besides control characters, what `git check-ref-format` refuses anywhere.
_FORBIDDEN_CHARS = frozenset(" ~^:?*[\\")


@dataclass(frozen=True)
class MergeStatus:
    """What merging `head` into `target` takes.

    `kind` is "nothing" (head is already in target), "ffwd" (target can
    fast-forward to head), "merge" (a merge commit is needed and merges
    cleanly) or "conflicts". `conflicts` holds the sorted conflicting paths,
    only for "conflicts". `base` is the merge base, None for unrelated
    histories.
    """

    kind: str
    target: str
    head: str
    base: str | None
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergeOutcome:
    """A merge done: `kind` is "ffwd" or "merge"; the target branch moved
    from `old_target` to `new_target`."""

    kind: str
    new_target: str
    old_target: str


class MergeRefused(StoreError):
    """The merge was not made and the target branch did not move."""

    def __init__(self, reason: str, conflicts: tuple[str, ...] = ()):
        self.reason, self.conflicts = reason, tuple(conflicts)
        super().__init__(f"merge refused: {reason}{_conflict_list(conflicts)}")


class BranchKept(StoreError):
    """A branch that `delete_branch` did not delete, and why."""

    def __init__(self, branch: str, reason: str):
        self.branch, self.reason = branch, reason
        super().__init__(f"branch {branch!r} kept: {reason}")


def _conflict_list(conflicts: tuple[str, ...]) -> str:
    if not conflicts:
        return ""
    shown = ", ".join(conflicts[:_SHOWN_CONFLICTS])
    more = len(conflicts) - _SHOWN_CONFLICTS
    return f" in {shown}" + (f" and {more} more" if more > 0 else "")


# Branch names


def check_branch_name(name: str) -> str:
    """Return `name` if git accepts it as a branch name, else raise
    InvalidName saying why.

    The rules of `git check-ref-format --branch`, plus what a forge must
    not let through: a leading '-' (it would read as an option), "HEAD",
    text with no UTF-8 form, and names too long for libgit2.
    """
    problem = _branch_name_problem(name)
    if problem is None and not pygit2.reference_is_valid_name(_ref_name(name)):
        problem = "git does not accept it as a ref name"
    if problem is not None:
        raise InvalidName("branch", name, problem)
    return name


def _branch_name_problem(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if name.startswith("-"):
        return "must not start with '-'"
    if name in ("HEAD", "@"):
        return "is reserved by git"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode"
    if size > MAX_REF_LENGTH:
        return f"must be at most {MAX_REF_LENGTH} bytes long"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        return "must not contain control characters"
    forbidden = "".join(sorted(_FORBIDDEN_CHARS.intersection(name)))
    if forbidden:
        return f"must not contain any of {forbidden!r}"
    for sequence in ("..", "@{", "//"):
        if sequence in name:
            return f"must not contain {sequence!r}"
    if name.startswith("/") or name.endswith(("/", ".")):
        return "must not start with '/' or end with '/' or '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "no part may start with '.' or end with '.lock'"
    return None


def _ref_name(branch: str) -> str:
    return f"refs/heads/{branch}"


def branch_tip(repo: pygit2.Repository, branch: str) -> str:
    """The commit id a branch points at; NotFound when there is no such
    branch, InvalidName for a bad name or a symbolic ref."""
    return str(_branch_ref(repo, branch).target)


def _branch_ref(repo: pygit2.Repository, branch: str) -> pygit2.Reference:
    ref = repo.references.get(_ref_name(check_branch_name(branch)))
    if ref is None:
        raise NotFound("branch", branch)
    if ref.type != pygit2.enums.ReferenceType.DIRECT:
        raise InvalidName("branch", branch, "is a symbolic ref, not a branch")
    return ref


def delete_branch(
    repo: pygit2.Repository, branch: str, expected: str | None = None
) -> str:
    """Delete a branch, as after its pull request is merged; returns the
    commit it pointed at.

    With `expected`, the branch is deleted only while it still points
    there, so commits pushed after the merge are not lost. The branch HEAD
    names is never deleted. Raises BranchKept in both cases.
    """
    ref = _branch_ref(repo, branch)
    tip = str(ref.target)
    if repo.references.get("HEAD").target == ref.name:
        raise BranchKept(branch, "it is the repository's default branch")
    if expected is not None and tip != expected:
        raise BranchKept(branch, f"it moved to {tip} since the merge")
    try:
        # libgit2 deletes only while the ref still holds the value read.
        ref.delete()
    except pygit2.GitError:
        if repo.references.get(ref.name) is None:
            raise NotFound("branch", branch) from None
        raise BranchKept(branch, "it moved while being deleted") from None
    log.info("deleted branch %s at %s in %s", branch, tip, repo.path)
    return tip


# Status


class _StatusCache:
    """Statuses by (target, head) commit ids, least recently used dropped.

    Commit ids name content, so a status holds for any repository that has
    both commits, and never goes stale.
    """

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[tuple[str, str], MergeStatus] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> MergeStatus | None:
        with self._lock:
            status = self._items.get(key)
            if status is not None:
                self._items.move_to_end(key)
            return status

    def add(self, key: tuple[str, str], status: MergeStatus) -> MergeStatus:
        """Keep `status`, or the one another thread kept first."""
        with self._lock:
            kept = self._items.setdefault(key, status)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return kept

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_status_cache = _StatusCache(STATUS_CACHE_SIZE)


def clear_status_cache() -> None:
    """Forget every status computed so far (for benchmarks and tests)."""
    _status_cache.clear()


def merge_status(repo: pygit2.Repository, target: str, head: str) -> MergeStatus:
    """What merging commit `head` into commit `target` takes, both given as
    full commit ids. Writes nothing to the repository.

    Computed once per pair of commits and then answered from memory.
    Raises NotFound when either is not a commit of `repo`.
    """
    key = (target.lower(), head.lower())
    cached = _status_cache.get(key)
    if cached is not None:
        return cached
    status = _compute_status(repo, _commit(repo, key[0]), _commit(repo, key[1]))
    return _status_cache.add(key, status)


def _commit(repo: pygit2.Repository, commit_id: str) -> pygit2.Commit:
    found = repo.get(commit_id) if _COMMIT_ID.fullmatch(commit_id) else None
    if not isinstance(found, pygit2.Commit):
        raise NotFound("commit", commit_id)
    return found


def _compute_status(
    repo: pygit2.Repository, target: pygit2.Commit, head: pygit2.Commit
) -> MergeStatus:
    base_id = repo.merge_base(target.id, head.id)
    base = str(base_id) if base_id is not None else None
    found = partial(MergeStatus, target=str(target.id), head=str(head.id), base=base)
    if base_id == head.id:
        return found("nothing")
    if base_id == target.id:
        return found("ffwd")
    with _ScratchObjects(repo) as scratch:
        conflicts = _conflicting_paths(scratch.merge(target, head))
    return found("conflicts", conflicts=conflicts) if conflicts else found("merge")


def _conflicting_paths(index: pygit2.Index) -> tuple[str, ...]:
    if index.conflicts is None:
        return ()
    paths = set()
    # A rename on one side puts the conflict under more than one path.
    for entries in index.conflicts:
        paths.update(entry.path for entry in entries if entry is not None)
    return tuple(sorted(paths))


class _MemoryBackend(pygit2.OdbBackend):
    """An object store in a dict, for what a trial merge writes."""

    def __init__(self):
        super().__init__()
        self.objects: dict[pygit2.Oid, tuple[int, bytes]] = {}

    def read_cb(self, oid: pygit2.Oid) -> tuple[int, bytes]:
        return self.objects[oid]  # KeyError tells libgit2 "not here"

    def read_header_cb(self, oid: pygit2.Oid) -> tuple[int, int]:
        kind, data = self.objects[oid]
        return kind, len(data)

    def write_cb(self, oid: pygit2.Oid, data: bytes, kind: int) -> None:
        self.objects[oid] = (kind, data)

    def exists_cb(self, oid: pygit2.Oid) -> bool:
        return oid in self.objects

    def refresh_cb(self) -> None:
        pass


class _ScratchObjects:
    """A second handle on the repository that reads its objects and keeps
    whatever it writes in memory.

    The handle is opened on the repository itself, so its config and
    info/attributes (merge drivers such as `merge=union`) apply as they do
    for git; only its object store is replaced. The real object folder
    comes in as an alternate: libgit2 reads from alternates but never
    writes to them, so every write lands in memory.
    """

    def __init__(self, repo: pygit2.Repository):
        self.memory = _MemoryBackend()
        odb = pygit2.Odb()
        odb.add_backend(self.memory, 0)
        odb.add_disk_alternate(str(Path(repo.path) / "objects"))
        self.repo = pygit2.Repository(repo.path, RepositoryOpenFlag.NO_SEARCH)
        self.repo.set_odb(odb)

    def __enter__(self) -> _ScratchObjects:
        return self

    def __exit__(self, *exc) -> None:
        self.repo.free()

    def merge(self, target: pygit2.Commit, head: pygit2.Commit) -> pygit2.Index:
        # merge_commits, not merge_trees: with several merge bases libgit2
        # merges them into a virtual base first, as git's merge does.
        return self.repo.merge_commits(target.id, head.id)

    def copy_tree(self, real: pygit2.Repository, tree_id: pygit2.Oid) -> None:
        """Write the tree and the new objects under it into `real`.

        An object that is not in memory was already in the repository, and
        so was everything under it: the walk stops there.
        """
        pending = [tree_id]
        while pending:
            oid = pending.pop()
            stored = self.memory.objects.get(oid)
            if stored is None:
                continue
            kind, data = stored
            real.odb.write(kind, data)
            if kind == pygit2.enums.ObjectType.TREE:
                pending.extend(entry.id for entry in self.repo[oid])


# Merging


def merge(
    repo: pygit2.Repository,
    target_branch: str,
    head: str,
    *,
    committer: Identity,
    message: str,
    policy: str = FFWD_OR_MERGE,
) -> MergeOutcome:
    """Merge commit `head` into `target_branch` and move the branch.

    `policy` is "ffwd-or-merge" (fast-forward when possible, else a merge
    commit), "always-merge" (a merge commit even when a fast-forward would
    do) or "ffwd-only". A merge commit has the target's tip and `head` as
    parents, `committer` as author and committer, and `message`.

    The branch moves only if it still points where it was read; if it
    moved, the merge is worked out again on the new tip, up to
    MAX_ATTEMPTS times (then ConflictRetriesExhausted). Raises MergeRefused
    for conflicts, nothing to merge, or a merge the policy forbids; the
    repository is then unchanged (but for the unreferenced objects of an
    earlier attempt, when the branch moved and the new tip is refused).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown merge policy {policy!r}; use one of {POLICIES}")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        ref = _branch_ref(repo, target_branch)
        old = str(ref.target)
        status = merge_status(repo, old, head)
        kind = _decide(status, policy)
        if kind == "ffwd":
            new = status.head
        else:
            new = _merge_commit(repo, status, committer, message)
        if _move_branch(repo, ref, new, f"merge {status.head}: {kind}"):
            log.info("merged %s into %s of %s: %s to %s", status.head,
                     target_branch, repo.path, kind, new)  # fmt: skip
            return MergeOutcome(kind, new, old)
        log.debug("%s of %s moved; merging again (attempt %d)",
                  target_branch, repo.path, attempt)  # fmt: skip
    raise ConflictRetriesExhausted(_ref_name(target_branch), MAX_ATTEMPTS)


def _decide(status: MergeStatus, policy: str) -> str:
    """The kind of merge to make, or MergeRefused."""
    if status.kind == "nothing":
        raise MergeRefused(f"nothing to merge: {status.head} is already in the target")
    if status.kind == "conflicts":
        raise MergeRefused("conflicts", status.conflicts)
    if policy == FFWD_ONLY and status.kind != "ffwd":
        raise MergeRefused(
            "the policy allows only fast-forwards, and the target has commits "
            "the head lacks"
        )
    if policy == ALWAYS_MERGE:
        return "merge"
    return status.kind


def _merge_commit(
    repo: pygit2.Repository,
    status: MergeStatus,
    committer: Identity,
    message: str,
) -> str:
    target, head = repo[status.target], repo[status.head]
    if status.kind == "ffwd":
        # A merge commit over a possible fast-forward: the result is head.
        tree_id = head.tree_id
    else:
        # Not yet: when the status was not cached (a merge task in a fresh
        # worker), the trial merge runs twice, for the status and here for
        # the tree: 2-3 ms more on bench_merge.py's 300-file pull request.
        with _ScratchObjects(repo) as scratch:
            tree_id = scratch.merge(target, head).write_tree(scratch.repo)
            scratch.copy_tree(repo, tree_id)
    signature = committer.signature()
    parents = [target.id, head.id]
    return str(
        repo.create_commit(None, signature, signature, message, tree_id, parents)
    )


def _move_branch(
    repo: pygit2.Repository, ref: pygit2.Reference, new: str, reason: str
) -> bool:
    """Compare-and-swap: False if the branch no longer points where `ref`
    was read."""
    try:
        # libgit2 checks the old value under the ref's lock.
        ref.set_target(new, reason)
    except pygit2.GitError:
        current = repo.references.get(ref.name)
        if current is None or current.target != ref.target:
            return False
        raise
    return True
