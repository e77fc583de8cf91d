"""Import a Pagure project's tickets and pull requests (`gitforge import
pagure`).

Pagure keeps each ticket and each pull request of a project as one JSON
file, named by the item's uid, at the root of the project's ticket repo and
request repo (what its `to_json()` gives), and the files attached to
tickets in the ticket repo's `files/` folder. This module reads both repos
from their default branch with pygit2, turns every item into gitforge
documents (docs/import-pagure.md gives the mapping) and checks each with
formats.check, and the numbers against the project's, before it writes
anything. Then it writes the placeholder accounts in one commit of the site
repo, one commit in each of the project's ticket and request repos, and
syncs the index.

Running it again adds what is missing and nothing else: a gitforge uid is
the Pagure uid (or made from it), and a file the project already has is
never rewritten, so what changed in gitforge since the first import stays.

Not yet: this module holds four ideas in 1,080 lines (reading a Pagure
repo, Pagure's values and people, the conversion, the import itself); it
should become a package with a module for each.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pygit2

from gitforge.config import Config
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store import formats
from gitforge.store.documents import (
    SYSTEM,
    Content,
    DocumentRepo,
    Snapshot,
    uid_folder,
    utc_now,
)
from gitforge.store.errors import FormatError, InvalidName, StoreError
from gitforge.store.layout import (
    SITE_REPO,
    RepoKind,
    check_name,
    fork_fullname,
    repo_path,
    repo_relpath,
)
from gitforge.store.requests import flag_uid, part_path, request_path

# The account rules of SiteRepo.add_user, applied here to every placeholder
# at once so that all of them go into one commit.
from gitforge.store.site import (
    NewUser,
    SiteRepo,
    _refuse_kept_name,
    _refuse_taken_user,
    project_path,
    user_path,
)
from gitforge.store.tickets import NUMBERS_FILE, comment_path, ticket_path

log = logging.getLogger(__name__)

TICKET, REQUEST = "ticket", "pull request"
# Placeholder accounts get an address in a domain that can never receive
# mail, so nobody can claim one by its email.
PLACEHOLDER_DOMAIN = "pagure-import.invalid"
# How far back the target branch is searched for the commit that merged a
# pull request.
MERGE_SEARCH_COMMITS = 50_000

_UID = re.compile(r"[0-9a-f]{32}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
# Pagure links an upload from the text as .../issue/raw/files/<name>; its
# names are werkzeug's secure_filename, so they hold no spaces or quotes.
_FILE_LINK = re.compile(r"/raw/files/([^\s)\]\"'<>?#]+)")
# The message of the commit with which Pagure adds an attachment.
_ADD_FILE = re.compile(r"Add file (.+?) to ticket ([0-9a-f]{32})\b")


class ImportRefused(StoreError):
    """The import cannot go ahead; raised before anything is written."""


class BadPagureData(ImportRefused):
    """A Pagure item that cannot become a gitforge document."""

    def __init__(self, where: str, field: str | None, problem: str):
        self.where, self.field, self.problem = where, field, problem
        at = f"{where}: field {field!r}" if field else where
        super().__init__(f"{at} {problem}; nothing was imported")


class Warnings(list):
    """What an import noticed and worked around, for the person running it."""

    def add(self, message: str) -> None:
        log.warning("import: %s", message)
        self.append(message)


@dataclass
class ImportReport:
    """What an import added, whom it made accounts for, what it noticed."""

    project: str
    tickets: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    comments: int = 0
    attachments: int = 0
    flags: int = 0
    created_users: list[str] = field(default_factory=list)
    warnings: Warnings = field(default_factory=Warnings)

    @property
    def nothing_new(self) -> bool:
        counts = (
            self.tickets,
            self.requests,
            self.comments,
            self.attachments,
            self.flags,
            self.created_users,
        )
        return not any(counts)


# -- reading a Pagure repo ----------------------------------------------------


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


# -- Pagure values --------------------------------------------------------------


def derived_uid(*parts: object) -> str:
    """A stable gitforge uid for something Pagure names otherwise, so that a
    second import finds what the first one wrote."""
    key = "\0".join(["pagure", *(str(part) for part in parts)])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def pagure_time(value: object, where: str, field: str) -> str:
    """Pagure's epoch seconds (a string, as it writes them, or a number) as
    a gitforge time."""
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        moment = datetime.fromtimestamp(int(float(value)), UTC)
    except (ValueError, OverflowError, OSError):
        raise BadPagureData(
            where, field, f"is {value!r}, not a time in epoch seconds"
        ) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_number(value: object, where: str, field: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadPagureData(where, field, f"is {value!r}, not a whole number")


def text(value: object, where: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPagureData(where, field, "must be text")
    return value


def safe_attachment_name(name: str) -> str:
    """A name that stays one file inside a ticket's `files/` folder: no
    slashes, no control characters (NUL among them), no leading dots (so
    never `.`, `..` or `.git`), valid UTF-8 of at most 200 bytes (a clone
    must be able to check it out)."""
    cleaned = "".join(
        "_" if ch in "/\\" else ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
    )
    cleaned = cleaned.strip().lstrip(".").strip()
    cut = cleaned.encode("utf-8", "ignore")[:200].decode("utf-8", "ignore")
    return cut.strip() or "attachment"


def one_line(value: object, where: str, field: str, warnings: Warnings) -> str:
    """Text for a one-line field (title, tag, milestone, close reason):
    Pagure allows line breaks, control characters and any length there,
    gitforge does not."""
    raw = text(value, where, field)
    line = " ".join(raw.split())
    line = "".join(ch for ch in line if unicodedata.category(ch) != "Cc")
    if len(line) > formats.MAX_LINE:
        line = line[: formats.MAX_LINE - 1] + "…"
    if line != raw.strip():
        warnings.add(
            f"{where}: {field} made one line of at most {formats.MAX_LINE} "
            "characters without control characters"
        )
    return line


def checked(kind: str, path: str, doc: dict, where: str) -> dict:
    """formats.check, naming the Pagure item rather than our file."""
    try:
        return formats.check(kind, path, doc)
    except FormatError as err:
        raise BadPagureData(where, err.field, err.problem) from None


# -- users ------------------------------------------------------------------------


def read_users_file(path: Path) -> dict[str, str]:
    """The --users file: `pagure_name = gitforge_name` lines; blank lines and
    everything after a `#` are left out."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ImportRefused(f"cannot read {path}: {err}") from None
    mapping: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pagure_name, sep, gitforge_name = (part.strip() for part in line.partition("="))
        if not sep or not pagure_name or not gitforge_name:
            raise ImportRefused(
                f"{path}, line {number}: write `pagure_name = gitforge_name`"
            )
        if pagure_name in mapping:
            raise ImportRefused(f"{path}, line {number}: {pagure_name} is mapped twice")
        mapping[pagure_name] = gitforge_name
    return mapping


