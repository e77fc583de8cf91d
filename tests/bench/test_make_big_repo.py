"""Smoke test for bench/make_big_repo.py: a small build is a sound repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "bench" / "make_big_repo.py"


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def test_make_big_repo_small_build(tmp_path: Path) -> None:
    repo = tmp_path / "big.git"
    cmd = [sys.executable, str(SCRIPT), str(repo), "--commits", "60", "--seed", "3"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    assert git(repo, "rev-list", "--all", "--count").strip() == "60"
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git(repo, "rev-list", "--merges", "--count", "main").strip() != "0"
    tag_types = git(repo, "for-each-ref", "--format=%(objecttype)", "refs/tags")
    assert "tag" in tag_types.split()
    files = git(repo, "ls-tree", "-r", "-z", "--name-only", "HEAD").split("\0")
    assert {"docs/Getting Started.md", "docs/images/badge.png"} <= set(files)
    assert any(not name.isascii() for name in files)
    assert int(git(repo, "cat-file", "-s", "HEAD:bench_assets/big_module.py")) > 90_000
    git(repo, "fsck", "--strict", "--no-progress")
