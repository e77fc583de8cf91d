"""Read-only browsing of a project's code repository: branches, tags, folders,
files, history and single commits.

Results are frozen dataclasses holding plain strings and numbers, so a page can
cache what it rendered by object id. Every method that takes a `rev` accepts a
`CommitInfo` or anything `resolve` accepts; pages for a branch name should
resolve it once and pass the `CommitInfo` on.

Names are data: refs are looked up by their full name through pygit2, never
through revision syntax or the git command line, so `-x`, `a..b` or `HEAD~1`
are only ever names to look up.
"""

from __future__ import annotations

import heapq
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import count, islice
from pathlib import Path

import pygit2
from pygit2.enums import ReferenceFilter, RepositoryOpenFlag

from gitforge.store import diffs
from gitforge.store.diffs import CommitDiff
from gitforge.store.errors import NotFound

log = logging.getLogger(__name__)

_FULL_ID = re.compile(r"[0-9a-fA-F]{40}")
_SHORT_ID = re.compile(r"[0-9a-fA-F]{4,39}")

# libgit2 refuses (ValueError, not "no such ref") a full ref name of 1024
# bytes or more (GIT_REFNAME_MAX counts the final NUL), so longer names are
# not looked up at all.
# Not yet: git itself makes longer refs; `branches` lists them, but they
# resolve to NotFound.
_MAX_REFNAME_BYTES = 1023
# So no branch or tag name found is longer, in bytes or in characters.
MAX_REF_LENGTH = _MAX_REFNAME_BYTES - len("refs/tags/")
# Linux's PATH_MAX: no checkout holds a longer path, and a longer one would
# not fit into git's argument list (128 KiB per argument) for a path log.
_MAX_PATH_BYTES = 4096
# How much of an over-long name an error message repeats.
_SHOWN_NAME_CHARS = 100

# How git decides a file is binary: a NUL byte in its first 8000 bytes.
_BINARY_SNIFF = 8000

# Preferred first when a root folder holds several.
README_NAMES = ("readme.md", "readme.rst", "readme.txt", "readme")

_KINDS = {
    pygit2.GIT_FILEMODE_TREE: "tree",
    pygit2.GIT_FILEMODE_COMMIT: "submodule",
    pygit2.GIT_FILEMODE_LINK: "symlink",
}


@dataclass(frozen=True)
class Person:
    """An author or committer: `time` in seconds since the epoch, `offset`
    in minutes east of UTC, as recorded in the commit."""

    name: str
    email: str
    time: int
    offset: int

    @property
    def when(self) -> datetime:
        """The moment in the person's own time zone."""
        zone = timezone(timedelta(minutes=self.offset))
        return datetime.fromtimestamp(self.time, UTC).astimezone(zone)


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parents: tuple[str, ...]
    tree_id: str
    author: Person
    committer: Person
    message: str
    summary: str = field(init=False)

    def __post_init__(self) -> None:
        # git's subject (%s): the first paragraph, its lines joined by spaces.
        first = self.message.strip("\n").split("\n\n", 1)[0]
        summary = " ".join(line.strip() for line in first.splitlines())
        object.__setattr__(self, "summary", summary)

    @property
    def short_id(self) -> str:
        return self.id[:10]


@dataclass(frozen=True)
class Branch:
    name: str
    commit: CommitInfo
    is_default: bool