class People:
    """Who each Pagure user is in gitforge: the name the --users map gives,
    else the Pagure name; the account of that name (in any case) if there
    is one, else a placeholder account to make."""

    def __init__(self, mapping: dict[str, str], accounts: list[str]):
        self.mapping = mapping
        self.accounts = {name.lower(): name for name in accounts}
        self.placeholders: dict[str, str] = {}  # name -> full name

    def resolve(self, pagure_name: str) -> str:
        wanted = self.mapping.get(pagure_name, pagure_name)
        return self.accounts.get(wanted.lower(), wanted)

    def name_of(self, user: object, where: str, field: str) -> str:
        pagure_name, full_name = _user_fields(user, where, field)
        name = self.resolve(pagure_name)
        if name.lower() not in self.accounts:
            self.placeholders.setdefault(name, _clean_full_name(full_name))
        return name

    def optional(self, user: object, where: str, field: str) -> str | None:
        return None if user is None else self.name_of(user, where, field)

    def placeholder_problems(self) -> list[str]:
        """Names no account can have, each with the reason."""
        problems, seen = [], {}
        for name in sorted(self.placeholders):
            try:
                check_name("user", name)
                _refuse_kept_name(NewUser(name, _placeholder_email(name)))
            except InvalidName as err:
                problems.append(f"{name} ({err.reason})")
            if name.lower() in seen:
                problems.append(
                    f"{name} (differs from {seen[name.lower()]} only in case)"
                )
            seen[name.lower()] = name
        return problems


