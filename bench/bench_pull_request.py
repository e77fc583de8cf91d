"""Pull request pages and merge status against the git commands that do
the same work.

Builds bench_merge.py's repository in a temporary folder (a pull request of
50 commits that edit 200 files and add 50, and a target branch that moved on
without conflicting), imports it as a project of a throwaway site and opens
the pull request with `open_pull_request`, as a push offer would lead to;
then adds four comments, two of them on lines of the diff.

Each page of the pull request (discussion, commits tab, files tab, .patch,
.diff) is timed through Flask's test client, in process and without a
server, as bench_pages.py does: a few requests to warm up, then the median,
beside the median of the git command that does the same work on the same
repository (`git log`, `git diff`, `git format-patch --stdout` of
base..head), run as a subprocess in turns with the page. The aim is under
100 ms a page.

Also times the cold files tab (the range's render cache emptied before each
request, and the very first request of a fresh process), and the merge
status with an empty cache against `git merge-tree --write-tree` on the same
two commits (bench_merge.measure; the aim is at most twice git's time).

    python bench/bench_pull_request.py [--runs 30] [--signed-in]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_merge import TARGET_RATIO, build_repo
from bench_merge import measure as measure_merge_status
from bench_pages import make_client

PROJECT = "bench"
PAGE_TARGET_MS = 100.0
COLD_ROUNDS = 5
ADMIN = ("admin", "admin@example.org", "Admin")
PASSWORD = "pw-123456"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    git: tuple[str, ...] | None  # the equivalent git command, if there is one
    cold: bool = False  # empty the range's render cache before each request


@dataclass(frozen=True)
class PullRequest:
    number: int
    base: str
    head: str
    target: str  # the target branch's tip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--signed-in", action="store_true",
                        help="view the pages signed in as the admin")  # fmt: skip
    parser.add_argument("--first-view", nargs=2, help=argparse.SUPPRESS)  # child
    args = parser.parse_args()
    if args.first_view:
        home, url = args.first_view
        print(f"{first_view(Path(home), url):.1f}")
        return
    with tempfile.TemporaryDirectory(prefix="gitforge-bench-pr-") as tmp:
        home = Path(tmp) / "home"
        pr = make_site(home, Path(tmp) / "source.git")
        code = home_code_repo(home)
        client = make_client(home)
        if args.signed_in:
            sign_in(client)
        who = "signed in as admin" if args.signed_in else "anonymous"
        print(f"pull request #{pr.number}: {commit_count(code, pr)} commits, "
              f"{changed_files(code, pr)} files changed")  # fmt: skip
        print(f"warm medians over {args.runs} runs, Flask test client, {who}")
        report_pages(client, code, pr, args.runs)
        report_cold(client, home, pr)
        report_merge_status(code, pr, args.runs)


# -- setup -------------------------------------------------------------------


def make_site(home: Path, source: Path) -> PullRequest:
    """A site whose project holds bench_merge's repository, and its pull
    request opened; tasks run inline, so its merge status is stored."""
    # The task queue reads GITFORGE_HOME when it is first imported.
    os.environ["GITFORGE_HOME"] = str(home)
    from gitforge.config import Config
    from gitforge.store.documents import Identity
    from gitforge.store.site import NewUser
    from gitforge.tasks.projects import create_project
    from gitforge.tasks.pull_requests import Branch, open_pull_request
    from gitforge.tasks.queue import huey
    from gitforge.tasks.site import init_site

    huey.immediate = True
    build_repo(source)
    config = Config(home)
    init_site(config, NewUser(*ADMIN, PASSWORD, admin=True))
    create_project(config, PROJECT, "admin", "Pull request bench", source=str(source))
    doc = open_pull_request(config, PROJECT, Identity(*ADMIN), Branch(PROJECT, "pr/1"),
                            "main", "Fifty steps",
                            "Touches **200 files** in 50 commits.")  # fmt: skip
    add_comments(config, doc)
    target = git_out(home_code_repo(home), "rev-parse", "refs/heads/main")
    return PullRequest(doc["number"], doc["base"], doc["head"], target)


def add_comments(config, doc: dict) -> None:
    """Four comments, two of them on lines of the diff (one per side), as
    a review leaves them; the index follows."""
    from gitforge.index.db import engine_for
    from gitforge.index.sync import sync_repo
    from gitforge.store.documents import Identity
    from gitforge.store.layout import RepoKind, repo_path, repo_relpath
    from gitforge.store.requests import RequestRepo

    author = Identity(*ADMIN)
    path = "pkg00/mod00.py"  # changed by the first step of the pull request
    on_lines = [
        {"commit": doc["head"], "path": path, "line": 4, "side": "new"},
        {"commit": doc["base"], "path": path, "line": 4, "side": "old"},
    ]
    relpath = repo_relpath(RepoKind.REQUESTS, PROJECT)
    with RequestRepo(repo_path(config.repositories, RepoKind.REQUESTS, PROJECT)) as r:
        r.add_comment(doc["uid"], author, "Looks *good*; one question below.")
        for inline in on_lines:
            r.add_comment(doc["uid"], author, "Why `this` line?", inline=inline)
        r.add_comment(doc["uid"], author, "Answered, thanks.\n\n- one\n- two")
    sync_repo(engine_for(config), config.repositories, relpath)


def sign_in(client) -> None:
    token = _CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf_token": token, "name": ADMIN[0],
                                           "password": PASSWORD})  # fmt: skip
    assert response.status_code == 302, response.status_code


def home_code_repo(home: Path) -> Path:
    from gitforge.store.layout import RepoKind, repo_path

    return repo_path(home / "repositories", RepoKind.CODE, PROJECT)


def commit_count(code: Path, pr: PullRequest) -> int:
    return int(git_out(code, "rev-list", "--count", f"{pr.base}..{pr.head}"))


def changed_files(code: Path, pr: PullRequest) -> int:
    return len(git_out(code, "diff", "--name-only", pr.base, pr.head).splitlines())


# -- the pages -----------------------------------------------------------------


def cases(pr: PullRequest) -> list[Case]:
    url = f"/{PROJECT}/pull-request/{pr.number}"
    span = f"{pr.base}..{pr.head}"
    return [
        Case("discussion", url, None),
        Case("commits tab", f"{url}/commits", ("log", span)),
        Case("files tab", f"{url}/files", ("diff", span)),
        Case(".patch", f"{url}.patch", ("format-patch", "--stdout", span)),
        Case(".diff", f"{url}.diff", ("diff", span)),
    ]


def report_pages(client, code: Path, pr: PullRequest, runs: int) -> None:
    print(f"{'page':<14} {'gitforge ms':>11} {'git ms':>8} {'ratio':>6} "
          f"{'< 100 ms':>8}  git command")  # fmt: skip
    for case in cases(pr):
        actions = [lambda c=case: get(client, c.url, c.cold)]
        if case.git is not None:
            actions.append(lambda c=case: run_git(code, c.git))
        page, *git = interleaved_medians(actions, runs)
        verdict = "yes" if page < PAGE_TARGET_MS else "NO"
        if not git:
            print(f"{case.name:<14} {page:>11.2f} {'-':>8} {'-':>6} {verdict:>8}")
            continue
        command = "git " + " ".join(short(word) for word in case.git)
        print(f"{case.name:<14} {page:>11.2f} {git[0]:>8.2f} {page / git[0]:>6.2f} "
              f"{verdict:>8}  {command}")  # fmt: skip


def interleaved_medians(
    actions: list[Callable[[], None]], runs: int, warm: int = 3
) -> list[float]:
    """Median milliseconds of each action, taking turns round by round so
    that a busy spell of the machine weighs on all of them alike (a shared
    machine's load changes faster than a whole series takes)."""
    timings: list[list[float]] = [[] for _ in actions]
    for round_number in range(warm + runs):
        for action, times in zip(actions, timings, strict=True):
            started = time.perf_counter()
            action()
            if round_number >= warm:
                times.append((time.perf_counter() - started) * 1000)
    return [statistics.median(times) for times in timings]


def report_cold(client, home: Path, pr: PullRequest) -> None:
    """The files tab with nothing rendered yet: in a warm process with the
    render cache emptied, and as a fresh process's first request."""
    url = f"/{PROJECT}/pull-request/{pr.number}/files"
    timings = []
    for _ in range(COLD_ROUNDS):
        started = time.perf_counter()
        get(client, url, cold=True)
        timings.append((time.perf_counter() - started) * 1000)
    child = subprocess.run(
        [sys.executable, __file__, "--first-view", str(home), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    each = ", ".join(f"{t:.0f}" for t in timings)
    print("\nfiles tab, cold:")
    print(f"  render cache empty: median {statistics.median(timings):.1f} ms "
          f"over {COLD_ROUNDS} (each {each})")  # fmt: skip
    print(f"  first request of a fresh process: {float(child.stdout):.1f} ms")


def first_view(home: Path, url: str) -> float:
    """The first request of a new process (anonymous)."""
    client = make_client(home)
    started = time.perf_counter()
    get(client, url)
    return (time.perf_counter() - started) * 1000


def report_merge_status(code: Path, pr: PullRequest, runs: int) -> None:
    import pygit2

    repo = pygit2.Repository(str(code))
    ours, git, warm = measure_merge_status(repo, code, pr.target, pr.head, runs)
    repo.free()
    print("\nmerge status of the pull request:")
    print(f"  cold (cache cleared): median {ours:.2f} ms over {runs} rounds")
    print(f"  git merge-tree --write-tree: median {git:.2f} ms")
    print(f"  ratio {ours / git:.2f} (target at most {TARGET_RATIO:.0f}x git)")
    print(f"  cached: median {warm * 1000:.1f} µs")


# -- helpers -----------------------------------------------------------------


def get(client, url: str, cold: bool = False) -> None:
    if cold:
        empty_range_cache()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    response.close()


def empty_range_cache() -> None:
    from gitforge.web import ranges

    ranges.rendered = ranges.RenderCache(ranges.CACHE_BYTES)


def run_git(repo: Path, command: tuple[str, ...]) -> None:
    subprocess.run(["git", f"--git-dir={repo}", *command], env=git_env(),
                   stdout=subprocess.DEVNULL, check=True)  # fmt: skip


def git_out(repo: Path, *command: str) -> str:
    done = subprocess.run(["git", f"--git-dir={repo}", *command], env=git_env(),
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def git_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def short(word: str) -> str:
    """base..head with abbreviated ids, for printing."""
    return re.sub(r"[0-9a-f]{40}", lambda m: m[0][:7], word)


if __name__ == "__main__":
    main()
