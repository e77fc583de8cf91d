"""Merging pull requests, on bare repos built with the real git, with the
results checked against what `git merge-tree` makes of the same commits."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitforge.store import merging
from gitforge.store.documents import Identity
from gitforge.store.errors import ConflictRetriesExhausted, InvalidName, NotFound
from gitforge.store.merging import (
    BranchKept,
    MergeRefused,
    branch_tip,
    check_branch_name,
    clear_status_cache,
    delete_branch,
    merge,
    merge_status,
)
from tests.conftest import git
from tests.store.conftest import bare_clone, commit_all, write

ALICE = Identity("alice", "alice@example.org", "Alice Ärger")
ODD_NAMES = ("feature/ünïcode+x@y.z", "dots.and.more", "a/b/c", "rel-1.0+b@2")
BAD_NAMES = (
    "-x", "--upload-pack=touch x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*",
    "a[b", "a\\b", "x.lock", "x/y.lock", "x/", "/x", "a//b", ".hidden", "a/.b",
    "a.", "@", "HEAD", "a@{1}", "", "tab\there", "nul\0x", "del\x7f",
)  # fmt: skip
LINES = [f"line {i}\n" for i in range(20)]


def edited(line: int, text: str) -> str:
    return "".join(text + "\n" if i == line else old for i, old in enumerate(LINES))


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_status_cache()
    yield
    clear_status_cache()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A work tree on `main` with one commit of two 20-line files."""
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    write(work, "shared.txt", "".join(LINES))
    write(work, "clash.txt", "".join(LINES))
    commit_all(work, "Start", 1)
    return work


def branch_off(work: Path, branch: str, start: str, files: dict, step: int) -> str:
    """A commit of `files` on a new `branch` from `start`; returns its id."""
    git("switch", "-q", "-c", branch, start, cwd=work)
    for path, text in files.items():
        write(work, path, text)
    return commit_all(work, f"Change {', '.join(files)}", step)


def add_to(work: Path, branch: str, files: dict, step: int) -> str:
    git("switch", "-q", branch, cwd=work)
    for path, text in files.items():
        write(work, path, text)
    return commit_all(work, f"Change {', '.join(files)}", step)


def publish(work: Path) -> pygit2.Repository:
    """A bare clone of `work`, its HEAD naming main."""
    git("switch", "-q", "main", cwd=work)
    return pygit2.Repository(str(bare_clone(work, work.parent / "code.git")))


def tip(repo: pygit2.Repository, branch: str = "main") -> str:
    return str(repo.references[f"refs/heads/{branch}"].target)


def snapshot(repo: pygit2.Repository) -> tuple[str, dict[str, bytes]]:
    """Every ref, and every file of the repository with its bytes."""
    root = Path(repo.path)
    refs = git("for-each-ref", "--format=%(refname) %(objectname)", cwd=root).stdout
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
             if p.is_file()}  # fmt: skip
    return refs, files


def git_merge_tree(repo: pygit2.Repository, target: str, head: str) -> str:
    done = git("merge-tree", "--write-tree", target, head, cwd=repo.path)
    return done.stdout.split()[0]


def do_merge(repo, head: str, policy: str = merging.FFWD_OR_MERGE, target="main"):
    return merge(repo, target, head, committer=ALICE, message="Merge PR 7\n",
                 policy=policy)  # fmt: skip


@pytest.fixture
def ffwd_pair(work: Path):
    """`topic` adds a file on top of main: a fast-forward."""
    topic = branch_off(work, "topic", "main", {"new.txt": "new\n"}, 2)
    return publish(work), topic


@pytest.fixture
def diverged(work: Path):
    """main and `topic` both changed shared.txt, in different lines."""
    topic = branch_off(
        work,
        "topic",
        "main",
        {"shared.txt": edited(17, "topic"), "new.txt": "new\n"},
        2,
    )
    add_to(work, "main", {"shared.txt": edited(2, "main")}, 3)
    return publish(work), topic  # fmt: skip