def _user_fields(user: object, where: str, field: str) -> tuple[str, str]:
    """(name, full name) of a Pagure user object (`{"name", "fullname",
    ...}`); a bare name is taken too."""
    if isinstance(user, str) and user:
        return user, ""
    if isinstance(user, dict) and isinstance(user.get("name"), str) and user["name"]:
        full_name = user.get("fullname")
        return user["name"], full_name if isinstance(full_name, str) else ""
    raise BadPagureData(where, field, "must be a Pagure user with a name")


def _clean_full_name(full_name: str) -> str:
    kept = "".join(
        ch
        for ch in full_name
        if ch not in "<>" and unicodedata.category(ch) not in ("Cc", "Zl", "Zp")
    )
    return kept.strip()[:255]


def _placeholder_email(name: str) -> str:
    return f"{name}@{PLACEHOLDER_DOMAIN}"


def placeholder_doc(name: str, full_name: str) -> dict:
    doc = {
        "format": formats.FORMAT_VERSION,
        "name": name,
        "full_name": full_name,
        "emails": [_placeholder_email(name)],
        "password": None,  # cannot log in
        "admin": False,
        "created": utc_now(),
    }
    return formats.check("user", user_path(name), doc)


# -- turning items into documents ---------------------------------------------------


@dataclass
class Planned:
    """One ticket or pull request to import, with all its files."""

    kind: str
    uid: str
    number: int
    label: str
    files: dict[str, Content]


