"""Reading a Pagure ticket repo or request repo: the JSON file of each
item at the root of its default branch, and the files attached to tickets
under `files/` with the ticket each was added to."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitforge.pagure.values import BadPagureData, ImportRefused, derived_uid

_UID = re.compile(r"[0-9a-f]{32}")
# The message of the commit with which Pagure adds an attachment.
_ADD_FILE = re.compile(r"Add file (.+?) to ticket ([0-9a-f]{32})\b")


@dataclass
class PagureItem:
    """One ticket or pull request: its file in the Pagure repo and its JSON."""

    kind: str
    name: str
    data: dict

    @property
    def uid(self) -> str:
        """Pagure's uid when it fits gitforge's format, else one made from it."""
        lowered = self.name.lower()
        return lowered if _UID.fullmatch(lowered) else derived_uid(self.kind, self.name)

    @property
    def label(self) -> str:
        return f"Pagure {self.kind} #{self.data.get('id')} (file {self.name})"


@dataclass
class PagureRepo:
    """What a Pagure ticket or request repo holds."""

    # Not yet: attachments are read into memory whole, and written in the
    # import's one commit; a project with gigabytes of them needs more memory.
    items: list[PagureItem] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # under files/
    file_owners: dict[str, set[str]] = field(default_factory=dict)  # name -> uids


def read_pagure_repo(path: Path, kind: str) -> PagureRepo:
    """The items and attachments on the default branch of a Pagure ticket
    or request repo (bare or not)."""
    try:
        repo = pygit2.Repository(str(path))
    except pygit2.GitError:
        raise ImportRefused(f"{path} is not a git repository") from None
    try:
        tip = _default_tip(repo)
        if tip is None:
            return PagureRepo()
        found = PagureRepo(items=list(_root_items(repo, tip.tree, kind)))
        found.files = dict(_blobs_under(repo, _subtree(tip.tree, "files"), ""))
        if found.files:
            found.file_owners = _owners_from_history(repo, tip)
        return found
    finally:
        repo.free()


def _default_tip(repo: pygit2.Repository) -> pygit2.Commit | None:
    try:
        return repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError):
        pass  # HEAD names a branch that does not exist: try the usual ones
    for branch in ("master", "main"):
        ref = repo.references.get(f"refs/heads/{branch}")
        if ref is not None:
            return ref.peel(pygit2.Commit)
    return None


def _root_items(repo, tree: pygit2.Tree, kind: str) -> Iterator[PagureItem]:
    """Pagure's item files: blobs at the root named by a uid (which must
    hold a JSON object), or any other root blob that holds an item."""
    for entry in tree:
        if entry.type != pygit2.GIT_OBJECT_BLOB:
            continue
        named_by_uid = bool(_UID.fullmatch(entry.name.lower()))
        try:
            data = json.loads(repo[entry.id].data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            if named_by_uid:
                raise BadPagureData(
                    f"Pagure {kind} file {entry.name}", None, "is not JSON"
                ) from None
            continue
        if isinstance(data, dict) and (named_by_uid or {"id", "title"} <= set(data)):
            yield PagureItem(kind, entry.name, data)
        elif named_by_uid:
            raise BadPagureData(
                f"Pagure {kind} file {entry.name}", None, "must hold a JSON object"
            )


def _subtree(tree: pygit2.Tree, name: str) -> pygit2.Tree | None:
    entry = tree[name] if name in tree else None
    if entry is None or entry.type != pygit2.GIT_OBJECT_TREE:
        return None
    return entry


def _blobs_under(repo, tree, prefix: str) -> Iterator[tuple[str, bytes]]:
    if tree is None:
        return
    for entry in tree:
        name = f"{prefix}{entry.name}"
        if entry.type == pygit2.GIT_OBJECT_TREE:
            yield from _blobs_under(repo, repo[entry.id], f"{name}/")
        elif entry.type == pygit2.GIT_OBJECT_BLOB:
            yield name, repo[entry.id].data


def _owners_from_history(repo, tip: pygit2.Commit) -> dict[str, set[str]]:
    """Which ticket each attachment was added to, from the messages of the
    commits with which Pagure added them (a file whose link was later
    edited out of the ticket is still found)."""
    owners: dict[str, set[str]] = {}
    for commit in repo.walk(tip.id, pygit2.enums.SortMode.NONE):
        match = _ADD_FILE.match(commit.message)
        if match:
            owners.setdefault(match[1], set()).add(match[2])
    return owners
