"""`gitforge import pagure`: a Pagure ticket repo and request repo, built in
the layout Pagure writes (one JSON file per item at the root, named by its
uid, with Pagure's field names, user objects and epoch-second strings, and
attachments under files/), imported into a project and checked in git, in
the index and on the pages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from gitforge.config import Config
from gitforge.index import queries, request_queries
from gitforge.index.db import engine_for
from gitforge.pagure import (
    BadPagureData,
    ImportRefused,
    import_pagure,
    read_users_file,
)
from gitforge.pagure.values import derived_uid, pagure_time, safe_attachment_name
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.layout import RepoKind, repo_path
from gitforge.store.requests import RequestRepo, flag_uid
from gitforge.store.site import NewUser, SiteRepo
from gitforge.store.tickets import TicketRepo
from gitforge.tasks.forks import fork_project
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user

PASSWORD = "secret-pw1"
U1, U2, U3, U4 = (f"{n:x}" * 32 for n in (1, 2, 3, 4))
R5, R6, R7 = (f"{n:x}" * 32 for n in (5, 6, 7))
SHOT = "8a06845923010b27bfd8e7e75acff7badc40d1021b4994e01f5e11ca40bc3abe-screen.png"
T0 = 1431414800  # 2015-05-12T07:13:20Z
TIME = "2015-05-12T07:13:20Z"


def when(seconds: int) -> str:
    """A time as Pagure writes it: epoch seconds in a string."""
    return str(T0 + seconds)


def person(name: str, fullname: str = "") -> dict:
    return {
        "name": name,
        "fullname": fullname or name.title(),
        "default_email": f"{name}@pagure.example",
        "emails": [f"{name}@pagure.example"],
    }


ALICE, DAVE, CAROL = person("alice"), person("dave"), person("carol", "Carol <C> Q")


# -- building Pagure's repos ---------------------------------------------------


def write_tree(repo: pygit2.Repository, entries: dict) -> pygit2.Oid:
    """A tree written byte by byte, so names git itself refuses (`..`,
    slashes) can be tested as a hostile Pagure repo would hold them."""
    items = []
    for name, value in entries.items():
        if isinstance(value, dict):
            oid, mode, key = write_tree(repo, value), b"40000", f"{name}/"
        else:
            oid, mode, key = repo.create_blob(value), b"100644", name
        items.append((key.encode(), mode + b" " + name.encode() + b"\0" + oid.raw))
    raw = b"".join(entry for _key, entry in sorted(items))
    return repo.odb.write(pygit2.enums.ObjectType.TREE, raw)


def pagure_repo(path: Path, commits: list[tuple[str, dict]], bare: bool) -> Path:
    """A repo whose master branch has one commit per (message, files)."""
    repo = pygit2.init_repository(str(path), bare=bare, initial_head="master")
    who = pygit2.Signature("pagure", "pagure")
    parents: list = []
    for message, files in commits:
        tree = write_tree(repo, files)
        parents = [
            repo.create_commit("refs/heads/master", who, who, message, tree, parents)
        ]
    return path


def item_file(data: dict) -> bytes:
    """An item as Pagure writes it to git."""
    return json.dumps(data, sort_keys=True, indent=4, separators=(",", ": ")).encode()


def issue(number: int, title: str, user: dict, **fields) -> dict:
    return {
        "id": number,
        "title": title,
        "content": fields.pop("content", ""),
        "status": "Open",
        "close_status": None,
        "date_created": when(number),
        "last_updated": when(number + 50),
        "closed_at": None,
        "user": user,
        "private": False,
        "tags": [],
        "depends": [],
        "blocks": [],
        "assignee": None,
        "priority": None,
        "milestone": None,
        "custom_fields": [],
        "closed_by": None,
        "comments": [],
        **fields,
    }


def comment(number: int, body: str, user: dict, at: int, edited=None, **more) -> dict:
    return {
        "id": number,
        "comment": body,
        "parent": None,
        "date_created": when(at),
        "user": user,
        "edited_on": when(edited) if edited else None,
        "editor": user if edited else None,
        "notification": False,
        "reactions": {},
        **more,
    }


def ticket_items() -> dict[str, dict]:
    link = f"/foo/issue/raw/files/{SHOT}"
    return {
        U1: issue(
            1,
            "Crash on start: ünïcode ✓ 日本語",
            ALICE,
            content=f"It crashes.\n\n[![screen.png]({link})]({link})",
            assignee=DAVE,
            tags=["ui", "bug"],
            milestone="1.0",
            priority=2,
            comments=[
                comment(11, "Same here — ça plante", CAROL, 100, 150),
                comment(12, "Fixed in 1.1?", ALICE, 200),
            ],
        ),
        U2: issue(
            2,
            "Logs attached",
            CAROL,
            status="Closed",
            close_status="Fixed",
            content="Logs: [log](/foo/issue/raw/files/a/b)",
            closed_at=when(400),
        ),
        U3: issue(3, "A secret", ALICE, private=True, content="hush"),
        U4: issue(4, "Old style", DAVE, status="Invalid"),
    }


def ticket_repo(tmp_path: Path) -> Path:
    """A non-bare ticket repo; the second commit adds files the way Pagure
    does, one of them under a name that would climb out of any folder."""
    items = {uid: item_file(data) for uid, data in ticket_items().items()}
    files = {
        SHOT: b"\x89PNG fake",
        "../../etc/passwd": b"root:x:0:0\n",
        "a": {"b": b"log line\n"},
        "orphan.txt": b"nobody's",
    }
    return pagure_repo(
        tmp_path / "pagure-tickets",
        [
            ("Updated issue", items),
            (
                f"Add file ../../etc/passwd to ticket {U2}: Logs attached",
                {**items, "files": files},
            ),
        ],
        bare=False,
    )


# -- the project's code: main, a feature branch and a merged fix ---------------


@pytest.fixture
def commits(config: Config) -> dict[str, str]:
    """The site gets alice and david, project foo with code, and alice's
    fork of it; returns the code's commits by name."""
    for name in ("alice", "david"):
        add_user(config, NewUser(name, f"{name}@example.org", name.title(), PASSWORD))
    create_project(config, "foo", "admin", "The foo project")
    made = build_code(repo_path(config.repositories, RepoKind.CODE, "foo"))
    fork_project(config, "foo", "alice")
    return made