class Conversion:
    """Turns Pagure items into gitforge documents for project `fullname`."""

    def __init__(
        self,
        fullname: str,
        people: People,
        code: pygit2.Repository | None,
        projects: set[str],
        warnings: Warnings,
    ):
        self.fullname = fullname
        self.people = people
        self.code = code
        self.projects = projects
        self.warnings = warnings
        self._merges: dict[str, dict[str, str]] = {}  # branch -> head -> merge
        self.attached: set[str] = set()  # names under Pagure's files/ given out

    # tickets

    def ticket(self, item: PagureItem, source: PagureRepo) -> Planned:
        data, where, uid = item.data, item.label, item.uid
        status, reason = self._ticket_status(data, where)
        doc = {
            "format": formats.FORMAT_VERSION,
            "uid": uid,
            "number": whole_number(data.get("id"), where, "id"),
            "title": self._title(data, where),
            "body": text(data.get("content"), where, "content"),
            "author": self.people.name_of(data.get("user"), where, "user"),
            "created": pagure_time(data.get("date_created"), where, "date_created"),
            "status": status,
            "close_reason": reason,
            "tags": self._tags(data.get("tags"), where),
            "assignee": self.people.optional(data.get("assignee"), where, "assignee"),
            "priority": self._priority(data.get("priority"), where),
            "milestone": self._milestone(data.get("milestone"), where),
            "private": bool(data.get("private", False)),
        }
        files: dict[str, Content] = {
            ticket_path(uid): checked("ticket", ticket_path(uid), doc, where)
        }
        for index, raw in enumerate(self._list(data, "comments", where)):
            note = self._comment(item, raw, index)
            files[comment_path(uid, note["uid"])] = checked(
                "comment", comment_path(uid, note["uid"]), note, where
            )
        for name, content in self._attachments(item, source):
            files[f"{uid_folder(uid)}/files/{name}"] = content
        return Planned(TICKET, uid, doc["number"], where, files)

    def _ticket_status(self, data: dict, where: str) -> tuple[str, str | None]:
        """Open, or Closed with Pagure's close_status as the reason. Old
        Pagure had no close_status: its status itself (Fixed, Invalid, ...)
        said why."""
        status = data.get("status") or "Open"
        if status == "Open":
            return "Open", None
        reason = data.get("close_status") or (None if status == "Closed" else status)
        reason = one_line(reason, where, "close_status", self.warnings)
        return "Closed", reason or None

    def _title(self, data: dict, where: str) -> str:
        title = one_line(data.get("title"), where, "title", self.warnings)
        if not title:
            self.warnings.add(f"{where}: has no title; imported as '(no title)'")
        return title or "(no title)"

    def _tags(self, value: object, where: str) -> list[str]:
        if value is not None and not isinstance(value, list):
            raise BadPagureData(where, "tags", "must be a list")
        tags = (one_line(tag, where, "tags", self.warnings) for tag in value or [])
        return sorted({tag for tag in tags if tag})

    def _priority(self, value: object, where: str) -> int | None:
        if value is None or value == "":
            return None
        number = whole_number(value, where, "priority")
        if 0 <= number <= formats.MAX_PRIORITY:
            return number
        self.warnings.add(
            f"{where}: priority {number} is outside 0 to "
            f"{formats.MAX_PRIORITY}; left out"
        )
        return None

    def _milestone(self, value: object, where: str) -> str | None:
        return one_line(value, where, "milestone", self.warnings) or None

    def _list(self, data: dict, key: str, where: str) -> list:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise BadPagureData(where, key, "must be a list of objects")
        return value

    def _comment(self, item: PagureItem, raw: dict, index: int) -> dict:
        """A ticket comment; a pull request comment adds `inline`. Its uid is
        made from the item's and Pagure's comment id, so it is found again."""
        key = raw.get("id")
        if key is None:  # not seen in Pagure's output; keyed by content then
            key = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
        where = f"{item.label}, comment {raw.get('id', index + 1)}"
        edited = raw.get("edited_on")
        return {
            "format": formats.FORMAT_VERSION,
            "uid": derived_uid(item.uid, "comment", key),
            "author": self.people.name_of(raw.get("user"), where, "user"),
            "created": pagure_time(raw.get("date_created"), where, "date_created"),
            "edited": pagure_time(edited, where, "edited_on") if edited else None,
            "body": text(raw.get("comment"), where, "comment"),
        }

    def _attachments(
        self, item: PagureItem, source: PagureRepo
    ) -> Iterator[tuple[str, bytes]]:
        """The files of `source` that this ticket links to or that Pagure
        added to it, under safe names that stay inside its folder."""
        texts = [item.data.get("content") or ""]
        texts += [c.get("comment") or "" for c in item.data.get("comments") or []]
        linked = {
            unquote(m)
            for t in texts
            if isinstance(t, str)
            for m in _FILE_LINK.findall(t)
        }
        given: set[str] = set()
        for name, content in sorted(source.files.items()):
            added_here = item.name.lower() in source.file_owners.get(name, set())
            if name not in linked and not added_here:
                continue
            if len(content) > formats.MAX_ATTACHMENT_BYTES:
                self.warnings.add(
                    f"{item.label}: attachment {name!r} is larger "
                    f"than {formats.MAX_ATTACHMENT_BYTES} bytes; "
                    "left out"
                )
                continue
            safe = _unique(safe_attachment_name(name), given)
            given.add(safe)
            self.attached.add(name)
            yield safe, content

    # pull requests

    def request(self, item: PagureItem) -> Planned:
        data, where, uid = item.data, item.label, item.uid
        status = request_status(data.get("status"), where)
        target = text(data.get("branch"), where, "branch")
        base, head = self._commit_range(data, target, where)
        doc = {
            "format": formats.FORMAT_VERSION,
            "uid": uid,
            "number": whole_number(data.get("id"), where, "id"),
            "title": self._title(data, where),
            "description": text(data.get("initial_comment"), where, "initial_comment"),
            "author": self.people.name_of(data.get("user"), where, "user"),
            "created": pagure_time(data.get("date_created"), where, "date_created"),
            "status": status,
            "source_repo": self._source_repo(data, where),
            "source_branch": text(data.get("branch_from"), where, "branch_from"),
            "target_branch": target,
            "base": base,
            "head": head,
            "merge_status": None,
            "merge_commit": self._merge_commit(target, head)
            if status == "Merged"
            else None,
            "closed_by": self.people.optional(
                data.get("closed_by"), where, "closed_by"
            ),
            "closed_at": None if status == "Open" else self._closed_at(data, where),
            "tags": self._tags(data.get("tags"), where),
            "assignee": self.people.optional(data.get("assignee"), where, "assignee"),
        }
        files: dict[str, Content] = {
            request_path(uid): checked("request", request_path(uid), doc, where)
        }
        for index, raw in enumerate(self._list(data, "comments", where)):
            note = self._request_comment(item, raw, index)
            path = part_path(uid, "comments", note["uid"])
            files[path] = checked("request_comment", path, note, where)
        files.update(self._flags(item))
        return Planned(REQUEST, uid, doc["number"], where, files)

    def _request_comment(self, item: PagureItem, raw: dict, index: int) -> dict:
        note = self._comment(item, raw, index)
        note["inline"] = None
        commit, path, line = raw.get("commit"), raw.get("filename"), raw.get("line")
        if not (commit and path and line):
            return note
        inline = {
            "commit": str(commit).lower(),
            "path": path,
            "line": line,
            "side": "new",
        }
        problem = formats.SPECS["request_comment"]["inline"].check(inline)
        if problem is None:
            note["inline"] = inline
            return note
        self.warnings.add(
            f"{item.label}, comment {raw.get('id')}: its place "
            f"({problem}) does not fit; kept as a general comment"
        )
        note["body"] = f"(On {path}, line {line}, commit {commit}.)\n\n{note['body']}"
        return note

    def _flags(self, item: PagureItem) -> dict[str, dict]:
        """CI flags, if the pull request's JSON carries any (Pagure's own
        to_json does not: see docs/import-pagure.md). The latest of one
        poster's flags of one name wins."""
        flags: dict[str, dict] = {}
        for raw in self._list(item.data, "flags", item.label):
            where = f"{item.label}, flag {raw.get('username')!r}"
            doc = self._flag(raw, where)
            path = part_path(item.uid, "flags", doc["uid"])
            if path not in flags or flags[path]["updated"] <= doc["updated"]:
                flags[path] = checked("flag", path, doc, where)
        return flags

    def _flag(self, raw: dict, where: str) -> dict:
        poster = self.people.name_of(raw.get("user"), where, "user")
        name = one_line(raw.get("username"), where, "username", self.warnings)
        created = pagure_time(raw.get("date_created"), where, "date_created")
        updated = raw.get("date_updated")
        url = raw.get("url") or None
        if url is not None and formats.SPECS["flag"]["url"].check(str(url)):
            self.warnings.add(
                f"{where}: url {str(url)[:80]!r} is not an http(s) URL; left out"
            )
            url = None
        percent = raw.get("percent")
        return {
            "format": formats.FORMAT_VERSION,
            "uid": flag_uid(poster, name),
            "username": poster,
            "name": name,
            "status": str(raw.get("status", "")).lower(),
            "percent": None
            if percent in (None, "")
            else whole_number(percent, where, "percent"),
            "comment": one_line(raw.get("comment"), where, "comment", self.warnings),
            "url": url,
            "created": created,
            "updated": pagure_time(updated, where, "date_updated")
            if updated
            else created,
        }

    def _closed_at(self, data: dict, where: str) -> str:
        """When it was closed; older Pagure did not record it, and then its
        last update stands in."""
        for key in ("closed_at", "last_updated", "updated_on", "date_created"):
            if data.get(key):
                return pagure_time(data[key], where, key)
        raise BadPagureData(where, "closed_at", "is missing")

    def _source_repo(self, data: dict, where: str) -> str:
        """The project or fork the branch is in: Pagure's fork of a user is
        gitforge's `forks/<user>/<project>` if that exists; otherwise the
        branch is recorded as one of the project itself."""
        origin = data.get("repo_from")
        branch = data.get("branch_from")
        if not isinstance(origin, dict):
            came_from = data.get("remote_git") or "a repo Pagure did not record"
            self.warnings.add(
                f"{where}: branch {branch!r} came from {came_from}; "
                f"recorded as a branch of {self.fullname}"
            )
            return self.fullname
        if not origin.get("parent"):
            return self.fullname
        owner = _user_fields(origin.get("user"), where, "repo_from.user")[0]
        try:
            fork = fork_fullname(self.people.resolve(owner), self.fullname)
        except InvalidName:
            fork = None
        if fork in self.projects:
            return fork
        pagure_fork = origin.get("fullname") or f"{owner}'s fork"
        self.warnings.add(
            f"{where}: {pagure_fork} has no gitforge fork "
            f"({fork or 'no valid name'}); branch {branch!r} is "
            f"recorded as a branch of {self.fullname}"
        )
        return self.fullname

    def _commit_range(self, data: dict, target: str, where: str) -> tuple[str, str]:
        """(base, head). Pagure's commit_start is the branch's first commit,
        so the base is its parent when the code repo has it; a missing
        commit_start or commit_stop is filled with the target branch's tip."""
        start, stop = (
            _commit_id(data.get("commit_start")),
            _commit_id(data.get("commit_stop")),
        )
        tip = None
        if start is None or stop is None:
            tip = self._tip(target)
            if tip is None:
                raise BadPagureData(
                    where,
                    "commit_start" if start is None else "commit_stop",
                    f"is missing, and {self.fullname} has no branch {target!r} whose "
                    "tip could stand in (import the code first)",
                )
            self.warnings.add(
                f"{where}: Pagure recorded no commit_start or "
                f"commit_stop; filled with the tip of {target} "
                f"({tip[:12]})"
            )
        head = stop or tip
        base = self._parent_of(start) if start else tip
        if not (self._has(base) and self._has(head)):
            self.warnings.add(
                f"{where}: its commits are not in {self.fullname}'s "
                "code repo; its diff shows once they are"
            )
        return base, head

    def _tip(self, branch: str) -> str | None:
        if self.code is None or not branch:
            return None
        try:
            ref = self.code.references.get(f"refs/heads/{branch}")
        except (ValueError, pygit2.GitError):  # not a valid ref name
            return None
        if ref is None or ref.type != pygit2.enums.ReferenceType.DIRECT:
            return None
        return str(ref.peel(pygit2.Commit).id)

    def _has(self, commit: str) -> bool:
        return self.code is not None and self.code.get(commit) is not None

    def _parent_of(self, commit: str) -> str:
        found = self.code.get(commit) if self.code else None
        if isinstance(found, pygit2.Commit) and found.parent_ids:
            return str(found.parent_ids[0])
        return commit

    def _merge_commit(self, branch: str, head: str) -> str:
        """The commit of the target branch that merged `head`: a merge
        commit with it as a parent, or `head` itself after a fast-forward
        (and when neither is found: Pagure does not record it)."""
        if branch not in self._merges:
            self._merges[branch] = self._merges_on(branch)
        return self._merges[branch].get(head, head)

    def _merges_on(self, branch: str) -> dict[str, str]:
        tip = self._tip(branch)
        if tip is None:
            return {}
        merged: dict[str, str] = {}
        walker = self.code.walk(tip, pygit2.enums.SortMode.NONE)
        for count, commit in enumerate(walker):
            if count >= MERGE_SEARCH_COMMITS:
                break
            for parent in commit.parent_ids[1:]:
                merged.setdefault(str(parent), str(commit.id))
        return merged


