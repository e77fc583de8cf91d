"""The refresh follows every site sync when the site uses gitolite, and
only then. (The suite runs tasks inline: Huey's immediate mode.)"""

from __future__ import annotations

import logging

from gitforge.gitolite.compile import gitolite_home
from gitforge.store import access
from gitforge.store.site import NewUser
from gitforge.tasks.access import change_site
from gitforge.tasks.projects import create_project
from tests.gitolite.programs import need


def use_gitolite(config, value: str) -> None:
    (config.home / "gitforge.cfg").write_text(f"[gitforge]\ngitolite = {value}\n")


def conf_text(config) -> str:
    path = gitolite_home(config) / "conf" / "gitolite.conf"
    return path.read_text() if path.exists() else ""


def add_alice(config) -> None:
    from gitforge.store.site import SiteRepo

    with SiteRepo.open(config.repositories) as site:
        site.add_user(NewUser("alice", "alice@example.org"))


def test_a_site_change_reaches_gitolite_when_on(config):
    need("gitolite")
    use_gitolite(config, "on")
    add_alice(config)
    create_project(config, "foo", "admin")  # its site sync writes the files
    assert "repo foo\n" in conf_text(config)

    change_site(config, access.grant, "foo", "alice", "collaborator", ["rel/*"])
    assert r"RW+ refs/heads/rel/.*$ = alice" in conf_text(config)
    change_site(config, access.revoke, "foo", "alice")
    assert "alice" not in conf_text(config)


def test_nothing_is_written_when_off(config):
    use_gitolite(config, "off")
    create_project(config, "foo", "admin")
    assert not gitolite_home(config).exists()


def test_missing_gitolite_is_logged_with_the_package_to_install(
    config, monkeypatch, caplog
):
    monkeypatch.setattr("gitforge.gitolite.compile.gitolite_program", lambda: None)
    use_gitolite(config, "on")
    with caplog.at_level(logging.ERROR):
        create_project(config, "foo", "admin")
    assert "install the Debian package gitolite3" in caplog.text
    assert not gitolite_home(config).exists()


def test_a_setting_that_is_neither_on_nor_off_is_refused(config, caplog):
    use_gitolite(config, "maybe")
    with caplog.at_level(logging.ERROR):
        create_project(config, "foo", "admin")
    assert "setting gitolite is 'maybe': use on or off" in caplog.text


def test_the_command_says_what_changed_or_what_is_missing(config, monkeypatch):
    from click.testing import CliRunner

    from gitforge.cli import main

    home = ["--home", str(config.home)]
    monkeypatch.setattr("gitforge.gitolite.compile.gitolite_program", lambda: None)
    missing = CliRunner().invoke(main, ["gitolite", *home])
    assert missing.exit_code == 1
    assert "install the Debian package gitolite3" in missing.output

    need("gitolite")
    monkeypatch.undo()
    first = CliRunner().invoke(main, ["gitolite", *home])
    assert first.exit_code == 0, first.output
    assert "gitolite.conf rewritten" in first.output
    assert "the setting gitolite is off" in first.output
    again = CliRunner().invoke(main, ["gitolite", *home])
    assert "nothing changed" in again.output
