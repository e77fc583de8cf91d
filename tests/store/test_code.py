"""Code browsing, checked against what the real git says about the same repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitforge.store.code import CodeRepo, looks_binary
from gitforge.store.errors import NotFound
from tests.conftest import git
from tests.store.conftest import (
    BASE_TIME,
    ODD_BRANCHES,
    Sample,
    commit_all,
    dated,
    write,
)


@pytest.fixture
def code(sample: Sample):
    with CodeRepo(sample.path) as repo:
        yield repo


def git_lines(repo: Path, *args: str) -> list[str]:
    return git(*args, cwd=repo).stdout.splitlines()


# Opening


def test_code_repo_missing_path_raises_not_found(tmp_path):
    with pytest.raises(NotFound):
        CodeRepo(tmp_path / "nothing.git")


def test_code_repo_plain_folder_inside_a_repo_is_not_found(sample):
    # Without NO_SEARCH libgit2 would open the enclosing repository.
    folder = sample.path / "refs"
    with pytest.raises(NotFound):
        CodeRepo(folder)


# Refs


def test_default_branch_names_trunk(code):
    assert code.default_branch() == "trunk"
    assert not code.is_empty()


def test_default_branch_of_empty_repo_is_head_name(empty_repo):
    with CodeRepo(empty_repo) as code:
        assert code.default_branch() == "trunk"
        assert code.is_empty()
        assert code.branches() == []
        assert code.tags() == []


def test_empty_repo_resolve_and_log_raise_not_found(empty_repo):
    with CodeRepo(empty_repo) as code:
        with pytest.raises(NotFound):
            code.resolve("trunk")
        with pytest.raises(NotFound):
            code.log("trunk")
        with pytest.raises(NotFound):
            code.tree("trunk")


def test_is_empty_false_once_a_branch_is_pushed(empty_repo, small_work):
    git("push", "-q", str(empty_repo), "master", cwd=small_work)
    with CodeRepo(empty_repo) as code:
        assert not code.is_empty()
        # HEAD still names the unborn trunk; master is just another branch.
        assert code.default_branch() == "trunk"
        assert [b.name for b in code.branches()] == ["master"]
        assert not code.branches()[0].is_default


def test_branches_default_first_then_by_name(code, sample):
    names = [b.name for b in code.branches()]
    assert names[0] == "trunk"
    assert sorted(names[1:], key=str.casefold) == names[1:]
    assert set(names) == {"trunk", *ODD_BRANCHES}


def test_branches_match_git_for_each_ref(code, sample):
    expected = dict(
        line.split(" ", 1)[::-1]
        for line in git_lines(
            sample.path,
            "for-each-ref",
            "--format=%(objectname) %(refname:strip=2)",
            "refs/heads/",
        )
    )
    found = {b.name: b.commit.id for b in code.branches()}
    assert found == expected


def test_branches_carry_commit_summary_author_and_time(code, sample):
    branch = next(b for b in code.branches() if b.name == "fé/ünï+c@de")
    assert branch.commit.id == sample.commits["unicode_author"]
    assert branch.commit.summary == "Ändere die App"
    assert branch.commit.author.name == "Zoë Ünicode"
    assert branch.commit.author.offset == 330
    assert branch.commit.author.when.isoformat().endswith("+05:30")
    assert branch.commit.committer.time == BASE_TIME + 120


def test_tags_annotated_and_lightweight_newest_first(code, sample):
    tags = code.tags()
    assert [t.name for t in tags] == ["v1.0", "light", "v0.9"]
    v10, light, v09 = tags
    assert v10.annotated and v10.message == "First release\n\nNotes.\n"
    assert v10.tagger.time == BASE_TIME + 9 * 60
    assert v10.commit.id == sample.commits["unicode_author"]
    assert not light.annotated and light.tagger is None
    assert light.commit.id == sample.commits["merge"]
    assert v09.commit.id == sample.commits["root"]


def test_tags_skip_a_tag_of_a_tree(small_work):
    git("tag", "-a", "tree-tag", "-m", "a tree", "HEAD^{tree}", cwd=small_work)
    git("tag", "ok", cwd=small_work)
    with CodeRepo(small_work / ".git") as code:
        assert [t.name for t in code.tags()] == ["ok"]
        with pytest.raises(NotFound):
            code.resolve("tree-tag")


@pytest.mark.parametrize("name", ODD_BRANCHES)
def test_resolve_branch_names_with_odd_characters(code, sample, name):
    expected = git(
        "rev-parse",
        "--verify",
        "--end-of-options",
        f"refs/heads/{name}",
        cwd=sample.path,
    ).stdout.strip()
    assert code.resolve(name).id == expected


def test_resolve_dash_name_is_a_name_not_an_option(code, sample):
    assert code.resolve("-x").id == sample.commits["root"]
    with pytest.raises(NotFound):
        code.resolve("--all")


def test_resolve_tags_full_and_short_ids(code, sample):
    tip = sample.commits["tip"]
    assert code.resolve("v1.0").id == sample.commits["unicode_author"]
    assert code.resolve("light").id == sample.commits["merge"]
    assert code.resolve(tip).id == tip
    assert code.resolve(tip[:7]).id == tip
    assert code.resolve(tip.upper()).id == tip


@pytest.mark.parametrize(
    "ref",
    [
        "nope",
        "trunk~1",
        "trunk^",
        "trunk..feature/x",
        "trunk^{tree}",
        "HEAD",
        "refs/heads/trunk",
        "../config",
        "",
        "feature",
        "0000000",
        "a" * 40,
    ],
)
def test_resolve_unknown_raises_not_found(code, ref):
    with pytest.raises(NotFound):
        code.resolve(ref)


# Names too long or too odd for libgit2 are names that are not there.

LONG_REF = "a" * 1100  # past GIT_REFNAME_MAX once refs/heads/ is added


@pytest.mark.parametrize(
    "ref",
    [LONG_REF, "é" * 600, "a" * 1013, "a/" * 800, "\ud800", "trunk\ud800"],
)
def test_resolve_of_a_name_libgit2_refuses_raises_not_found(code, ref):
    with pytest.raises(NotFound) as raised:
        code.resolve(ref)
    assert len(str(raised.value)) < 200  # the message does not repeat it all


def test_resolve_finds_the_longest_ref_libgit2_takes(small_work):
    # refs/heads/ plus 1012 bytes is 1023, one below GIT_REFNAME_MAX; every
    # part stays below the file system's 255 bytes.
    name = "/".join(["b" * 200] * 5) + "/" + "c" * 7
    git("branch", name, cwd=small_work)
    with CodeRepo(small_work / ".git") as code:
        assert code.resolve(name).id == code.resolve("master").id
        with pytest.raises(NotFound):
            code.resolve(name + "c")


@pytest.mark.parametrize(
    "call",
    [
        lambda code: code.split_ref_path(LONG_REF + "/src/app.py"),
        lambda code: code.split_ref_path("x/" * 1500),
        lambda code: code.tree(LONG_REF),
        lambda code: code.entry(LONG_REF, "README.md"),
        lambda code: code.blob(LONG_REF, "README.md"),
        lambda code: code.readme(LONG_REF),
        lambda code: code.log(LONG_REF),
        lambda code: code.last_commits(LONG_REF),
        lambda code: code.commit_detail(LONG_REF),
        lambda code: code.patch_text(LONG_REF),
    ],
)
def test_every_rev_taking_method_refuses_an_over_long_ref(code, call):
    with pytest.raises(NotFound):
        call(code)


def test_resolve_prefers_branch_over_tag(small_work):
    first = git("rev-parse", "HEAD", cwd=small_work).stdout.strip()
    git("tag", "same", cwd=small_work)
    second = commit_all(small_work, "Two", 2)
    git("branch", "same", cwd=small_work)
    with CodeRepo(small_work / ".git") as code:
        assert code.resolve("same").id == second
        assert code.resolve(first[:8]).id == first


def test_split_ref_path_takes_longest_ref(code, sample):
    commit, ref, path = code.split_ref_path("feature/x/src/feature.py")
    assert (commit.id, ref, path) == (
        sample.commits["feature"],
        "feature/x",
        "src/feature.py",
    )
    commit, ref, path = code.split_ref_path("trunk")
    assert (ref, path) == ("trunk", "")
    _, ref, path = code.split_ref_path("fé/ünï+c@de/dir with space/")
    assert (ref, path) == ("fé/ünï+c@de", "dir with space")
    with pytest.raises(NotFound):
        code.split_ref_path("nope/src")


# Folders and files


def test_tree_root_matches_git_ls_tree(code, sample):
    expected = set()
    for line in git("ls-tree", "-l", "-z", "trunk", cwd=sample.path).stdout.split("\0"):
        if not line:
            continue
        meta, name = line.split("\t", 1)
        mode, kind, oid, size = meta.split()
        expected.add((int(mode, 8), oid, None if size == "-" else int(size), name))
    found = {(e.mode, e.id, e.size, e.name) for e in code.tree("trunk")}
    assert found == expected


def test_tree_lists_folders_first_then_files_by_name(code):
    entries = code.tree("trunk")
    kinds = [e.kind in ("tree", "submodule") for e in entries]
    assert kinds == sorted(kinds, reverse=True)
    names = [e.name for e in entries]
    assert names[:4] == ["dir with space", "docs", "src", "sub"]
    assert names[4:] == sorted(names[4:], key=str.casefold)


def test_tree_kinds_of_entries(code):
    kinds = {e.name: e.kind for e in code.tree("trunk")}
    assert kinds["src"] == "tree"
    assert kinds["sub"] == "submodule"
    assert kinds["link"] == "symlink"
    assert kinds["README.md"] == "blob"


def test_tree_subfolder_with_space_and_unicode(code, sample):
    (entry,) = code.tree(sample.commits["root"], "dir with space")
    assert (entry.name, entry.path) == ("fïle ü.txt", "dir with space/fïle ü.txt")
    assert entry.size == len("spaced\n")
    assert code.tree("trunk", "/dir with space/") == code.tree(
        "trunk", "dir with space"
    )


@pytest.mark.parametrize("path", ["nope", "README.md", "sub", "src/../docs", ".."])
def test_tree_of_a_non_folder_raises_not_found(code, path):
    with pytest.raises(NotFound):
        code.tree("trunk", path)


@pytest.mark.parametrize("path", ["README.md\0x", "src\0", "README\ud800"])
def test_paths_no_tree_can_hold_raise_not_found(code, path):
    # libgit2 stops at a NUL: "README.md\0x" would read README.md.
    for method in (code.tree, code.entry, code.blob):
        with pytest.raises(NotFound):
            method("trunk", path)


def test_entry_tells_what_a_path_is(code, sample):
    root = code.entry("trunk", "")
    assert (root.kind, root.path, root.id) == (
        "tree",
        "",
        code.resolve("trunk").tree_id,
    )
    app = code.entry("trunk", "src/app.py")
    expected = git(
        "ls-tree", "-l", "trunk", "--", "src/app.py", cwd=sample.path
    ).stdout.split()
    assert [oct(app.mode)[2:], app.kind, app.id, str(app.size), app.path] == expected
    assert app.name == "app.py"
    assert code.entry("trunk", "src").kind == "tree"
    assert code.entry("trunk", "sub").kind == "submodule"
    assert code.entry("trunk", "link").kind == "symlink"
    with pytest.raises(NotFound):
        code.entry("trunk", "src/nope.py")


def test_blob_text_file(code):
    blob = code.blob("trunk", "dir with space/fïle ü.txt")
    assert (blob.data, blob.size, blob.binary, blob.text) == (
        b"spaced\n",
        7,
        False,
        "spaced\n",
    )


def test_blob_id_matches_git(code, sample):
    expected = git("rev-parse", "trunk:src/app.py", cwd=sample.path).stdout.strip()
    assert code.blob("trunk", "src/app.py").id == expected


def test_blob_binary_and_not_utf8(code):
    assert code.blob("trunk", "img.bin").binary
    latin = code.blob("trunk", "latin1.txt")
    assert latin.binary and latin.text is None


def test_blob_of_symlink_is_its_target(code):
    assert code.blob("trunk", "link").data == b"README.md"


@pytest.mark.parametrize("path", ["", "src", "sub", "nope.txt", "README.md/x"])
def test_blob_of_a_non_file_raises_not_found(code, path):
    with pytest.raises(NotFound):
        code.blob("trunk", path)


def test_looks_binary_cases():
    assert looks_binary(b"a\0b")
    assert looks_binary(b"\xff\xfe")
    assert not looks_binary("ünïcode".encode())
    assert not looks_binary(b"x" * 9000 + b"\0")  # NUL past the sniffed part


def test_readme_found_at_root(code):
    readme = code.readme("trunk")
    assert readme.name == "README.md"
    assert readme.text == "# Sample\n\nA project, now with features.\n"


def test_readme_case_insensitive_and_none_when_absent(small_work):
    with CodeRepo(small_work / ".git") as code:
        assert code.readme("master").name == "README"
        write(small_work, "docs/README.md", "not at the root\n")
        git("rm", "-q", "README", cwd=small_work)
        commit_all(small_work, "Move", 2)
        assert code.readme("master") is None
        write(small_work, "readme.TXT", "text\n")
        write(small_work, "ReadMe.rst", "rst\n")
        commit_all(small_work, "Two readmes", 3)
        assert code.readme("master").name == "ReadMe.rst"


# History


def test_log_matches_git_log_order(code, sample):
    expected = git_lines(sample.path, "log", "--format=%H", "-n", "50", "trunk")
    page = code.log("trunk")
    assert [c.id for c in page.commits] == expected
    assert not page.has_next and not page.has_previous


def test_log_order_matches_git_with_equal_times_and_skew(small_work):
    # Ties and a clock that went backwards are where orders part ways;
    # git takes equal times in the order it queued them.
    steps = [1, 1, 1, 0, 1, 1, 3, 1]
    for i, step in enumerate(steps[:4]):
        write(small_work, "a.txt", f"{i}\n")
        commit_all(small_work, f"trunk {i}", step)
    git("checkout", "-q", "-b", "side", "HEAD~2", cwd=small_work)
    for i, step in enumerate(steps[4:]):
        write(small_work, "b.txt", f"{i}\n")
        commit_all(small_work, f"side {i}", step)
    git("checkout", "-q", "master", cwd=small_work)
    git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge side",
        "side",
        cwd=small_work,
        env=dated(1),
    )
    expected = git_lines(small_work, "log", "--format=%H", "master")
    with CodeRepo(small_work / ".git") as code:
        assert [c.id for c in code.log("master").commits] == expected


def test_log_page_two_continues_like_git_skip(code, sample):
    first = code.log("trunk", page=1, per_page=10)
    second = code.log("trunk", page=2, per_page=10)
    assert first.has_next and second.has_next and second.has_previous
    expected = git_lines(
        sample.path, "log", "--format=%H", "--skip=10", "-n", "10", "trunk"
    )
    assert [c.id for c in second.commits] == expected
    assert first.commits[-1].parents[0] == second.commits[0].id


def test_log_last_page_has_no_next(code, sample):
    total = len(git_lines(sample.path, "rev-list", "trunk"))
    last = code.log("trunk", page=(total + 9) // 10, per_page=10)
    assert not last.has_next
    assert len(last.commits) == total % 10 or len(last.commits) == 10
    beyond = code.log("trunk", page=100, per_page=10)
    assert beyond.commits == () and not beyond.has_next


def test_log_with_bad_page_raises(code):
    with pytest.raises(ValueError):
        code.log("trunk", page=0)


@pytest.mark.parametrize(
    "path",
    [
        "src",
        "src/app.py",
        "docs/manual.md",
        "dir with space/fïle ü.txt",
        "README.md",
        "never/there",
    ],
)
def test_log_with_path_matches_git_log_path(code, sample, path):
    expected = git_lines(sample.path, "log", "--format=%H", "trunk", "--", path)
    assert [c.id for c in code.log("trunk", path=path).commits] == expected


def test_log_with_path_pages_like_git(code, sample):
    page = code.log("trunk", page=2, per_page=1, path="README.md")
    expected = git_lines(
        sample.path,
        "log",
        "--format=%H",
        "--skip=1",
        "-n",
        "1",
        "trunk",
        "--",
        "README.md",
    )
    assert [c.id for c in page.commits] == expected
    # README.md changed twice: page 2 of 1 is the last.
    assert not page.has_next
    assert code.log("trunk", page=1, per_page=1, path="README.md").has_next


def test_log_path_is_literal_not_a_pattern(code, sample):
    # As a glob, `*.py` would match src/app.py too.
    page = code.log("trunk", path="*.py")
    assert [c.id for c in page.commits] == [sample.commits["tip"]]
    assert code.log("trunk", path=":(glob)**").commits == ()


@pytest.mark.parametrize(
    "path", ["src\0app.py", "\0", "README\ud800", "x" * 200_000, "d/" * 2100]
)
def test_log_of_a_path_no_tree_can_hold_raises_not_found(code, path):
    # git would get a NUL, a surrogate or an argument past 128 KiB.
    with pytest.raises(NotFound):
        code.log("trunk", path=path)


def test_last_commits_are_the_newest(code, sample):
    expected = git_lines(sample.path, "log", "--format=%H", "-n", "3", "trunk")
    assert [c.id for c in code.last_commits("trunk", 3)] == expected


def test_commit_info_matches_git_show(code, sample):
    sha = sample.commits["root"]
    fields = git(
        "show", "-s", "--format=%an%n%ae%n%at%n%cn%n%ct%n%s%n%T", sha, cwd=sample.path
    ).stdout.splitlines()
    info = code.resolve(sha)
    assert fields == [
        info.author.name,
        info.author.email,
        str(info.author.time),
        info.committer.name,
        str(info.committer.time),
        info.summary,
        info.tree_id,
    ]
    assert info.message == "Start the project\n\nWith a body.\n"
    assert info.parents == ()
    assert code.resolve(sample.commits["merge"]).parents == (
        sample.commits["readme"],
        sample.commits["feature"],
    )


# One commit


def git_numstat(repo: Path, sha: str) -> dict[str, tuple[int | None, int | None]]:
    """`git show --numstat` against the first parent, keyed by new path."""
    out = git(
        "show",
        "--format=",
        "--numstat",
        "-z",
        "-M",
        "--diff-merges=first-parent",
        sha,
        cwd=repo,
    ).stdout
    fields = out.split("\0")
    stats, i = {}, 0
    while i < len(fields) and fields[i].strip("\n"):
        added, deleted, path = fields[i].strip("\n").split("\t")
        if not path:  # a rename: the old and new paths follow
            path, i = fields[i + 2], i + 2
        stats[path] = (
            None if added == "-" else int(added),
            None if deleted == "-" else int(deleted),
        )
        i += 1
    return stats


@pytest.mark.parametrize(
    "name",
    ["root", "unicode_author", "binary", "rename", "links", "merge", "big", "tip"],
)
def test_commit_detail_counts_match_git_numstat(code, sample, name):
    sha = sample.commits[name]
    detail = code.commit_detail(sha)
    found = {
        f.new_path: (None, None) if f.binary else (f.additions, f.deletions)
        for f in detail.diff.files
    }
    assert found == git_numstat(sample.path, sha)
    assert detail.diff.additions == sum(f.additions for f in detail.diff.files)


def test_commit_detail_root_commit_adds_everything(code, sample):
    detail = code.commit_detail(sample.commits["root"])
    assert detail.commit.parents == ()
    assert {f.status for f in detail.diff.files} == {"added"}
    assert {f.new_path for f in detail.diff.files} == {
        "README.md",
        "src/app.py",
        "dir with space/fïle ü.txt",
        "docs/guide.md",
    }


def test_commit_detail_detects_rename(code, sample):
    (change,) = code.commit_detail(sample.commits["rename"]).diff.files
    assert (change.status, change.old_path, change.new_path) == (
        "renamed",
        "docs/guide.md",
        "docs/manual.md",
    )
    assert change.similarity == 100
    assert (change.additions, change.deletions) == (0, 0)


def test_commit_detail_marks_binary(code, sample):
    (change,) = code.commit_detail(sample.commits["binary"]).diff.files
    assert change.binary and change.patch is None and not change.truncated
    assert change.status == "added"


@pytest.mark.parametrize("name", ["unicode_author", "rename", "merge", "readme"])
def test_commit_detail_patch_matches_git_show(code, sample, name):
    sha = sample.commits[name]
    expected = git(
        "show", "--format=", "-M", "--diff-merges=first-parent", sha, cwd=sample.path
    ).stdout
    detail = code.commit_detail(sha)
    assert "".join(f.patch for f in detail.diff.files) == expected


def test_commit_detail_merge_is_against_first_parent(code, sample):
    detail = code.commit_detail(sample.commits["merge"])
    assert [f.new_path for f in detail.diff.files] == ["src/feature.py"]
    assert detail.commit.summary == "Merge feature/x"


def test_commit_detail_drops_a_big_file_patch(code, sample):
    detail = code.commit_detail(sample.commits["big"])
    (change,) = detail.diff.files
    assert change.truncated and change.patch is None and detail.diff.truncated
    assert change.additions == 30_000
    assert not code.commit_detail(
        sample.commits["big"], max_file_bytes=10**7
    ).diff.truncated


def test_commit_detail_total_limit_keeps_early_files(code, sample):
    full = code.commit_detail(sample.commits["root"])
    sizes = [len(f.patch.encode()) for f in full.diff.files]
    limited = code.commit_detail(sample.commits["root"], max_bytes=sizes[0] + sizes[1])
    kept = [f.patch is not None for f in limited.diff.files]
    assert kept == [True, True, False, False]
    assert [f.truncated for f in limited.diff.files] == [False, False, True, True]
    assert limited.diff.additions == full.diff.additions


@pytest.mark.parametrize("name", ["root", "unicode_author", "binary", "rename"])
def test_patch_text_applies_with_git_am(tmp_path, sample, name):
    sha = sample.commits[name]
    with CodeRepo(sample.path) as code:
        patch = code.patch_text(sha)
        info = code.resolve(sha)
    work = tmp_path / "am"
    git("init", "-q", "-b", "am", str(work))
    if info.parents:
        git("fetch", "-q", str(sample.path), info.parents[0], cwd=work)
        git("reset", "-q", "--hard", "FETCH_HEAD", cwd=work)
    (tmp_path / "change.patch").write_bytes(patch)
    git("am", "-q", str(tmp_path / "change.patch"), cwd=work)
    shown = git("show", "-s", "--format=%T%n%an%n%ae%n%at%n%B", "HEAD", cwd=work).stdout
    assert shown.rstrip("\n") == "\n".join(
        [
            info.tree_id,
            info.author.name,
            info.author.email,
            str(info.author.time),
            info.message.rstrip("\n"),
        ]
    )


def test_methods_take_a_resolved_commit_as_rev(code, sample):
    tip = code.resolve("trunk")
    assert code.tree(tip) == code.tree("trunk")
    assert code.blob(tip, "README.md") == code.blob(sample.commits["tip"], "README.md")
    assert code.log(tip, per_page=5) == code.log("trunk", per_page=5)
    assert code.commit_detail(tip).commit == tip