def request_status(value: object, where: str) -> str:
    """Open, Merged or Closed; very old Pagure wrote true (open) and false
    (merged)."""
    if value is True or str(value).lower() == "true":
        return "Open"
    if value is False or str(value).lower() == "false":
        return "Merged"
    if value in formats.REQUEST_STATUSES:
        return value
    raise BadPagureData(where, "status", f"is {value!r}, not Open, Merged or Closed")


def _commit_id(value: object) -> str | None:
    if isinstance(value, str) and _COMMIT.fullmatch(value.lower()):
        return value.lower()
    return None


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate in taken:
        count += 1
        candidate = f"{name}-{count}"
    return candidate


# -- numbers ------------------------------------------------------------------------


def existing_items(tickets: Snapshot, requests: Snapshot) -> dict[int, tuple[str, str]]:
    """number -> (kind, uid) of the project's tickets and pull requests."""
    found: dict[int, tuple[str, str]] = {}
    for kind, snapshot, path_of in (
        (TICKET, tickets, ticket_path),
        (REQUEST, requests, request_path),
    ):
        for uid in snapshot.uids():
            try:
                doc = snapshot.read(path_of(uid))
            except FormatError:
                continue  # a broken file numbers nothing
            if doc and isinstance(doc.get("number"), int):
                found[doc["number"]] = (kind, uid)
    return found


