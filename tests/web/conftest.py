"""Fixtures for the web tests: a real site home and a Flask test client.

The suite's top conftest points GITFORGE_HOME at a throwaway folder before
gitforge.tasks.queue is imported and runs tasks inline (Huey's immediate
mode); these fixtures build on that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitforge.config import Config
from gitforge.store.site import NewUser
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import init_site

ADMIN_PASSWORD = "secret-pw1"


@pytest.fixture
def site_home(tmp_path: Path) -> Config:
    """A site with an admin account and two projects, `foo` and `ns/bar`."""
    config = Config(tmp_path / "home")
    init_site(
        config,
        NewUser("admin", "admin@example.org", "Ad Min", ADMIN_PASSWORD, admin=True),
    )
    create_project(config, "foo", "admin", "The foo project")
    create_project(config, "ns/bar", "admin", "A namespaced project")
    return config


@pytest.fixture
def app(site_home: Config):
    from gitforge.web.app import create_app

    app = create_app(site_home)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()
