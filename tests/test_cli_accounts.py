"""`gitforge user add` refuses what registration refuses: the check is the
store's, shared by both."""

from __future__ import annotations

import os

from click.testing import CliRunner

from gitforge.cli import main
from gitforge.store.site import SiteRepo


def test_user_add_refuses_an_email_with_a_line_break(config, monkeypatch):
    monkeypatch.setenv("GITFORGE_HOME", os.environ["GITFORGE_HOME"])
    with SiteRepo.open(config.repositories) as site:
        before = site.tip().id

    done = CliRunner().invoke(main, [
        "user", "add", "dave", "--email", "dave@example.org\r\nBcc: all@example.org",
        "--no-password", "--home", str(config.home)])  # fmt: skip

    assert done.exit_code != 0
    assert "emails" in done.output
    assert "must not contain line breaks or other control characters" in done.output
    with SiteRepo.open(config.repositories) as site:
        assert site.tip().id == before
