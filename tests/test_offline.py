"""`gitforge tickets` and `gitforge requests` in real clones, with no server
running: each write is one commit by the user's git identity of files the
server would accept."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner

from gitforge.cli import main
from gitforge.offline import short_uids
from gitforge.store import formats
from gitforge.store.documents import Identity, canonical_json, uid_folder
from gitforge.store.requests import RequestRepo, request_path
from gitforge.store.tickets import TicketRepo, ticket_path
from gitforge.tasks.projects import create_project
from tests.conftest import git

ADMIN = Identity("admin", "admin@example.org")
RELPATH = "tickets/foo.git"
USER = "Ada Admin <admin@example.org>"


@pytest.fixture
def user_env(tmp_path, monkeypatch):
    """git as a user runs it: the identity comes from git config only."""
    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                 "GIT_COMMITTER_EMAIL", "EMAIL", "GIT_EDITOR", "VISUAL",
                 "EDITOR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def _clone_as_user(bare, work, monkeypatch):
    git("clone", "-q", str(bare), str(work))
    git("config", "user.name", "Ada Admin", cwd=work)
    git("config", "user.email", "admin@example.org", cwd=work)
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def project(config):
    create_project(config, "foo", "admin")


@pytest.fixture
def clone(config, project, tmp_path, monkeypatch, user_env):
    """A clone of foo's ticket repo holding ticket #1, as the working folder."""
    with TicketRepo(config.repositories / RELPATH) as tickets:
        ticket = tickets.create_ticket(ADMIN, "Existing", "First body", tags=["bug"])
    work = _clone_as_user(config.repositories / RELPATH, tmp_path / "work", monkeypatch)
    return work, ticket


def tickets(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["tickets", *args], input=input)


def _head(work) -> str:
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def _one_commit(work, before: str) -> list[str]:
    """Assert that exactly one commit, by the user, was added on main and
    that the working tree is clean; return the paths it changed."""
    assert git("rev-list", f"{before}..main", cwd=work).stdout.count("\n") == 1
    assert git("rev-parse", "HEAD~1", cwd=work).stdout.strip() == before
    who = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", cwd=work).stdout.strip()
    assert who == f"{USER}|{USER}"
    assert git("status", "--porcelain", cwd=work).stdout == ""
    return git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD",
               cwd=work).stdout.split()  # fmt: skip


def _canonical(work, path: str, kind: str) -> dict:
    """The document at `path`: checked by formats, byte-equal to its
    canonical form, in the working tree and in the commit alike."""
    data = (work / path).read_bytes()
    doc = json.loads(data)
    assert data == canonical_json(doc)
    assert git("show", f"HEAD:{path}", cwd=work).stdout.encode() == data
    return formats.check(kind, path, doc)


def _nothing_written(work, before: str) -> None:
    assert _head(work) == before
    assert git("status", "--porcelain", "--untracked-files=all", cwd=work).stdout == ""


def _new_uid(work, before: str) -> str:
    [path] = _one_commit(work, before)
    return path.split("/")[1]


# -- new, list, show ------------------------------------------------------------


def test_new_ticket_is_one_commit_of_a_canonical_file_without_number(clone):
    work, existing = clone
    before = _head(work)
    done = tickets("new", "--title", "  Crash on start ", "--body", "It *crashes*",
                   "--tag", "ui", "--tag", "bug", "--tag", "ui",
                   "--private")  # fmt: skip
    assert done.exit_code == 0, done.output
    [path] = _one_commit(work, before)
    uid = path.split("/")[1]
    assert path == ticket_path(uid) and path.startswith(f"{uid[-2:]}/{uid}/")
    ticket = _canonical(work, path, "ticket")
    assert ticket["number"] is None
    assert (ticket["title"], ticket["body"]) == ("Crash on start", "It *crashes*")
    assert (ticket["tags"], ticket["private"]) == (["bug", "ui"], True)
    assert (ticket["author"], ticket["status"]) == ("admin", "Open")
    short = short_uids([uid, existing["uid"]])[uid]
    assert done.output.startswith(f"Created ticket (new) {short}: Crash on start [")
    message = git("log", "-1", "--format=%s", cwd=work).stdout.strip()
    assert message == "Create ticket: Crash on start"