@pytest.fixture
def site(config: Config, commits) -> Config:
    return config


def build_code(path: Path) -> dict[str, str]:
    repo = pygit2.Repository(str(path))
    who = pygit2.Signature("Dev", "dev@example.org", T0, 0)

    def commit(ref, message, files, parents):
        tree = write_tree(repo, files)
        return str(repo.create_commit(ref, who, who, message, tree, parents))

    c0 = commit("refs/heads/main", "start", {"README": b"foo\n"}, [])
    c1 = commit(
        "refs/heads/feature", "app", {"README": b"foo\n", "app.py": b"a\n"}, [c0]
    )
    c2 = commit(
        "refs/heads/feature",
        "more",
        {"README": b"foo\n", "app.py": b"a\nprint('hi')\n"},
        [c1],
    )
    c3 = commit("refs/heads/fix", "fix", {"README": b"foo, fixed\n"}, [c0])
    merge = commit("refs/heads/main", "Merge #6", {"README": b"foo, fixed\n"}, [c0, c3])
    repo.set_head("refs/heads/main")
    return {"c0": c0, "c1": c1, "c2": c2, "c3": c3, "merge": merge}


def request_items(commits: dict[str, str]) -> dict[str, dict]:
    project = {
        "name": "foo",
        "fullname": "foo",
        "namespace": None,
        "parent": None,
        "user": ALICE,
    }

    def fork_of(who: dict) -> dict:
        return {
            "name": "foo",
            "fullname": f"forks/{who['name']}/foo",
            "namespace": None,
            "parent": project,
            "user": who,
        }

    base = {
        "branch": "main",
        "project": project,
        "remote_git": None,
        "assignee": None,
        "closed_by": None,
        "closed_at": None,
        "initial_comment": None,
        "cached_merge_status": "unknown",
        "threshold_reached": None,
        "tags": [],
        "comments": [],
    }
    return {
        R5: {
            **base,
            "id": 5,
            "uid": R5,
            "title": "Add app",
            "user": ALICE,
            "status": "Open",
            "branch_from": "feature",
            "repo_from": fork_of(ALICE),
            "date_created": when(500),
            "updated_on": when(500),
            "last_updated": when(700),
            "commit_start": commits["c1"],
            "commit_stop": commits["c2"],
            "initial_comment": "Please *review*",
            "tags": ["review"],
            "assignee": DAVE,
            "comments": [
                comment(
                    51,
                    "Looks good",
                    DAVE,
                    600,
                    commit=None,
                    tree=None,
                    filename=None,
                    line=None,
                ),
                comment(
                    52,
                    "Why print?",
                    CAROL,
                    650,
                    commit=commits["c2"],
                    tree="0" * 40,
                    filename="app.py",
                    line=2,
                ),
            ],
            "flags": [
                {
                    "pull_request_uid": R5,
                    "username": "Jenkins",
                    "percent": 100,
                    "comment": "Build passed",
                    "status": "success",
                    "url": "https://ci.example.org/1",
                    "date_created": when(610),
                    "date_updated": when(620),
                    "user": ALICE,
                }
            ],
        },
        R6: {
            **base,
            "id": 6,
            "uid": R6,
            "title": "Fix readme",
            "user": DAVE,
            "status": "Merged",
            "branch_from": "fix",
            "repo_from": project,
            "date_created": when(800),
            "updated_on": when(900),
            "last_updated": when(900),
            "closed_at": when(900),
            "closed_by": ALICE,
            "commit_start": commits["c3"],
            "commit_stop": commits["c3"],
        },
        R7: {
            **base,
            "id": 7,
            "uid": R7,
            "title": "Carol's idea",
            "user": CAROL,
            "status": "Closed",
            "branch_from": "idea",
            "repo_from": fork_of(CAROL),
            "date_created": when(1000),
            "updated_on": when(1100),
            "last_updated": when(1100),
            "commit_start": None,
            "commit_stop": None,
        },
    }


