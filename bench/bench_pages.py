"""Code page latency against the git command that does the same work.

Imports the big benchmark repository (`make_big_repo.py`; built at
/tmp/bench-repo.git first if missing, ~15 s) into a throwaway site and times
each code page through Flask's test client, in process and without a server,
so the figures are the app's own work (routing, index lookup, repository
reads, templates) without HTTP. Each page is requested a few times to warm
up, then timed; the median is set beside the median of the equivalent git
command run as a subprocess on the same repository, as DESIGN.md's figures
for git were taken.

Also times the cold view of bench_assets/big_module.py (100 KB of Python):
the first view in a warm process, with the render cache empty, and the very
first request of a fresh process (Pygments and templates loading included).

    python bench/bench_pages.py [--repo /tmp/bench-repo.git] [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
BIG_MODULE = "bench_assets/big_module.py"
COLD_TARGET_MS = 150.0
PROJECT = "big"


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    git: tuple[tuple[str, ...], ...]  # commands whose times add up
    limit: float  # the ratio aimed at
    cold: bool = False  # empty the render cache before each request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default="/tmp/bench-repo.git")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--first-view", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.first_view:
        print(f"{first_view(Path(args.first_view)):.1f}")
        return
    repo = Path(args.repo)
    if not repo.exists():
        print(f"building {repo} ...", flush=True)
        subprocess.run([sys.executable, str(HERE / "make_big_repo.py"), str(repo)],
                       check=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gitforge-bench-") as tmp:
        home = Path(tmp) / "home"
        import_repo(home, repo)
        client = make_client(home)
        cases = choose_cases(repo)
        print(f"{repo}: warm medians over {args.runs} runs, Flask test client")
        print(f"{'page':<24} {'gitforge ms':>11} {'git ms':>8} {'ratio':>6} "
              f"{'aim':>5}  git command")  # fmt: skip
        for case in cases:
            page = median_ms(lambda c=case: get(client, c.url, c.cold), args.runs)
            git = sum(median_ms(lambda c=cmd: run_git(repo, c), 30) for cmd in case.git)
            command = " + ".join("git " + " ".join(cmd) for cmd in case.git)
            print(f"{case.name:<24} {page:>11.2f} {git:>8.2f} {page / git:>6.2f} "
                  f"{case.limit:>4.0f}x  {command}")  # fmt: skip
        report_cold(client, home)


# -- setup -------------------------------------------------------------------


def import_repo(home: Path, repo: Path) -> None:
    from gitforge.config import Config
    from gitforge.store.site import NewUser
    from gitforge.tasks.projects import create_project
    from gitforge.tasks.site import init_site

    # The task queue reads GITFORGE_HOME when it is first imported.
    os.environ["GITFORGE_HOME"] = str(home)
    config = Config(home)
    init_site(config, NewUser("admin", "admin@example.org", "Admin", "pw-123456",
                              admin=True))  # fmt: skip
    create_project(config, PROJECT, "admin", "The big one", source=str(repo))


def make_client(home: Path):
    from gitforge.config import Config
    from gitforge.web.app import create_app

    return create_app(Config(home)).test_client()


def choose_cases(repo: Path) -> list[Case]:
    """The pages to time, picked from what the repository holds."""
    branch = git_out(repo, "symbolic-ref", "--short", "HEAD")
    folder = "lib/asyncio"
    small = smallest_over(repo, branch, 10_000)
    merge = git_out(repo, "rev-list", "--merges", "-1", branch)
    normal = git_out(repo, "rev-list", "--no-merges", "-1", branch)
    base = f"/{PROJECT}"
    blob = f"{base}/blob/{branch}/f/{small[0]}"
    show_small = (("show", f"{branch}:{small[0]}"),)
    show_merge = (("show", "--stat", "-p", "--first-parent", merge),)
    show_normal = (("show", "--stat", "-p", normal),)
    return [
        Case("summary", base, (
            ("ls-tree", "-l", branch), ("log", "-10", branch),
            ("for-each-ref", "refs/heads"), ("show", f"{branch}:README.md"),
        ), 4),
        Case("tree root", f"{base}/tree/{branch}", (("ls-tree", "-l", branch),), 4),
        Case("tree subfolder", f"{base}/tree/{branch}/f/{folder}",
             (("ls-tree", "-l", f"{branch}:{folder}"),), 4),
        Case("tree subfolder, cold", f"{base}/tree/{branch}/f/{folder}",
             (("ls-tree", "-l", f"{branch}:{folder}"),), 4, cold=True),
        Case(f"blob {small[1] // 1000} KB", blob, show_small, 4),
        Case(f"blob {small[1] // 1000} KB, cold", blob, show_small, 4, cold=True),
        Case(f"raw {small[1] // 1000} KB", f"{base}/raw/{branch}/f/{small[0]}",
             show_small, 4),
        Case("log page 1", f"{base}/commits/{branch}",
             (("log", "-50", branch),), 4),
        Case("log page 1, cold", f"{base}/commits/{branch}",
             (("log", "-50", branch),), 4, cold=True),
        Case("log page 20", f"{base}/commits/{branch}?page=20",
             (("log", "-50", "--skip=950", branch),), 4),
        Case("log page 20, cold", f"{base}/commits/{branch}?page=20",
             (("log", "-50", "--skip=950", branch),), 4, cold=True),
        Case("commit (merge)", f"{base}/c/{merge}", show_merge, 2),
        Case("commit (merge), cold", f"{base}/c/{merge}", show_merge, 2, cold=True),
        Case("commit (normal)", f"{base}/c/{normal}", show_normal, 2),
        Case("commit (normal), cold", f"{base}/c/{normal}", show_normal, 2,
             cold=True),
    ]  # fmt: skip


def smallest_over(repo: Path, branch: str, size: int) -> tuple[str, int]:
    """The .py file of the branch closest above `size` bytes."""
    found = []
    for line in git_out(repo, "ls-tree", "-r", "-l", branch).splitlines():
        meta, path = line.split("\t", 1)
        length = int(meta.split()[3])
        if path.endswith(".py") and length >= size:
            found.append((length, path))
    length, path = min(found)
    return path, length


# -- timing ------------------------------------------------------------------


def get(client, url: str, cold: bool = False) -> None:
    if cold:
        empty_cache()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    response.close()


def run_git(repo: Path, command: tuple[str, ...]) -> None:
    subprocess.run(["git", f"--git-dir={repo}", *command],
                   stdout=subprocess.DEVNULL, check=True)  # fmt: skip


def git_out(repo: Path, *command: str) -> str:
    done = subprocess.run(["git", f"--git-dir={repo}", *command],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def median_ms(action: Callable[[], None], runs: int, warm: int = 3) -> float:
    for _ in range(warm):
        action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def empty_cache() -> None:
    from gitforge.web import code_views

    code_views.rendered = code_views.RenderCache(code_views.CACHE_BYTES)


def report_cold(client, home: Path) -> None:
    url = f"/{PROJECT}/blob/main/f/{BIG_MODULE}"
    timings = []
    for _ in range(5):
        empty_cache()
        started = time.perf_counter()
        get(client, url)
        timings.append((time.perf_counter() - started) * 1000)
    warm = median_ms(lambda: get(client, url), 20)
    child = subprocess.run(
        [sys.executable, __file__, "--first-view", str(home)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(f"\n{BIG_MODULE} (100 KB), target {COLD_TARGET_MS:.0f} ms cold:")
    print(f"  cold, render cache empty: median {statistics.median(timings):.1f} ms "
          f"over 5 (each {', '.join(f'{t:.0f}' for t in timings)})")  # fmt: skip
    print(f"  first request of a fresh process: {float(child.stdout):.1f} ms")
    print(f"  warm (cached HTML): {warm:.2f} ms")


def first_view(home: Path) -> float:
    """The first request of a new process: the big file's page."""
    client = make_client(home)
    started = time.perf_counter()
    get(client, f"/{PROJECT}/blob/main/f/{BIG_MODULE}")
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