@dataclass(frozen=True)
class Tag:
    """A tag and the commit it names. Annotated tags carry a tagger and a
    message; lightweight ones have None there."""

    name: str
    commit: CommitInfo
    tagger: Person | None
    message: str | None

    @property
    def annotated(self) -> bool:
        return self.tagger is not None or self.message is not None

    @property
    def time(self) -> int:
        """When the tag was made, or for a lightweight tag its commit."""
        return self.tagger.time if self.tagger else self.commit.committer.time


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a folder. `kind` is tree, blob, symlink or submodule;
    `size` is given for blobs and symlinks only."""

    name: str
    path: str
    kind: str
    mode: int
    id: str
    size: int | None


@dataclass(frozen=True)
class FileContent:
    path: str
    id: str
    size: int
    data: bytes
    binary: bool

    @property
    def text(self) -> str | None:
        return None if self.binary else self.data.decode("utf-8")


@dataclass(frozen=True)
class LogPage:
    commits: tuple[CommitInfo, ...]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class CommitDetail:
    commit: CommitInfo
    diff: CommitDiff


@dataclass(frozen=True)
class Readme:
    name: str
    text: str


Rev = str | CommitInfo


class CodeRepo:
    """A bare code repository opened for reading; close it when done."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise NotFound("repository", str(path))
        # NO_SEARCH: a folder that is not a repository must not silently
        # open whichever repository encloses it.
        try:
            self.repo = pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as err:
            raise NotFound("repository", str(path)) from err

    def close(self) -> None:
        self.repo.free()

    def __enter__(self) -> CodeRepo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Refs

    def default_branch(self) -> str | None:
        """The branch HEAD names, even before it has a commit; None when
        HEAD is detached or names something that is not a branch."""
        head = self.repo.references.get("HEAD")
        target = head.target if head is not None else None
        if isinstance(target, str) and target.startswith("refs/heads/"):
            return target[len("refs/heads/") :]
        return None

    def is_empty(self) -> bool:
        """True when the repository has no branch and no tag."""
        for ref in self.repo.references.iterator(ReferenceFilter.ALL):
            if ref.name.startswith(("refs/heads/", "refs/tags/")):
                return False
        return True

    def branches(self) -> list[Branch]:
        """Every branch: the default one first, the others by name."""
        default = self.default_branch()
        found = []
        for ref in self.repo.references.iterator(ReferenceFilter.BRANCHES):
            commit = _peel_commit(ref)
            if commit is None:
                continue
            name = ref.name[len("refs/heads/") :]
            found.append(Branch(name, commit_info(commit), name == default))
        return sorted(found, key=lambda b: (not b.is_default, b.name.casefold()))

    def tags(self) -> list[Tag]:
        """Every tag that names a commit, newest first."""
        found = []
        for ref in self.repo.references.iterator(ReferenceFilter.TAGS):
            commit = _peel_commit(ref)
            if commit is None:
                continue
            name = ref.name[len("refs/tags/") :]
            tag = self.repo.get(ref.target)
            if isinstance(tag, pygit2.Tag):
                tagger = _person(tag.tagger) if tag.tagger else None
                found.append(
                    Tag(name, commit_info(commit), tagger, _text(tag.raw_message))
                )
            else:
                found.append(Tag(name, commit_info(commit), None, None))
        return sorted(found, key=lambda t: (-t.time, t.name))

    def resolve(self, ref: str) -> CommitInfo:
        """The commit a branch, tag, full or short commit id names.

        A full id wins, then a branch, then a tag, then a unique short id
        of at least 4 digits. Raises NotFound otherwise.
        """
        return commit_info(self._resolve(ref))

    def split_ref_path(self, spec: str) -> tuple[CommitInfo, str, str]:
        """Split `feature/x/src/app.py` into the commit, the ref `feature/x`
        and the path `src/app.py`, for URLs that hold both.

        The longest leading part that resolves wins, since a branch name
        may hold slashes. Raises NotFound when no part resolves.
        """
        parts = spec.strip("/").split("/")
        lengths = prefix_lengths(parts)
        for cut in range(len(parts), 0, -1):
            if lengths[cut] > MAX_REF_LENGTH:
                continue  # skipped before joining: keeps a long spec linear
            ref = "/".join(parts[:cut])
            try:
                commit = self._resolve(ref)
            except NotFound:
                continue
            return commit_info(commit), ref, "/".join(parts[cut:])
        raise NotFound("ref", _shown(spec))

    # Files

    def tree(self, rev: Rev, path: str = "") -> list[TreeEntry]:
        """The entries of a folder: folders and submodules first, then files,
        each group by name. Raises NotFound when `path` is not a folder."""
        clean = _clean_path(path)
        tree = self._object(self._commit(rev), clean)
        if not isinstance(tree, pygit2.Tree):
            raise NotFound("folder", path)
        entries = [self._tree_entry(obj, clean) for obj in tree]
        return sorted(entries, key=_entry_order)

    def entry(self, rev: Rev, path: str) -> TreeEntry:
        """What `path` is (tree, blob, symlink or submodule) and a file's size,
        without reading its content; for "" the root folder. Lets a page
        choose between a folder, a file and "too big to show". Raises
        NotFound for a missing path."""
        clean = _clean_path(path)
        commit = self._commit(rev)
        if not clean:
            mode = int(pygit2.GIT_FILEMODE_TREE)
            return TreeEntry("", "", "tree", mode, str(commit.tree_id), None)
        obj = self._object(commit, clean)
        if obj is None:
            raise NotFound("path", path)
        return self._tree_entry(obj, clean.rpartition("/")[0])

    def blob(self, rev: Rev, path: str) -> FileContent:
        """A file's content (a symlink's is its target). Raises NotFound
        when `path` is not a file."""
        clean = _clean_path(path)
        blob = self._object(self._commit(rev), clean)
        if not clean or not isinstance(blob, pygit2.Blob):
            raise NotFound("file", path)
        data = blob.data
        return FileContent(clean, str(blob.id), len(data), data, looks_binary(data))

    def readme(self, rev: Rev) -> Readme | None:
        """The README in the root folder, decoded as UTF-8, or None."""
        found = {}
        for obj in self._commit(rev).tree:
            if obj.filemode in (
                pygit2.GIT_FILEMODE_BLOB,
                pygit2.GIT_FILEMODE_BLOB_EXECUTABLE,
            ):
                found.setdefault(obj.name.casefold(), obj)
        for name in README_NAMES:
            if name in found:
                blob = self.repo[found[name].id]
                return Readme(found[name].name, blob.data.decode("utf-8", "replace"))
        return None

    # History

    def log(
        self, rev: Rev, page: int = 1, per_page: int = 50, path: str | None = None
    ) -> LogPage:
        """One page of history from `rev`, newest first, in git log's default
        (commit time) order.

        Reads only the commits up to the end of the page, never the whole
        history. With `path`, only commits that changed it, chosen as
        `git log -- path` does; that walks until the page is full, so a path
        changed rarely costs a long walk. A path that never existed gives an
        empty page; one that no tree can hold (see `_clean_path`) raises
        NotFound. On an empty repository there is no ref to resolve, so
        this raises NotFound.
        """
        if page < 1 or per_page < 1:
            raise ValueError(f"bad page {page} of {per_page}")
        commit = self._commit(rev)
        skip = (page - 1) * per_page
        clean = _clean_path(path) if path is not None else ""
        if not clean:
            commits = list(islice(self._walk(commit), skip, skip + per_page + 1))
        else:
            ids = self._path_log(commit, clean, skip, per_page + 1)
            commits = [self.repo[oid] for oid in ids]
        infos = tuple(commit_info(c) for c in commits[:per_page])
        return LogPage(infos, page, per_page, has_next=len(commits) > per_page)

    def last_commits(self, rev: Rev, n: int = 10) -> list[CommitInfo]:
        """The newest `n` commits from `rev`, for a project's summary page."""
        return list(self.log(rev, 1, n).commits)

    def commit_detail(
        self,
        rev: Rev,
        max_bytes: int = diffs.MAX_BYTES,
        max_file_bytes: int = diffs.MAX_FILE_BYTES,
    ) -> CommitDetail:
        """A commit and what it changed against its first parent (or
        against nothing, for a root commit), with patch text bounded."""
        commit = self._commit(rev)
        diff = diffs.diff_commit(commit, max_bytes, max_file_bytes)
        return CommitDetail(commit_info(commit), diff)

    def patch_text(self, rev: Rev) -> bytes:
        """The commit as a `git format-patch` mail, for download."""
        commit = self._commit(rev)
        return diffs.format_patch(commit, commit_info(commit))

    # Helpers

    def _resolve(self, ref: str) -> pygit2.Commit:
        size = _utf8_size(ref)
        if not ref or "\0" in ref or size is None:
            raise NotFound("ref", _shown(ref))
        if _FULL_ID.fullmatch(ref):
            found = self.repo.get(ref)
            if isinstance(found, pygit2.Commit):
                return found
        for prefix in ("refs/heads/", "refs/tags/"):
            if len(prefix) + size > _MAX_REFNAME_BYTES:
                continue
            reference = self.repo.references.get(prefix + ref)
            commit = _peel_commit(reference) if reference is not None else None
            if commit is not None:
                return commit
        if _SHORT_ID.fullmatch(ref):
            try:
                found = self.repo.get(ref)
            except ValueError:  # ambiguous or invalid prefix
                found = None
            if isinstance(found, pygit2.Commit):
                return found
        raise NotFound("ref", _shown(ref))

    def _commit(self, rev: Rev) -> pygit2.Commit:
        if isinstance(rev, CommitInfo):
            found = self.repo.get(rev.id)
            if not isinstance(found, pygit2.Commit):
                raise NotFound("commit", rev.id)
            return found
        return self._resolve(rev)

    def _object(self, commit: pygit2.Commit, path: str) -> pygit2.Object | None:
        if not path:
            return commit.tree
        try:
            # A submodule's entry comes back as a Commit that is not in this
            # repository: callers check the type before reading it.
            return commit.tree[path]
        except KeyError:
            return None

    def _tree_entry(self, obj: pygit2.Object, folder: str) -> TreeEntry:
        mode = obj.filemode
        kind = _KINDS.get(mode, "blob")
        size = None
        if kind in ("blob", "symlink"):
            # The object's header alone gives the size; loading a big file
            # to count its bytes would cost as much as showing it.
            size = self.repo.odb.read_header(obj.id)[1]
        path = f"{folder}/{obj.name}" if folder else obj.name
        return TreeEntry(obj.name, path, kind, int(mode), str(obj.id), size)

    def _walk(self, start: pygit2.Commit) -> Iterator[pygit2.Commit]:
        """Commits reachable from `start` in git log's default order.

        git keeps a queue ordered by committer time, commits of equal time
        in the order they were queued; a heap keyed by (time, counter) is
        that queue. libgit2's own time-sorted walk is not used: it reads the
        whole history first (11 ms at 5,000 commits, growing with length),
        where this reads only as far as the page goes.
        """
        order = count()
        queue = [(-start.commit_time, next(order), start)]
        seen = {start.id}
        while queue:
            _time, _order, commit = heapq.heappop(queue)
            yield commit
            for parent_id in commit.parent_ids:
                if parent_id in seen:
                    continue
                seen.add(parent_id)
                parent = self.repo[parent_id]
                heapq.heappush(queue, (-parent.commit_time, next(order), parent))

    def _path_log(
        self, commit: pygit2.Commit, path: str, skip: int, limit: int
    ) -> list[str]:
        # Shells out to git log: its history simplification (a merge that
        # kept one side's version of the path follows only that side) is
        # what people compare with, and it uses the commit-graph's change
        # filters where they exist. The path comes after `--`, read as a
        # literal path, never as a pathspec with magic.
        command = [
            "git",
            f"--git-dir={self.repo.path}",
            "--literal-pathspecs",
            "--no-replace-objects",
            "-c",
            "log.follow=false",
            "log",
            "--no-show-signature",
            "--format=%H",
            f"--skip={skip}",
            f"--max-count={limit}",
            "--end-of-options",
            str(commit.id),
            "--",
            path,
        ]
        # Without GIT_* variables git sees the repository pygit2 sees, even
        # inside a hook of another repository (GIT_DIR, GIT_OBJECT_DIRECTORY).
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, env=env
        )
        return done.stdout.split()


