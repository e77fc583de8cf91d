"""Tickets in a clone of a ticket repo, with no server and no data home.

`gitforge tickets ...` (gitforge.offline_cli) reads and writes the clone the
user is standing in. Each write is one commit on the checked-out branch,
made by the real `git commit` with the user's own git identity, of files in
canonical JSON checked with the same rules the server applies on push; the
user publishes it with `git push`. A ticket made here has `"number": null`
until it reaches the server, which numbers it in a commit of its own.

Reads look at the checked-out commit (HEAD), the state a push would send:
files edited but not committed are not shown, and a write refuses to run
when the files it would touch have uncommitted changes.

The same works for comments on and closing of pull requests in a clone of
a request repo; the server takes such pushes (gitforge.hooks.request_checks).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitforge.store import formats
from gitforge.store.documents import Snapshot, canonical_json, uid_folder, utc_now
from gitforge.store.errors import FormatError
from gitforge.store.requests import request_path
from gitforge.store.tickets import (
    NUMBERS_FILE,
    comment_path,
    new_uid,
    read_comments,
    ticket_path,
)

log = logging.getLogger(__name__)

MIN_PREFIX = 4  # the shortest uid prefix that addresses a ticket
_HEX = re.compile(r"[0-9a-f]+")
_IDENT = re.compile(r"(?P<name>.*) <(?P<email>[^<>]*)> \d+ [+-]\d{4}")
_username_problem = formats.SPECS["comment"]["author"].check
TICKET_CLONE_HINT = (
    "clone a project's ticket repo (git clone <forge>/tickets/<project>.git) "
    "and run this inside the clone"
)
REQUEST_CLONE_HINT = (
    "clone a project's request repo (git clone <forge>/requests/<project>.git) "
    "and run this inside the clone"
)


class OfflineError(Exception):
    """Something the user must fix before the command can run."""


class NothingChanged(Exception):
    """The document already reads as asked; no commit is made."""


@dataclass(frozen=True)
class Kind:
    """Tickets or pull requests: where their documents are and how to check
    them."""

    noun: str  # for messages
    repo: str
    file: str  # in the uid folder
    kind: str  # for formats.check
    comment_kind: str

    def path(self, uid: str) -> str:
        return ticket_path(uid) if self.file == "ticket.json" else request_path(uid)


TICKETS = Kind("ticket", "ticket repo", "ticket.json", "ticket", "comment")
REQUESTS = Kind(
    "pull request", "request repo", "request.json", "request", "request_comment"
)


# -- the clone ----------------------------------------------------------------


class Clone:
    """A git working tree of a ticket repo or a request repo."""

    def __init__(self, top: Path, kind: Kind):
        self.top = top
        self.kind = kind
        self.repo = pygit2.Repository(str(top))

    def close(self) -> None:
        self.repo.free()

    def __enter__(self) -> Clone:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the real git in the clone, with the user's environment."""
        done = subprocess.run(
            ["git", *args], cwd=self.top, capture_output=True, text=True
        )
        if check and done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip())[-2000:]
            raise OfflineError(f"git {args[0]} failed: {said}")
        return done

    def snapshot(self) -> Snapshot:
        """The checked-out commit: what `git push` would send."""
        if self.repo.head_is_unborn:
            return Snapshot(self.repo, None)
        return Snapshot(self.repo, self.repo.head.peel(pygit2.Commit))

    def branch(self) -> str:
        ref = self.git("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
        if not ref.startswith("refs/heads/"):
            raise OfflineError(
                "HEAD is detached: switch to a branch first (git switch main); "
                "the server takes tickets on main only"
            )
        return ref.removeprefix("refs/heads/")

    def git_path(self, name: str) -> Path:
        """A file in the clone's .git folder (for the editor's text)."""
        return self.top / self.git("rev-parse", "--git-path", name).stdout.strip()

    def require_clean(self, paths: Iterable[str]) -> None:
        """Refuse when any of `paths` differs from HEAD, staged or not."""
        paths = list(paths)
        status = self.git(
            "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths
        ).stdout
        if not status:
            return
        named = {entry[3:] for entry in status.split("\0")} | set(status.split("\0"))
        dirty = [path for path in paths if path in named] or paths
        raise OfflineError(
            f"uncommitted changes to {', '.join(dirty)}: commit or stash them "
            "first, so that this command's commit holds its own change only"
        )


def open_clone(cwd: Path, kind: Kind) -> Clone:
    """The clone `cwd` is in, refused unless it is a clone of `kind`."""
    hint = TICKET_CLONE_HINT if kind is TICKETS else REQUEST_CLONE_HINT
    where = f"not inside a {kind.repo} clone"
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise OfflineError(f"{where}: {cwd} is not in a git working tree; {hint}")
    top = Path(done.stdout.strip())
    has_numbers = (top / NUMBERS_FILE).is_file()
    if kind is TICKETS and not has_numbers:
        raise OfflineError(
            f"{where}: {top} has no {NUMBERS_FILE} at its top, which every "
            f"ticket repo has; {hint}"
        )
    clone = Clone(top, kind)
    if kind is REQUESTS and (has_numbers or not _looks_like_requests(clone)):
        clone.close()
        why = (
            " (it is a ticket repo clone: use `gitforge tickets`)"
            if has_numbers
            else " has no pull request folders and no request repo README.md"
        )
        raise OfflineError(f"{where}: {top}{why}; {hint}")
    return clone


def _looks_like_requests(clone: Clone) -> bool:
    snapshot = clone.snapshot()
    readme = snapshot.read_bytes("README.md") or b""
    if readme.startswith(b"# Pull requests"):
        return True
    return any(snapshot.exists(request_path(uid)) for uid in snapshot.uids()[:1])


# -- who acts -----------------------------------------------------------------


@dataclass(frozen=True)
class Author:
    """The username for documents; git makes the commit with its own
    identity (user.name and user.email), as `git commit` would."""

    username: str
    source: str  # where the username came from, for messages


def author_of(clone: Clone, as_user: str | None = None) -> Author:
    """The username to write: `--as`, else `git config gitforge.user`, else
    the part of the git author email before the @.

    Asks git for the author and committer identity first, so a clone
    without one fails here, before anything is written or edited."""
    ident = _ident(clone, "GIT_AUTHOR_IDENT")
    _ident(clone, "GIT_COMMITTER_IDENT")
    configured = clone.git("config", "--get", "gitforge.user", check=False)
    if as_user is not None:
        author = Author(as_user, "--as")
    elif configured.stdout.strip():
        author = Author(configured.stdout.strip(), "git config gitforge.user")
    else:
        email = ident["email"]
        author = Author(email.split("@", 1)[0], f"your git email {email}")
    if problem := _username_problem(author.username):
        raise OfflineError(
            f"{author.username!r} (from {author.source}) {problem}: name your "
            "gitforge account with --as NAME or `git config gitforge.user NAME`"
        )
    return author


def _ident(clone: Clone, variable: str) -> re.Match:
    done = clone.git("var", variable, check=False)
    match = _IDENT.fullmatch(done.stdout.strip())
    if done.returncode != 0 or match is None:
        raise OfflineError(
            f"git does not know who you are: {done.stderr.strip()}".rstrip(": ")
        )
    return match


# -- reading ------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The documents of a clone, and the files that could not be read."""

    docs: list[dict]
    problems: list[str]


def read_all(snapshot: Snapshot, kind: Kind) -> Found:
    """Every ticket (or pull request) at the snapshot, each checked."""
    docs, problems = [], []
    for uid in snapshot.uids():
        path = kind.path(uid)
        try:
            doc = snapshot.read(path)
            if doc is not None:
                docs.append(formats.check(kind.kind, path, doc))
        except FormatError as err:
            problems.append(str(err))
    return Found(docs, problems)


def find(snapshot: Snapshot, kind: Kind, ref: str) -> dict:
    """The document that `ref` names: a number (`12` or `#12`), or a prefix
    of at least MIN_PREFIX digits of its uid (for a ticket with no number
    yet). Digits are read as a number first."""
    # Not yet: reads every ticket to find a number; a clone keeps no index.
    found = read_all(snapshot, kind)
    docs = found.docs
    wanted = ref.strip().removeprefix("#").lower()
    if wanted.isdigit():
        numbered = [doc for doc in docs if doc["number"] == int(wanted)]
        if numbered:
            return numbered[0]
    if len(wanted) >= MIN_PREFIX and _HEX.fullmatch(wanted):
        matches = [doc for doc in docs if doc["uid"].startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            uids = ", ".join(doc["uid"] for doc in matches)
            raise OfflineError(f"{ref!r} names several {kind.noun}s: {uids}")
    unreadable = ""
    if found.problems:
        unreadable = f" ({len(found.problems)} unreadable: {found.problems[0]})"
    raise OfflineError(
        f"no {kind.noun} {ref!r} here: give its number, or at least "
        f"{MIN_PREFIX} leading digits of its uid{unreadable}"
    )


def short_uids(uids: Iterable[str]) -> dict[str, str]:
    """The shortest prefix (at least MIN_PREFIX digits) that tells each uid
    apart from all the others."""
    ordered = sorted(set(uids))
    shortest = {}
    for i, uid in enumerate(ordered):
        neighbours = ordered[max(i - 1, 0) : i] + ordered[i + 1 : i + 2]
        shared = max((_common_length(uid, other) for other in neighbours), default=0)
        shortest[uid] = uid[: max(MIN_PREFIX, shared + 1)]
    return shortest


def _common_length(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))


def last_activity(snapshot: Snapshot, ticket: dict) -> str:
    """As the index computes it: the newest of the ticket's creation and its
    comments' creation or edit times."""
    notes = read_comments(snapshot, ticket["uid"])
    return max([ticket["created"]] + [n.get("edited") or n["created"] for n in notes])


def comment_count(snapshot: Snapshot, uid: str) -> int:
    folder = f"{uid_folder(uid)}/comments"
    return sum(name.endswith(".json") for name in snapshot.listdir(folder))


def select_tickets(snapshot: Snapshot, tickets: list[dict], wanted) -> list[dict]:
    """The tickets that pass the web list's filters (a TicketFilter), in its
    order; tickets with no number yet count as the newest."""
    chosen = [t for t in tickets if _passes(t, wanted)]
    by_number = sorted(chosen, key=_age)
    if wanted.sort == "oldest":
        return by_number
    newest_first = list(reversed(by_number))
    if wanted.sort == "updated":
        activity = {t["uid"]: last_activity(snapshot, t) for t in chosen}
        return sorted(newest_first, key=lambda t: activity[t["uid"]], reverse=True)
    if wanted.sort == "comments":
        counts = {t["uid"]: comment_count(snapshot, t["uid"]) for t in chosen}
        return sorted(newest_first, key=lambda t: counts[t["uid"]], reverse=True)
    return newest_first


def _passes(ticket: dict, wanted) -> bool:
    return (
        (wanted.status is None or ticket["status"] == wanted.status)
        and set(wanted.tags) <= set(ticket["tags"])
        and (wanted.assignee is None or ticket.get("assignee") == wanted.assignee)
        and (wanted.author is None or ticket["author"] == wanted.author)
    )


def _age(ticket: dict) -> tuple:
    """Oldest first: numbered tickets by number, then new ones by time."""
    number = ticket["number"]
    return (number is None, number or 0, ticket["created"], ticket["uid"])


# -- writing ------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What a write command did: the document written, what it is about
    (`#12`, `(new) 0193ab4c`), its commit and the branch."""

    doc: dict
    about: str
    commit: str
    branch: str


def commit_documents(
    clone: Clone, documents: dict[str, tuple[str, dict]], message: str
) -> tuple[str, str]:
    """Check `documents` (path -> (kind, doc)), write them into the working
    tree in canonical JSON and commit exactly those paths.

    Nothing is written when a document breaks the format, when a path has
    uncommitted changes or when HEAD is detached; when `git commit` itself
    fails (a hook, a merge in progress), the files are put back as they
    were. Returns (commit id, branch)."""
    for path, (kind, doc) in documents.items():
        formats.check(kind, path, doc)
    branch = clone.branch()
    clone.require_clean(documents)
    before = {path: _read_file(clone.top / path) for path in documents}
    try:
        for path, (_kind, doc) in documents.items():
            _write_file(clone.top / path, canonical_json(doc))
        clone.git("add", "--", *documents)
        clone.git("commit", "-q", "-m", message, "--", *documents)
    except (OfflineError, OSError):
        _put_back(clone, before)
        raise
    commit = clone.git("rev-parse", "HEAD").stdout.strip()
    log.debug("committed %s on %s: %s", commit, branch, message)
    return commit, branch


def _read_file(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _put_back(clone: Clone, before: dict[str, bytes | None]) -> None:
    # Unstage: the index gets HEAD's version back (or loses a new path);
    # unlike `git restore --staged`, this takes paths git never saw.
    clone.git("reset", "-q", "--", *before, check=False)
    for path, data in before.items():
        target = clone.top / path
        if data is not None:
            target.write_bytes(data)
            continue
        target.unlink(missing_ok=True)
        for folder in target.relative_to(clone.top).parents:
            empty = (clone.top / folder).is_dir() and not any(
                (clone.top / folder).iterdir()
            )
            if folder != Path(".") and empty:
                (clone.top / folder).rmdir()


def label(doc: dict, snapshot: Snapshot | None = None) -> str:
    """`#12`, or `(new) 0193ab4c` for a ticket that has no number yet."""
    if doc["number"] is not None:
        return f"#{doc['number']}"
    uids = snapshot.uids() if snapshot is not None else [doc["uid"]]
    return f"(new) {short_uids([*uids, doc['uid']])[doc['uid']]}"


def _hint(doc: dict) -> str:
    """How commit messages name a document, as the server's do: its number,
    or its whole uid (a prefix may stop being unique)."""
    return f"#{doc['number']}" if doc["number"] is not None else doc["uid"]


def new_ticket(
    clone: Clone,
    author: Author,
    title: str,
    body: str = "",
    *,
    tags: Iterable[str] = (),
    private: bool = False,
) -> Written:
    """A new ticket with no number: the server gives it one after the push."""
    # A random uid, not the server's time-led one: until the ticket has a
    # number, people name it by the first digits of its uid, and tickets
    # made in the same minute would share eight of them.
    uid = uuid.uuid4().hex
    ticket = {
        "format": formats.FORMAT_VERSION,
        "uid": uid,
        "number": None,
        "title": title.strip(),
        "body": body,
        "author": author.username,
        "created": utc_now(),
        "status": "Open",
        "close_reason": None,
        "tags": clean_tags(tags),
        "assignee": None,
        "priority": None,
        "milestone": None,
        "private": private,
    }
    about = label(ticket, clone.snapshot())
    message = f"Create ticket: {ticket['title']}"
    documents = {ticket_path(uid): ("ticket", ticket)}
    commit, branch = commit_documents(clone, documents, message)
    return Written(ticket, about, commit, branch)


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Stripped, sorted, without repeats or empty ones (as the web form)."""
    return sorted({tag.strip() for tag in tags if tag.strip()})


def add_comment(clone: Clone, author: Author, ref: str, body: str) -> Written:
    """A comment on the ticket (or pull request) `ref`."""
    if not body.strip():
        raise OfflineError("the comment is empty; nothing was written")
    snapshot = clone.snapshot()
    target = find(snapshot, clone.kind, ref)
    comment = {
        "format": formats.FORMAT_VERSION,
        "uid": new_uid(),
        "author": author.username,
        "created": utc_now(),
        "edited": None,
        "body": body,
    }
    if clone.kind is REQUESTS:
        comment["inline"] = None
    # Both repos keep comments alike: <xx>/<uid>/comments/<comment-uid>.json
    path = comment_path(target["uid"], comment["uid"])
    about = label(target, snapshot)
    message = f"Comment on {clone.kind.noun} {_hint(target)}"
    documents = {path: (clone.kind.comment_kind, comment)}
    commit, branch = commit_documents(clone, documents, message)
    return Written(comment, about, commit, branch)


def edit(clone: Clone, ref: str, change: Callable[[dict], dict], verb: str) -> Written:
    """Apply `change` (the document -> the fields to set) to the ticket or
    pull request `ref`, as one commit; NothingChanged when it already reads
    so. `verb` starts the commit message."""
    snapshot = clone.snapshot()
    doc = find(snapshot, clone.kind, ref)
    about = label(doc, snapshot)
    updated = {**doc, **change(doc)}
    if updated == doc:
        raise NothingChanged(f"{clone.kind.noun} {about} already reads so")
    path = clone.kind.path(doc["uid"])
    message = f"{verb} {clone.kind.noun} {_hint(doc)}"
    commit, branch = commit_documents(
        clone, {path: (clone.kind.kind, updated)}, message
    )
    return Written(updated, about, commit, branch)


def close_ticket(reason: str | None) -> Callable[[dict], dict]:
    reason = (reason or "").strip() or None
    return lambda _ticket: {"status": "Closed", "close_reason": reason}


def reopen_ticket(_ticket: dict) -> dict:
    return {"status": "Open", "close_reason": None}


def retag(add: Iterable[str], remove: Iterable[str]) -> Callable[[dict], dict]:
    def change(ticket: dict) -> dict:
        kept = set(ticket["tags"]) - set(clean_tags(remove))
        return {"tags": clean_tags(kept | set(clean_tags(add)))}

    return change


def assign(user: str | None) -> Callable[[dict], dict]:
    return lambda _ticket: {"assignee": user.strip() if user else None}


def retitle(title: str | None, body: str | None) -> Callable[[dict], dict]:
    fields = {"title": title.strip() if title is not None else None, "body": body}
    return lambda _ticket: {k: v for k, v in fields.items() if v is not None}


def close_request(author: Author) -> Callable[[dict], dict]:
    """Closed, by `author`, now; a merged pull request stays merged."""

    def change(request: dict) -> dict:
        if request["status"] == "Merged":
            raise OfflineError(
                f"pull request #{request['number']} is merged; it cannot be closed"
            )
        if request["status"] == "Closed":
            return {}
        return {
            "status": "Closed",
            "closed_by": author.username,
            "closed_at": utc_now(),
        }

    return change


# -- the editor ---------------------------------------------------------------

SCISSORS = "# ------------------------ >8 ------------------------"


def edit_text(clone: Clone, text: str, help_text: str) -> str:
    """Let the user edit `text` in their git editor (GIT_EDITOR, core.editor,
    VISUAL, EDITOR, as git chooses it) and return what they wrote above the
    scissors line, under which `help_text` is shown."""
    path = clone.git_path("GITFORGE_EDITMSG.md")
    comment = "\n".join(f"# {line}".rstrip() for line in help_text.splitlines())
    path.write_text(f"{text}\n{SCISSORS}\n{comment}\n", encoding="utf-8")
    editor = clone.git("var", "GIT_EDITOR").stdout.strip()
    if editor != ":":
        # As git does: the editor setting is a shell command line, and the
        # file is passed as an argument, never spliced into it.
        done = subprocess.run(
            ["sh", "-c", f'{editor} "$@"', editor, str(path)], cwd=clone.top
        )
        if done.returncode != 0:
            raise OfflineError(
                f"the editor ({editor}) failed with status {done.returncode}; "
                "nothing was written"
            )
    lines = path.read_text(encoding="utf-8").splitlines()
    cut = [line.rstrip() for line in lines]
    return "\n".join(lines[: cut.index(SCISSORS)] if SCISSORS in cut else lines)


def split_title(text: str) -> tuple[str, str]:
    """The first line is the title (a blank one means none); the lines after
    it, without the blank lines around them, are the body."""
    first, _newline, rest = text.partition("\n")
    return first.strip(), rest.strip("\n").rstrip()
