"""The same sync on PostgreSQL, the scale-out index.

Uses a database of its own on the local server (127.0.0.1:5432, trust auth),
dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from gitforge.config import Config
from gitforge.index.db import make_engine, reset
from gitforge.index.sync import sync_all, sync_repo
from gitforge.store.documents import Identity
from gitforge.store.site import NewUser
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import init_site
from tests.index.test_sync import dump

SERVER = os.environ.get(
    "GITFORGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432"
)


def _admin_engine():
    psycopg = pytest.importorskip("psycopg", reason="pip install 'psycopg[binary]'")
    try:
        psycopg.connect(SERVER + "/test").close()
    except psycopg.OperationalError as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {SERVER}: {err}")
    return create_engine(SERVER + "/test", isolation_level="AUTOCOMMIT")


@pytest.fixture
def postgres_url():
    admin = _admin_engine()
    name = f"gitforge_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgres_index_matches_a_rebuild(tmp_path, postgres_url):
    config = Config(tmp_path / "home", {"database_url": postgres_url})
    init_site(config, NewUser("admin", "admin@example.org", password="secret-pw1",
                              admin=True))  # fmt: skip
    create_project(config, "foo", "admin")
    engine = make_engine(postgres_url)
    relpath = "tickets/foo.git"
    author = Identity("admin", "admin@example.org")
    with TicketRepo(config.repositories / relpath) as tickets:
        for title in ("One", "Two", "Three"):
            made = tickets.create_ticket(author, title, tags=["pg"])
            tickets.add_comment(made["uid"], author, f"about {title}")
            sync_repo(engine, config.repositories, relpath)
        tickets.close_ticket(made["uid"], author, "Done")
    sync_repo(engine, config.repositories, relpath)
    incremental = dump(engine)
    assert len(incremental["tickets"]) == 3 and len(incremental["comments"]) == 3
    reset(engine)
    sync_all(engine, config.repositories)
    assert dump(engine) == incremental
    engine.dispose()