def number_problems(
    planned: list[Planned], existing: dict[int, tuple[str, str]]
) -> list[str]:
    """Numbers that two imported items share, or that an item of the
    project other than the one imported already has."""
    known = set(existing.values())
    problems, seen = [], {}
    for item in planned:
        if item.number in seen:
            problems.append(
                f"#{item.number} is both {seen[item.number]} and {item.label}"
            )
        seen[item.number] = item.label
        if (item.kind, item.uid) in known:
            continue  # imported before
        taken = existing.get(item.number)
        if taken is not None:
            problems.append(
                f"#{item.number} of {item.label} is taken by {taken[0]} {taken[1]}"
            )
    return problems


# -- the import ---------------------------------------------------------------------


def import_pagure(
    config: Config,
    fullname: str,
    tickets: Path | None = None,
    requests: Path | None = None,
    users: dict[str, str] | None = None,
) -> ImportReport:
    """Import the Pagure ticket repo `tickets` and request repo `requests`
    into project `fullname`; `users` maps Pagure names to gitforge ones."""
    repos = config.repositories
    with SiteRepo.open(repos) as site:
        site_now = site.snapshot()
    if not site_now.exists(project_path(fullname)):
        raise ImportRefused(
            f"project {fullname!r} does not exist in gitforge: create it first "
            f"(`gitforge project create {fullname}`, or `gitforge project import "
            f"{fullname} <its code repo>`); nothing was imported"
        )
    report = ImportReport(fullname)
    accounts = [n.removesuffix(".json") for n in site_now.listdir("users")]
    people = People(users or {}, accounts)
    planned = _plan(config, fullname, people, site_now, report, tickets, requests)
    problems = people.placeholder_problems()
    if problems:
        raise ImportRefused(
            "these Pagure users cannot become gitforge accounts: "
            f"{'; '.join(problems)}. Map them to other names with --users; "
            "nothing was imported"
        )
    with ExitStack() as stack:
        ticket_repo = stack.enter_context(
            DocumentRepo(repo_path(repos, RepoKind.TICKETS, fullname))
        )
        request_repo = stack.enter_context(
            DocumentRepo(repo_path(repos, RepoKind.REQUESTS, fullname))
        )
        _refuse_taken_numbers(planned, ticket_repo.snapshot(), request_repo.snapshot())
        _write_users(repos, people, report)
        written = _write_items(ticket_repo, request_repo, planned)
    _fill_report(report, planned, written)
    open_requests = _publish_heads(config, fullname, planned, report)
    _sync(config, fullname, bool(report.created_users))
    _queue_merge_statuses(config, fullname, open_requests)
    return report