def test_list_shows_numbers_new_tickets_and_the_web_filters(clone):
    work, ticket = clone
    before = _head(work)
    tickets("new", "--title", "Offline", "--tag", "ui")
    new_uid = _new_uid(work, before)
    short = short_uids([new_uid, ticket["uid"]])[new_uid]
    tickets("close", "1", "--reason", "Fixed")
    assert tickets("list").output == f"(new) {short}  Open  Offline  ui\n"
    everything = tickets("list", "--status", "all").output.splitlines()
    assert everything == [
        f"(new) {short}  Open    Offline   ui",
        "1".ljust(len(f"(new) {short}")) + "  Closed  Existing  bug",
    ]
    oldest = tickets("list", "--status", "all", "--sort", "oldest").output
    assert oldest.splitlines() == everything[::-1]
    assert tickets("list", "--status", "closed", "--tag", "bug").output.startswith("1 ")
    assert tickets("list", "--tag", "bug").output == "No tickets match.\n"
    assert "Offline" in tickets("list", "--author", "admin").output
    assert tickets("list", "--assignee", "admin").output == "No tickets match.\n"
    tickets("assign", new_uid[:8], "admin")
    assert "Offline" in tickets("list", "--assignee", "admin").output


def test_show_by_number_and_by_uid_prefix_with_comments_in_order(clone):
    work, ticket = clone
    for body in ("First comment", "Second comment"):
        assert tickets("comment", "#1", "--body", body).exit_code == 0
    shown = tickets("show", "1")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "#1 Existing"
    assert "Status:    Open" in lines and "Tags:      bug" in lines
    assert f"Uid:       {ticket['uid']}" in lines
    assert shown.output.index("First body") < shown.output.index("First comment")
    assert shown.output.index("First comment") < shown.output.index("Second comment")
    assert "--- admin, " in shown.output
    before = _head(work)
    tickets("new", "--title", "Made here")
    uid = _new_uid(work, before)
    by_prefix = tickets("show", uid[:6])
    short = short_uids([uid, ticket["uid"]])[uid]
    assert by_prefix.output.startswith(f"(new) {short} Made here\n")
    assert tickets("show", ticket["uid"][:10]).output == shown.output


def _commit_ticket_by_hand(work, uid: str) -> None:
    ticket = {"format": 1, "uid": uid, "number": None, "title": "By hand",
              "body": "", "author": "admin", "created": "2026-01-01T00:00:00Z",
              "status": "Open", "close_reason": None, "tags": [],
              "private": False}  # fmt: skip
    (work / uid_folder(uid)).mkdir(parents=True)
    (work / ticket_path(uid)).write_text(json.dumps(ticket))
    git("add", "-A", cwd=work)
    git("commit", "-qm", "By hand", cwd=work)


def test_unknown_and_ambiguous_names_are_refused(clone):
    work, _ticket = clone
    done = tickets("show", "7")
    assert done.exit_code == 1
    assert done.output == (
        "Error: no ticket '7' here: give its number, or at least 4 leading "
        "digits of its uid\n"
    )
    assert "no ticket 'abc' here" in tickets("show", "abc").output  # too short
    first, second = "abcd1" + "0" * 27, "abcd2" + "0" * 27
    _commit_ticket_by_hand(work, first)
    _commit_ticket_by_hand(work, second)
    done = tickets("show", "abcd")
    assert done.output == f"Error: 'abcd' names several tickets: {first}, {second}\n"
    assert tickets("show", "ABCD2").output.startswith("(new) abcd2 By hand\n")
    # Digits name a number first, and a uid prefix when no ticket has it.
    _commit_ticket_by_hand(work, "12345" + "0" * 27)
    assert tickets("show", "1234").output.startswith("(new) 1234 By hand\n")
    assert tickets("show", "0001").output.startswith("#1 Existing\n")


def test_a_broken_ticket_file_is_named_and_the_rest_still_listed(clone):
    work, _ticket = clone
    uid = "dead" + "0" * 28
    (work / uid_folder(uid)).mkdir(parents=True)
    (work / ticket_path(uid)).write_text('{"title": ')
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Broken by hand", cwd=work)
    listed = tickets("list")
    assert listed.exit_code == 0
    assert listed.stdout == "1  Open  Existing  bug\n"
    assert listed.stderr.startswith(
        f"warning: skipped {ticket_path(uid)}: broken JSON at line 1"
    )
    done = tickets("show", "dead")
    assert done.exit_code == 1
    assert f"(1 unreadable: {ticket_path(uid)}: broken JSON" in done.output


