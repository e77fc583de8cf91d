"""Pushes to code repos and to the site repo, held to the access policy by
the real pre-receive hook whoever the front end was (here: by path, with
the pusher named in GITFORGE_USER or gitolite's GL_USER)."""

from __future__ import annotations

import pytest

from gitforge.store import access
from gitforge.store.site import NewUser, SiteRepo
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git


@pytest.fixture
def project(config, tmp_path):
    """Project foo with a commit on main, people at each level, and a
    clone to push from."""
    create_project(config, "foo", "admin")
    for name in ("rita", "cole", "tia", "sam"):
        add_user(config, NewUser(name, f"{name}@example.org"))
    with SiteRepo.open(config.repositories) as site:
        access.grant(site, "foo", "rita", "collaborator", ["release/*"])
        access.grant(site, "foo", "cole", "commit")
        access.grant(site, "foo", "tia", "ticket")
        access.set_protected_branches(site, "foo", ["main"])
    work = tmp_path / "work"
    git("clone", "-q", str(config.repositories / "foo.git"), str(work))
    _commit(work, "README", "hello")
    _push(work, "main", user="admin")
    return work


def _commit(work, name, text):
    (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"Write {name}", cwd=work)


def _push(work, *refspecs, user, variable="GITFORGE_USER"):
    return git("push", "origin", *refspecs, cwd=work, check=False,
               env={variable: user})  # fmt: skip


def _tip(config, ref):
    done = git("rev-parse", "--verify", "-q", ref, cwd=config.repositories / "foo.git",
               check=False)  # fmt: skip
    return done.stdout.strip() or None


def test_a_committer_pushes_to_any_branch(config, project):
    _commit(project, "a", "1")
    assert _push(project, "main", "HEAD:refs/heads/topic", user="cole").returncode == 0
    assert _tip(config, "topic") == _tip(config, "main")


def test_a_collaborator_pushes_only_to_their_branches(config, project):
    _commit(project, "b", "2")
    pushed = _push(project, "HEAD:refs/heads/release/1.0", user="rita")
    assert pushed.returncode == 0, pushed.stderr
    before = _tip(config, "main")
    refused = _push(project, "HEAD:refs/heads/main", user="rita")
    assert refused.returncode != 0
    assert "refs/heads/main: rita may not push here" in refused.stderr
    assert "covers the branches release/*" in refused.stderr
    assert _tip(config, "main") == before


def test_gitolite_names_the_pusher_in_gl_user(config, project):
    _commit(project, "c", "3")
    refused = _push(project, "main", user="rita", variable="GL_USER")
    assert "rita may not push here" in refused.stderr


@pytest.mark.parametrize("user", ["tia", "sam"])
def test_no_push_without_code_access(config, project, user):
    _commit(project, "d", "4")
    before = _tip(config, "main")
    refused = _push(project, "main", "HEAD:refs/heads/other", user=user)
    assert refused.returncode != 0
    assert f"refs/heads/main: {user} may not push here" in refused.stderr
    assert f"refs/heads/other: {user} may not push here" in refused.stderr
    assert _tip(config, "main") == before and _tip(config, "other") is None


def test_protected_branches_are_not_rewritten_even_by_admins(config, project):
    git("commit", "-q", "--amend", "-m", "Rewritten", cwd=project)
    before = _tip(config, "main")
    forced = _push(project, "+main", user="admin")
    assert forced.returncode != 0
    assert "refs/heads/main is protected: it cannot be force-pushed" in forced.stderr
    deleted = _push(project, ":main", user="admin")
    assert "cannot be deleted" in deleted.stderr
    assert _tip(config, "main") == before


def test_unprotected_branches_may_be_rewritten_by_those_who_push(config, project):
    _push(project, "HEAD:refs/heads/release/2", user="rita")
    git("commit", "-q", "--amend", "-m", "Again", cwd=project)
    assert _push(project, "+HEAD:refs/heads/release/2", user="rita").returncode == 0
    assert _push(project, ":release/2", user="rita").returncode == 0
    assert _tip(config, "release/2") is None


def test_an_unknown_pusher_is_refused(config, project):
    _commit(project, "e", "5")
    refused = _push(project, "main", user="ghost")
    assert "GITFORGE_USER names no account: 'ghost'" in refused.stderr


def test_the_site_repo_takes_pushes_from_site_admins_only(config, tmp_path):
    add_user(config, NewUser("sam", "sam@example.org"))
    work = tmp_path / "site"
    git("clone", "-q", str(config.repositories / "site.git"), str(work))
    _commit(work, "README.md", "Our site\n")
    refused = _push(work, "main", user="sam")
    assert "sam may not push to the site repo" in refused.stderr
    assert _push(work, "main", user="admin").returncode == 0