def _plan(config, fullname, people, site_now, report, tickets, requests):
    projects = {
        path[len("projects/") : -len(".json")] for path, _ in site_now.walk("projects")
    }
    pagure_tickets = read_pagure_repo(tickets, TICKET) if tickets else PagureRepo()
    pagure_requests = read_pagure_repo(requests, REQUEST) if requests else PagureRepo()
    with _code_repo(config, fullname) as code:
        conversion = Conversion(fullname, people, code, projects, report.warnings)
        planned = [
            conversion.ticket(item, pagure_tickets) for item in pagure_tickets.items
        ]
        planned += [conversion.request(item) for item in pagure_requests.items]
    for name in sorted(set(pagure_tickets.files) - conversion.attached):
        report.warnings.add(
            f"attachment files/{name} belongs to no ticket (none "
            "links to it, no commit added it to one); left out"
        )
    return planned


@contextmanager
def _code_repo(config: Config, fullname: str):
    path = repo_path(config.repositories, RepoKind.CODE, fullname)
    repo = pygit2.Repository(str(path)) if path.exists() else None
    try:
        yield repo
    finally:
        if repo is not None:
            repo.free()


def _refuse_taken_numbers(planned, tickets: Snapshot, requests: Snapshot) -> None:
    problems = number_problems(planned, existing_items(tickets, requests))
    if problems:
        raise ImportRefused(
            "numbers collide: " + "; ".join(problems) + ". Nothing was imported"
        )