@pytest.fixture
def clashing(work: Path):
    """As `diverged`, and both also changed the same line of clash.txt."""
    topic = branch_off(
        work,
        "topic",
        "main",
        {"shared.txt": edited(17, "topic"), "clash.txt": edited(5, "topic")},
        2,
    )
    add_to(
        work,
        "main",
        {"shared.txt": edited(2, "main"), "clash.txt": edited(5, "main")},
        3,
    )
    return publish(work), topic  # fmt: skip


# Status


def test_merge_status_fast_forward(ffwd_pair):
    repo, topic = ffwd_pair
    status = merge_status(repo, tip(repo), topic)
    assert (status.kind, status.conflicts) == ("ffwd", ())
    assert (status.target, status.head, status.base) == (tip(repo), topic, tip(repo))


def test_merge_status_merge_needed_writes_nothing(diverged):
    repo, topic = diverged
    before = snapshot(repo)
    status = merge_status(repo, tip(repo), topic)
    assert status.kind == "merge"
    assert status.base == git("merge-base", "main", topic, cwd=repo.path).stdout.strip()
    # libgit2 stores the content-merged shared.txt; it must not reach the repo.
    assert snapshot(repo) == before


def test_merge_status_names_conflicts(clashing):
    repo, topic = clashing
    status = merge_status(repo, tip(repo), topic)
    assert (status.kind, status.conflicts) == ("conflicts", ("clash.txt",))


def test_merge_status_nothing_when_head_is_in_target(diverged):
    repo, _topic = diverged
    main = repo[tip(repo)]
    assert merge_status(repo, tip(repo), tip(repo)).kind == "nothing"
    assert merge_status(repo, tip(repo), str(main.parent_ids[0])).kind == "nothing"


def test_merge_status_cache_returns_the_same_object(diverged):
    repo, topic = diverged
    first = merge_status(repo, tip(repo), topic)
    assert merge_status(repo, tip(repo), topic) is first
    assert merge_status(repo, tip(repo).upper(), topic) is first
    clear_status_cache()
    again = merge_status(repo, tip(repo), topic)
    assert again is not first
    assert again == first


@pytest.mark.parametrize("bad", ["main", "topic", "0" * 40, "abc", "-x"])
def test_merge_status_takes_commit_ids_only(diverged, bad):
    repo, topic = diverged
    with pytest.raises(NotFound):
        merge_status(repo, bad, topic)
    with pytest.raises(NotFound):
        merge_status(repo, tip(repo), bad)


# Merging


def test_merge_fast_forwards(ffwd_pair):
    repo, topic = ffwd_pair
    old = tip(repo)
    outcome = do_merge(repo, topic)
    assert (outcome.kind, outcome.new_target, outcome.old_target) == (
        "ffwd",
        topic,
        old,
    )
    assert tip(repo) == topic


def test_merge_makes_a_merge_commit(diverged):
    repo, topic = diverged
    old = tip(repo)
    outcome = do_merge(repo, topic)
    assert (outcome.kind, outcome.old_target) == ("merge", old)
    assert tip(repo) == outcome.new_target
    commit = repo[outcome.new_target]
    assert [str(p) for p in commit.parent_ids] == [old, topic]
    assert str(commit.tree_id) == git_merge_tree(repo, old, topic)
    assert commit.message == "Merge PR 7\n"
    for person in (commit.author, commit.committer):
        assert (person.name, person.email) == ("Alice Ärger", "alice@example.org")
    git("fsck", "--strict", "--no-dangling", cwd=repo.path)


def test_merge_refuses_conflicts_and_changes_nothing(clashing):
    repo, topic = clashing
    before = snapshot(repo)
    with pytest.raises(MergeRefused) as refused:
        do_merge(repo, topic)
    assert refused.value.conflicts == ("clash.txt",)
    assert "clash.txt" in str(refused.value)
    assert snapshot(repo) == before