def commit_info(commit: pygit2.Commit) -> CommitInfo:
    """The plain-data view of a pygit2 commit."""
    return CommitInfo(
        id=str(commit.id),
        parents=tuple(str(oid) for oid in commit.parent_ids),
        tree_id=str(commit.tree_id),
        author=_person(commit.author),
        committer=_person(commit.committer),
        message=_text(commit.raw_message, commit.message_encoding),
    )


def prefix_lengths(parts: list[str]) -> list[int]:
    """The length of `"/".join(parts[:cut])` for each cut from 0 on, for
    skipping prefixes too long to be a ref without building each one."""
    lengths = [0]
    for index, part in enumerate(parts):
        slash = 1 if index else 0
        lengths.append(lengths[-1] + slash + len(part))
    return lengths


def looks_binary(data: bytes) -> bool:
    """A NUL byte near the start, or bytes that are not UTF-8."""
    if b"\0" in data[:_BINARY_SNIFF]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _peel_commit(ref: pygit2.Reference) -> pygit2.Commit | None:
    """The commit a ref leads to; None for a tag of a tree or blob or a ref
    to a missing object, which pages skip rather than fail on."""
    try:
        return ref.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError):
        log.debug("%s does not lead to a commit", ref.name)
        return None


def _person(signature: pygit2.Signature) -> Person:
    return Person(
        _text(signature.raw_name),
        _text(signature.raw_email),
        signature.time,
        signature.offset,
    )


