"""Properties of sync: incremental loads agree with a full rebuild, and a
ticket exported from one ticket repo loads back the same into another."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
)

from gitforge.config import Config
from gitforge.index.compare import dump
from gitforge.index.db import engine_for, make_engine, reset
from gitforge.index.sync import sync_all, sync_repo
from gitforge.store.documents import Identity, uid_folder, utc_now
from gitforge.store.site import NewUser
from gitforge.store.tickets import (
    NUMBERS_FILE,
    TicketRepo,
    comment_path,
    new_uid,
    ticket_path,
)
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user, init_site
from gitforge.tasks.sync import load_json
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
ALICE = Identity("alice", "alice@example.org")
RELPATH = "tickets/foo.git"

# One-line texts: no line breaks or control characters, not blank.
_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
line = st.text(_PRINTABLE, min_size=1, max_size=20).filter(str.strip)
# Bodies may hold anything but NUL and lone surrogates; "#n" makes mentions.
body = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
            max_size=30),
    st.sampled_from(["see #1", "#2 and #3\nthen #1", "&#1; page#2"]),
)  # fmt: skip
tags = st.lists(st.sampled_from(["bug", "ü", "Bug", "a b", "🚀"]), max_size=3)
assignee = st.sampled_from([None, "admin", "alice"])
reason = st.one_of(st.none(), st.just(""), line)
actor = st.sampled_from([ADMIN, ALICE])


def make_site(home: Path) -> Config:
    """A site with an admin, a second user and the project foo."""
    config = Config(home)
    init_site(config, NewUser("admin", "admin@example.org", "Ad Min", "secret-pw1",
                              admin=True))  # fmt: skip
    add_user(config, NewUser("alice", "alice@example.org", "Alice"))
    create_project(config, "foo", "admin", "Foo")
    return config


_rebuilds = itertools.count()


def rebuilt_dump(config: Config) -> dict[str, list[str]]:
    """The index of a full rebuild from git into a fresh database."""
    name = f"rebuilt-{next(_rebuilds)}.db"
    engine = make_engine(config.database_url.replace("index.db", name))
    try:
        reset(engine)
        sync_all(engine, config.repositories)
        return dump(engine)
    finally:
        engine.dispose()


class TicketSyncMachine(RuleBasedStateMachine):
    """Web writes and pushes to one ticket repo, with syncs in between."""

    tickets = Bundle("tickets")
    comments = Bundle("comments")
    # Where homes go; the fixture below puts them under pytest's tmp folder.
    homes: Path | None = None

    @initialize()
    def make_home(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="home-", dir=self.homes))
        self.config = make_site(self.tmp / "home")
        self.engine = engine_for(self.config)
        self.repo = TicketRepo(self.config.repositories / RELPATH)
        self.work = self.tmp / "clone"
        git("clone", "-q", str(self.config.repositories / RELPATH), str(self.work))
        self.unloaded_pushes: list[str] = []

    def teardown(self):
        if not hasattr(self, "tmp"):
            return
        try:
            self.check_against_rebuild()
        finally:
            self.repo.close()
            self.engine.dispose()
            # Best effort: the post-receive hook's detached child may still
            # be writing the home's task queue; pytest prunes what is left.
            shutil.rmtree(self.tmp, ignore_errors=True)

    # Web writes -----------------------------------------------------------

    @rule(target=tickets, title=line, text=body, private=st.booleans(), tags=tags)
    def create(self, title, text, private, tags):
        made = self.repo.create_ticket(ADMIN, title, text, private=private, tags=tags)
        return made["uid"]

    @rule(ticket=tickets, title=line, text=body)
    def edit(self, ticket, title, text):
        self.repo.update_ticket(ticket, ADMIN, title=title, body=text)

    @rule(ticket=tickets, tags=tags, private=st.booleans(), who=assignee)
    def retag_and_assign(self, ticket, tags, private, who):
        self.repo.update_ticket(ticket, ADMIN, tags=tags, private=private,
                                assignee=who)  # fmt: skip

    @rule(ticket=tickets, why=reason)
    def close(self, ticket, why):
        self.repo.close_ticket(ticket, ADMIN, why)

    @rule(ticket=tickets)
    def reopen(self, ticket):
        self.repo.reopen_ticket(ticket, ADMIN)

    @rule(target=comments, ticket=tickets, who=actor, text=body)
    def comment(self, ticket, who, text):
        return ticket, self.repo.add_comment(ticket, who, text)["uid"]

    @rule(comment=comments, who=actor, text=body)
    def edit_comment(self, comment, who, text):
        ticket, comment_uid = comment
        self.repo.edit_comment(ticket, comment_uid, who, text)

    # Pushes from a clone --------------------------------------------------

    @rule(ticket=tickets, title=line, tags=tags, why=reason)
    def push_ticket_edit(self, ticket, title, tags, why):
        def change(work):
            path = work / ticket_path(ticket)
            doc = json.loads(path.read_text())
            closed = why is not None
            doc.update(title=title, tags=sorted(set(tags)),
                       status="Closed" if closed else "Open",
                       close_reason=why or None)  # fmt: skip
            path.write_text(json.dumps(doc))

        self.push(change)

    @rule(target=comments, ticket=tickets, text=body)
    def push_comment(self, ticket, text):
        comment_uid = new_uid()
        doc = {"format": 1, "uid": comment_uid, "author": "admin",
               "created": utc_now(), "edited": None, "body": text}  # fmt: skip
        self.push(lambda work: _write(work / comment_path(ticket, comment_uid), doc))
        return ticket, comment_uid

    @rule(target=tickets, count=st.integers(1, 2), title=line, private=st.booleans(),
          tags=tags)  # fmt: skip
    def push_new_tickets(self, count, title, private, tags):
        made = [
            {
                "format": 1,
                "uid": new_uid(),
                "number": None,
                "title": title.strip(),
                "body": "made offline, see #1",
                "author": "admin",
                "created": utc_now(),
                "status": "Open",
                "close_reason": None,
                "tags": sorted(set(tags)),
                "assignee": None,
                "priority": None,
                "milestone": None,
                "private": private,
            }
            for _ in range(count)
        ]

        def change(work):
            for doc in made:
                _write(work / ticket_path(doc["uid"]), doc)

        self.push(change)
        return multiple(*(doc["uid"] for doc in made))

    def push(self, change) -> None:
        """Bring the clone up to the server, change it, commit and push."""
        git("fetch", "-q", "origin", cwd=self.work)
        git("reset", "-q", "--hard", "origin/main", cwd=self.work)
        old_main = git("rev-parse", "HEAD", cwd=self.work).stdout.strip()
        change(self.work)
        git("add", "-A", cwd=self.work)
        git("commit", "-qm", "offline edit", cwd=self.work)
        pushed = git("push", "-q", "origin", "main", cwd=self.work, check=False)
        assert pushed.returncode == 0, pushed.stderr
        self.unloaded_pushes.append(old_main)

    @rule()
    def load_pushes(self):
        """What the post-receive hook's task does: number new tickets, sync."""
        for old_main in self.unloaded_pushes:
            load_json.call_local(str(self.config.home), RELPATH, old_main)
        self.unloaded_pushes.clear()

    # Syncs ----------------------------------------------------------------

    @rule()
    def sync(self):
        sync_repo(self.engine, self.config.repositories, RELPATH)

    @rule()
    def check_against_rebuild(self):
        self.load_pushes()
        sync_repo(self.engine, self.config.repositories, RELPATH)
        assert dump(self.engine) == rebuilt_dump(self.config)