def request_repo(tmp_path: Path, commits: dict[str, str]) -> Path:
    items = {uid: item_file(data) for uid, data in request_items(commits).items()}
    return pagure_repo(
        tmp_path / "pagure-requests.git", [("Updated pull-request", items)], bare=True
    )


@pytest.fixture
def sources(site: Config, commits, tmp_path: Path) -> dict:
    users = tmp_path / "users.txt"
    users.write_text("# who is who\ndave = david   # same person\n\n")
    return {
        "tickets": ticket_repo(tmp_path),
        "requests": request_repo(tmp_path, commits),
        "users": read_users_file(users),
        "users_file": users,
    }


def run_import(config: Config, sources: dict, fullname: str = "foo"):
    return import_pagure(
        config, fullname, sources["tickets"], sources["requests"], sources["users"]
    )


def tips(config: Config, fullname: str = "foo") -> list[str]:
    """The branch tips of the site, ticket and request repos."""
    found = []
    for path in (
        config.repositories / "site.git",
        repo_path(config.repositories, RepoKind.TICKETS, fullname),
        repo_path(config.repositories, RepoKind.REQUESTS, fullname),
    ):
        found.append(
            str(pygit2.Repository(str(path)).references["refs/heads/main"].target)
        )
    return found


def tickets_of(config: Config) -> TicketRepo:
    return TicketRepo(repo_path(config.repositories, RepoKind.TICKETS, "foo"))


def requests_of(config: Config) -> RequestRepo:
    return RequestRepo(repo_path(config.repositories, RepoKind.REQUESTS, "foo"))


# -- the documents in git ------------------------------------------------------


def test_tickets_keep_every_field(site, sources):
    report = run_import(site, sources)
    assert report.tickets == [1, 2, 3, 4] and report.requests == [5, 6, 7]
    with tickets_of(site) as repo:
        first, second = repo.ticket(U1), repo.ticket(U2)
        assert first == {
            "format": 1,
            "uid": U1,
            "number": 1,
            "title": "Crash on start: ünïcode ✓ 日本語",
            "body": f"It crashes.\n\n[![screen.png](/foo/issue/raw/files/{SHOT})]"
            f"(/foo/issue/raw/files/{SHOT})",
            "author": "alice",
            "created": pagure_time(when(1), "", ""),
            "status": "Open",
            "close_reason": None,
            "tags": ["bug", "ui"],
            "assignee": "david",
            "priority": 2,
            "milestone": "1.0",
            "private": False,
        }
        assert (second["status"], second["close_reason"], second["author"]) == (
            "Closed",
            "Fixed",
            "carol",
        )
        assert repo.ticket(U3)["private"] is True
        assert (repo.ticket(U4)["status"], repo.ticket(U4)["close_reason"]) == (
            "Closed",
            "Invalid",
        )
        notes = repo.comments(U1)
        assert [(n["author"], n["body"], n["created"], n["edited"]) for n in notes] == [
            (
                "carol",
                "Same here — ça plante",
                "2015-05-12T07:15:00Z",
                "2015-05-12T07:15:50Z",
            ),
            ("alice", "Fixed in 1.1?", "2015-05-12T07:16:40Z", None),
        ]
        assert notes[0]["uid"] == derived_uid(U1, "comment", 11)
        # tickets and pull requests share one sequence: it moves past #7
        assert repo.read("numbers.json")["next"] == 8


