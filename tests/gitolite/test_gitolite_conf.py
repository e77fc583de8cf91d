"""gitolite.conf from the site: what each rule says, and that gitolite
itself reads it as the policy means it."""

from __future__ import annotations

import os
import subprocess

import pytest

from gitforge.gitolite.compile import apply, gitolite_home
from gitforge.gitolite.conf import gitolite_conf
from gitforge.gitolite.state import read_state
from gitforge.policy import Action, ProjectFacts, Viewer, may
from gitforge.store import access
from gitforge.store.documents import SYSTEM
from gitforge.store.site import NewUser, SiteRepo
from gitforge.tasks.projects import create_project
from tests.gitolite.programs import need

USERS = ("alice", "bob", "carol", "dave")


@pytest.fixture
def site(config):
    """foo (public, main and stable/* protected): alice collaborates on
    release/*, group devs (bob) commits, carol triages; ns/secret (private):
    carol triages. dave holds nothing. The admin is `admin`."""
    with SiteRepo.open(config.repositories) as repo:
        for name in USERS:
            repo.add_user(NewUser(name, f"{name}@example.org"))
        access.add_group(repo, "devs", ["bob"])
    create_project(config, "foo", "admin")
    create_project(config, "ns/secret", "admin", private=True)
    with SiteRepo.open(config.repositories) as repo:
        access.grant(repo, "foo", "alice", "collaborator", ["release/*"])
        access.grant(repo, "foo", "@devs", "commit")
        access.grant(repo, "foo", "carol", "ticket")
        access.grant(repo, "ns/secret", "carol", "ticket")
        access.set_protected_branches(repo, "foo", ["main", "stable/*"])
    return config


def conf_of(config) -> str:
    return gitolite_conf(read_state(config))


def block(conf: str, repo: str) -> list[str]:
    """The rule lines of `repo NAME`, in order."""
    lines = conf.splitlines()
    start = lines.index(f"repo {repo}") + 1
    end = lines.index("", start)
    return [line.strip() for line in lines[start:end]]


def test_same_site_gives_the_same_bytes(site):
    assert conf_of(site) == conf_of(site)


def test_code_repo_rules_in_gitolite_order(site):
    assert block(conf_of(site), "foo") == [
        "R = @all",
        "RW = @group.devs @site admin",
        r"RW refs/heads/release/.*$ = alice",
        "- refs/heads/main$ = @all",
        r"- refs/heads/stable/.*$ = @all",
        "RW+ = @group.devs @site admin",
        r"RW+ refs/heads/release/.*$ = alice",
    ]


def test_private_project_names_only_those_with_a_level(site):
    conf = conf_of(site)
    assert block(conf, "ns/secret") == ["R = @site admin carol", "RW+ = @site admin"]
    assert block(conf, "tickets/ns/secret") == [
        "R = @site admin carol",
        "RW = @site admin carol",
    ]
    # Those who may comment push the discussion; the hook checks each file.
    assert block(conf, "requests/ns/secret") == [
        "R = @site admin carol",
        "RW = @site admin carol",
    ]
    assert "dave" not in conf


def test_public_ticket_repo_is_everyones_until_a_private_ticket(site):
    assert block(conf_of(site), "tickets/foo") == ["R = @all", "RW = @all"]


def test_groups_and_site_admins(site):
    conf = conf_of(site).splitlines()
    assert "@site = admin" in conf
    assert "@group.devs = bob" in conf
    assert block("\n".join(conf), "site") == ["RW+ = @site"]


def test_a_group_called_all_is_not_gitolites_all(site):
    with SiteRepo.open(site.repositories) as repo:
        access.add_group(repo, "all", ["dave"])
        access.grant(repo, "ns/secret", "@all", "commit")
    conf = conf_of(site)
    assert "@group.all = dave" in conf.splitlines()
    assert block(conf, "ns/secret")[0] == "R = @group.all @site admin carol"


def test_forks_and_only_repos_on_disk(site):
    from gitforge.tasks.forks import fork_project

    fork_project(site, "foo", "dave")
    conf = conf_of(site)
    assert block(conf, "forks/dave/foo")[:2] == ["R = @all", "RW+ = @site dave"]
    assert "repo docs/foo" not in conf  # no docs repo was made


def _raw_write(config, docs: dict) -> None:
    """Documents straight into the site repo, past every check, as a
    broken tool or a hand edit on disk could leave them."""
    with SiteRepo.open(config.repositories) as repo:
        repo.transact(lambda _snapshot: docs, SYSTEM, "raw write")


