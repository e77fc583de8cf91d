"""Web comment latency: committed to git and visible in the index.

Times the write path a comment form takes (a commit on the ticket repo, then
sync of that repo) on a project that already holds many tickets.

    python bench/bench_comment.py [--tickets 2000] [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))

from bench_reindex import build_home  # noqa: E402

TARGET_MS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitforge-bench-") as tmp:
        home = Path(tmp)
        build_home(home, args.tickets, 5)
        print(f"comment: median {measure(home, args.runs):.1f} ms over {args.runs} "
              f"comments on a project of {args.tickets} tickets "
              f"(target {TARGET_MS:.0f} ms)")  # fmt: skip


def measure(home: Path, runs: int) -> float:
    from gitforge.config import Config
    from gitforge.index import schema
    from gitforge.index.db import engine_for
    from gitforge.index.sync import sync_repo
    from gitforge.store.documents import Identity
    from gitforge.store.tickets import TicketRepo

    config = Config(home)
    engine = engine_for(config)
    relpath = "tickets/big.git"
    author = Identity("admin", "admin@example.org")
    with TicketRepo(config.repositories / relpath) as tickets:
        uids = tickets.snapshot().uids()
    timings = []
    for run in range(runs):
        uid = uids[run * 7919 % len(uids)]  # a different ticket each time
        started = time.perf_counter()
        with TicketRepo(config.repositories / relpath) as tickets:
            tickets.add_comment(uid, author, f"comment {run}")
        sync_repo(engine, config.repositories, relpath)
        timings.append((time.perf_counter() - started) * 1000)
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).select_from(schema.comments)
        ).scalar_one()
    assert stored == args_total(runs, home), "a comment did not reach the index"
    return statistics.median(timings)


def args_total(runs: int, home: Path) -> int:
    from gitforge.config import Config
    from gitforge.store.documents import uid_folder
    from gitforge.store.tickets import TicketRepo

    with TicketRepo(Config(home).repositories / "tickets/big.git") as tickets:
        snapshot = tickets.snapshot()
        return sum(
            len(snapshot.listdir(f"{uid_folder(uid)}/comments"))
            for uid in snapshot.uids()
        )


if __name__ == "__main__":
    main()
