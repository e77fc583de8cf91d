"""Pull request operations on real repos: open, refresh, merge status,
merge, close, reopen, and the tickets a merge fixes."""

from __future__ import annotations

import pytest

from gitforge.index import queries, request_queries
from gitforge.index.db import engine_for
from gitforge.store.documents import Identity
from gitforge.store.errors import InvalidName
from gitforge.store.requests import RequestRepo
from gitforge.store.tickets import TicketRepo
from gitforge.tasks import pull_requests as prs
from gitforge.tasks.projects import create_project
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
ODD_BRANCH = "feature/ünï.code+x@y"


@pytest.fixture
def project(config, tmp_path):
    """Project foo with main (one commit) and a pushed work clone."""
    create_project(config, "foo", "admin")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    _commit(work, "shared.txt", "one\ntwo\nthree\n", "First")
    git("push", "-q", str(config.repositories / "foo.git"), "main", cwd=work)
    return config, work


def _commit(work, name, text, message):
    (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def _push(config, work, *refspecs, force=False):
    args = ["push", "-q"] + (["--force"] if force else [])
    git(*args, str(config.repositories / "foo.git"), *refspecs, cwd=work)


def _branch_with(config, work, branch, name, text, message):
    git("checkout", "-q", "-b", branch, "main", cwd=work)
    head = _commit(work, name, text, message)
    _push(config, work, f"{branch}:refs/heads/{branch}")
    git("checkout", "-q", "main", cwd=work)
    return head


def _open(config, branch, title="Change", description=""):
    source = prs.Branch("foo", branch)
    return prs.open_pull_request(config, "foo", ADMIN, source, "main", title,
                                 description)  # fmt: skip


def _code(config, *args):
    return git(*args, cwd=config.repositories / "foo.git").stdout.strip()


def _stored(config, uid):
    with RequestRepo(config.repositories / "requests/foo.git") as requests:
        return requests.request(uid)


def test_open_records_range_head_ref_and_merge_status(project):
    config, work = project
    head = _branch_with(config, work, ODD_BRANCH, "new.txt", "new\n", "Add new")
    doc = _open(config, ODD_BRANCH)
    assert doc["number"] == 1 and doc["head"] == head
    assert doc["base"] == _code(config, "rev-parse", "main")
    assert _code(config, "rev-parse", "refs/pull/1/head") == head
    assert _stored(config, doc["uid"])["merge_status"]["kind"] == "ffwd"
    engine = engine_for(config)
    row = request_queries.request(engine, queries.project(engine, "foo"), 1)
    assert row.merge_kind == "ffwd" and row.source_branch == ODD_BRANCH


def test_refused_branch_names_never_reach_git(project):
    config, _work = project
    for name in ("-upload-pack=touch x", "a..b", "x\ny", "--help"):
        with pytest.raises(InvalidName):
            _open(config, name)
    with TicketRepo(config.repositories / "tickets/foo.git") as tickets:
        assert tickets.read("numbers.json")["next"] == 1  # no number taken


def test_force_push_refreshes_range_and_keeps_discussion(project):
    config, work = project
    first = _branch_with(config, work, "topic", "a.txt", "a\n", "A")
    doc = _open(config, "topic")
    with RequestRepo(config.repositories / "requests/foo.git") as requests:
        inline = {"commit": first, "path": "a.txt", "line": 1, "side": "new"}
        requests.add_comment(doc["uid"], ADMIN, "say more", inline=inline)
    git("checkout", "-q", "topic", cwd=work)
    git("commit", "-q", "--amend", "-m", "A, reworded", cwd=work)
    rewritten = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    _push(config, work, "topic", force=True)
    prs.refresh_after_push(config, "foo", ["topic"])
    stored = _stored(config, doc["uid"])
    assert stored["head"] == rewritten
    assert _code(config, "rev-parse", "refs/pull/1/head") == rewritten
    with RequestRepo(config.repositories / "requests/foo.git") as requests:
        [update] = requests.updates(doc["uid"])
        assert update["forced"] and update["old_head"] == first
        assert len(requests.comments(doc["uid"])) == 1


def test_merge_fast_forwards_and_closes_fixed_tickets(project):
    config, work = project
    with TicketRepo(config.repositories / "tickets/foo.git") as tickets:
        ticket = tickets.create_ticket(ADMIN, "Broken")
    prs._sync(config, "foo", prs.RepoKind.TICKETS)
    head = _branch_with(config, work, "fix", "a.txt", "a\n", "Repair\n\nFixes #1")
    doc = _open(config, "fix")
    outcome = prs.merge_pull_request.call_local(str(config.home), "foo",
                                                doc["uid"], "admin")  # fmt: skip
    assert outcome == {"ok": True, "kind": "ffwd", "commit": head}
    assert _code(config, "rev-parse", "main") == head
    stored = _stored(config, doc["uid"])
    assert stored["status"] == "Merged" and stored["merge_commit"] == head
    with TicketRepo(config.repositories / "tickets/foo.git") as tickets:
        closed = tickets.ticket(ticket["uid"])
    assert closed["status"] == "Closed"
    assert closed["close_reason"] == f"Fixed by pull request #{doc['number']}"


def test_merge_commit_when_both_sides_moved(project):
    config, work = project
    head = _branch_with(config, work, "side", "b.txt", "b\n", "B")
    doc = _open(config, "side")
    main = _commit(work, "c.txt", "c\n", "C on main")
    _push(config, work, "main")
    prs.refresh_after_push(config, "foo", ["main"])
    assert _stored(config, doc["uid"])["merge_status"]["kind"] == "merge"
    outcome = prs.merge_pull_request.call_local(str(config.home), "foo",
                                                doc["uid"], "admin")  # fmt: skip
    assert outcome["kind"] == "merge"
    parents = _code(config, "rev-list", "--parents", "-n1", "main").split()[1:]
    assert parents == [main, head]


def test_conflicts_are_named_and_nothing_changes(project):
    config, work = project
    _branch_with(config, work, "clash", "shared.txt", "mine\n", "Mine")
    doc = _open(config, "clash")
    _commit(work, "shared.txt", "theirs\n", "Theirs")
    _push(config, work, "main")
    prs.refresh_after_push(config, "foo", ["main"])
    status = _stored(config, doc["uid"])["merge_status"]
    assert status["kind"] == "conflicts" and status["conflicts"] == ["shared.txt"]
    refs_before = _code(config, "for-each-ref")
    outcome = prs.merge_pull_request.call_local(str(config.home), "foo",
                                                doc["uid"], "admin")  # fmt: skip
    assert outcome["ok"] is False and outcome["conflicts"] == ["shared.txt"]
    assert _code(config, "for-each-ref") == refs_before
    assert _stored(config, doc["uid"])["status"] == "Open"


def test_close_reopen_and_no_merge_when_closed(project):
    config, work = project
    _branch_with(config, work, "idea", "d.txt", "d\n", "D")
    doc = _open(config, "idea")
    prs.close_pull_request(config, "foo", doc["uid"], ADMIN)
    refused = prs.merge_pull_request.call_local(str(config.home), "foo",
                                                doc["uid"], "admin")  # fmt: skip
    assert refused["ok"] is False and "closed" in refused["reason"]
    with pytest.raises(
        prs.PullRequestError, match="is closed; only open ones can be closed"
    ):
        prs.close_pull_request(config, "foo", doc["uid"], ADMIN)
    prs.reopen_pull_request(config, "foo", doc["uid"], ADMIN)
    assert _stored(config, doc["uid"])["status"] == "Open"


def test_delete_source_branch_after_merge(project):
    config, work = project
    _branch_with(config, work, "gone/soon", "e.txt", "e\n", "E")
    doc = _open(config, "gone/soon")
    prs.merge_pull_request.call_local(str(config.home), "foo", doc["uid"], "admin",
                                      delete_source=True)  # fmt: skip
    assert "gone/soon" not in _code(config, "branch", "--list")


def test_push_of_a_new_branch_prints_where_to_open_a_pull_request(project):
    config, work = project
    git("checkout", "-q", "-b", ODD_BRANCH, cwd=work)
    _commit(work, "f.txt", "f\n", "F")
    pushed = git("push", str(config.repositories / "foo.git"), ODD_BRANCH, cwd=work)
    assert f"remote: Create a pull request for {ODD_BRANCH}:" in pushed.stderr
    quoted = "feature/%C3%BCn%C3%AF.code%2Bx%40y"
    assert f"/foo/diff/main..{quoted}" in pushed.stderr
    again = git("push", str(config.repositories / "foo.git"), ODD_BRANCH, cwd=work)
    assert "Create a pull request" not in again.stderr  # only for new branches


def test_a_merge_keeps_the_branch_in_someone_elses_fork(config, tmp_path):
    from gitforge.store.site import NewUser
    from gitforge.tasks.forks import fork_project
    from gitforge.tasks.site import add_user

    # bob owns bar (a committer there, no site admin); alice forks it.
    for name in ("alice", "bob"):
        add_user(config, NewUser(name, f"{name}@example.org", name.title()))
    create_project(config, "bar", "bob")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    _commit(work, "a.txt", "a\n", "First")
    git("push", "-q", str(config.repositories / "bar.git"), "main", cwd=work)
    fork_project(config, "bar", "alice")
    fork = config.repositories / "forks/alice/bar.git"
    git("checkout", "-q", "-b", "hers", cwd=work)
    _commit(work, "h.txt", "h\n", "Hers")
    git("push", "-q", str(fork), "hers", cwd=work)
    source = prs.Branch("forks/alice/bar", "hers")
    alice = Identity("alice", "alice@example.org")
    doc = prs.open_pull_request(config, "bar", alice, source, "main", "From a fork")
    merge = prs.merge_pull_request.call_local
    outcome = merge(str(config.home), "bar", doc["uid"], "bob", delete_source=True)
    assert outcome["ok"]
    assert "hers" in git("branch", "--list", cwd=fork).stdout