@pytest.fixture(autouse=True, scope="module")
def _homes_in_pytest_tmp(tmp_path_factory):
    TicketSyncMachine.homes = tmp_path_factory.mktemp("sync-machine")
    yield
    TicketSyncMachine.homes = None


TicketSyncMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=10,
    deadline=None,
    database=None,  # each run explores afresh; a failure prints its steps
    suppress_health_check=[HealthCheck.too_slow],
)
test_incremental_sync_equals_a_full_rebuild = TicketSyncMachine.TestCase


def _write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


# Export and import -----------------------------------------------------------

# (author, body, body after an edit or None)
comment_lists = st.lists(st.tuples(actor, body, st.one_of(st.none(), body)), max_size=3)


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "home")


_imports = itertools.count()


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(title=line, text=body, private=st.booleans(), tags=tags, who=assignee,
       why=st.one_of(st.none(), line), notes=comment_lists)  # fmt: skip
def test_an_exported_ticket_loads_back_the_same(
    site, title, text, private, tags, who, why, notes
):
    engine = engine_for(site)
    with TicketRepo(site.repositories / RELPATH) as source:
        uid = _make_ticket(source, title, text, private, tags, who, why, notes)
        ticket, comments = source.ticket(uid), source.comments(uid)
        source_tree = source.snapshot().tree[uid_folder(uid)].id
    sync_repo(engine, site.repositories, RELPATH)

    target = f"imported{next(_imports)}"
    create_project(site, target, "admin")
    relpath = f"tickets/{target}.git"
    files = {ticket_path(uid): ticket}
    files |= {comment_path(uid, note["uid"]): note for note in comments}
    with TicketRepo(site.repositories / relpath) as copy:
        numbers = {"format": 1, "next": ticket["number"] + 1}
        copy.transact(lambda _: {**files, NUMBERS_FILE: numbers}, ADMIN, "Import")
        assert copy.ticket(uid) == ticket
        assert copy.comments(uid) == comments
        assert copy.snapshot().tree[uid_folder(uid)].id == source_tree
    sync_repo(engine, site.repositories, relpath)
    imported = _rows_of(engine, uid, target)
    assert len(imported["tickets"]) == 1
    assert imported == _rows_of(engine, uid, "foo")


def _make_ticket(repo, title, text, private, tags, who, why, notes) -> str:
    uid = repo.create_ticket(ADMIN, title, text, private=private, tags=tags)["uid"]
    repo.update_ticket(uid, ADMIN, assignee=who)
    if why is not None:
        repo.close_ticket(uid, ADMIN, why)
    for author, first, edited in notes:
        note = repo.add_comment(uid, author, first)
        if edited is not None:
            repo.edit_comment(uid, note["uid"], author, edited)
    return uid


def _rows_of(engine, uid: str, project: str) -> dict[str, list[dict]]:
    """The index rows of one ticket of `project`, without the project."""
    rows: dict[str, list[dict]] = {}
    for table, texts in dump(engine).items():
        for text in texts:
            row = json.loads(text)
            if row.get("project") != project:
                continue
            if uid in (row.get("uid"), row.get("ticket"), row.get("source_uid")):
                del row["project"]
                rows.setdefault(table, []).append(row)
    return rows