def test_short_uids_tell_every_uid_apart():
    uids = ["abcd0000" + "0" * 24, "abcd0001" + "0" * 24, "ffff" + "1" * 28]
    assert short_uids(uids) == {uids[0]: "abcd0000", uids[1]: "abcd0001",
                                uids[2]: "ffff"}  # fmt: skip


# -- comment, close, reopen, tag, assign, edit ----------------------------------


def test_comment_is_one_commit_of_a_canonical_file(clone):
    work, ticket = clone
    before = _head(work)
    done = tickets("comment", "1", "--body", "Reproduced on 1.1.")
    assert done.exit_code == 0, done.output
    [path] = _one_commit(work, before)
    folder = f"{uid_folder(ticket['uid'])}/comments/"
    assert path.startswith(folder) and path.endswith(".json")
    comment = _canonical(work, path, "comment")
    assert comment["uid"] == path[len(folder) : -len(".json")]
    assert (comment["author"], comment["body"]) == ("admin", "Reproduced on 1.1.")
    assert comment["edited"] is None
    assert done.output.startswith("Commented on ticket #1 [main ")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["close", "1", "--reason", " Fixed "],
         {"status": "Closed", "close_reason": "Fixed"}),
        (["close", "1"], {"status": "Closed", "close_reason": None}),
        (["tag", "1", "ui", "api", "--remove", "bug"], {"tags": ["api", "ui"]}),
        (["tag", "1", "--remove", "bug"], {"tags": []}),
        (["assign", "1", "admin"], {"assignee": "admin"}),
        (["edit", "1", "--title", "Renamed"],
         {"title": "Renamed", "body": "First body"}),
        (["edit", "1", "--body", ""], {"title": "Existing", "body": ""}),
    ],
)  # fmt: skip
def test_each_change_is_one_commit_of_the_ticket_file(clone, args, expected):
    work, ticket = clone
    before = _head(work)
    done = tickets(*args, "--as", "admin")
    assert done.exit_code == 0, done.output
    assert _one_commit(work, before) == [ticket_path(ticket["uid"])]
    written = _canonical(work, ticket_path(ticket["uid"]), "ticket")
    assert written == {**ticket, **expected}


def test_reopen_and_unassign_undo_close_and_assign(clone):
    work, ticket = clone
    tickets("close", "1", "--reason", "Fixed")
    tickets("assign", "1", "admin")
    before = _head(work)
    assert tickets("reopen", "1").exit_code == 0
    assert tickets("assign", "1", "--none").exit_code == 0
    assert git("rev-list", "--count", f"{before}..HEAD", cwd=work).stdout == "2\n"
    assert _canonical(work, ticket_path(ticket["uid"]), "ticket") == ticket


