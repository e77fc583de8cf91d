"""The `gitforge` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gitforge.cli import main
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.site import SiteRepo
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.projects import create_project
from tests.conftest import git
from tests.index.test_sync import dump


def run(home, *args, input=None, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "gitforge", *args, "--home", str(home)],
        input=input, capture_output=True, text=True,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    out = run(home, "init", "--admin", "root", "--email", "root@example.org",
              "--password-stdin", input="root-pw-123\n")  # fmt: skip
    assert "admin account: root" in out.stdout
    return home


def test_cli_init_refuses_a_second_site(home):
    again = run(home, "init", "--password-stdin", input="x-pw-12345\n", check=False)
    assert again.returncode != 0 and "already holds a site" in again.stderr


def test_cli_import_keeps_every_branch_and_tag(home, tmp_path):
    source = tmp_path / "source"
    git("init", "-q", "-b", "develop", str(source))
    (source / "a.txt").write_text("a\n")
    git("add", "-A", cwd=source)
    git("commit", "-qm", "one", cwd=source)
    git("branch", "release/1.x", cwd=source)
    git("tag", "-a", "v1", "-m", "v1", cwd=source)
    run(home, "project", "import", "tools/demo", str(source), "--owner", "root")
    imported = home / "repositories" / "tools" / "demo.git"
    assert git("for-each-ref", cwd=imported).stdout == \
        git("for-each-ref", cwd=source).stdout  # fmt: skip
    assert git("symbolic-ref", "HEAD", cwd=imported).stdout == "refs/heads/develop\n"
    assert git("remote", cwd=imported).stdout == ""
    hooks = imported / "hooks"
    assert (hooks / "pre-receive").exists() and (hooks / "post-receive").exists()


def test_cli_bad_names_get_a_clear_error(home):
    for name in ("-rf", "../escape", "a/b/c", "api", "x.git"):
        done = subprocess.run(
            [sys.executable, "-m", "gitforge", "project", "create", "--home",
             str(home), "--", name], capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode != 0
        assert "Error: invalid" in done.stderr and "Traceback" not in done.stderr
    assert not (home / "repositories" / "escape.git").exists()


def test_cli_import_of_a_missing_source_leaves_nothing(home, tmp_path):
    done = run(home, "project", "import", "ghost", str(tmp_path / "nope"),
               check=False)  # fmt: skip
    assert done.returncode != 0 and "could not import" in done.stderr
    assert not (home / "repositories" / "ghost.git").exists()
    assert not (home / "repositories" / "tickets" / "ghost.git").exists()


def test_cli_reindex_rebuilds_the_same_index(home):
    from gitforge.config import Config
    from gitforge.index.db import make_engine

    run(home, "user", "add", "bob", "--email", "bob@example.org",
        "--password-stdin", input="bob-pw-1234\n")  # fmt: skip
    run(home, "project", "create", "demo", "--owner", "bob", "--description", "D")
    engine = make_engine(Config(home).database_url)
    before = dump(engine)
    out = run(home, "reindex")
    assert re.search(r"^Reindexed \d+ repos, \d+ documents$", out.stdout, re.M)
    assert dump(engine) == before
    assert any('"bob"' in row for row in before["users"])


# -- in-process runs (click's CliRunner) -------------------------------------


@pytest.fixture
def cli(monkeypatch):
    """Run `gitforge ... --home HOME` in this process; GITFORGE_HOME, which
    the command sets, is put back afterwards."""
    monkeypatch.setenv("GITFORGE_HOME", os.environ["GITFORGE_HOME"])

    def invoke(home, *args, input=None):
        return CliRunner().invoke(main, [*args, "--home", str(home)], input=input)

    return invoke


@pytest.fixture
def idle_servers(monkeypatch):
    """`serve` and `worker` with their servers and consumer stubbed out, so
    that they return once started."""

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


def _ticket_clone(config, tmp_path):
    """The ticket repo of project foo with one ticket, cloned."""
    create_project(config, "foo", "admin")
    tickets = config.repositories / "tickets" / "foo.git"
    with TicketRepo(tickets) as repo:
        ticket = repo.create_ticket(Identity("admin", "admin@example.org"), "One")
    work = tmp_path / "work"
    git("clone", "-q", str(tickets), str(work))
    return tickets, work, ticket


def _push_ticket_change(work, ticket, **changes):
    path = work / uid_folder(ticket["uid"]) / "ticket.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    git("commit", "-qam", "edit", cwd=work)
    return git("push", "origin", "main", cwd=work, check=False)


def _repositories(home):
    """Every repository of the home, found without gitforge's help."""
    return [p for p in (home / "repositories").rglob("*.git") if (p / "HEAD").exists()]


