"""JSON documents kept in a git branch, read and written without a checkout.

Reading takes a blob from the branch tip. Writing is a transaction: a function
reads a `Snapshot` of the tip and returns the files to change; the change is
committed on top of that tip, and the branch moves by compare-and-swap. If
another writer (a web request, a push) moved it first, the function runs again
on the new tip, so no write is lost and none is applied to stale data.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygit2

from gitforge.store.errors import ConflictRetriesExhausted, FormatError, NotFound

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_BRANCH = "main"
MAX_ATTEMPTS = 50

# A change maps a path to new content: a document (dict), raw bytes, or None
# to delete the file.
Content = dict | bytes | None
Changes = Mapping[str, Content]


@dataclass(frozen=True)
class Identity:
    """Who acts: a username for documents, a name and email for commits."""

    username: str
    email: str
    name: str = ""

    def signature(self, when: int | None = None) -> pygit2.Signature:
        name = self.name or self.username
        if when is None:
            return pygit2.Signature(name, self.email)
        return pygit2.Signature(name, self.email, when, 0)


SYSTEM = Identity("gitforge", "gitforge@localhost")


def utc_now() -> str:
    """The current time as stored in documents: ISO 8601, UTC, seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_json(doc: dict) -> bytes:
    """UTF-8, sorted keys, two-space indent, trailing newline.

    Writing unchanged data gives the same bytes, so git diffs stay small.
    """
    text = json.dumps(
        doc, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False
    )
    return (text + "\n").encode("utf-8")


