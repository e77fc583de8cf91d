"""Hostile pushes to document repos, through the real hooks: what the hook
prints back, files that belong to nothing, and site documents that would
break a fork's rules. A refused push must change nothing."""

from __future__ import annotations

import uuid

from tests.conftest import git
from tests.hooks import test_site_push as site_tests
from tests.hooks import test_ticket_push as ticket_tests
from tests.hooks.test_site_push import _edit
from tests.hooks.test_site_push import _push as _push_site
from tests.hooks.test_ticket_push import _push, _state

# The hook tests' fixtures, by name: a clone of foo's ticket repo holding
# one ticket, and a clone of the site repo (`work`).
clone, work = ticket_tests.clone, site_tests.work


def test_hook_output_never_sends_control_characters_from_a_path(config, clone):
    tickets, _ticket = clone
    before = _state(config)
    # ESC and BEL: set the terminal's title and clear its screen.
    (tickets / "\x1b]0;owned\x07\x1b[2J.txt").write_text("x")
    pushed = _push(tickets)
    assert pushed.returncode != 0 and "unexpected file" in pushed.stderr
    hook_lines = [line for line in pushed.stderr.splitlines() if "gitforge:" in line]
    assert not any("\x1b" in line or "\x07" in line for line in hook_lines)
    assert _state(config) == before


def test_attachment_of_a_ticket_that_does_not_exist_is_refused(config, clone):
    tickets, _ticket = clone
    before = _state(config)
    uid = uuid.uuid4().hex
    files = tickets / uid[-2:] / uid / "files"
    files.mkdir(parents=True)
    (files / "payload.bin").write_bytes(b"\x00" * 1000)
    pushed = _push(tickets)
    # As a comment on a ticket that does not exist is refused.
    assert pushed.returncode != 0, pushed.stderr
    assert _state(config) == before


def test_site_push_cannot_give_a_fork_to_another_owner(config, work):
    from gitforge.tasks.forks import fork_project

    fork_project(config, "foo", "carol")
    git("pull", "-q", "origin", "main", cwd=work)
    site = config.repositories / "site.git"
    before = git("rev-parse", "main", cwd=site).stdout
    # forks/carol/foo is carol's by its name, as add_project insists.
    _edit(work, "projects/forks/carol/foo.json", owner="admin")
    pushed = _push_site(work)
    assert pushed.returncode != 0 and "owner" in pushed.stderr
    assert git("rev-parse", "main", cwd=site).stdout == before