def test_a_change_that_changes_nothing_makes_no_commit(clone):
    work, _ticket = clone
    tickets("close", "1", "--reason", "Fixed")
    before = _head(work)
    done = tickets("close", "1", "--reason", "Fixed")
    assert done.exit_code == 0
    assert done.output == "Nothing changed: ticket #1 already reads so\n"
    _nothing_written(work, before)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["new", "--title", "x" * 300],
         "field 'title': must be one line of at most 255 characters"),
        (["new", "--title", "T", "--tag", "a\nb"],
         "field 'tags': tag 'a\\nb' must be one line"),
        (["new", "--title", "T", "--body", "x" * 70_000],
         "field 'body': is 70000 characters long; at most 65536"),
        (["edit", "1", "--title", " "], "field 'title': must not be empty"),
        (["assign", "1", "no body"],
         "field 'assignee': must be a user name or null"),
        (["close", "1", "--reason", "a\nb"],
         "field 'close_reason': must be one line"),
        (["comment", "1", "--body", "x" * 70_000],
         "field 'body': is 70000 characters long"),
        (["comment", "1", "--body", "  "], "the comment is empty"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_with_the_servers_message(clone, args, expected):
    work, ticket = clone
    before = _head(work)
    done = tickets(*args)
    assert done.exit_code == 1
    assert expected in done.output and "Traceback" not in done.output
    if args[0] != "new" and "empty" not in expected:
        assert f"Error: {uid_folder(ticket['uid'])}/" in done.output
    _nothing_written(work, before)


def test_usage_errors_of_tag_and_assign(clone):
    work, _ticket = clone
    before = _head(work)
    assert "name a TAG" in tickets("tag", "1").output
    assert "either USER or --none" in tickets("assign", "1").output
    assert "either USER or --none" in tickets("assign", "1", "x", "--none").output
    _nothing_written(work, before)


# -- the editor -------------------------------------------------------------------


def _editor(tmp_path, name: str, text: str | None) -> str:
    """A fake editor that puts `text` above what it was given (or, with
    None, leaves the file as it is)."""
    script = tmp_path / name
    if text is None:
        script.write_text("#!/bin/sh\nexit 0\n")
    else:
        quoted = text.replace("'", "'\\''")
        script.write_text(
            "#!/bin/sh\n"
            f"{{ printf '%s' '{quoted}'; cat \"$1\"; }} > \"$1.new\" && "
            'mv "$1.new" "$1"\n'
        )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.parametrize("variable", ["GIT_EDITOR", "VISUAL", "EDITOR"])
def test_new_without_title_takes_title_and_body_from_the_editor(
    clone, tmp_path, monkeypatch, variable
):
    work, _ticket = clone
    text = "Title from the editor\n\n# A heading\nBody text\n"
    monkeypatch.setenv(variable, _editor(tmp_path, "ed.sh", text))
    before = _head(work)
    done = tickets("new", "--tag", "ui")
    assert done.exit_code == 0, done.output
    [path] = _one_commit(work, before)
    ticket = _canonical(work, path, "ticket")
    assert ticket["title"] == "Title from the editor"
    assert ticket["body"] == "# A heading\nBody text"
    assert ticket["tags"] == ["ui"]


@pytest.mark.parametrize("text", [None, "  \n", "\nA title on line 2\n"])
def test_an_empty_title_in_the_editor_aborts_and_writes_nothing(
    clone, tmp_path, monkeypatch, text
):
    work, _ticket = clone
    monkeypatch.setenv("GIT_EDITOR", _editor(tmp_path, "ed.sh", text))
    before = _head(work)
    done = tickets("new", "--body", "kept in the template")
    assert done.exit_code == 1
    assert done.output == "Error: the title is empty; nothing was written\n"
    _nothing_written(work, before)


def test_a_failing_editor_aborts_and_writes_nothing(clone, monkeypatch):
    work, _ticket = clone
    monkeypatch.setenv("GIT_EDITOR", "false")
    before = _head(work)
    done = tickets("comment", "1")
    assert done.exit_code == 1
    assert "the editor (false) failed with status 1; nothing was written" in (
        done.output
    )
    _nothing_written(work, before)


def test_text_from_the_scissors_line_down_is_left_out_wherever_it_starts(
    clone, tmp_path, monkeypatch
):
    work, _ticket = clone
    squeeze = tmp_path / "squeeze.sh"  # drops blank lines: the file starts at >8
    squeeze.write_text("#!/bin/sh\nsed -i '/^$/d' \"$1\"\n")
    squeeze.chmod(0o755)
    monkeypatch.setenv("GIT_EDITOR", str(squeeze))
    before = _head(work)
    done = tickets("comment", "1")
    assert done.output == "Error: the comment is empty; nothing was written\n"
    _nothing_written(work, before)


def test_comment_and_edit_in_the_editor(clone, tmp_path, monkeypatch):
    work, ticket = clone
    monkeypatch.setenv("GIT_EDITOR", _editor(tmp_path, "c.sh", "From the editor\n"))
    before = _head(work)
    assert tickets("comment", "1").exit_code == 0
    [path] = _one_commit(work, before)
    assert _canonical(work, path, "comment")["body"] == "From the editor"
    retitle = tmp_path / "retitle.sh"
    retitle.write_text("#!/bin/sh\nsed -i '1s/.*/New title/' \"$1\"\n")
    retitle.chmod(0o755)
    monkeypatch.setenv("GIT_EDITOR", str(retitle))
    before = _head(work)
    assert tickets("edit", "1").exit_code == 0
    written = _canonical(work, ticket_path(ticket["uid"]), "ticket")
    assert (written["title"], written["body"]) == ("New title", "First body")
    _one_commit(work, before)


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("staged", [False, True])
def test_uncommitted_changes_to_the_ticket_are_refused(clone, staged):
    work, ticket = clone
    path = ticket_path(ticket["uid"])
    edited = (work / path).read_text().replace("Existing", "Edited by hand")
    (work / path).write_text(edited)
    if staged:
        git("add", path, cwd=work)
    before = _head(work)
    done = tickets("close", "1")
    assert done.exit_code == 1
    assert f"Error: uncommitted changes to {path}: commit or stash them" in (
        done.output
    )
    assert _head(work) == before
    assert (work / path).read_text() == edited


def test_other_uncommitted_changes_are_left_alone(clone):
    work, ticket = clone
    (work / "README.md").write_text("my notes\n")
    before = _head(work)
    assert tickets("comment", "1", "--body", "hi").exit_code == 0
    [path] = git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD",
                 cwd=work).stdout.split()  # fmt: skip
    assert path.startswith(f"{uid_folder(ticket['uid'])}/comments/")
    assert git("status", "--porcelain", cwd=work).stdout == " M README.md\n"
    assert _head(work) != before


