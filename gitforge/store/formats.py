"""The document formats of docs/formats.md, as checks.

Each kind of document has a spec: field name -> (allowed types, required,
extra check). `check(kind, path, doc)` raises FormatError naming the file, the
field and the problem; the pre-receive hook and every writer use it, so a file
the server wrote and a file a user pushed are held to the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gitforge.store import access_formats
from gitforge.store.errors import FormatError

FORMAT_VERSION = 1
TICKET_STATUSES = ("Open", "Closed")
REQUEST_STATUSES = ("Open", "Merged", "Closed")
FLAG_STATUSES = ("success", "failure", "error", "pending", "canceled")
MERGE_KINDS = ("nothing", "ffwd", "merge", "conflicts")
_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_UID = re.compile(r"[0-9a-f]{32}")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_URL = re.compile(r"https?://[^\s]+")

Check = Callable[[object], str | None]  # returns a problem, or None


@dataclass(frozen=True)
class Field:
    types: tuple[type, ...]
    required: bool = True
    check: Check | None = None


def _timestamp(value: object) -> str | None:
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match:
        try:  # the constructor, not strptime: five times faster on reindex
            datetime(*map(int, match.groups()))
            return None
        except ValueError:
            pass  # right shape, impossible date such as February 30
    return "must be a UTC time like 2026-01-31T12:00:00Z"


def _username(value: object) -> str | None:
    if isinstance(value, str) and _USERNAME.fullmatch(value):
        return None
    return "must be a user name"


def _uid(value: object) -> str | None:
    if isinstance(value, str) and _UID.fullmatch(value):
        return None
    return "must be 32 lowercase hex digits"


MAX_NUMBER = 2**31 - 1
MAX_PRIORITY = 9999
MAX_LINE = 255  # titles, tags, milestones, close reasons
MAX_TEXT = 65_536  # ticket bodies and comments
MAX_TAGS = 100
MAX_BRANCH_BYTES = 1013  # the longest ref name libgit2 reads, less refs/heads/
# Bounds for files a push may bring: documents are read whole by hooks,
# syncs and pages, so one of them must never be large.
MAX_DOCUMENT_BYTES = 1_000_000
MAX_ATTACHMENT_BYTES = 20_000_000


def _positive(value: object) -> str | None:
    if 1 <= value <= MAX_NUMBER:
        return None
    return f"must be between 1 and {MAX_NUMBER}"


def _priority(value: object) -> str | None:
    if 0 <= value <= MAX_PRIORITY:
        return None
    return f"must be between 0 and {MAX_PRIORITY}"


def _one_of(allowed: tuple[str, ...], what: str = "status") -> Check:
    def check(value: object) -> str | None:
        if value in allowed:
            return None
        return f"unknown {what} {value!r}; use one of {', '.join(allowed)}"

    return check


_status = _one_of(TICKET_STATUSES)


def _commit(value: object) -> str | None:
    if isinstance(value, str) and _COMMIT.fullmatch(value):
        return None
    return "must be a full commit id (40 or 64 lowercase hex digits)"


def _branch(value: object) -> str | None:
    # The full rules of git check-ref-format apply where branches are used;
    # this keeps a document from naming something no command could take.
    if not value:
        return "must not be empty"
    if value.startswith("-"):
        return "must not start with '-'"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_BRANCH_BYTES:
        return f"must be at most {MAX_BRANCH_BYTES} bytes long"
    if _has_control_characters(value):
        return "must not contain control characters"
    return None


def _source_repo(value: object) -> str | None:
    parts = value.split("/")
    if not 1 <= len(parts) <= 4 or any(not p or p in (".", "..") for p in parts):
        return "must name a project or fork, like 'foo', 'ns/foo' or 'forks/ann/foo'"
    return None


def _url(value: object) -> str | None:
    if _URL.fullmatch(value) and len(value) <= 2048:
        return None
    return "must be an http or https URL of at most 2048 characters"


def _percent(value: object) -> str | None:
    return None if 0 <= value <= 100 else "must be between 0 and 100"


def _line_number(value: object) -> str | None:
    return None if 1 <= value <= MAX_NUMBER else "must be 1 or more"


def _merge_status(value: object) -> str | None:
    return _nested_problem(value, _MERGE_STATUS_SPEC)


def _inline(value: object) -> str | None:
    return _nested_problem(value, _INLINE_SPEC)


def _nested_problem(value: dict, spec: dict[str, Field]) -> str | None:
    try:
        _check_fields("", value, spec)
    except FormatError as err:
        return f"field {err.field!r} {err.problem}" if err.field else err.problem
    return None


def _next(value: object) -> str | None:
    if 1 <= value <= MAX_NUMBER + 1:
        return None
    return f"must be between 1 and {MAX_NUMBER + 1}"


def _tags(value: object) -> str | None:
    if not all(isinstance(tag, str) and tag.strip() for tag in value):
        return "must be a list of non-empty strings"
    if len(value) > MAX_TAGS:
        return f"holds {len(value)} tags; at most {MAX_TAGS}"
    for tag in value:
        if problem := _line(tag):
            return f"tag {tag[:40]!r} {problem}"
    if list(value) != sorted(set(value)):
        return "must be sorted and without repeats"
    return None


def _line(value: object) -> str | None:
    if "\n" in value or "\r" in value or len(value) > MAX_LINE:
        return f"must be one line of at most {MAX_LINE} characters"
    if _has_control_characters(value.replace("\t", " ")):
        # One-line texts end up in commit messages and terminals.
        return "must not contain control characters"
    return None


def _has_control_characters(value: str) -> bool:
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value)


def _title(value: object) -> str | None:
    if not value.strip():
        return "must not be empty"
    return _line(value)


def _text(value: object) -> str | None:
    if len(value) > MAX_TEXT:
        return f"is {len(value)} characters long; at most {MAX_TEXT}"
    return None


def _emails(value: object) -> str | None:
    if not value or not all(isinstance(e, str) and "@" in e for e in value):
        return "must be a non-empty list of email addresses"
    for email in value:
        if problem := _signature_problem(email):
            return problem
    return None


def _full_name(value: object) -> str | None:
    if value and not value.strip():
        return "must not be only spaces"
    return _signature_problem(value)


def _signature_problem(value: str) -> str | None:
    """Names and emails go into commit signatures and mail headers: a line
    break there would start a header of the writer's choosing, and libgit2
    refuses angle brackets (every commit by that user would fail)."""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        return "must not contain line breaks or other control characters"
    if "<" in value or ">" in value:
        return "must not contain '<' or '>'"
    return None


_STR, _INT, _BOOL, _LIST, _DICT = (str,), (int,), (bool,), (list,), (dict,)
_NONE = type(None)

# A project's settings: name -> the values it may take.
PROJECT_SETTINGS = {
    "merge_policy": ("ffwd-or-merge", "always-merge", "ffwd-only"),
}


def _settings(value: object) -> str | None:
    for name, setting in value.items():
        allowed = PROJECT_SETTINGS.get(name)
        if allowed is None:
            return f"{name!r} is not a known setting"
        if setting not in allowed:
            return f"{name!r} must be one of {', '.join(allowed)}"
    return None


SPECS: dict[str, dict[str, Field]] = {
    "user": {
        "name": Field(_STR, check=_username),
        "full_name": Field(_STR, check=_full_name),
        "emails": Field(_LIST, check=_emails),
        "password": Field((str, _NONE)),
        "admin": Field(_BOOL),
        "created": Field(_STR, check=_timestamp),
        "ssh_keys": Field(_LIST, required=False, check=access_formats.ssh_keys),
    },
    "project": {
        "name": Field(_STR),
        "namespace": Field((str, _NONE)),
        "description": Field(_STR),
        "owner": Field(_STR, check=_username),
        "created": Field(_STR, check=_timestamp),
        "settings": Field(_DICT, check=_settings),
        # The full name of the project this one is a fork of; null (or, in
        # documents older than forks, absent) for a project that is no fork.
        "parent": Field((str, _NONE), required=False, check=_source_repo),
        # Who may do what (policy.py); absent in older documents.
        "private": Field(_BOOL, required=False),
        "access": Field(_DICT, required=False, check=access_formats.access),
        "protected_branches": Field(
            _LIST, required=False, check=access_formats.branch_patterns
        ),
        "ticket_settings": Field(
            _DICT, required=False, check=access_formats.ticket_settings
        ),
    },
    "group": {
        "name": Field(_STR, check=_username),
        "description": Field(_STR, check=_line),
        "members": Field(_LIST, check=access_formats.members),
        "created": Field(_STR, check=_timestamp),
    },
    "ticket": {
        "uid": Field(_STR, check=_uid),
        # null until the server numbers a ticket made offline
        "number": Field((int, _NONE), check=_positive),
        "title": Field(_STR, check=_title),
        "body": Field(_STR, check=_text),
        "author": Field(_STR, check=_username),
        "created": Field(_STR, check=_timestamp),
        "status": Field(_STR, check=_status),
        "close_reason": Field((str, _NONE), check=_line),
        "tags": Field(_LIST, check=_tags),
        "assignee": Field((str, _NONE), required=False),
        "priority": Field((int, _NONE), required=False, check=_priority),
        "milestone": Field((str, _NONE), required=False, check=_line),
        "private": Field(_BOOL),
    },
    "comment": {
        "uid": Field(_STR, check=_uid),
        "author": Field(_STR, check=_username),
        "created": Field(_STR, check=_timestamp),
        "edited": Field((str, _NONE), required=False, check=_timestamp),
        "body": Field(_STR, check=_text),
    },
    "numbers": {
        "next": Field(_INT, check=_next),
    },
    "request": {
        "uid": Field(_STR, check=_uid),
        "number": Field(_INT, check=_positive),
        "title": Field(_STR, check=_title),
        "description": Field(_STR, check=_text),
        "author": Field(_STR, check=_username),
        "created": Field(_STR, check=_timestamp),
        "status": Field(_STR, check=_one_of(REQUEST_STATUSES)),
        "source_repo": Field(_STR, check=_source_repo),
        "source_branch": Field(_STR, check=_branch),
        "target_branch": Field(_STR, check=_branch),
        "base": Field(_STR, check=_commit),
        "head": Field(_STR, check=_commit),
        "merge_status": Field((dict, _NONE), check=_merge_status),
        "merge_commit": Field((str, _NONE), check=_commit),
        "closed_by": Field((str, _NONE), check=_username),
        "closed_at": Field((str, _NONE), check=_timestamp),
        "tags": Field(_LIST, check=_tags),
        "assignee": Field((str, _NONE), check=_username),
    },
    "request_comment": {
        "uid": Field(_STR, check=_uid),
        "author": Field(_STR, check=_username),
        "created": Field(_STR, check=_timestamp),
        "edited": Field((str, _NONE), required=False, check=_timestamp),
        "body": Field(_STR, check=_text),
        "inline": Field((dict, _NONE), check=_inline),
    },
    "flag": {
        "uid": Field(_STR, check=_uid),
        "username": Field(_STR, check=_username),
        "name": Field(_STR, check=_title),
        "status": Field(_STR, check=_one_of(FLAG_STATUSES)),
        "percent": Field((int, _NONE), check=_percent),
        "comment": Field(_STR, check=_line),
        "url": Field((str, _NONE), check=_url),
        "created": Field(_STR, check=_timestamp),
        "updated": Field(_STR, check=_timestamp),
    },
    "update": {
        "uid": Field(_STR, check=_uid),
        "created": Field(_STR, check=_timestamp),
        "old_head": Field(_STR, check=_commit),
        "new_head": Field(_STR, check=_commit),
        "forced": Field(_BOOL),
    },
}


def _matches(pattern: str, problem: str) -> Check:
    compiled = re.compile(pattern)
    return lambda value: None if compiled.fullmatch(value) else problem


SPECS["token"] = {
    "id": Field(_STR, check=_matches(r"[0-9a-f]{16}", "must be 16 hex digits")),
    "user": Field(_STR, check=_username),
    "project": Field((str, _NONE), check=_source_repo),
    "acls": Field(_LIST, check=access_formats.scopes),
    "description": Field(_STR, required=False, check=_line),
    "created": Field(_STR, check=_timestamp),
    "expires": Field((str, _NONE), check=_timestamp),
    "revoked": Field((str, _NONE), required=False, check=_timestamp),
    "hash": Field(_STR, check=_matches(r"[0-9a-f]{64}", "must be a SHA-256 digest")),
}

_MERGE_STATUS_SPEC = {
    "kind": Field(_STR, check=_one_of(MERGE_KINDS, "merge status")),
    "target": Field(_STR, check=_commit),
    "head": Field(_STR, check=_commit),
    "conflicts": Field(_LIST),
}
_INLINE_SPEC = {
    "commit": Field(_STR, check=_commit),
    "path": Field(_STR, check=_line),
    "line": Field(_INT, check=_line_number),
    "side": Field(_STR, check=_one_of(("old", "new"), "side")),
}


def check(kind: str, path: str, doc: dict) -> dict:
    """Return `doc` if it is a valid document of `kind`, else raise."""
    if doc.get("format") != FORMAT_VERSION:
        raise FormatError(path, "format", f"must be {FORMAT_VERSION}")
    _check_fields(path, doc, SPECS[kind])
    if kind == "ticket":
        _check_ticket(path, doc)
    if kind == "request":
        _check_request(path, doc)
    return doc


def _check_fields(path: str, doc: dict, spec: dict[str, Field]) -> None:
    for name, field in spec.items():
        if name not in doc:
            if field.required:
                raise FormatError(path, name, "is missing")
            continue
        _check_field(path, name, field, doc[name])
    unknown = sorted(set(doc) - set(spec) - {"format"})
    if unknown:
        raise FormatError(path, unknown[0], "is not a known field")


def _check_field(path: str, name: str, field: Field, value: object) -> None:
    # bool is an int in Python; a number field must not take true/false.
    wrong_bool = isinstance(value, bool) and bool not in field.types
    if wrong_bool or not isinstance(value, field.types):
        raise FormatError(
            path, name, f"must be {_type_names(field.types)}, not {_json_type(value)}"
        )
    if isinstance(value, str) and (problem := _text_problem(value)):
        raise FormatError(path, name, problem)
    if field.check is not None and value is not None:
        problem = field.check(value)
        if problem:
            raise FormatError(path, name, problem)


def _text_problem(value: str) -> str | None:
    """Text that git holds but no database or page can: NUL characters and
    unpaired surrogates (a JSON escape like \\ud800)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds an unpaired surrogate)"
    return None


def _check_ticket(path: str, doc: dict) -> None:
    if doc["status"] == "Open" and doc["close_reason"] is not None:
        raise FormatError(path, "close_reason", "must be null while Open")
    if doc.get("assignee") is not None and _username(doc["assignee"]):
        raise FormatError(path, "assignee", "must be a user name or null")


def _check_request(path: str, doc: dict) -> None:
    merged = doc["status"] == "Merged"
    if merged != (doc["merge_commit"] is not None):
        raise FormatError(path, "merge_commit", "is set exactly when Merged")
    if (doc["status"] == "Open") != (doc["closed_at"] is None):
        raise FormatError(path, "closed_at", "is set exactly when not Open")


_JSON_NAMES = {str: "a string", int: "a number", bool: "true or false",
               list: "a list", dict: "an object", _NONE: "null"}  # fmt: skip


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join(_JSON_NAMES[t] for t in types)


def _json_type(value: object) -> str:
    for python_type in (bool, _NONE, str, int, list, dict, float):
        if isinstance(value, python_type):
            return _JSON_NAMES.get(python_type, "a fraction")
    return type(value).__name__
