"""Reindex throughput: tickets per second loaded from git into the index.

Builds a ticket repo of N tickets with C comments each straight into git (one
commit, written with pygit2), then times `sync_all` on an empty index.

    python bench/bench_reindex.py [--tickets 10000] [--comments 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pygit2

TARGET_PER_SECOND = 3000


def build_home(home: Path, tickets: int, comments: int) -> None:
    os.environ["GITFORGE_HOME"] = str(home)
    from gitforge.config import Config
    from gitforge.store.site import NewUser
    from gitforge.tasks.projects import create_project
    from gitforge.tasks.site import init_site

    config = Config(home)
    init_site(config, NewUser("admin", "admin@example.org", password="benchmark",
                              admin=True))  # fmt: skip
    create_project(config, "big", "admin")
    write_tickets(config.repositories / "tickets" / "big.git", tickets, comments)


def write_tickets(path: Path, tickets: int, comments: int) -> None:
    from gitforge.store.documents import SYSTEM, canonical_json

    repo = pygit2.Repository(str(path))
    root = repo.TreeBuilder(repo.head.peel(pygit2.Commit).tree)
    buckets: dict[str, pygit2.TreeBuilder] = {}
    for number in range(1, tickets + 1):
        uid, tree_id, mode = _ticket_tree(repo, number, comments, canonical_json)
        bucket = buckets.setdefault(uid[-2:], repo.TreeBuilder())
        bucket.insert(uid, tree_id, mode)  # the layout of uid_folder()
    for name, bucket in buckets.items():
        root.insert(name, bucket.write(), pygit2.GIT_FILEMODE_TREE)
    numbers = {"format": 1, "next": tickets + 1}
    root.insert("numbers.json", repo.create_blob(canonical_json(numbers)),
                pygit2.GIT_FILEMODE_BLOB)  # fmt: skip
    signature = SYSTEM.signature()
    repo.create_commit("refs/heads/main", signature, signature, "bench tickets",
                       root.write(), [repo.head.target])  # fmt: skip
    # Packed, as a repo that receives pushes is after git's automatic gc.
    subprocess.run(["git", "-C", str(path), "repack", "-adq"], check=True)


def _ticket_tree(repo, number: int, comments: int, canonical_json):
    uid = uuid.uuid4().hex
    ticket = {
        "format": 1, "uid": uid, "number": number, "title": f"Ticket {number}",
        "body": "Something is wrong.\n" * 5, "author": "admin",
        "created": "2026-01-01T00:00:00Z", "status": "Open", "close_reason": None,
        "tags": ["bench", f"t{number % 7}"], "assignee": None, "priority": None,
        "milestone": None, "private": False,
    }  # fmt: skip
    notes = repo.TreeBuilder()
    for _ in range(comments):
        cid = uuid.uuid4().hex
        note = {"format": 1, "uid": cid, "author": "admin",
                "created": "2026-01-02T00:00:00Z", "edited": None,
                "body": "A comment with some words in it."}  # fmt: skip
        notes.insert(f"{cid}.json", repo.create_blob(canonical_json(note)),
                     pygit2.GIT_FILEMODE_BLOB)  # fmt: skip
    folder = repo.TreeBuilder()
    folder.insert("ticket.json", repo.create_blob(canonical_json(ticket)),
                  pygit2.GIT_FILEMODE_BLOB)  # fmt: skip
    folder.insert("comments", notes.write(), pygit2.GIT_FILEMODE_TREE)
    return uid, folder.write(), pygit2.GIT_FILEMODE_TREE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitforge-bench-") as tmp:
        home = Path(tmp)
        build_home(home, args.tickets, args.comments)
        from gitforge.config import Config
        from gitforge.index.db import make_engine, reset
        from gitforge.index.sync import sync_all

        config = Config(home)
        engine = make_engine(config.database_url)
        reset(engine)
        started = time.perf_counter()
        sync_all(engine, config.repositories)
        took = time.perf_counter() - started
        engine.dispose()
    rate = args.tickets / took
    print(
        f"reindex: {args.tickets} tickets x {args.comments} comments "
        f"in {took:.2f} s = {rate:,.0f} tickets/s (target {TARGET_PER_SECOND:,})"
    )


if __name__ == "__main__":
    main()