def test_outside_a_git_working_tree(tmp_path, monkeypatch, user_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    done = tickets("new", "--title", "Lost")
    assert done.exit_code == 1
    assert done.output.startswith(
        f"Error: not inside a ticket repo clone: {empty} is not in a git "
        "working tree; clone a project's ticket repo"
    )
    assert list(empty.iterdir()) == []


def test_in_a_git_clone_that_is_no_ticket_repo(tmp_path, monkeypatch, user_env):
    work = tmp_path / "code"
    git("init", "-q", str(work))
    (work / "sub").mkdir()
    monkeypatch.chdir(work / "sub")
    for args in (["list"], ["new", "--title", "Lost"]):
        done = tickets(*args)
        assert done.exit_code == 1
        assert done.output.startswith(
            f"Error: not inside a ticket repo clone: {work} has no numbers.json "
            "at its top, which every ticket repo has"
        )
    assert git("status", "--porcelain", cwd=work).stdout == ""


def test_works_from_a_folder_inside_the_clone(clone, monkeypatch):
    work, ticket = clone
    monkeypatch.chdir(work / uid_folder(ticket["uid"]))
    assert tickets("show", "1").output.startswith("#1 Existing\n")


def test_a_detached_head_is_refused(clone):
    work, _ticket = clone
    git("switch", "-q", "--detach", "HEAD", cwd=work)
    before = _head(work)
    done = tickets("new", "--title", "Nowhere")
    assert "Error: HEAD is detached: switch to a branch first" in done.output
    _nothing_written(work, before)


@pytest.mark.parametrize("to", [" >&2", ""])  # the hook's message, on either
def test_a_refused_commit_puts_the_files_back(clone, to):
    work, ticket = clone
    hook = work / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\necho 'no commits today'{to}\nexit 1\n")
    hook.chmod(0o755)
    before = _head(work)
    for args in (
        ["new", "--title", "T"],
        ["close", "1"],
        ["comment", "1", "--body", "x"],
    ):
        done = tickets(*args)
        assert done.exit_code == 1
        assert "git commit failed: no commits today" in done.output
        _nothing_written(work, before)
    assert not (work / uid_folder(ticket["uid"]) / "comments").exists()


# -- who writes -------------------------------------------------------------------


def test_the_author_is_as_user_else_gitforge_user_else_the_email(clone):
    work, ticket = clone

    def last_author() -> str:
        [path] = git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD",
                     cwd=work).stdout.split()  # fmt: skip
        return json.loads((work / path).read_text())["author"]

    git("config", "user.email", "ada.l+forge@example.org", cwd=work)
    tickets("comment", "1", "--body", "a")
    assert last_author() == "ada.l+forge"
    git("config", "gitforge.user", "ada", cwd=work)
    tickets("comment", "1", "--body", "b")
    assert last_author() == "ada"
    tickets("comment", "1", "--body", "c", "--as", "carol")
    assert last_author() == "carol"
    who = git("log", "-1", "--format=%an <%ae>", cwd=work).stdout.strip()
    assert who == "Ada Admin <ada.l+forge@example.org>"  # git's own identity


def test_an_email_that_makes_no_user_name_gets_a_hint(clone):
    work, _ticket = clone
    git("config", "user.email", "o'hara@example.org", cwd=work)
    before = _head(work)
    done = tickets("new", "--title", "T")
    assert done.output == (
        "Error: \"o'hara\" (from your git email o'hara@example.org) must be a "
        "user name: name your gitforge account with --as NAME or "
        "`git config gitforge.user NAME`\n"
    )
    _nothing_written(work, before)