def _move_interpreter(hook):
    """Make `hook` name an interpreter that is gone, as after a venv moved."""
    hook.write_text(hook.read_text().replace(sys.executable, "/moved/bin/python", 1))


def test_hooks_install_rewrites_a_hook_whose_interpreter_moved(config, tmp_path, cli):
    tickets, work, ticket = _ticket_clone(config, tmp_path)
    hook = tickets / "hooks" / "pre-receive"
    _move_interpreter(hook)
    done = cli(config.home, "hooks", "install")
    assert done.exit_code == 0, done.output
    assert done.output == (
        f"Rewrote the hooks of {len(_repositories(config.home))} repositories "
        "(1 of them pointed at another interpreter or home)\n"
    )
    assert hook.read_text().startswith(f"#!{sys.executable} -S\n")
    tip = git("rev-parse", "main", cwd=tickets).stdout
    refused = _push_ticket_change(work, ticket, status="Done")
    assert refused.returncode != 0
    assert f"gitforge: {uid_folder(ticket['uid'])}/ticket.json" in refused.stderr
    assert git("rev-parse", "main", cwd=tickets).stdout == tip
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    assert _push_ticket_change(work, ticket, title="Two").returncode == 0


def test_hooks_install_rewrites_hooks_that_name_another_home(config, cli, tmp_path):
    create_project(config, "ns/bar", "admin")
    moved = tmp_path / "moved-home"
    config.home.rename(moved)
    done = cli(moved, "hooks", "install")
    repos = _repositories(moved)
    assert {"site.git", "ns/bar.git", "tickets/ns/bar.git"} <= {
        repo.relative_to(moved / "repositories").as_posix() for repo in repos
    }
    assert done.output == (
        f"Rewrote the hooks of {len(repos)} repositories "
        f"({len(repos)} of them pointed at another interpreter or home)\n"
    )
    for repo in repos:
        for name in ("pre-receive", "post-receive"):
            script = (repo / "hooks" / name).read_text()
            assert repr(str(moved)) in script and str(config.home) not in script


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_repair_hooks_at_start(
    config, cli, idle_servers, caplog, command
):
    hook = config.repositories / "site.git" / "hooks" / "post-receive"
    _move_interpreter(hook)
    done = cli(config.home, command)
    assert done.exit_code == 0, done.output
    assert hook.read_text().startswith(f"#!{sys.executable} -S\n")
    repaired = [r for r in caplog.records if "rewrote the hooks" in r.getMessage()]
    assert len(repaired) == 1
    assert repaired[0].getMessage().startswith("rewrote the hooks of 1 repositories")
    caplog.clear()
    assert cli(config.home, command).exit_code == 0
    assert not any("rewrote the hooks" in r.getMessage() for r in caplog.records)


COMMANDS_NEEDING_A_SITE = [
    ["project", "create", "x"],
    ["project", "import", "x", "/nowhere"],
    ["user", "add", "bob", "--email", "bob@example.org", "--no-password"],
    ["reindex"],
    ["hooks", "install"],
    ["worker"],
]


@pytest.mark.parametrize("args", COMMANDS_NEEDING_A_SITE)
def test_a_home_without_site_gets_a_one_line_hint(tmp_path, cli, idle_servers, args):
    home = tmp_path / "no site here"
    done = cli(home, *args)
    assert done.exit_code == 1
    assert isinstance(done.exception, SystemExit)  # no traceback
    quoted = f"'{home}'"
    assert done.output == (
        f"Error: no gitforge site in {home}: create one with "
        f"`gitforge init --home {quoted}` (or `gitforge serve --home {quoted}`, "
        "which creates one on its first start)\n"
    )
    assert not home.exists()


def test_project_without_owner_belongs_to_the_only_admin(tmp_path, cli):
    home = tmp_path / "home"
    cli(home, "init", "--admin", "alice", "--email", "alice@example.org",
        "--password-stdin", input="alice-pw-123\n")  # fmt: skip
    assert cli(home, "project", "create", "tools/scripts").exit_code == 0
    done = cli(home, "project", "import", "copy", str(home / "repositories" /
               "tools" / "scripts.git"))  # fmt: skip
    assert done.exit_code == 0, done.output
    with SiteRepo.open(home / "repositories") as site:
        assert site.project("tools/scripts")["owner"] == "alice"
        assert site.project("copy")["owner"] == "alice"


def test_project_without_owner_is_refused_with_several_admins(config, cli):
    cli(config.home, "user", "add", "root", "--email", "root@example.org",
        "--admin", "--no-password")  # fmt: skip
    done = cli(config.home, "project", "create", "demo")
    assert done.exit_code != 0
    assert "several admins (admin, root): choose the owner with --owner" in (
        done.output
    )
    assert not (config.repositories / "demo.git").exists()
    assert (
        cli(config.home, "project", "create", "demo", "--owner", "root").exit_code == 0
    )