def test_merge_applies_merge_drivers_from_info_attributes(clashing):
    repo, topic = clashing
    (Path(repo.path) / "info" / "attributes").write_text("clash.txt merge=union\n")
    before = snapshot(repo)
    assert merge_status(repo, tip(repo), topic).kind == "merge"
    assert snapshot(repo) == before
    old = tip(repo)
    outcome = do_merge(repo, topic)
    assert str(repo[outcome.new_target].tree_id) == git_merge_tree(repo, old, topic)


def test_merge_refuses_nothing_to_merge(diverged):
    repo, _topic = diverged
    before = snapshot(repo)
    with pytest.raises(MergeRefused, match="nothing to merge"):
        do_merge(repo, tip(repo))
    assert snapshot(repo) == before


def test_merge_always_merge_makes_a_commit_over_a_fast_forward(ffwd_pair):
    repo, topic = ffwd_pair
    old = tip(repo)
    outcome = do_merge(repo, topic, merging.ALWAYS_MERGE)
    commit = repo[outcome.new_target]
    assert outcome.kind == "merge"
    assert [str(p) for p in commit.parent_ids] == [old, topic]
    assert commit.tree_id == repo[topic].tree_id


def test_merge_ffwd_only_fast_forwards(ffwd_pair):
    repo, topic = ffwd_pair
    assert do_merge(repo, topic, merging.FFWD_ONLY).kind == "ffwd"
    assert tip(repo) == topic


def test_merge_ffwd_only_refuses_a_merge_and_changes_nothing(diverged):
    repo, topic = diverged
    before = snapshot(repo)
    with pytest.raises(MergeRefused, match="only fast-forwards"):
        do_merge(repo, topic, merging.FFWD_ONLY)
    assert snapshot(repo) == before


def test_merge_unknown_policy_is_an_error(ffwd_pair):
    repo, topic = ffwd_pair
    with pytest.raises(ValueError):
        do_merge(repo, topic, "octopus")


def test_merge_missing_target_branch(ffwd_pair):
    repo, topic = ffwd_pair
    with pytest.raises(NotFound):
        do_merge(repo, topic, target="nowhere")


# Compare-and-swap


def move_branch_first(monkeypatch, repo, moves: list[str]) -> None:
    """Make another writer move main just before each of the next moves."""
    real_move = merging._move_branch

    def racing_move(*args, **kwargs):
        if moves:
            git("update-ref", "refs/heads/main", moves.pop(0), cwd=repo.path)
        return real_move(*args, **kwargs)

    monkeypatch.setattr(merging, "_move_branch", racing_move)


def test_merge_redone_when_target_moves_during_merge(work, monkeypatch):
    topic = branch_off(work, "topic", "main", {"new.txt": "new\n"}, 2)
    pushed = branch_off(work, "other", "main", {"other.txt": "other\n"}, 3)
    repo = publish(work)
    old = tip(repo)
    assert merge_status(repo, old, topic).kind == "ffwd"
    move_branch_first(monkeypatch, repo, [pushed])

    outcome = do_merge(repo, topic)

    # The fast-forward would have dropped `pushed`; a merge keeps both.
    assert (outcome.kind, outcome.old_target) == ("merge", pushed)
    commit = repo[tip(repo)]
    assert [str(p) for p in commit.parent_ids] == [pushed, topic]
    assert {"new.txt", "other.txt"} <= {entry.name for entry in commit.tree}


def test_merge_gives_up_when_target_keeps_moving(work, monkeypatch):
    topic = branch_off(work, "topic", "main", {"new.txt": "new\n"}, 2)
    one = branch_off(work, "one", "main", {"one.txt": "1\n"}, 3)
    two = branch_off(work, "two", "main", {"two.txt": "2\n"}, 4)
    repo = publish(work)
    move_branch_first(monkeypatch, repo, [one, two] * merging.MAX_ATTEMPTS)
    with pytest.raises(ConflictRetriesExhausted):
        do_merge(repo, topic)
    # Each attempt lost to one move; the last move left it at `one`.
    assert tip(repo) == one


