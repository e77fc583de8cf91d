"""Code repositories built with the real git, for the store's browsing tests.

Every commit gets its own fixed date, a minute apart, so the order of
history is the same for git and for us on every run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import git

BASE_TIME = 1_700_000_000

ODD_BRANCHES = ("feature/x", "fé/ünï+c@de", "-x", "release-1.0", "dots.and.more")


def dated(step: int, zone: str = "+0000") -> dict[str, str]:
    """Author and committer dates for the commit at `step`."""
    stamp = f"@{BASE_TIME + 60 * step} {zone}"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def commit_all(work: Path, message: str, step: int, **env: str) -> str:
    """Commit everything in `work`; returns the new commit id."""
    git("add", "-A", cwd=work)
    git(
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
        cwd=work,
        env={**dated(step), **env},
    )
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def write(work: Path, path: str, data: str | bytes) -> None:
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    target.write_bytes(data)


def bare_clone(work: Path, dest: Path) -> Path:
    git("clone", "-q", "--bare", str(work), str(dest))
    return dest


@dataclass
class Sample:
    """The sample repository and the commits the tests talk about."""

    path: Path
    commits: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """A bare repo on `trunk` with a merge, a rename, a binary file, a
    symlink, a submodule, odd branch names, both kinds of tag, a run of
    small commits for paging and one big commit."""
    root = tmp_path_factory.mktemp("sample")
    work = root / "work"
    git("init", "-q", "-b", "trunk", str(work))
    made: dict[str, str] = {}

    write(work, "README.md", "# Sample\n\nA project.\n")
    write(work, "src/app.py", "".join(f"line {i}\n" for i in range(20)))
    write(work, "dir with space/fïle ü.txt", "spaced\n")
    write(work, "docs/guide.md", "".join(f"guide line {i}\n" for i in range(30)))
    made["root"] = commit_all(work, "Start the project\n\nWith a body.", 1)

    write(
        work,
        "src/app.py",
        "".join(f"line {i}\n" for i in range(20) if i != 5) + "added\n",
    )
    made["unicode_author"] = commit_all(
        work,
        "Ändere die App",
        2,
        GIT_AUTHOR_NAME="Zoë Ünicode",
        GIT_AUTHOR_DATE=f"@{BASE_TIME + 120} +0530",
    )

    write(work, "img.bin", bytes(range(256)) * 4)
    made["binary"] = commit_all(work, "Add an image", 3)

    git("mv", "docs/guide.md", "docs/manual.md", cwd=work)
    made["rename"] = commit_all(work, "Rename the guide", 4)

    os.symlink("README.md", work / "link")
    # An empty folder is how git sees a submodule that is not checked out;
    # without it `git add -A` would stage the submodule's removal.
    (work / "sub").mkdir()
    git("update-index", "--add", "--cacheinfo", f"160000,{made['root']},sub", cwd=work)
    made["links"] = commit_all(work, "Add a symlink and a submodule", 5)

    git("checkout", "-q", "-b", "feature/x", cwd=work)
    write(work, "src/feature.py", "feature = True\n")
    made["feature"] = commit_all(work, "Add the feature", 6)
    git("checkout", "-q", "trunk", cwd=work)
    write(work, "README.md", "# Sample\n\nA project, now with features.\n")
    made["readme"] = commit_all(work, "Explain the project", 7)
    git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge feature/x",
        "feature/x",
        cwd=work,
        env=dated(8),
    )
    made["merge"] = git("rev-parse", "HEAD", cwd=work).stdout.strip()

    for i in range(25):
        write(work, "counter.txt", f"count {i}\n")
        made[f"count{i}"] = commit_all(work, f"Count to {i}", 10 + i)

    write(work, "big.txt", "".join(f"big line {i:05}\n" for i in range(30_000)))
    made["big"] = commit_all(work, "Add a big file", 40)

    write(work, "latin1.txt", b"caf\xe9\n")
    write(work, "*.py", "star = 1\n")
    made["tip"] = commit_all(work, "Add odd files", 41)

    _add_refs(work, made)
    return Sample(bare_clone(work, root / "sample.git"), made)


def _add_refs(work: Path, made: dict[str, str]) -> None:
    git("branch", "fé/ünï+c@de", made["unicode_author"], cwd=work)
    git("update-ref", "refs/heads/-x", made["root"], cwd=work)
    git("branch", "release-1.0", made["rename"], cwd=work)
    git("branch", "dots.and.more", made["binary"], cwd=work)
    git("tag", "-a", "v0.9", "-m", "Early", made["root"], cwd=work, env=dated(3))
    git(
        "tag",
        "-a",
        "v1.0",
        "-m",
        "First release\n\nNotes.",
        made["unicode_author"],
        cwd=work,
        env=dated(9),
    )
    git("tag", "light", made["merge"], cwd=work)


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    """A bare repo with no commits whose HEAD names `trunk`."""
    path = tmp_path / "empty.git"
    git("init", "-q", "--bare", "-b", "trunk", str(path))
    return path


@pytest.fixture
def small_work(tmp_path: Path) -> Path:
    """A work tree on `master` with one commit, for tests that add refs."""
    work = tmp_path / "small"
    git("init", "-q", "-b", "master", str(work))
    write(work, "README", "plain readme\n")
    commit_all(work, "One", 1)
    return work