def test_odd_names_cannot_add_lines(site):
    evil = "mallory\nrepo site\n    RW+ = mallory"
    _raw_write(site, {
        "groups/devs.json": {"format": 1, "name": "devs", "description": "",
                             "members": ["bob", evil], "created": "2024"},
        "users/x.json": {"format": 1, "name": evil, "admin": True,
                         "ssh_keys": [{"key": "ssh-ed25519 AAAA\ncommand=x"}]},
        "projects/bad name.json": {"format": 1, "name": "bad name",
                                   "owner": "alice"},
    })  # fmt: skip
    with SiteRepo.open(site.repositories) as repo:
        project = repo.project("foo")
    project["protected_branches"] = ["main\n- = @all", "$(x)"]
    project["access"]["users"]["alice"]["branches"] = ["a b", "release/*"]
    _raw_write(site, {"projects/foo.json": project})

    conf = conf_of(site)
    assert "mallory" not in conf and "bad name" not in conf and "a b" not in conf
    assert "@site = admin" in conf.splitlines()
    # Bad protected patterns fail closed: every branch is protected.
    assert "- refs/heads/.*$ = @all" in block(conf, "foo")
    for line in conf.splitlines():
        assert line == "" or line.startswith(("#", "@", "repo ", "    "))


# -- gitolite reads it as the policy means it -------------------------------------


def gitolite_access(config, perm: str, ref: str, pairs) -> dict:
    """(repo, user) -> allowed, as `gitolite access` answers in batch."""
    home = gitolite_home(config)
    lines = "".join(f"{repo} {user}\n" for repo, user in pairs)
    done = subprocess.run(
        ["gitolite", "access", "%", "%", perm, ref],
        input=lines, env={**os.environ, "HOME": str(home)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    answers = {}
    for line in done.stdout.splitlines():
        repo, user, verdict = line.split("\t")
        answers[repo, user] = "DENIED" not in verdict
    return answers


def viewer_of(config, name: str) -> Viewer:
    from gitforge.store.access import groups_of

    with SiteRepo.open(config.repositories) as repo:
        snapshot = repo.snapshot()
        user = repo.user(name)
    return Viewer(name, user["admin"], groups_of(snapshot, name))


def facts_of(config, fullname: str) -> ProjectFacts:
    with SiteRepo.open(config.repositories) as repo:
        return ProjectFacts.from_document(fullname, repo.project(fullname))


REFS = ("refs/heads/main", "refs/heads/release/1.0", "refs/heads/stable/2",
        "refs/heads/feature/x", "refs/tags/v1")  # fmt: skip


def test_gitolite_answers_as_the_policy(site):
    need("gitolite")
    apply(site)
    users = ("admin", *USERS)
    pairs = [(repo, user) for repo in ("foo", "ns/secret") for user in users]
    reads = gitolite_access(site, "R", "any", pairs)
    for ref in REFS:
        pushes = gitolite_access(site, "W", ref, pairs)
        rewrites = gitolite_access(site, "+", ref, pairs)
        for repo, user in pairs:
            viewer, facts = viewer_of(site, user), facts_of(site, repo)
            said = (repo, user, ref)
            assert reads[repo, user] == may(viewer, Action.READ_PROJECT, facts), said
            assert pushes[repo, user] == may(
                viewer, Action.PUSH_CODE, facts, ref=ref
            ), said
            assert rewrites[repo, user] == may(
                viewer, Action.REWRITE_BRANCH, facts, ref=ref
            ), said


# -- compiling ----------------------------------------------------------------------


def test_apply_compiles_only_what_changed(site):
    need("gitolite")
    first = apply(site)
    assert first.compiled and first.conf and first.rc
    again = apply(site)
    assert not again and not again.compiled
    with SiteRepo.open(site.repositories) as repo:
        access.revoke(repo, "foo", "carol")  # foo is public: no rule changes
    assert not apply(site)
    with SiteRepo.open(site.repositories) as repo:
        access.revoke(repo, "foo", "alice")
    assert apply(site).compiled
    assert not (site.repositories / "gitolite-admin.git").exists()
    assert not (site.repositories / "testing.git").exists()


def test_push_by_path_still_passes_gitolites_update_hook(site, tmp_path):
    """gitolite's update hook is linked into every repo; a push that did
    not come through gitolite (by path, over HTTP) is left to our hooks."""
    from tests.conftest import git

    need("gitolite")
    apply(site)
    hook = site.repositories / "foo.git" / "hooks" / "update"
    assert hook.is_symlink()
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    git("commit", "-q", "--allow-empty", "-m", "by path", cwd=work)
    pushed = git("push", str(site.repositories / "foo.git"), "main", cwd=work,
                 check=False, env={"GITFORGE_USER": "admin"})  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr


def test_a_private_ticket_closes_the_ticket_repo_to_others(site):
    """Cloning a ticket repo gives every ticket in it: once it holds a
    private ticket, only those with a level and its author may."""
    from gitforge.index.db import engine_for
    from gitforge.index.sync import sync_repo
    from gitforge.store.documents import Identity
    from gitforge.store.tickets import TicketRepo

    with TicketRepo(site.repositories / "tickets" / "foo.git") as tickets:
        author = Identity("dave", "dave@example.org")
        tickets.create_ticket(author, "A hole", private=True)
    sync_repo(engine_for(site), site.repositories, "tickets/foo.git")

    assert block(conf_of(site), "tickets/foo") == [
        "R = @group.devs @site admin alice carol dave",
        "RW = @group.devs @site admin alice carol dave",
    ]