def test_times_are_utc_from_pagure_epoch_strings():
    assert pagure_time("1431414800", "x", "date_created") == TIME
    assert pagure_time(1431414800, "x", "date_created") == TIME
    assert pagure_time("1431414800.7", "x", "date_created") == TIME
    for bad in ("yesterday", None, True, "nan", "1e300"):
        with pytest.raises(BadPagureData, match="date_created"):
            pagure_time(bad, "Pagure ticket #1", "date_created")


def test_attachments_land_in_their_ticket_folder_under_safe_names(site, sources):
    report = run_import(site, sources)
    with tickets_of(site) as repo:
        snapshot = repo.snapshot()
        assert snapshot.read_bytes(f"{uid_folder(U1)}/files/{SHOT}") == b"\x89PNG fake"
        assert snapshot.listdir(f"{uid_folder(U2)}/files") == ["_.._etc_passwd", "a_b"]
        assert (
            snapshot.read_bytes(f"{uid_folder(U2)}/files/_.._etc_passwd")
            == b"root:x:0:0\n"
        )
        paths = [path for path, _ in snapshot.walk("")]
    folders = tuple(f"{uid_folder(uid)}/" for uid in (U1, U2, U3, U4))
    stray = [
        p
        for p in paths
        if not p.startswith(folders)
        and p not in ("numbers.json", "README.md", ".gitattributes")
    ]
    assert stray == [] and not any(".." in p.split("/") for p in paths)
    assert report.attachments == 3
    assert any("files/orphan.txt belongs to no ticket" in w for w in report.warnings)


@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b", "a_b"),
        ("a\0b", "ab"),
        ("..", "attachment"),
        (".", "attachment"),
        ("", "attachment"),
        (".git", "git"),
        ("..\\..\\boot.ini", "_.._boot.ini"),
        ("x" * 300, "x" * 200),
        ("日" * 100, "日" * 66),
        ("bad\udc80name", "badname"),
        ("ok-name.png", "ok-name.png"),
    ],
)
def test_attachment_names_cannot_leave_the_folder(name, safe):
    assert safe_attachment_name(name) == safe


def test_pull_requests_keep_branches_commits_comments_and_flags(site, sources, commits):
    report = run_import(site, sources)
    with requests_of(site) as repo:
        open_one, merged, closed = repo.request(R5), repo.request(R6), repo.request(R7)
        notes, flags = repo.comments(R5), repo.flags(R5)
    assert {
        k: open_one[k]
        for k in (
            "number",
            "title",
            "description",
            "author",
            "status",
            "source_repo",
            "source_branch",
            "target_branch",
            "base",
            "head",
            "merge_commit",
            "closed_at",
            "tags",
            "assignee",
        )
    } == {
        "number": 5,
        "title": "Add app",
        "description": "Please *review*",
        "author": "alice",
        "status": "Open",
        "source_repo": "forks/alice/foo",
        "source_branch": "feature",
        "target_branch": "main",
        "base": commits["c0"],
        "head": commits["c2"],
        "merge_commit": None,
        "closed_at": None,
        "tags": ["review"],
        "assignee": "david",
    }
    assert [(n["author"], n["body"], n["inline"]) for n in notes] == [
        ("david", "Looks good", None),
        (
            "carol",
            "Why print?",
            {"commit": commits["c2"], "path": "app.py", "line": 2, "side": "new"},
        ),
    ]
    assert flags == [
        {
            "format": 1,
            "uid": flag_uid("alice", "Jenkins"),
            "username": "alice",
            "name": "Jenkins",
            "status": "success",
            "percent": 100,
            "comment": "Build passed",
            "url": "https://ci.example.org/1",
            "created": "2015-05-12T07:23:30Z",
            "updated": "2015-05-12T07:23:40Z",
        }
    ]
    assert (merged["status"], merged["merge_commit"], merged["closed_by"]) == (
        "Merged",
        commits["merge"],
        "alice",
    )
    assert merged["closed_at"] == "2015-05-12T07:28:20Z"
    assert merged["source_repo"] == "foo" and merged["base"] == commits["c0"]
    # carol has no gitforge fork, and Pagure recorded no commits for #7
    assert closed["source_repo"] == "foo" and closed["source_branch"] == "idea"
    assert closed["base"] == closed["head"] == commits["merge"]
    assert closed["closed_at"] == "2015-05-12T07:31:40Z"
    assert any("#7" in w and "has no gitforge fork" in w for w in report.warnings)
    assert any(
        "#7" in w and "filled with the tip of main" in w for w in report.warnings
    )
    code = pygit2.Repository(str(repo_path(site.repositories, RepoKind.CODE, "foo")))
    assert str(code.references["refs/pull/5/head"].target) == commits["c2"]
    # the open one's merge status is worked out as for one opened here
    with requests_of(site) as repo:
        assert repo.request(R5)["merge_status"]["kind"] == "merge"
        assert repo.request(R7)["merge_status"] is None


