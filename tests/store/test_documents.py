from __future__ import annotations

import threading

import pygit2
import pytest

from gitforge.store.documents import (
    DocumentRepo,
    Identity,
    Snapshot,
    canonical_json,
    init_document_repo,
)
from gitforge.store.errors import FormatError

ALICE = Identity("alice", "alice@example.org", "Alice")


@pytest.fixture
def docs(tmp_path):
    repo = init_document_repo(tmp_path / "docs.git", {"count.json": {"n": 0}}, "init")
    yield repo
    repo.close()


def test_canonical_json_is_stable_and_sorted():
    first = canonical_json({"b": 1, "a": "é", "c": [2, 1]})
    assert (
        first == b'{\n  "a": "\xc3\xa9",\n  "b": 1,\n  "c": [\n    2,\n    1\n  ]\n}\n'
    )
    assert canonical_json({"c": [2, 1], "a": "é", "b": 1}) == first


def test_transact_commits_with_author_and_no_checkout(docs):
    commit_id = docs.transact(lambda s: {"a/b.json": {"x": 1}}, ALICE, "add b")
    commit = docs.repo[commit_id]
    assert commit.author.name == "Alice"
    assert commit.author.email == "alice@example.org"
    assert commit.committer.name == "gitforge"
    assert docs.read("a/b.json") == {"x": 1}
    assert docs.repo.is_bare


def test_transact_with_no_change_makes_no_commit(docs):
    tip = docs.tip().id
    assert docs.transact(lambda s: {"count.json": {"n": 0}}, ALICE, "same") == tip
    assert docs.tip().id == tip


def test_transact_deletes_files_and_empty_folders(docs):
    docs.transact(lambda s: {"a/b/c.json": {"x": 1}}, ALICE, "add")
    docs.transact(lambda s: {"a/b/c.json": None}, ALICE, "remove")
    assert docs.snapshot().listdir() == ["count.json"]


def test_transact_refuses_paths_that_climb(docs):
    with pytest.raises(ValueError):
        docs.transact(lambda s: {"../evil.json": {}}, ALICE, "bad")


def test_concurrent_writers_lose_nothing(tmp_path, docs):
    def bump(_snapshot_unused=None):
        own = DocumentRepo(docs.path)

        def change(snapshot: Snapshot):
            return {"count.json": {"n": snapshot.read("count.json")["n"] + 1}}

        for _ in range(10):
            own.transact(change, ALICE, "bump")
        own.close()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert docs.read("count.json") == {"n": 80}


def test_lost_compare_and_swap_reruns_on_the_new_tip(docs):
    seen = []
    other = DocumentRepo(docs.path)

    def change(snapshot: Snapshot):
        seen.append(snapshot.read("count.json")["n"])
        if len(seen) == 1:  # someone else writes in between, once
            other.transact(lambda s: {"count.json": {"n": 41}}, ALICE, "race")
        return {"count.json": {"n": snapshot.read("count.json")["n"] + 1}}

    docs.transact(change, ALICE, "bump")
    assert seen == [0, 41]
    assert docs.read("count.json") == {"n": 42}
    history = [c.message for c in docs.repo.walk(docs.tip().id)]
    assert history == ["bump", "race", "init"]
    other.close()


def test_broken_json_names_the_file(docs):
    docs.transact(lambda s: {"bad.json": b"{nope"}, ALICE, "raw bytes")
    with pytest.raises(FormatError, match="bad.json: broken JSON at line 1"):
        docs.read("bad.json")


def test_empty_repo_reads_nothing(tmp_path):
    pygit2.init_repository(str(tmp_path / "empty.git"), bare=True)
    with DocumentRepo(tmp_path / "empty.git") as empty:
        assert empty.tip() is None
        assert empty.read("x.json") is None
        assert empty.snapshot().listdir() == []
