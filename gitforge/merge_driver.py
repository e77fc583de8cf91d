"""A git merge driver for ticket and request documents.

Two people who change different fields of one ticket offline should not get
a conflict: git's line merge would give one when the fields sit on nearby
lines. This driver merges the JSON field by field against the common
ancestor: a field changed on one side takes that side's value, tags merge
as sets, and only a field changed differently on both sides is a conflict,
reported by name.

Enable it in a clone (the ticket repo's `.gitattributes` already names it):

    git config merge.gitforge.driver "gitforge merge-driver %O %A %B %P"
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from gitforge.store.documents import canonical_json

# Fields holding sets: each side's additions and removals both count.
SET_FIELDS = {"tags", "acls"}


@dataclass
class Merged:
    doc: dict
    conflicts: list[str] = field(default_factory=list)  # field names


def merge_documents(base: dict, ours: dict, theirs: dict) -> Merged:
    """Three-way merge of two versions of one JSON document."""
    merged = Merged({})
    for key in sorted(base.keys() | ours.keys() | theirs.keys()):
        missing = object()
        was, mine, other = (doc.get(key, missing) for doc in (base, ours, theirs))
        value = _merge_value(key, was, mine, other, missing, merged)
        if value is not missing:
            merged.doc[key] = value
    return merged


def _merge_value(key, was, mine, other, missing, merged: Merged):
    if mine == other or other == was:
        return mine
    if mine == was:
        return other
    if key in SET_FIELDS and all(isinstance(v, list) for v in (mine, other)):
        before = set(was) if isinstance(was, list) else set()
        kept = (before & set(mine) & set(other)) | (set(mine) - before)
        return sorted(kept | (set(other) - before))
    if key == "next" and all(isinstance(v, int) for v in (mine, other)):
        return max(mine, other)  # numbers.json: never hand out a number twice
    merged.conflicts.append(key)
    return mine


def merge_files(base: Path, ours: Path, theirs: Path, name: str) -> list[str]:
    """What git's merge driver does: merge into `ours`; returns the problems
    (conflicting fields, or unreadable files), empty when clean."""
    try:
        docs = [_read(path) for path in (base, ours, theirs)]
    except ValueError as err:
        return [f"{name}: {err}; merge it by hand"]
    merged = merge_documents(*docs)
    if merged.conflicts:
        ours.write_bytes(_with_markers(docs[1], docs[2], merged))
        return [
            f"{name}: field {key!r} changed on both sides: ours "
            f"{json.dumps(docs[1].get(key))[:80]}, theirs "
            f"{json.dumps(docs[2].get(key))[:80]}"
            for key in merged.conflicts
        ]
    ours.write_bytes(canonical_json(merged.doc))
    return []


def _read(path: Path) -> dict:
    data = path.read_bytes()
    if not data.strip():
        return {}  # the file did not exist on that side
    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def _with_markers(ours: dict, theirs: dict, merged: Merged) -> bytes:
    """The merged document with each side's value of the conflicting fields
    in git's conflict markers, so the file cannot be pushed unresolved."""
    mine = dict(merged.doc, **{key: ours.get(key) for key in merged.conflicts})
    other = dict(merged.doc, **{key: theirs.get(key) for key in merged.conflicts})
    return (
        b"<<<<<<< ours\n"
        + canonical_json(mine)
        + b"=======\n"
        + canonical_json(other)
        + b">>>>>>> theirs\n"
    )