def parse_json(path: str, data: bytes) -> dict:
    """Decode a document, raising FormatError that names the file."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as err:
        raise FormatError(path, None, f"not UTF-8 ({err.reason})") from None
    except json.JSONDecodeError as err:
        raise FormatError(
            path,
            None,
            f"broken JSON at line {err.lineno} column {err.colno}: {err.msg}",
        ) from None
    except _NotJson as err:
        raise FormatError(path, None, str(err)) from None
    except RecursionError:
        raise FormatError(path, None, "JSON nested too deeply") from None
    except ValueError:  # Python refuses integers of thousands of digits
        raise FormatError(path, None, "JSON holds a number too long to read") from None
    if not isinstance(doc, dict):
        raise FormatError(path, None, "must hold a JSON object")
    return doc


def uid_folder(uid: str) -> str:
    """The folder of a ticket or pull request: `<last two hex digits>/<uid>`.

    Fanning out by the uid's random end keeps every tree at a few hundred
    entries however many tickets a project has, so a comment rewrites and
    a sync compares small trees only (a flat root of 10,000 folders made
    each web comment cost 60 ms).
    """
    return f"{uid[-2:]}/{uid}"


_BUCKET = re.compile(r"[0-9a-f]{2}")
_UID = re.compile(r"[0-9a-f]{32}")


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    # Python reads NaN and Infinity, but they are not JSON and would not
    # survive a round trip through canonical_json.
    raise _NotJson(f"{name} is not a JSON value")


class Snapshot:
    """The files of one commit (or of an empty branch), read-only."""

    def __init__(self, repo: pygit2.Repository, commit: pygit2.Commit | None):
        self.repo = repo
        self.commit = commit
        self.tree = commit.tree if commit is not None else None

    @property
    def oid(self) -> pygit2.Oid | None:
        return self.commit.id if self.commit is not None else None

    def _entry(self, path: str):
        if self.tree is None:
            return None
        try:
            return self.tree[path]
        except KeyError:
            return None

    def exists(self, path: str) -> bool:
        return self._entry(path) is not None

    def read_bytes(self, path: str) -> bytes | None:
        obj = self._entry(path)
        if obj is None or obj.type != pygit2.GIT_OBJECT_BLOB:
            return None
        return obj.data

    def read(self, path: str) -> dict | None:
        data = self.read_bytes(path)
        return None if data is None else parse_json(path, data)

    def listdir(self, path: str = "") -> list[str]:
        """Names in a folder, sorted; [] for a missing folder."""
        tree = self.tree if path in ("", ".") else self._entry(path)
        if tree is None or tree.type != pygit2.GIT_OBJECT_TREE:
            return []
        return sorted(entry.name for entry in tree)

    def uids(self) -> list[str]:
        """The uid of every folder laid out by `uid_folder`, sorted."""
        found = []
        for bucket in self.listdir():
            if _BUCKET.fullmatch(bucket):
                found += [
                    name
                    for name in self.listdir(bucket)
                    if _UID.fullmatch(name) and name.endswith(bucket)
                ]
        return sorted(found)

    def walk(self, path: str) -> Iterator[tuple[str, bytes]]:
        """Every blob under a folder as (path, data), depth first."""
        tree = self._entry(path) if path else self.tree
        if tree is None or tree.type != pygit2.GIT_OBJECT_TREE:
            return
        for entry in tree:
            child = f"{path}/{entry.name}" if path else entry.name
            if entry.type == pygit2.GIT_OBJECT_TREE:
                yield from self.walk(child)
            else:
                yield child, self.repo[entry.id].data


class DocumentRepo:
    """A bare repository whose branch holds documents."""

    def __init__(self, path: str | Path, branch: str = DEFAULT_BRANCH):
        self.path = Path(path)
        self.repo = pygit2.Repository(str(path))
        self.branch = branch
        self.ref = f"refs/heads/{branch}"

    def close(self) -> None:
        self.repo.free()

    def __enter__(self) -> DocumentRepo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def tip(self) -> pygit2.Commit | None:
        try:
            return self.repo.references[self.ref].peel(pygit2.Commit)
        except KeyError:
            return None

    def snapshot(self, at: pygit2.Oid | str | None = None) -> Snapshot:
        commit = self.repo[at].peel(pygit2.Commit) if at else self.tip()
        return Snapshot(self.repo, commit)

    def read(self, path: str) -> dict | None:
        return self.snapshot().read(path)

    def read_existing(self, path: str, kind: str, name: str) -> dict:
        """The document at `path`, or NotFound naming the `kind` and `name`."""
        doc = self.read(path)
        if doc is None:
            raise NotFound(kind, name)
        return doc

    def transact(
        self,
        change: Callable[[Snapshot], Changes],
        author: Identity,
        message: str,
    ) -> pygit2.Oid | None:
        """Commit what `change` returns on top of the tip, retrying on races.

        Returns the new commit's id, or the old tip when nothing changed.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            base = self.snapshot()
            changes = change(base)
            tree_id = self._apply(base.tree, changes)
            if base.tree is not None and tree_id == base.tree.id:
                return base.oid
            commit_id = self.repo.create_commit(
                None,
                author.signature(),
                SYSTEM.signature(),
                message,
                tree_id,
                [base.oid] if base.oid else [],
            )
            if self._move_branch(base, commit_id):
                return commit_id
            log.debug(
                "%s %s moved; re-running (attempt %d)", self.path, self.ref, attempt
            )
            time.sleep(0.001 * attempt)
        raise ConflictRetriesExhausted(self.ref, MAX_ATTEMPTS)

    def _move_branch(self, base: Snapshot, commit_id: pygit2.Oid) -> bool:
        """Compare-and-swap: move the branch only if it still points at base."""
        try:
            if base.commit is None:
                self.repo.references.create(self.ref, commit_id, force=False)
                return True
            ref = self.repo.references[self.ref]
            if ref.target != base.oid:
                return False
            # libgit2 refuses under the ref's lock if the value changed since
            # `ref` was read, which closes the window after the check above.
            ref.set_target(commit_id)
            return True
        except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError):
            return False

    def _apply(self, tree: pygit2.Tree | None, changes: Changes) -> pygit2.Oid:
        nested: dict[str, Any] = {}
        for path, content in changes.items():
            parts = [p for p in path.split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                raise ValueError(f"bad document path {path!r}")
            node = nested
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ValueError(f"{path!r} crosses a file")
            node[parts[-1]] = _Leaf(content)
        return self._write_tree(tree, nested)

    def _write_tree(self, tree: pygit2.Tree | None, nested: dict) -> pygit2.Oid:
        builder = self.repo.TreeBuilder(tree) if tree else self.repo.TreeBuilder()
        for name, node in nested.items():
            existing = tree[name] if tree is not None and name in tree else None
            if isinstance(node, _Leaf):
                if node.content is None:
                    if existing is not None:
                        builder.remove(name)
                    continue
                blob = self.repo.create_blob(node.data())
                builder.insert(name, blob, pygit2.GIT_FILEMODE_BLOB)
                continue
            is_tree = existing is not None and existing.type == pygit2.GIT_OBJECT_TREE
            subtree = existing if is_tree else None
            sub_id = self._write_tree(subtree, node)
            if len(self.repo[sub_id]) == 0:
                if existing is not None:
                    builder.remove(name)
                continue
            builder.insert(name, sub_id, pygit2.GIT_FILEMODE_TREE)
        return builder.write()


@dataclass(frozen=True)
class _Leaf:
    content: Content

    def data(self) -> bytes:
        if isinstance(self.content, bytes):
            return self.content
        return canonical_json(self.content)


def init_document_repo(
    path: str | Path, files: Changes, message: str, author: Identity = SYSTEM
) -> DocumentRepo:
    """Create a bare repo whose branch starts with `files`."""
    pygit2.init_repository(str(path), bare=True, initial_head=DEFAULT_BRANCH)
    docs = DocumentRepo(path)
    docs.transact(lambda _snapshot: files, author, message)
    return docs
