"""Pushes to the site repo by path, through the real hooks."""

from __future__ import annotations

import json

import pytest

from gitforge.index import queries
from gitforge.index.db import engine_for
from gitforge.index.sync import sync_repo
from gitforge.store.layout import SITE_REPO
from gitforge.store.site import NewUser
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git
from tests.index.test_sync import dump


@pytest.fixture
def work(config, tmp_path):
    add_user(config, NewUser("carol", "carol@example.org", "Carol"))
    create_project(config, "foo", "admin")
    work = tmp_path / "site"
    git("clone", "-q", str(config.repositories / SITE_REPO), str(work))
    return work


def _state(config):
    tip = git("rev-parse", "main", cwd=config.repositories / SITE_REPO).stdout
    return tip, dump(engine_for(config))


def _edit(work, path, **changes):
    doc = json.loads((work / path).read_text())
    doc.update(changes)
    (work / path).write_text(json.dumps(doc))


def _push(work):
    git("add", "-A", cwd=work)
    git("commit", "-qm", "edit", cwd=work)
    return git("push", "origin", "main", cwd=work, check=False)


def test_an_account_edited_with_git_reaches_the_index(config, work):
    _edit(work, "users/carol.json", full_name="Carol Example")
    pushed = _push(work)
    assert pushed.returncode == 0, pushed.stderr
    # The post-receive hook queued a load-JSON task in the home's queue;
    # running the same sync here loads the push.
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    assert queries.user(engine_for(config), "carol").full_name == "Carol Example"


def _user_doc(name, email):
    return {"format": 1, "name": name, "full_name": "", "emails": [email],
            "password": None, "admin": False,
            "created": "2026-01-01T00:00:00Z"}  # fmt: skip


@pytest.mark.parametrize(
    "path, content, expected",
    [
        ("users/carol.json", {"emails": "c@x"}, "field 'emails': must be a list"),
        ("users/carol.json", {"name": "dave"}, "field 'name': must equal the file's"),
        ("users/carol.json", {"created": "2020-01-01T00:00:00Z"}, "never changes"),
        ("users/carol.json", {"emails": ["ADMIN@example.org"]},
         "field 'emails': admin@example.org belongs to users/admin.json"),
        ("users/dave.json", _user_doc("dave", "carol@example.org"),
         "carol@example.org belongs to users/carol.json"),
        ("users/Carol.json", _user_doc("Carol", "c2@example.org"),
         "differs from another only in case"),
        ("users/site.json", _user_doc("site", "s@example.org"),
         "field 'name': this name is reserved"),
        ("projects/foo.json", {"owner": "ghost"}, "no user is named 'ghost'"),
        ("projects/foo.json", {"name": "bar"}, "field 'name': never changes"),
        ("projects/bar.json", {"format": 1}, "projects are created with"),
        ("notes.txt", "hello", "notes.txt: unexpected file"),
    ],
)  # fmt: skip
def test_bad_site_push_is_refused(config, work, path, content, expected):
    before = _state(config)
    if isinstance(content, str):
        (work / path).write_text(content)
    elif (work / path).exists() and "format" not in content:
        _edit(work, path, **content)
    else:
        (work / path).write_text(json.dumps(content))
    pushed = _push(work)
    assert pushed.returncode != 0
    assert f"{path}: " in pushed.stderr
    assert expected in pushed.stderr
    assert _state(config) == before


@pytest.mark.parametrize("path", ["users/carol.json", "projects/foo.json"])
def test_deleting_accounts_and_projects_is_refused(config, work, path):
    before = _state(config)
    (work / path).unlink()
    pushed = _push(work)
    assert "cannot be deleted with a push" in pushed.stderr
    assert _state(config) == before


def test_new_account_pushed_by_an_administrator_is_accepted(config, work):
    (work / "users/dave.json").write_text(
        json.dumps(_user_doc("dave", "dave@example.org"))
    )
    pushed = _push(work)
    assert pushed.returncode == 0, pushed.stderr
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    assert queries.user(engine_for(config), "dave") is not None


def test_other_files_in_a_request_repo_are_refused(config, work, tmp_path):
    relpath = "requests/foo.git"
    clone = tmp_path / "requests"
    git("clone", "-q", str(config.repositories / relpath), str(clone))
    (clone / "notes.txt").write_text("mine")
    pushed = _push(clone)
    assert pushed.returncode != 0
    assert "notes.txt: gitforge writes this file" in pushed.stderr
    shown = git("show", "main:notes.txt", cwd=config.repositories / relpath,
                check=False)  # fmt: skip
    assert shown.returncode != 0


def test_token_files_cannot_be_pushed(config, work):
    before = _state(config)
    (work / "tokens").mkdir()
    (work / "tokens" / "0123456789abcdef.json").write_text("{}")
    pushed = _push(work)
    assert "tokens are made with `gitforge token create`" in pushed.stderr
    assert _state(config) == before


