"""Upgrades of repos made by older gitforge versions, run at start."""

from __future__ import annotations

from gitforge.index.db import engine_for
from gitforge.index.sync import recorded_commit
from gitforge.store.documents import SYSTEM, DocumentRepo
from gitforge.store.tickets import MERGE_ATTRIBUTES
from gitforge.tasks.maintenance import add_merge_attributes
from gitforge.tasks.projects import create_project


def test_old_document_repos_get_the_merge_attributes_once(config):
    create_project(config, "foo", "admin")
    old = config.repositories / "tickets" / "foo.git"
    with DocumentRepo(old) as repo:  # as a repo from before the driver
        repo.transact(lambda _s: {".gitattributes": None}, SYSTEM, "Older")
    assert add_merge_attributes(config) == ["tickets/foo.git"]
    with DocumentRepo(old) as repo:
        tip = repo.snapshot()
        assert tip.read_bytes(".gitattributes") == MERGE_ATTRIBUTES
    assert recorded_commit(engine_for(config), "tickets/foo.git") == str(tip.oid)
    assert add_merge_attributes(config) == []
