"""The reconciler on a real home: branches moved without a hook reach the
index, bursts are synced once, and it starts and stops with its process."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gitforge.cli import main
from gitforge.config import Config
from gitforge.index import queries, request_queries, schema
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.site import SiteRepo
from gitforge.store.tickets import TicketRepo
from gitforge.tasks import pull_requests as prs
from gitforge.tasks import reconciler as reconciler_module
from gitforge.tasks.projects import create_project
from gitforge.tasks.reconciler import Reconciler, changed_repo, reconcile_enabled
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
TICKETS = "tickets/foo.git"


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


@pytest.fixture
def project(config):
    create_project(config, "foo", "admin")
    return config


@pytest.fixture
def start(project):
    """Start a reconciler on the home (stopped after the test)."""
    started = []

    def start_one(**timings):
        reconciler = Reconciler(project, **timings).start()
        started.append(reconciler)
        assert reconciler.wait_ready(10)
        return reconciler

    yield start_one
    for reconciler in started:
        reconciler.stop()


def titles(config, fullname="foo") -> list[str]:
    engine = engine_for(config)
    query = (
        select(schema.tickets.c.title)
        .join(schema.projects, schema.projects.c.id == schema.tickets.c.project_id)
        .where(schema.projects.c.fullname == fullname)
        .order_by(schema.tickets.c.number)
    )
    with engine.connect() as conn:
        return conn.execute(query).scalars().all()


def new_ticket(config, title, relpath=TICKETS) -> dict:
    """A ticket committed straight into the repo: no hook, no sync."""
    with TicketRepo(config.repositories / relpath) as tickets:
        return tickets.create_ticket(ADMIN, title)


def tip(repo) -> str:
    return git("rev-parse", "main", cwd=repo).stdout.strip()


def synced_lines(caplog, relpath):
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(f"reconciler synced {relpath} ")
    ]


# -- which paths count ---------------------------------------------------------


@pytest.mark.parametrize(
    "path, repo",
    [
        ("tickets/foo.git/refs/heads/main", TICKETS),
        ("tickets/ns/foo.git/refs/heads/feature/x", "tickets/ns/foo.git"),
        ("requests/forks/ann/ns/foo.git/packed-refs", "requests/forks/ann/ns/foo.git"),
        ("site.git/refs/heads/main", "site.git"),
        ("foo.git/refs/heads/topic", "foo.git"),
        ("tickets/foo.git", TICKETS),  # a new repo
        ("tickets/foo.git/refs/heads/main.lock", None),
        ("tickets/foo.git/packed-refs.lock", None),
        ("tickets/foo.git/objects/ab/cdef", None),
        ("tickets/foo.git/refs/tags/v1", None),
        ("tickets/foo.git/logs/refs/heads/main", None),
        ("tickets", None),
        ("a/b/c/d/e/f.git/refs/heads/main", None),  # no repo of the layout
        ("../elsewhere.git/refs/heads/main", None),
    ],
)
def test_changed_repo_maps_ref_files_to_their_repo(tmp_path, path, repo):
    root = tmp_path / "repositories"
    assert changed_repo(root, str(root / path)) == repo


# -- following the branches ----------------------------------------------------


def test_update_ref_behind_the_forge_reaches_the_index(project, start, caplog):
    caplog.set_level("INFO", logger="gitforge")
    start()
    repo = project.repositories / TICKETS
    new_ticket(project, "Written on disk")
    assert wait_for(lambda: titles(project) == ["Written on disk"])
    git("update-ref", "refs/heads/main", "main~1", cwd=repo)
    assert wait_for(lambda: titles(project) == [])
    assert wait_for(lambda: len(synced_lines(caplog, TICKETS)) == 2)
    assert "(its refs changed on disk)" in synced_lines(caplog, TICKETS)[-1]


def test_a_push_into_a_repo_without_hooks_reaches_the_index(project, start, tmp_path):
    repo = project.repositories / TICKETS
    made = new_ticket(project, "Old title")
    sync_repo(engine_for(project), project.repositories, TICKETS)
    for hook in (repo / "hooks").iterdir():
        hook.unlink()
    start()
    work = tmp_path / "work"
    git("clone", "-q", str(repo), str(work))
    path = work / uid_folder(made["uid"]) / "ticket.json"
    path.write_text(path.read_text().replace("Old title", "New title"))
    git("commit", "-qam", "retitle", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    assert wait_for(lambda: titles(project) == ["New title"])


def test_a_packed_refs_file_restored_from_a_backup_is_followed(project, start):
    repo = project.repositories / TICKETS
    git("pack-refs", "--all", cwd=repo)
    backup = repo.parent / "packed-refs.backup"
    shutil.copy(repo / "packed-refs", backup)
    start()
    new_ticket(project, "Lost in the restore")
    assert wait_for(lambda: titles(project) == ["Lost in the restore"])
    git("pack-refs", "--all", cwd=repo)  # the branch now lives in packed-refs
    assert not (repo / "refs" / "heads" / "main").exists()
    shutil.copy(backup, repo / "packed-refs")
    assert wait_for(lambda: titles(project) == [])


def test_the_start_up_pass_catches_what_moved_while_it_was_stopped(
    project, start, caplog
):
    caplog.set_level("INFO", logger="gitforge")
    new_ticket(project, "Made while nobody watched")
    assert titles(project) == []
    start()  # returns once the start-up pass is done
    assert titles(project) == ["Made while nobody watched"]
    (line,) = synced_lines(caplog, TICKETS)
    assert "(changed while no reconciler ran)" in line


def test_a_burst_of_changes_is_synced_once_per_repo(project, start, monkeypatch):
    create_project(project, "bar", "admin")
    commits = {}
    for fullname in ("foo", "bar"):
        relpath = f"tickets/{fullname}.git"
        commits[relpath] = []
        for n in range(4):
            new_ticket(project, f"{fullname} {n}", relpath)
            commits[relpath].append(tip(project.repositories / relpath))
        sync_repo(engine_for(project), project.repositories, relpath)
    synced = Counter()

    def counting_sync(engine, repositories, relpath):
        synced[relpath] += 1
        return sync_repo(engine, repositories, relpath)

    monkeypatch.setattr(reconciler_module, "sync_repo", counting_sync)
    start(debounce=0.5, max_wait=5.0)
    for step in range(12):  # 24 moves, ending two tickets back
        for relpath, made in commits.items():
            target = made[step % 2]
            git("update-ref", "refs/heads/main", target,
                cwd=project.repositories / relpath)  # fmt: skip
    assert wait_for(lambda: titles(project, "bar") == ["bar 0", "bar 1"])
    assert wait_for(lambda: titles(project, "foo") == ["foo 0", "foo 1"])
    time.sleep(1)  # anything still to come would come now
    assert synced == {"tickets/foo.git": 1, "tickets/bar.git": 1}


def test_stopping_it_stops_its_threads_and_its_syncs(project, start):
    before = set(threading.enumerate())
    reconciler = start()
    assert reconciler.running
    reconciler.stop()
    assert not reconciler.running
    assert wait_for(lambda: set(threading.enumerate()) <= before, 5)
    new_ticket(project, "Nobody is watching")
    time.sleep(1)
    assert titles(project) == []


# -- repos that wait for each other ----------------------------------------------


def _project_behind_the_index(config, fullname):
    """A project whose site entry, ticket repo and ticket are in git but
    not in the index (as a restore from a backup leaves them)."""
    with SiteRepo.open(config.repositories) as site:
        site.add_project(fullname, "admin", "", ADMIN)
    TicketRepo.create(config.repositories / f"tickets/{fullname}.git").close()
    new_ticket(config, "Restored", f"tickets/{fullname}.git")
    assert queries.project(engine_for(config), fullname) is None


def test_a_ticket_repo_seen_before_its_project_waits_for_the_site(project):
    _project_behind_the_index(project, "restored")
    Reconciler(project).reconcile("tickets/restored.git", "test")
    # Syncing it alone would record its commit with no ticket loaded.
    assert titles(project, "restored") == ["Restored"]


def test_a_site_sync_that_brings_a_project_syncs_its_repos(project):
    _project_behind_the_index(project, "restored")
    Reconciler(project).reconcile("site.git", "test")
    assert titles(project, "restored") == ["Restored"]


# -- code repos ------------------------------------------------------------------


@pytest.fixture
def pull_request(project, tmp_path):
    """Pull request #1 of foo, from its branch topic into main."""
    work = tmp_path / "code"
    git("init", "-q", "-b", "main", str(work))
    (work / "a.txt").write_text("a\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "First", cwd=work)
    git("checkout", "-qb", "topic", cwd=work)
    (work / "b.txt").write_text("b\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Topic", cwd=work)
    code = project.repositories / "foo.git"
    git("fetch", "-q", str(work), "main:main", "topic:topic", cwd=code)
    prs.open_pull_request(project, "foo", ADMIN, prs.Branch("foo", "topic"),
                          "main", "Topic")  # fmt: skip
    return work


def _head(config):
    engine = engine_for(config)
    return request_queries.request(engine, queries.project(engine, "foo"), 1).head


def _commit_on_topic(work) -> str:
    (work / "c.txt").write_text("c\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "More", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def test_a_code_branch_fetched_by_a_mirror_job_refreshes_its_pull_request(
    project, pull_request, start
):
    start(code_repo_delay=0.2)
    new_head = _commit_on_topic(pull_request)
    # A fetch runs no receive hook: only the reconciler can see it.
    code = project.repositories / "foo.git"
    git("fetch", "-q", str(pull_request), "topic:topic", cwd=code)
    assert wait_for(lambda: _head(project) == new_head)


def test_the_start_up_pass_refreshes_pull_requests_whose_branch_moved(
    project, pull_request, start
):
    new_head = _commit_on_topic(pull_request)
    code = project.repositories / "foo.git"
    git("fetch", "-q", str(pull_request), "topic:topic", cwd=code)
    assert _head(project) != new_head
    start()
    assert _head(project) == new_head


# -- the setting ---------------------------------------------------------------------


def test_the_reconcile_setting_is_on_off_or_refused(tmp_path):
    assert reconcile_enabled(Config(tmp_path))  # on by default
    assert not reconcile_enabled(Config(tmp_path, {"reconcile": "Off"}))
    assert reconcile_enabled(Config(tmp_path, {"reconcile": "yes"}))
    with pytest.raises(ValueError, match="setting reconcile is 'maybe': use on or"):
        reconcile_enabled(Config(tmp_path, {"reconcile": "maybe"}))


@pytest.fixture
def idle_worker(monkeypatch):
    """`gitforge worker` and `serve` with a consumer and a web server that
    return at once, and a record of the reconcilers they start and stop."""

    class Idle:
        port = 0

        def run(self):
            pass

        def serve_forever(self):
            pass

        def stop(self, graceful=True):
            pass

    monkeypatch.setattr("gitforge.tasks.queue.make_consumer", lambda workers: Idle())
    monkeypatch.setattr("gitforge.tasks.queue.start_consumer", lambda workers: Idle())
    monkeypatch.setattr("werkzeug.serving.make_server", lambda *a, **kw: Idle())
    monkeypatch.setattr("gitforge.cli.signal.signal", lambda *args: None)
    monkeypatch.setenv("GITFORGE_HOME", os.environ["GITFORGE_HOME"])
    calls = []
    original_start, original_stop = Reconciler.start, Reconciler.stop

    def start(self):
        calls.append("start")
        return original_start(self)

    def stop(self, timeout=10.0):
        calls.append("stop")
        original_stop(self, timeout)

    monkeypatch.setattr(Reconciler, "start", start)
    monkeypatch.setattr(Reconciler, "stop", stop)
    return calls


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("setting, calls", [("on", ["start", "stop"]), ("off", [])])
def test_serve_and_worker_run_the_reconciler_unless_it_is_off(
    config, idle_worker, monkeypatch, command, setting, calls
):
    monkeypatch.setenv("GITFORGE_RECONCILE", setting)
    done = CliRunner().invoke(main, [command, "--home", str(config.home)])
    assert done.exit_code == 0, done.output
    assert idle_worker == calls


def test_a_bad_reconcile_setting_stops_the_worker_with_a_clear_error(
    config, idle_worker, monkeypatch
):
    monkeypatch.setenv("GITFORGE_RECONCILE", "maybe")
    done = CliRunner().invoke(main, ["worker", "--home", str(config.home)])
    assert done.exit_code == 1
    assert done.output.endswith("Error: setting reconcile is 'maybe': use on or off\n")
    assert idle_worker == []
