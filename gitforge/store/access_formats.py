"""Checks of the fields that say who may do what: a project's access,
protected branches and ticket settings, a user's ssh keys, a group's
members, a token's scopes. Each check returns a problem or None; the
document specs in `formats` use them.
"""

from __future__ import annotations

import re

LEVELS = ("admin", "commit", "collaborator", "ticket")

# Pagure's ACL names, which tokens carry as their scopes.
TOKEN_SCOPES = (
    "commit", "commit_flag", "create_project", "fork_project",
    "generate_acls_project", "issue_assign", "issue_change_status",
    "issue_comment", "issue_create", "issue_subscribe", "issue_update",
    "issue_update_custom_fields", "issue_update_milestone", "modify_project",
    "pull_request_assign", "pull_request_close", "pull_request_comment",
    "pull_request_create", "pull_request_flag", "pull_request_merge",
    "pull_request_rebase", "pull_request_subscribe", "tag_project",
    "update_watch_status",
)  # fmt: skip

SSH_KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)  # fmt: skip

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
# Branch patterns: git ref characters and `*`; no `..`, no leading dash.
_PATTERN = re.compile(r"[A-Za-z0-9_.*+/-]{1,200}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
MAX_PATTERNS = 50
MAX_MEMBERS = 10_000
MAX_KEYS = 100


def access(value: dict) -> str | None:
    """{"users": {name: grant}, "groups": {name: grant}}, both optional."""
    unknown = set(value) - {"users", "groups"}
    if unknown:
        return f"holds {sorted(unknown)[0]!r}; only 'users' and 'groups' may be here"
    for kind, grants in value.items():
        if not isinstance(grants, dict):
            return f"{kind!r} must be an object of names to grants"
        for name, grant in grants.items():
            if not _NAME.fullmatch(name):
                return f"{kind}: {name!r} is not a valid name"
            problem = _grant(grant)
            if problem:
                return f"{kind}.{name}: {problem}"
    return None


def _grant(grant: object) -> str | None:
    if not isinstance(grant, dict) or set(grant) - {"level", "branches"}:
        return "must be an object with 'level' and, for collaborators, 'branches'"
    if grant.get("level") not in LEVELS:
        return f"'level' must be one of {', '.join(LEVELS)}"
    branches = grant.get("branches", [])
    if grant["level"] != "collaborator" and branches:
        return "only a collaborator has 'branches'"
    if grant["level"] == "collaborator" and not branches:
        return "a collaborator needs at least one branch pattern"
    return branch_patterns(branches)


def branch_patterns(value: object) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_PATTERNS:
        return f"must be a list of at most {MAX_PATTERNS} branch patterns"
    for pattern in value:
        if problem := branch_pattern(pattern):
            return problem
    return None


def branch_pattern(pattern: object) -> str | None:
    if not isinstance(pattern, str) or not _PATTERN.fullmatch(pattern):
        return (
            f"{pattern!r} is not a branch pattern (letters, digits, "
            "'_', '.', '+', '-', '/' and '*', like release/*)"
        )
    if ".." in pattern or pattern.startswith(("-", "/")) or pattern.endswith("/"):
        return f"{pattern!r} is not a branch pattern"
    return None


def ticket_settings(value: dict) -> str | None:
    """{"tags": {tag: colour}, "close_reasons": [...], "priorities":
    {"1": "High", ...}, "milestones": [...]}, each optional."""
    known = {"tags", "close_reasons", "priorities", "milestones"}
    if unknown := set(value) - known:
        return f"{sorted(unknown)[0]!r} is not a ticket setting"
    for tag, colour in (value.get("tags") or {}).items():
        if not _short_line(tag) or not isinstance(colour, str):
            return f"tag {tag!r} must be a short line with a colour"
        if not _COLOUR.fullmatch(colour):
            return f"tag {tag!r}: colour must look like #1a2b3c"
    for key in ("close_reasons", "milestones"):
        entries = value.get(key, [])
        if not isinstance(entries, list) or not all(map(_short_line, entries)):
            return f"{key!r} must be a list of short lines"
        if len(set(entries)) != len(entries):
            return f"{key!r} names one entry twice"
    for number, label in (value.get("priorities") or {}).items():
        if not (number.lstrip("-").isdigit() and _short_line(label)):
            return f"priority {number!r} must be a whole number with a label"
    return None


def _short_line(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 255
        and value.strip() == value
        and value.isprintable()
    )


def ssh_keys(value: list) -> str | None:
    if len(value) > MAX_KEYS:
        return f"must hold at most {MAX_KEYS} keys"
    seen = set()
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {
            "key", "title", "fingerprint", "added"
        }:  # fmt: skip
            return "each key must have exactly 'key', 'title', 'fingerprint', 'added'"
        if not isinstance(entry["key"], str) or not entry["key"].startswith(
            tuple(t + " " for t in SSH_KEY_TYPES)
        ):
            return "a key must start with a known key type"
        if not _FINGERPRINT.fullmatch(str(entry["fingerprint"])):
            return "a fingerprint must look like SHA256:<43 base64 characters>"
        if entry["fingerprint"] in seen:
            return f"key {entry['fingerprint']} is listed twice"
        seen.add(entry["fingerprint"])
    return None


def members(value: list) -> str | None:
    if len(value) > MAX_MEMBERS:
        return f"must hold at most {MAX_MEMBERS} members"
    if not all(isinstance(m, str) and _NAME.fullmatch(m) for m in value):
        return "must be a list of user names"
    if value != sorted(set(value)):
        return "must be sorted, each name once"
    return None


def scopes(value: list) -> str | None:
    if all(isinstance(s, str) for s in value) and set(value) <= set(TOKEN_SCOPES):
        return None
    strange = next((s for s in value if s not in TOKEN_SCOPES), None)
    return f"{strange!r} is not a scope; known: {', '.join(TOKEN_SCOPES)}"
