"""`gitforge fsck`: the index compared with git, differences reported, and
`--repair` bringing the differing repos back."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, update

from gitforge.cli import main
from gitforge.index import schema
from gitforge.index.compare import COMPARED_TABLES, NOT_DOCUMENTS, dump
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.requests import RequestRepo, part_path, request_path
from gitforge.store.site import NewUser
from gitforge.store.tickets import TicketRepo, ticket_path
from gitforge.tasks.forks import fork_project
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
FORK = "forks/alice/foo"


@pytest.fixture
def fsck(monkeypatch):
    """Run `gitforge fsck ARGS --home HOME` in this process."""
    monkeypatch.setenv("GITFORGE_HOME", os.environ["GITFORGE_HOME"])

    def invoke(config, *args):
        return CliRunner().invoke(main, ["fsck", *args, "--home", str(config.home)])

    return invoke


@pytest.fixture
def site(config, tmp_path):
    """Project foo and alice's fork of it, each with two tickets (one with a
    comment) and a pull request with a CI flag, all synced."""
    source = tmp_path / "source"
    git("init", "-q", "-b", "main", str(source))
    (source / "README.md").write_text("# Foo\n")
    git("add", "-A", cwd=source)
    git("commit", "-qm", "First", cwd=source)
    create_project(config, "foo", "admin", "Foo", source=str(source))
    add_user(config, NewUser("alice", "alice@example.org", "Alice", "pw-123456"))
    fork_project(config, "foo", "alice")
    config.made = {fullname: _fill(config, fullname) for fullname in ("foo", FORK)}
    return config


def _fill(config, fullname) -> dict:
    engine = engine_for(config)
    tickets_relpath = f"tickets/{fullname}.git"
    requests_relpath = f"requests/{fullname}.git"
    with TicketRepo(config.repositories / tickets_relpath) as tickets:
        first = tickets.create_ticket(ADMIN, f"First of {fullname}", tags=["bug"])
        tickets.add_comment(first["uid"], ADMIN, "see #2")
        second = tickets.create_ticket(ADMIN, f"Second of {fullname}")
    with RequestRepo(config.repositories / requests_relpath) as requests:
        made = requests.open_request(
            ADMIN, 3, title=f"PR of {fullname}", source_repo=fullname,
            source_branch="topic", target_branch="main", base="d" * 40,
            head="c" * 40,
        )  # fmt: skip
        flag = requests.set_flag(made["uid"], ADMIN, name="ci", status="success",
                                 percent=None, comment="green", url=None)  # fmt: skip
    for relpath in (tickets_relpath, requests_relpath):
        sync_repo(engine, config.repositories, relpath)
    return {"first": first, "second": second, "request": made, "flag": flag}


def _execute(config, statement):
    with engine_for(config).begin() as conn:
        conn.execute(statement)


def _lines(output):
    return output.strip().splitlines()


def test_every_document_table_is_compared():
    assert COMPARED_TABLES | NOT_DOCUMENTS == set(schema.metadata.tables)


def test_a_clean_index_passes(site, fsck):
    done = fsck(site)
    assert done.exit_code == 0, done.output
    # site.git, and the ticket and request repos of foo and of the fork
    assert _lines(done.output) == ["The index matches git in all 5 repos"]


def test_a_deleted_ticket_row_is_reported_then_repaired(site, fsck):
    ticket = site.made["foo"]["first"]
    before = dump(engine_for(site))
    _execute(site, delete(schema.tickets).where(schema.tickets.c.uid == ticket["uid"]))
    done = fsck(site)
    assert done.exit_code == 1
    where = f"tickets/foo.git: {ticket_path(ticket['uid'])}"
    lines = _lines(done.output)
    assert f"{where}: tickets row is missing from the index" in lines
    assert f"{where}: ticket_tags row (tag 'bug') is missing from the index" in lines
    # Its comment went with it (the foreign key cascades).
    assert any(
        line.startswith(f"tickets/foo.git: {uid_folder(ticket['uid'])}/comments/")
        and line.endswith(": comments row is missing from the index")
        for line in lines
    )
    assert lines[-1] == (
        "1 of 5 repos differ from git; `gitforge fsck --repair` re-syncs them"
    )

    repaired = fsck(site, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert _lines(repaired.output)[-2:] == [
        "Re-synced tickets/foo.git",
        "Repaired 1 repos; the index now matches git",
    ]
    assert dump(engine_for(site)) == before
    assert fsck(site).exit_code == 0


def test_a_title_changed_in_the_database_is_reported_in_the_fork(site, fsck):
    ticket = site.made[FORK]["second"]
    _execute(
        site,
        update(schema.tickets)
        .where(schema.tickets.c.uid == ticket["uid"])
        .values(title="Edited in SQL"),
    )
    done = fsck(site)
    assert done.exit_code == 1
    assert _lines(done.output)[0] == (
        f"tickets/{FORK}.git: {ticket_path(ticket['uid'])}: tickets.title differs: "
        f"index 'Edited in SQL', git 'Second of {FORK}'"
    )
    assert fsck(site, "--repair").exit_code == 0
    assert fsck(site).exit_code == 0


def test_a_branch_moved_behind_the_index_is_reported(site, fsck):
    repo = site.repositories / "tickets/foo.git"
    synced = git("rev-parse", "main", cwd=repo).stdout.strip()
    second = site.made["foo"]["second"]
    git("update-ref", "refs/heads/main", "main~1", cwd=repo)  # drops "Second"
    tip = git("rev-parse", "main", cwd=repo).stdout.strip()
    done = fsck(site)
    assert done.exit_code == 1
    assert _lines(done.output)[:2] == [
        f"tickets/foo.git: recorded commit {synced[:12]} is not the branch tip "
        f"{tip[:12]}",
        f"tickets/foo.git: {ticket_path(second['uid'])}: tickets row is in the "
        "index but not in git",
    ]
    assert fsck(site, "--repair").exit_code == 0
    assert fsck(site).exit_code == 0
    titles = [row for row in dump(engine_for(site))["tickets"] if "Second of" in row]
    assert len(titles) == 1  # only the fork's is left


def test_request_repos_and_the_site_repo_are_checked(site, fsck):
    engine = engine_for(site)
    request, flag = site.made[FORK]["request"], site.made[FORK]["flag"]["uid"]
    _execute(site, delete(schema.request_flags))
    _execute(site, insert(schema.users).values(
        name="ghost", full_name="", email="g@example.org", emails="[]",
        password_hash=None, admin=False, created="2026-01-01T00:00:00Z"))  # fmt: skip
    done = fsck(site)
    assert done.exit_code == 1
    lines = _lines(done.output)
    assert "site.git: users/ghost.json: users row is in the index but not in git" in (
        lines
    )
    flag_path = part_path(request["uid"], "flags", flag)
    assert (
        f"requests/{FORK}.git: {flag_path}: request_flags row is missing from the index"
        in lines
    )
    assert lines[-1].startswith("3 of 5 repos differ from git")
    assert request_path(request["uid"]) not in done.output  # the rest matches

    repaired = fsck(site, "--repair")
    assert repaired.exit_code == 0, repaired.output
    synced = [line for line in _lines(repaired.output) if "Re-synced" in line]
    assert synced == [  # the site repo first: the others hang on its projects
        "Re-synced site.git",
        "Re-synced requests/foo.git",
        f"Re-synced requests/{FORK}.git",
    ]
    assert fsck(site).exit_code == 0
    assert not any('"ghost"' in row for row in dump(engine)["users"])
