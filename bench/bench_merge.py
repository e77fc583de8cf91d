"""Pull request merge status against `git merge-tree --write-tree`.

Builds a throwaway bare repository: a base of 400 files in 40 folders, a
pull request of 50 commits that together touch 200 of them (and add a few),
and a target branch that moved on meanwhile with 20 commits touching 100
files, half of them files the pull request also changed (in other lines,
so git merges their content). Nothing conflicts. The repository is then
repacked, as a server's repository would be after `git gc`.

Times `merging.merge_status` with its cache emptied before each round (a
cold status: merge base, then a trial merge of every changed file) against
`git merge-tree --write-tree` on the same two commits, run as a subprocess
as a forge would run it. Rounds alternate between the two; medians are
compared. Also prints the warm (cached) status for reference.

    python bench/bench_merge.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pygit2

from gitforge.store import merging
from gitforge.store.documents import Identity

TARGET_RATIO = 2.0
FOLDERS, FILES_PER_FOLDER, LINES_PER_FILE = 40, 10, 60
PR_COMMITS, PR_FILES_PER_COMMIT = 50, 4  # 200 files
TARGET_COMMITS, TARGET_FILES_PER_COMMIT = 20, 5  # 100 files
SIGNATURE = pygit2.Signature("Bench", "bench@example.org", 1_700_000_000, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitforge-bench-merge-") as tmp:
        path = Path(tmp) / "code.git"
        target, head = build_repo(path)
        repo = pygit2.Repository(str(path))
        status = merging.merge_status(repo, target, head)
        assert status.kind == "merge", status
        ours, git, warm = measure(repo, path, target, head, args.runs)
        merge_ms = check_merge(repo, path, target, head)
        repo.free()
    print(f"merge status, cold: median {ours:.2f} ms over {args.runs} rounds")
    print(f"git merge-tree --write-tree: median {git:.2f} ms")
    print(f"ratio {ours / git:.2f} (target at most {TARGET_RATIO:.0f}x git)")
    print(f"merge status, cached: median {warm * 1000:.1f} µs")
    print(f"one merge (status, commit, branch move): {merge_ms:.2f} ms; "
          "its tree is the one git makes")  # fmt: skip


def measure(
    repo: pygit2.Repository, path: Path, target: str, head: str, runs: int
) -> tuple[float, float, float]:
    """Median milliseconds of a cold status and of git merge-tree, and of
    a cached status."""
    command = ["git", f"--git-dir={path}", "merge-tree", "--write-tree", target, head]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    ours, git, warm = [], [], []
    for _ in range(runs):
        merging.clear_status_cache()
        started = time.perf_counter()
        merging.merge_status(repo, target, head)
        ours.append(time.perf_counter() - started)

        started = time.perf_counter()
        merging.merge_status(repo, target, head)
        warm.append(time.perf_counter() - started)

        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        git.append(time.perf_counter() - started)
    return tuple(statistics.median(times) * 1000 for times in (ours, git, warm))


def check_merge(repo: pygit2.Repository, path: Path, target: str, head: str) -> float:
    """Merge for real, once; checks the merged tree against git's and
    returns the milliseconds it took."""
    merging.clear_status_cache()
    started = time.perf_counter()
    outcome = merging.merge(
        repo,
        "main",
        head,
        committer=Identity("bench", "bench@example.org"),
        message="Merge pull request 1\n",
    )
    took = (time.perf_counter() - started) * 1000
    command = ["git", f"--git-dir={path}", "merge-tree", "--write-tree", target, head]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    assert str(repo[outcome.new_target].tree_id) == done.stdout.split()[0]
    return took


def build_repo(path: Path) -> tuple[str, str]:
    """Write the repository; returns the target's and the head's tips."""
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    files = {name: base_text(name) for name in file_names()}
    base = commit(repo, None, files, "Base")

    names = file_names()
    head = base
    pr_files = dict(files)
    for number in range(PR_COMMITS):
        start = number * PR_FILES_PER_COMMIT
        for name in names[start : start + PR_FILES_PER_COMMIT]:
            pr_files[name] = edit(pr_files[name], 3, f"pull request {number}")
        pr_files[f"added/pr_{number}.txt"] = f"added by pull request {number}\n"
        head = commit(repo, head, pr_files, f"Pull request step {number}")

    # Half the files the target touches are ones the pull request changed.
    touched = names[0:200:4] + names[200:400:4]
    target = base
    target_files = dict(files)
    for number in range(TARGET_COMMITS):
        start = number * TARGET_FILES_PER_COMMIT
        for name in touched[start : start + TARGET_FILES_PER_COMMIT]:
            target_files[name] = edit(target_files[name], 50, f"target {number}")
        target = commit(repo, target, target_files, f"Target step {number}")

    repo.references.create("refs/heads/main", target, force=True)
    repo.references.create("refs/heads/pr/1", head)
    repo.free()
    subprocess.run(["git", f"--git-dir={path}", "repack", "-adq"], check=True)
    subprocess.run(["git", f"--git-dir={path}", "prune"], check=True)
    return str(target), str(head)


def file_names() -> list[str]:
    return [
        f"pkg{folder:02}/mod{number:02}.py"
        for folder in range(FOLDERS)
        for number in range(FILES_PER_FOLDER)
    ]


def base_text(name: str) -> str:
    return "".join(f"{name}: line {i}\n" for i in range(LINES_PER_FILE))


def edit(text: str, line: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[line] = new + "\n"
    return "".join(lines)


def commit(
    repo: pygit2.Repository,
    parent: pygit2.Oid | None,
    files: dict[str, str],
    message: str,
) -> pygit2.Oid:
    tree = write_tree(repo, files)
    parents = [parent] if parent is not None else []
    return repo.create_commit(None, SIGNATURE, SIGNATURE, message, tree, parents)


def write_tree(repo: pygit2.Repository, files: dict[str, str]) -> pygit2.Oid:
    """A tree of the files, their paths one folder deep at most."""
    folders: dict[str, pygit2.TreeBuilder] = {}
    root = repo.TreeBuilder()
    for name, text in files.items():
        folder, _, leaf = name.partition("/")
        blob = repo.create_blob(text.encode("utf-8"))
        builder = folders.setdefault(folder, repo.TreeBuilder())
        builder.insert(leaf, blob, pygit2.GIT_FILEMODE_BLOB)
    for folder, builder in folders.items():
        root.insert(folder, builder.write(), pygit2.GIT_FILEMODE_TREE)
    return root.write()


if __name__ == "__main__":
    main()