# -- users ---------------------------------------------------------------------


def test_authors_without_accounts_get_placeholders_that_cannot_log_in(site, sources):
    report = run_import(site, sources)
    assert report.created_users == ["carol"]
    with SiteRepo.open(site.repositories) as repo:
        carol = repo.user("carol")
    assert carol["password"] is None and carol["full_name"] == "Carol C Q"
    assert carol["emails"] == ["carol@pagure-import.invalid"]
    client = web_client(site)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for password in ("", "carol", PASSWORD):
        answer = client.post(
            "/login", data={"csrf_token": token, "name": "carol", "password": password}
        )
        assert answer.status_code == 401


def test_a_name_gitforge_keeps_back_is_refused_until_mapped(site, tmp_path):
    items = {U1: item_file(issue(1, "From root", person("root")))}
    pagure = pagure_repo(tmp_path / "p", [("Updated issue", items)], bare=True)
    before = tips(site)
    with pytest.raises(ImportRefused, match=r"root \(it is kept for administrators\)"):
        import_pagure(site, "foo", tickets=pagure)
    assert tips(site) == before
    report = import_pagure(site, "foo", tickets=pagure, users={"root": "old-root"})
    assert report.created_users == ["old-root"]
    with tickets_of(site) as repo:
        assert repo.ticket(U1)["author"] == "old-root"