def _write_users(repositories: Path, people: People, report: ImportReport) -> None:
    """Every placeholder account the import needs, in one commit."""
    docs = {
        name: placeholder_doc(name, full) for name, full in people.placeholders.items()
    }

    def change(snapshot: Snapshot) -> dict:
        for name in docs:
            _refuse_taken_user(snapshot, name, _placeholder_email(name))
        return {user_path(name): doc for name, doc in docs.items()}

    if not docs:
        return
    with SiteRepo.open(repositories) as site:
        site.transact(
            change, SYSTEM, f"Add {len(docs)} placeholder accounts for a Pagure import"
        )
    report.created_users = sorted(docs)


def _write_items(ticket_repo, request_repo, planned: list[Planned]) -> list[str]:
    """One commit in the ticket repo (tickets, comments, attachments and the
    number sequence), then one in the request repo; returns the paths
    written."""
    highest = max((item.number for item in planned), default=0)
    written: dict[str, list[str]] = {}

    def tickets_change(snapshot: Snapshot) -> dict:
        _refuse_taken_numbers(planned, snapshot, request_repo.snapshot())
        changes = _missing(snapshot, _files_of(planned, TICKET))
        numbers = snapshot.read(NUMBERS_FILE) or {"format": formats.FORMAT_VERSION}
        if highest >= numbers.get("next", 1):
            changes[NUMBERS_FILE] = {**numbers, "next": highest + 1}
        written["tickets"] = list(changes)
        return changes

    def requests_change(snapshot: Snapshot) -> dict:
        changes = _missing(snapshot, _files_of(planned, REQUEST))
        written["requests"] = list(changes)
        return changes

    ticket_repo.transact(tickets_change, SYSTEM, "Import tickets from Pagure")
    request_repo.transact(requests_change, SYSTEM, "Import pull requests from Pagure")
    return written.get("tickets", []) + written.get("requests", [])


def _files_of(planned: list[Planned], kind: str) -> dict[str, Content]:
    return {
        path: content
        for item in planned
        if item.kind == kind
        for path, content in item.files.items()
    }


def _missing(snapshot: Snapshot, files: dict[str, Content]) -> dict[str, Content]:
    """The files the repo does not have yet: an import never rewrites one."""
    return {
        path: content for path, content in files.items() if not snapshot.exists(path)
    }


def _fill_report(report: ImportReport, planned: list[Planned], written) -> None:
    paths = set(written)
    for item in planned:
        if item.kind == TICKET and ticket_path(item.uid) in paths:
            report.tickets.append(item.number)
        if item.kind == REQUEST and request_path(item.uid) in paths:
            report.requests.append(item.number)
    report.tickets.sort()
    report.requests.sort()
    report.comments = sum("/comments/" in path for path in written)
    report.attachments = sum("/files/" in path for path in written)
    report.flags = sum("/flags/" in path for path in written)


def _publish_heads(config, fullname, planned, report) -> list[str]:
    """Keep each new pull request's head as refs/pull/<n>/head in the
    project's code repo, as gitforge does for its own, when the repo has
    it; returns the uids of the open ones among them."""
    published = []
    with _code_repo(config, fullname) as code:
        if code is None:
            return []
        for item in planned:
            if item.kind != REQUEST or item.number not in report.requests:
                continue
            request = item.files[request_path(item.uid)]
            ref = f"refs/pull/{item.number}/head"
            if code.get(request["head"]) is None:
                continue
            if ref not in code.references:
                code.references.create(ref, request["head"])
            if request["status"] == "Open":
                published.append(item.uid)
    return published


def _queue_merge_statuses(config: Config, fullname: str, uids: list[str]) -> None:
    """Have the task queue work out whether each open pull request merges,
    as it does for one opened in gitforge."""
    from gitforge.tasks.pull_requests import update_merge_status

    for uid in uids:
        update_merge_status(str(config.home), fullname, uid)


def _sync(config: Config, fullname: str, users_changed: bool) -> None:
    engine = engine_for(config)
    if users_changed:
        sync_repo(engine, config.repositories, SITE_REPO)
    for kind in (RepoKind.TICKETS, RepoKind.REQUESTS):
        sync_repo(engine, config.repositories, repo_relpath(kind, fullname))