def _text(raw: bytes, encoding: str | None = None) -> str:
    try:
        return raw.decode(encoding or "utf-8", "replace")
    except LookupError:  # an encoding header Python does not know
        return raw.decode("utf-8", "replace")


def _clean_path(path: str) -> str:
    """`path` without empty parts or surrounding slashes.

    Raises NotFound for what cannot be in a git tree: a path that climbs
    (`..`) or names `.`, and one that libgit2 or git would choke on or
    misread: a NUL (libgit2 would look up the part before it), text that
    is not UTF-8, more than `_MAX_PATH_BYTES`.
    """
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts) or "\0" in path:
        raise NotFound("path", _shown(path))
    size = _utf8_size(path)
    if size is None or size > _MAX_PATH_BYTES:
        raise NotFound("path", _shown(path))
    return "/".join(parts)


def _utf8_size(text: str) -> int | None:
    """The length of `text` in UTF-8, or None when it has no UTF-8 form
    (a lone surrogate), so that it cannot name a ref or a path."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _shown(name: str) -> str:
    """`name` short enough to repeat in an error message."""
    if len(name) <= _SHOWN_NAME_CHARS:
        return name
    return name[:_SHOWN_NAME_CHARS] + "..."


def _entry_order(entry: TreeEntry) -> tuple[bool, str, str]:
    is_file = entry.kind not in ("tree", "submodule")
    return is_file, entry.name.casefold(), entry.name