def test_users_file_lines(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("a = b\n  # note\nc=d # why\n")
    assert read_users_file(path) == {"a": "b", "c": "d"}
    path.write_text("a = b\nc\n")
    with pytest.raises(ImportRefused, match="line 2"):
        read_users_file(path)


# -- the index and the pages ---------------------------------------------------


def web_client(config: Config):
    from gitforge.web.app import create_app

    app = create_app(config)
    app.config["TESTING"] = True
    return app.test_client()


def test_the_index_and_the_pages_show_the_import_at_once(site, sources, commits):
    run_import(site, sources)
    engine = engine_for(site)
    project = queries.project(engine, "foo")
    row = queries.ticket(engine, project, 1)
    assert (
        row.title,
        row.author,
        row.assignee,
        row.milestone,
        row.priority,
        row.created,
    ) == (
        "Crash on start: ünïcode ✓ 日本語",
        "alice",
        "david",
        "1.0",
        2,
        pagure_time(when(1), "", ""),
    )
    assert queries.tags_of_tickets(engine, [row.id]) == {row.id: ["bug", "ui"]}
    assert [c.author for c in queries.comments_of(engine, row.id)] == ["carol", "alice"]
    assert queries.ticket(engine, project, 2).close_reason == "Fixed"
    assert queries.ticket(engine, project, 3).private
    pr = request_queries.request(engine, project, 5)
    assert (pr.source_repo, pr.head, pr.status) == (
        "forks/alice/foo",
        commits["c2"],
        "Open",
    )
    inline = [
        c for c in request_queries.comments_of_request(engine, pr.id) if c.inline_path
    ]
    assert [(c.inline_path, c.inline_line) for c in inline] == [("app.py", 2)]
    assert [f.name for f in request_queries.flags_of_request(engine, pr.id)] == [
        "Jenkins"
    ]
    assert request_queries.request(engine, project, 6).status == "Merged"

    client = web_client(site)
    page = client.get("/foo/issue/1")
    assert page.status_code == 200
    assert "ünïcode ✓ 日本語" in page.text and "Same here — ça plante" in page.text
    assert client.get("/foo/issue/3").status_code == 404  # private: absent
    discussion = client.get("/foo/pull-request/5")
    assert discussion.status_code == 200
    assert "Add app" in discussion.text and "Jenkins" in discussion.text
    files = client.get("/foo/pull-request/5/files")
    assert files.status_code == 200 and "Why print?" in files.text
    assert client.get("/foo/pull-request/6").status_code == 200


# -- running it again, and refusing --------------------------------------------


def test_running_it_again_imports_nothing_new(site, sources):
    run_import(site, sources)
    before = tips(site)
    again = run_import(site, sources)
    assert again.nothing_new and tips(site) == before
    with tickets_of(site) as repo:
        assert len(repo.snapshot().uids()) == 4 and len(repo.comments(U1)) == 2


def test_a_second_run_adds_only_what_is_new_and_keeps_gitforge_edits(
    site, sources, tmp_path
):
    run_import(site, sources)
    with tickets_of(site) as repo:
        repo.update_ticket(U1, Identity("admin", "admin@example.org"), title="Renamed")
    items = ticket_items()
    items[U1]["comments"].append(comment(13, "Still there", DAVE, 300))
    files = {uid: item_file(data) for uid, data in items.items()}
    newer = pagure_repo(tmp_path / "newer", [("Updated issue", files)], bare=True)
    report = import_pagure(site, "foo", tickets=newer, users={"dave": "david"})
    assert (report.tickets, report.comments) == ([], 1)
    with tickets_of(site) as repo:
        assert repo.ticket(U1)["title"] == "Renamed"
        assert [n["body"] for n in repo.comments(U1)][-1] == "Still there"


def test_a_number_collision_is_refused_with_nothing_written(site, sources):
    with tickets_of(site) as repo:
        repo.create_ticket(Identity("alice", "alice@example.org"), "Native ticket")
    before = tips(site)
    with pytest.raises(ImportRefused, match=r"#1 of Pagure ticket #1 .* is taken"):
        run_import(site, sources)
    assert tips(site) == before
    with SiteRepo.open(site.repositories) as repo:
        assert not repo.snapshot().exists("users/carol.json")


def test_a_missing_project_is_named(site, sources):
    with pytest.raises(ImportRefused, match="project 'nope' does not exist"):
        run_import(site, sources, fullname="nope")


def test_one_line_fields_are_made_to_fit(site, tmp_path):
    """Pagure takes line breaks, control characters and any length in
    titles and tags; gitforge does not, and says what it changed."""
    title = "First line\nsecond \x1b[31mline"
    items = {U1: item_file(issue(1, title, ALICE, tags=["x" * 300]))}
    pagure = pagure_repo(tmp_path / "p", [("Updated issue", items)], bare=True)
    report = import_pagure(site, "foo", tickets=pagure)
    with tickets_of(site) as repo:
        ticket = repo.ticket(U1)
    assert ticket["title"] == "First line second [31mline"
    assert ticket["tags"] == ["x" * 254 + "…"]
    assert sum("made one line" in warning for warning in report.warnings) == 2


def test_broken_pagure_data_names_the_item_and_writes_nothing(site, tmp_path):
    items = {U1: item_file(issue(1, "Bad", ALICE, date_created="last week"))}
    pagure = pagure_repo(tmp_path / "p", [("Updated issue", items)], bare=True)
    before = tips(site)
    with pytest.raises(BadPagureData, match=r"ticket #1 .*'date_created'"):
        import_pagure(site, "foo", tickets=pagure)
    assert tips(site) == before


# -- the command ---------------------------------------------------------------


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gitforge",
            "import",
            "pagure",
            *args,
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
    )


def test_the_command_reports_what_it_made(site, sources):
    args = [
        "--tickets",
        str(sources["tickets"]),
        "--requests",
        str(sources["requests"]),
        "--users",
        str(sources["users_file"]),
    ]
    done = run_cli(site.home, *args, "foo")
    assert done.returncode == 0, done.stderr
    assert "Created placeholder accounts (they cannot log in): carol" in done.stdout
    assert (
        "Imported into foo: 4 tickets, 3 pull requests, 4 comments, "
        "3 attachments, 1 flag."
    ) in done.stdout
    assert "warning: " in done.stderr and "orphan.txt" in done.stderr
    again = run_cli(site.home, *args, "foo")
    assert "Nothing new to import into foo." in again.stdout
    missing = run_cli(site.home, *args, "nope")
    assert missing.returncode == 1
    assert "project 'nope' does not exist in gitforge" in missing.stderr