def test_fork_documents_follow_the_project_rules(config, work):
    from gitforge.tasks.forks import fork_project

    fork_project(config, "foo", "carol")
    git("pull", "-q", "origin", "main", cwd=work)
    path = "projects/forks/carol/foo.json"
    _edit(work, path, description="Carol's copy")
    assert _push(work).returncode == 0
    before = _state(config)
    _edit(work, path, parent="bar")
    refused = _push(work)
    assert f"{path}: field 'parent': never changes" in refused.stderr
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    (work / path).unlink()
    refused = _push(work)
    assert "projects cannot be deleted with a push" in refused.stderr
    assert _state(config) == before


# -- groups, access and keys ------------------------------------------------

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8g/aiLF8JgWX5Vjvk+nvWc4hiUzQ2yvqcwUqQCGnng"


def _group_doc(name, members):
    return {"format": 1, "name": name, "description": "", "members": members,
            "created": "2026-01-01T00:00:00Z"}  # fmt: skip


def _write(work, path, doc):
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(json.dumps(doc))


def _key_entry(key=KEY, fingerprint=None):
    from gitforge.store.keys import parse_key

    return {"key": key, "title": "laptop", "added": "2026-01-01T00:00:00Z",
            "fingerprint": fingerprint or parse_key(key)[1]}  # fmt: skip


def test_groups_and_grants_pushed_by_an_admin_are_loaded(config, work):
    _write(work, "groups/qa.json", _group_doc("qa", ["carol"]))
    _edit(work, "projects/foo.json", access={"groups": {"qa": {"level": "ticket"}}},
          private=True)  # fmt: skip
    pushed = _push(work)
    assert pushed.returncode == 0, pushed.stderr
    sync_repo(engine_for(config), config.repositories, SITE_REPO)
    engine = engine_for(config)
    assert queries.viewer(engine, "carol").groups == frozenset({"qa"})
    facts = queries.facts(queries.project(engine, "foo"))
    assert facts.private and facts.grants[0][0] == "@qa"


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda w: _write(w, "groups/qa.json", _group_doc("qa", ["ghost"])),
         "field 'members': no user is named 'ghost'"),
        (lambda w: _write(w, "groups/qa.json", _group_doc("other", [])),
         "field 'name': must equal the file's name"),
        (lambda w: _write(w, "groups/api.json", _group_doc("api", [])),
         "this name is reserved"),
        (lambda w: _write(w, "groups/qa.json", _group_doc("qa", ["b", "a"])),
         "must be sorted"),
        (lambda w: _edit(w, "projects/foo.json",
                         access={"users": {"ghost": {"level": "commit"}}}),
         "field 'access': no user is named 'ghost'"),
        (lambda w: _edit(w, "projects/foo.json",
                         access={"groups": {"nobody": {"level": "commit"}}}),
         "no group is named 'nobody'"),
        (lambda w: _edit(w, "projects/foo.json",
                         access={"users": {"carol": {"level": "boss"}}}),
         "'level' must be one of admin, commit, collaborator, ticket"),
        (lambda w: _edit(w, "projects/foo.json", access={"users": {
            "carol": {"level": "collaborator", "branches": ["../x"]}}}),
         "is not a branch pattern"),
        (lambda w: _edit(w, "projects/foo.json", protected_branches=["-x"]),
         "'-x' is not a branch pattern"),
        (lambda w: _edit(w, "users/carol.json", ssh_keys=[_key_entry(
            fingerprint="SHA256:" + "A" * 43)]),
         "is not the key's fingerprint"),
        (lambda w: _edit(w, "users/carol.json", ssh_keys=[_key_entry(
            key="ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB", fingerprint="SHA256:"
            + "A" * 43)]),
         "the key's data is not an ssh-ed25519 key"),
    ],
)  # fmt: skip
def test_bad_groups_grants_and_keys_are_refused(config, work, change, expected):
    before = _state(config)
    change(work)
    pushed = _push(work)
    assert pushed.returncode != 0
    assert expected in pushed.stderr
    assert _state(config) == before


def test_a_key_held_by_another_account_is_refused(config, work):
    _edit(work, "users/carol.json", ssh_keys=[_key_entry()])
    assert _push(work).returncode == 0
    before = _state(config)
    _edit(work, "users/admin.json", ssh_keys=[_key_entry()])
    pushed = _push(work)
    assert "field 'ssh_keys': SHA256:" in pushed.stderr
    assert "belongs to users/carol.json" in pushed.stderr
    assert _state(config) == before


def test_a_group_still_granted_cannot_be_deleted(config, work):
    _write(work, "groups/qa.json", _group_doc("qa", []))
    _edit(work, "projects/foo.json", access={"groups": {"qa": {"level": "ticket"}}})
    assert _push(work).returncode == 0
    (work / "groups/qa.json").unlink()
    pushed = _push(work)
    assert "projects/foo.json still grants @qa access; revoke it too" in pushed.stderr
    _edit(work, "projects/foo.json", access={})
    assert _push(work).returncode == 0