# Branch names


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_branch_names_merge_and_delete(work, name):
    target = f"{name}-target"
    git("branch", target, "main", cwd=work)
    topic = branch_off(work, name, "main", {"new.txt": "new\n"}, 2)
    add_to(work, target, {"shared.txt": edited(2, "target")}, 3)
    repo = publish(work)
    assert branch_tip(repo, name) == topic

    outcome = do_merge(repo, branch_tip(repo, name), target=target)

    assert outcome.kind == "merge"
    assert tip(repo, target) == outcome.new_target
    assert delete_branch(repo, name, expected=topic) == topic
    assert repo.references.get(f"refs/heads/{name}") is None


@pytest.mark.parametrize("name", ODD_NAMES)
def test_check_branch_name_accepts_what_git_accepts(name):
    assert check_branch_name(name) == name
    git("check-ref-format", f"refs/heads/{name}")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_check_branch_name_refuses(name):
    with pytest.raises(InvalidName):
        check_branch_name(name)


# Valid refs that are still no branch names: they would read as an option
# or as a revision. A NUL cannot be passed to git at all.
OUR_OWN_REFUSALS = ("-x", "--upload-pack=touch x", "HEAD", "@", "nul\0x")


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if n not in OUR_OWN_REFUSALS])
def test_check_branch_name_refuses_what_git_refuses(name):
    assert git("check-ref-format", f"refs/heads/{name}", check=False).returncode


def test_check_branch_name_refuses_long_and_unencodable_names():
    for name in ("x" * 1100, "é" * 507, "\udc80"):
        with pytest.raises(InvalidName):
            check_branch_name(name)


def test_dash_branch_is_never_merged_into_or_deleted(ffwd_pair):
    repo, topic = ffwd_pair
    git("update-ref", "refs/heads/-x", tip(repo), cwd=repo.path)
    before = snapshot(repo)
    with pytest.raises(InvalidName):
        do_merge(repo, topic, target="-x")
    with pytest.raises(InvalidName):
        delete_branch(repo, "-x")
    with pytest.raises(InvalidName):
        branch_tip(repo, "-x")
    assert snapshot(repo) == before


# Unrelated histories


def orphan(work: Path, files: dict) -> str:
    git("switch", "-q", "--orphan", "lonely", cwd=work)
    for path, text in files.items():
        write(work, path, text)
    return commit_all(work, "Unrelated start", 5)


def test_unrelated_histories_merge_when_paths_differ(work):
    lonely = orphan(work, {"elsewhere.txt": "alone\n"})
    repo = publish(work)
    status = merge_status(repo, tip(repo), lonely)
    assert (status.kind, status.base) == ("merge", None)
    outcome = do_merge(repo, lonely)
    names = {entry.name for entry in repo[outcome.new_target].tree}
    assert names == {"shared.txt", "clash.txt", "elsewhere.txt"}


def test_unrelated_histories_conflict_on_a_path_added_twice(work):
    lonely = orphan(work, {"shared.txt": "another story\n"})
    repo = publish(work)
    status = merge_status(repo, tip(repo), lonely)
    assert (status.kind, status.conflicts, status.base) == (
        "conflicts",
        ("shared.txt",),
        None,
    )


# Deleting branches


def test_delete_branch_keeps_a_branch_that_moved(ffwd_pair):
    repo, topic = ffwd_pair
    with pytest.raises(BranchKept, match="moved"):
        delete_branch(repo, "topic", expected=tip(repo))
    assert tip(repo, "topic") == topic


def test_delete_branch_keeps_the_default_branch(ffwd_pair):
    repo, _topic = ffwd_pair
    with pytest.raises(BranchKept, match="default"):
        delete_branch(repo, "main")
    assert repo.references.get("refs/heads/main") is not None


def test_delete_branch_refuses_symbolic_refs_and_missing_branches(ffwd_pair):
    repo, _topic = ffwd_pair
    repo.references.create("refs/heads/alias", "refs/heads/topic")
    with pytest.raises(InvalidName):
        delete_branch(repo, "alias")
    with pytest.raises(NotFound):
        delete_branch(repo, "gone")