def test_without_a_git_identity_nothing_is_written(clone, tmp_path, monkeypatch):
    work, _ticket = clone
    git("config", "--unset", "user.email", cwd=work)
    git("config", "user.useConfigOnly", "true", cwd=work)
    monkeypatch.setenv("GIT_EDITOR", _editor(tmp_path, "ed.sh", "Title\n"))
    before = _head(work)
    done = tickets("new")
    assert done.exit_code == 1
    assert done.output.startswith("Error: git does not know who you are:")
    assert "user.email" in done.output
    _nothing_written(work, before)


# -- to the server and back ------------------------------------------------------


def test_a_ticket_made_offline_is_pushed_and_numbered_by_the_server(config, clone):
    from gitforge.tasks.sync import load_json

    work, _ticket = clone
    old = _head(work)
    tickets("new", "--title", "Made offline", "--tag", "ui")
    uid = _new_uid(work, old)
    tickets("comment", uid[:4], "--body", "Before the push")
    pushed = git("push", "origin", "main", cwd=work, check=False)
    assert pushed.returncode == 0, pushed.stderr
    # The post-receive hook queued this in the home's queue; run it here.
    load_json.call_local(str(config.home), RELPATH, old)
    git("pull", "-q", "origin", "main", cwd=work)
    shown = tickets("show", "2")
    assert shown.output.startswith("#2 Made offline\n")
    assert "Before the push" in shown.output
    assert tickets("list").output.splitlines()[0].startswith("2  Open  Made offline")


# -- pull requests ----------------------------------------------------------------

PR = dict(title="Add a feature", source_repo="foo", source_branch="feature",
          target_branch="main", base="b" * 40, head="a" * 40)  # fmt: skip


@pytest.fixture
def request_clone(config, project, tmp_path, monkeypatch, user_env):
    """A clone of foo's request repo: #1 open, #2 merged."""
    path = config.repositories / "requests" / "foo.git"
    with RequestRepo(path) as requests:
        opened = requests.open_request(ADMIN, 1, **PR)
        merged = requests.open_request(ADMIN, 2, **PR)
        requests.edit(merged["uid"], ADMIN, {
            "status": "Merged", "merge_commit": "c" * 40, "closed_by": "admin",
            "closed_at": "2026-01-01T00:00:00Z"}, "Merge")  # fmt: skip
    work = _clone_as_user(path, tmp_path / "requests", monkeypatch)
    return work, opened


def pull_requests(*args: str):
    return CliRunner().invoke(main, ["requests", *args])


def test_request_comment_and_close_are_commits_in_the_clone(request_clone):
    work, opened = request_clone
    before = _head(work)
    done = pull_requests("comment", "1", "--body", "Looks good")
    assert done.exit_code == 0, done.output
    [path] = _one_commit(work, before)
    assert path.startswith(f"{uid_folder(opened['uid'])}/comments/")
    comment = _canonical(work, path, "request_comment")
    assert (comment["inline"], comment["author"]) == (None, "admin")
    before = _head(work)
    done = pull_requests("close", "1")
    assert done.output.startswith("Closed pull request #1 [main ")
    assert _one_commit(work, before) == [request_path(opened["uid"])]
    closed = _canonical(work, request_path(opened["uid"]), "request")
    assert (closed["status"], closed["closed_by"]) == ("Closed", "admin")
    assert closed["closed_at"] is not None
    assert closed == {**opened, **{k: closed[k] for k in ("status", "closed_by",
                                                          "closed_at")}}  # fmt: skip
    # The server takes the push, as the help says.
    pushed = git("push", "origin", "main", cwd=work, check=False)
    assert pushed.returncode == 0, pushed.stderr
    assert "push them back" in " ".join(pull_requests("--help").output.split())


def test_a_merged_request_cannot_be_closed(request_clone):
    work, _opened = request_clone
    before = _head(work)
    done = pull_requests("close", "2")
    assert done.output == "Error: pull request #2 is merged; it cannot be closed\n"
    _nothing_written(work, before)


def test_ticket_and_request_commands_refuse_each_others_clones(
    config, request_clone, tmp_path, monkeypatch
):
    requests_work, _opened = request_clone
    tickets_work = tmp_path / "tickets"
    _clone_as_user(config.repositories / RELPATH, tickets_work, monkeypatch)
    monkeypatch.chdir(tickets_work)
    done = pull_requests("comment", "1", "--body", "x")
    assert done.output.startswith(
        f"Error: not inside a request repo clone: {tickets_work} (it is a ticket "
        "repo clone: use `gitforge tickets`)"
    )
    monkeypatch.chdir(requests_work)
    done = tickets("list")
    assert "has no numbers.json at its top" in done.output
