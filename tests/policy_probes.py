"""The site of tests/test_policy_agreement.py and its probes: for each
policy Action, the entry points that enforce it and how to read their
answer (allowed or refused) for one person on one project (and ref).

A probe returns Trials: what to ask the policy (its keyword arguments,
read from the index) and a function that asks the entry point. The test
compares the two; a probe never decides what the answer should be.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pygit2
from flask import Flask
from flask.testing import FlaskClient

from gitforge.config import Config
from gitforge.gitolite.conf import gitolite_conf
from gitforge.gitolite.state import read_state
from gitforge.index import access_queries, queries, request_queries
from gitforge.index.sync import sync_repo
from gitforge.policy import Action
from gitforge.store import access, passwords
from gitforge.store.documents import Identity
from gitforge.store.layout import RepoKind, repo_relpath
from gitforge.store.site import NewUser
from gitforge.store.tickets import TicketRepo
from gitforge.store.tokens import create_token
from gitforge.tasks import pull_requests as prs
from gitforge.tasks.access import change_site
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user, init_site
from tests.conftest import git
from tests.web.signin import sign_in

# -- the site ------------------------------------------------------------------

ADMIN, OWNER, COMMITTER, COLLABORATOR = "admin", "olive", "cole", "rita"
TRIAGER, GROUP_MEMBER, STRANGER = "tia", "quinn", "sam"
GROUP = "qa"
# Everybody the probes ask about; None is the anonymous visitor.
PEOPLE = (ADMIN, OWNER, COMMITTER, COLLABORATOR, TRIAGER, GROUP_MEMBER, STRANGER,
          None)  # fmt: skip
SIGNED_IN = PEOPLE[:-1]  # hooks and gitolite always name a user
PUBLIC, PRIVATE = "pub", "ns/sec"
PROJECTS = (PUBLIC, PRIVATE)
REFS = ("main", "release/1.0", "topic")
PROTECTED = ("main", "frozen")  # `frozen`: the sentinel of the hook pushes
CSRF = "policy-probe-csrf"


def password(name: str) -> str:
    return f"{name}-pw-1234"


@dataclass
class Forge:
    """The site, its web app and what the probes refer to: ticket numbers
    by role ("public", "private", "others-private"), comment uids by
    (ticket role, author), pull request numbers by target branch."""

    config: Config
    app: Flask
    clients: dict[str | None, FlaskClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, dict[str, int]] = field(default_factory=dict)
    comments: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    work: Path = Path()
    cache: dict = field(default_factory=dict)  # pushes and gitolite answers

    @property
    def engine(self):
        return self.app.extensions["gitforge"].engine

    def repo(self, kind: RepoKind | None, fullname: str | None) -> Path:
        relpath = repo_relpath(kind, fullname) if kind else "site.git"
        return self.config.repositories / relpath


def build_forge(folder: Path) -> Forge:
    """Admin, owner olive, committer cole, collaborator rita (release/*),
    triager tia, quinn of group qa (granted ticket) and stranger sam; the
    public `pub` and the private `ns/sec` with the same grants, each with
    tickets, comments and pull requests."""
    from gitforge.web.app import create_app

    config = Config(folder / "home")
    with cheap_password_hashes():
        _add_people(config)
    change_site(config, access.add_group, GROUP, [GROUP_MEMBER])
    forge = Forge(config, create_app(config), work=folder / "work")
    forge.app.config["TESTING"] = True
    for fullname in PROJECTS:
        _make_project(forge, fullname)
    for name in SIGNED_IN:
        forge.tokens[name] = change_site(config, create_token, name,
                                         ["pull_request_flag"])[0]  # fmt: skip
    for name in PEOPLE:
        forge.clients[name] = _client(forge.app, name)
    return forge


def _add_people(config: Config) -> None:
    init_site(config, NewUser(ADMIN, "admin@example.org", "Ad Min", password(ADMIN),
                              admin=True))  # fmt: skip
    for name in SIGNED_IN[1:]:
        add_user(config, NewUser(name, f"{name}@example.org", name, password(name)))


@contextmanager
def cheap_password_hashes() -> Iterator[None]:
    """Accounts made here get argon2 hashes of the lowest cost: each hash
    names its own parameters, so every later check of the password (git
    over HTTP checks one each request) takes well under a millisecond
    instead of 150 ms."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with mock.patch.object(passwords, "_hasher", lambda: cheap):
        yield


def _make_project(forge: Forge, fullname: str) -> None:
    config = forge.config
    create_project(config, fullname, OWNER, private=fullname == PRIVATE)
    for subject, level, branches in (
        (COMMITTER, "commit", []),
        (COLLABORATOR, "collaborator", ["release/*"]),
        (TRIAGER, "ticket", []),
        (f"@{GROUP}", "ticket", []),
    ):
        change_site(config, access.grant, fullname, subject, level, branches)
    change_site(config, access.set_protected_branches, fullname, list(PROTECTED))
    _push_code(forge, fullname)
    _make_tickets(forge, fullname)
    _make_requests(forge, fullname)


def _push_code(forge: Forge, fullname: str) -> None:
    """main, release/1.0, topic and frozen at one commit; `feature` and
    `proposal` each one commit ahead of it."""
    work = forge.work / fullname
    git("init", "-q", "-b", "main", str(work))
    _commit(work, "README", "hello\n")
    for branch in ("feature", "proposal"):
        git("checkout", "-q", "-b", branch, "main", cwd=work)
        _commit(work, f"{branch}.txt", f"{branch}\n")
    refspecs = [f"main:refs/heads/{ref}" for ref in (*REFS, "frozen")]
    git("push", "-q", str(forge.repo(RepoKind.CODE, fullname)), *refspecs,
        "feature", "proposal", cwd=work, env=_as_pusher(ADMIN))  # fmt: skip


def _commit(work: Path, name: str, text: str) -> None:
    (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"Write {name}", cwd=work)


def _as_pusher(name: str) -> dict[str, str]:
    # In the foreground: no detached post-receive child outlives a push.
    return {"GITFORGE_USER": name, "GITFORGE_HOOK_FOREGROUND": "1"}


def _identity(name: str) -> Identity:
    return Identity(name, f"{name}@example.org")


def _make_tickets(forge: Forge, fullname: str) -> None:
    """A public and a private ticket by the stranger, each commented on by
    the stranger and the owner, and a private ticket by the triager (so the
    ticket repo holds a ticket the stranger may not read)."""
    relpath = repo_relpath(RepoKind.TICKETS, fullname)
    numbers, comments = {}, {}
    with TicketRepo(forge.config.repositories / relpath) as tickets:
        for role, author, private in (
            ("public", STRANGER, False),
            ("private", STRANGER, True),
            ("others-private", TRIAGER, True),
        ):
            made = tickets.create_ticket(_identity(author), f"The {role} ticket",
                                         "Body", private=private)  # fmt: skip
            numbers[role] = made["number"]
            if role == "others-private":
                continue
            for commenter in (STRANGER, OWNER):
                note = tickets.add_comment(made["uid"], _identity(commenter), "Hi")
                comments[role, commenter] = note["uid"]
    sync_repo(forge.engine, forge.config.repositories, relpath)
    forge.tickets[fullname], forge.comments[fullname] = numbers, comments


def _make_requests(forge: Forge, fullname: str) -> None:
    """One pull request by the collaborator from `feature` into each ref."""
    forge.requests[fullname] = {
        target: prs.open_pull_request(
            forge.config, fullname, _identity(COLLABORATOR),
            prs.Branch(fullname, "feature"), target, f"Feature into {target}",
        )["number"]
        for target in REFS
    }  # fmt: skip


def _client(app: Flask, name: str | None) -> FlaskClient:
    client = app.test_client()
    if name is not None:
        sign_in(app, client, name)
    with client.session_transaction() as session:
        session["csrf"] = CSRF
    return client


# -- what the policy is asked, read from the index -----------------------------


def project_row(forge: Forge, fullname: str):
    return queries.project(forge.engine, fullname)


def ticket_facts(forge: Forge, fullname: str, role: str):
    from gitforge.policy import TicketFacts

    row = queries.ticket(forge.engine, project_row(forge, fullname),
                         forge.tickets[fullname][role])  # fmt: skip
    return TicketFacts(author=row.author, private=bool(row.private))


def comment_author(forge: Forge, fullname: str, role: str, uid: str) -> str:
    row = queries.ticket(forge.engine, project_row(forge, fullname),
                         forge.tickets[fullname][role])  # fmt: skip
    notes = queries.comments_of(forge.engine, row.id)
    return next(note.author for note in notes if note.uid == uid)


def request_author(forge: Forge, fullname: str, number: int) -> str:
    row = request_queries.request(forge.engine, project_row(forge, fullname), number)
    return row.author


def ticket_authors(forge: Forge, fullname: str) -> frozenset[str]:
    return queries.private_ticket_authors(forge.engine, project_row(forge, fullname))


# -- trials and probes ---------------------------------------------------------


class ProbeError(Exception):
    """An entry point answered neither "allowed" nor "refused" as the probe
    knows them: the probe (or the site) needs fixing, not the policy."""


@dataclass(frozen=True)
class Trial:
    """One question to one entry point: `where` says what was sent, `ask`
    the keyword arguments of `may` besides viewer, action and project, and
    `answer()` what the entry point said (True: allowed). A refused trial
    that `writes` must leave every repo as it was."""

    where: str
    answer: Callable[[], bool]
    ask: dict = field(default_factory=dict)
    writes: bool = False


# (forge, person, project fullname or None, ref or None) -> trials
Trials = Callable[[Forge, "str | None", "str | None", "str | None"], list[Trial]]


@dataclass(frozen=True)
class Probe:
    entry: str  # the entry point: web, api, git-http, hooks, gitolite.conf
    trials: Trials
    people: tuple = PEOPLE
    per_ref: bool = False  # asked once for each of REFS
    site: bool = False  # a site action: asked with project None


# -- web UI and JSON API -------------------------------------------------------

REFUSED = (401, 403, 404)


def page(forge, person, url, ok=(200,)) -> Callable[[], bool]:
    return lambda: _answer(forge.clients[person].get(url), f"GET {url}", ok)


def form(forge, person, url, ok=(302,), **fields) -> Callable[[], bool]:
    def answer() -> bool:
        data = {"csrf_token": CSRF, **fields}
        return _answer(forge.clients[person].post(url, data=data), f"POST {url}", ok)

    return answer


def _answer(response, sent: str, ok) -> bool:
    """Refused: 401, 403, 404 or being sent to log in; allowed: a status in
    `ok`; anything else is a ProbeError."""
    status = response.status_code
    to_login = status == 302 and "/login" in (response.location or "")
    if status in REFUSED or to_login:
        return False
    if status in ok:
        return True
    raise ProbeError(f"{sent}: {status} {response.get_data(as_text=True)[:300]!r}")


def _ticket_url(forge, fullname, role) -> str:
    return f"/{fullname}/issue/{forge.tickets[fullname][role]}"


def _request_url(forge, fullname, target="main") -> str:
    return f"/{fullname}/pull-request/{forge.requests[fullname][target]}"


def read_project_page(forge, person, fullname, _ref):
    return [Trial(f"GET /{fullname}", page(forge, person, f"/{fullname}"))]


def read_ticket_page(forge, person, fullname, _ref):
    return [
        Trial(f"GET {_ticket_url(forge, fullname, role)} ({role} ticket)",
              page(forge, person, _ticket_url(forge, fullname, role)),
              {"ticket": ticket_facts(forge, fullname, role)})
        for role in forge.tickets[fullname]
    ]  # fmt: skip


def create_ticket_form(forge, person, fullname, _ref):
    url = f"/{fullname}/new_issue"
    return [
        Trial(f"GET {url}", page(forge, person, url)),
        Trial(f"POST {url}", form(forge, person, url, title="By a probe"),
              writes=True),
    ]  # fmt: skip


# The ticket forms, each with its fields; every one is tried on the public
# and on the private ticket (in this order: close before reopen).
TICKET_FORMS = {
    Action.COMMENT_TICKET: [("comment", {"comment": "A probe's comment"})],
    Action.EDIT_TICKET: [("edit", {"title": "Edited by a probe", "body": "B"}),
                         ("close", {"reason": ""}), ("reopen", {})],
    Action.TRIAGE_TICKET: [("meta", {"tags": "probe", "priority": "1"})],
}  # fmt: skip


def ticket_forms(action: Action) -> Trials:
    def trials(forge, person, fullname, _ref):
        found = []
        for role in ("public", "private"):
            base = _ticket_url(forge, fullname, role)
            for name, fields in TICKET_FORMS[action]:
                url = f"{base}/{name}"
                found.append(Trial(f"POST {url} ({role} ticket)",
                                   form(forge, person, url, **fields),
                                   {"ticket": ticket_facts(forge, fullname, role)},
                                   writes=True))  # fmt: skip
        return found

    return trials


def edit_comment_form(forge, person, fullname, _ref):
    found = []
    for (role, author), uid in forge.comments[fullname].items():
        url = f"{_ticket_url(forge, fullname, role)}/comment/{uid}/edit"
        ask = {
            "ticket": ticket_facts(forge, fullname, role),
            "comment_author": comment_author(forge, fullname, role, uid),
        }
        found.append(Trial(f"POST {url} ({role} ticket, {author}'s comment)",
                           form(forge, person, url, text="Edited by a probe"),
                           ask, writes=True))  # fmt: skip
    return found


def fork_form(forge, person, fullname, _ref):
    url = f"/{fullname}/fork"
    return [Trial(f"POST {url}", form(forge, person, url), writes=True)]


def open_request_form(forge, person, fullname, _ref):
    url = f"/{fullname}/diff/main..proposal"
    answer = form(forge, person, url, title="Proposed by a probe")
    return [Trial(f"POST {url}", answer, writes=True)]


def comment_request_form(forge, person, fullname, _ref):
    url = f"{_request_url(forge, fullname)}/comment"
    answer = form(forge, person, url, comment="A probe's comment")
    return [Trial(f"POST {url}", answer, writes=True)]


def edit_request_forms(forge, person, fullname, _ref):
    base = _request_url(forge, fullname)
    ask = {
        "comment_author": request_author(
            forge, fullname, forge.requests[fullname]["main"]
        )
    }
    # 409: allowed, but already closed or merged.
    edits = [("edit", {"title": "Edited by a probe"}, (302,)),
             ("close", {}, (302, 409)), ("reopen", {}, (302, 409))]  # fmt: skip
    return [
        Trial(f"POST {base}/{name}", form(forge, person, f"{base}/{name}", ok,
                                          **fields), ask, writes=True)
        for name, fields, ok in edits
    ]  # fmt: skip


def merge_request_forms(forge, person, fullname, ref):
    """Merging (409: allowed, but merged already) and the tags and
    assignee form, which asks the same question."""
    base = _request_url(forge, fullname, ref)
    return [
        Trial(f"POST {base}/merge (into {ref})",
              form(forge, person, f"{base}/merge", (302, 409)), {"ref": ref},
              writes=True),
        Trial(f"POST {base}/meta (into {ref})",
              form(forge, person, f"{base}/meta", tags="probe"), {"ref": ref},
              writes=True),
    ]  # fmt: skip


SETTINGS_PAGES = ("settings", "settings/access", "settings/branches",
                  "settings/tickets", "settings/tokens")  # fmt: skip


def settings_pages(forge, person, fullname, _ref):
    found = [
        Trial(f"GET /{fullname}/{name}", page(forge, person, f"/{fullname}/{name}"))
        for name in SETTINGS_PAGES
    ]
    url = f"/{fullname}/settings"
    answer = form(forge, person, url, description="Described by a probe")
    return found + [Trial(f"POST {url}", answer, writes=True)]


def group_forms(forge, person, _fullname, _ref):
    """The group page's member form, sent empty: it is refused (403) or,
    once allowed, turned back for naming nobody (400), changing nothing."""
    url = f"/group/{GROUP}/members"
    members = frozenset(access_queries.members_of(forge.engine, GROUP))
    answer = form(forge, person, url, ok=(400,), add="", remove="")
    return [Trial(f"POST {url}", answer, ask={"group_members": members})]


def flag_api(forge, person, fullname, _ref):
    """A CI flag with a token of the person's (scope pull_request_flag);
    the anonymous visitor sends none."""
    url = f"/api/0/{fullname}/pull-request/{forge.requests[fullname]['main']}/flag"
    headers = {"Authorization": f"token {forge.tokens[person]}"} if person else {}

    def answer() -> bool:
        body = {"name": f"ci-{person}", "status": "success"}
        response = forge.clients[None].post(url, json=body, headers=headers)
        return _answer(response, f"POST {url}", (200, 201))

    return [Trial(f"POST {url}", answer, writes=True)]


# -- git over HTTP -------------------------------------------------------------


def _git_http(forge, person, path, service) -> Callable[[], bool]:
    """The status of `info/refs` as git asks for it, with the person's
    password (the anonymous visitor sends no credentials)."""

    def answer() -> bool:
        headers = {}
        if person is not None:
            pair = f"{person}:{password(person)}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        url = f"/{path}/info/refs?service={service}"
        response = forge.clients[None].get(url, headers=headers)
        try:
            return _answer(response, f"GET {url}", (200,))
        finally:
            response.close()  # reaps git http-backend

    return answer


def git_http(kind: RepoKind | None, service: str, authors: bool = False) -> Trials:
    def trials(forge, person, fullname, _ref):
        path = repo_relpath(kind, fullname) if kind else "site.git"
        ask = {}
        if authors:
            ask["private_ticket_authors"] = ticket_authors(forge, fullname)
        return [Trial(f"{service} /{path}", _git_http(forge, person, path, service),
                      ask)]  # fmt: skip

    return trials


# -- hooks: pushes by path with GITFORGE_USER ----------------------------------

# Every push is made to fail: a deletion of the protected SENTINEL (refused
# to everybody) rides along with the refs of a code push, and a ref other
# than main (refused by the content checks) with a document repo's. So no
# push changes anything, and the hook's refusal of each ref is read from the
# message it prints for that ref.
SENTINEL = "refs/heads/frozen"
CODE_PUSHES = ("fast-forward", "force-push", "delete")
_REFUSED_REF = re.compile(r"gitforge: refs/heads/(\S+?)(?::| is protected)")


def tips(path: Path) -> dict[str, str]:
    repo = pygit2.Repository(str(path))
    return {ref: str(repo.references[ref].target) for ref in repo.references}


def project_tips(forge: Forge, fullname: str | None) -> dict:
    """The refs of the site repo and of the project's repos, and the forks
    there are: whatever a write to the project could change."""
    kinds = (RepoKind.CODE, RepoKind.TICKETS, RepoKind.REQUESTS)
    repos = [forge.repo(None, None)]
    repos += [forge.repo(kind, fullname) for kind in kinds if fullname]
    state = {str(path): tips(path) for path in repos}
    forks = forge.config.repositories / "forks"
    state["forks"] = sorted(str(path) for path in forks.rglob("*.git"))
    return state


def code_push(forge, person, fullname, how) -> dict[str, bool]:
    """Which of REFS the hook let `person` push (`how`), all in one push;
    everybody's pushes are made at once, side by side."""
    bare = forge.repo(RepoKind.CODE, fullname)
    before = tips(bare)
    key = ("code push", fullname, how, tuple(sorted(before.items())))
    if key not in forge.cache:
        commits = _probe_commits(forge, bare, before)
        refspecs = {
            "fast-forward": [f"{commits[r][0]}:refs/heads/{r}" for r in REFS],
            "force-push": [f"+{commits[r][1]}:refs/heads/{r}" for r in REFS],
            "delete": [f":refs/heads/{r}" for r in REFS],
        }[how]
        pushes = _push_as_everybody(bare, [*refspecs, f":{SENTINEL}"],
                                    _work(forge, bare))  # fmt: skip
        forge.cache[key] = {
            who: _pushed_refs(done, bare, before) for who, done in pushes.items()
        }
    return forge.cache[key][person]


def _pushed_refs(done, bare: Path, before: dict) -> dict[str, bool]:
    refused = set(_REFUSED_REF.findall(done.stderr))
    if done.returncode == 0 or SENTINEL.removeprefix("refs/heads/") not in refused:
        raise ProbeError(f"the sentinel was not refused: {done.stderr}")
    _unchanged(bare, before, done)
    return {ref: ref not in refused for ref in REFS}


def _probe_commits(forge, bare: Path, before: dict) -> dict[str, tuple[str, str]]:
    """For each ref: a commit on top of its tip and one unrelated to it,
    made in a work repo that fetched the tips."""
    work = _work(forge, bare)
    git("fetch", "-q", str(bare), "+refs/heads/*:refs/probed/*", cwd=work)
    repo = pygit2.Repository(str(work))
    who = pygit2.Signature("Probe", "probe@example.org")
    gone = [ref for ref in REFS if f"refs/heads/{ref}" not in before]
    if gone:
        raise ProbeError(f"{gone} of {bare.name} are gone: a push went through")
    made = {}
    for ref in REFS:
        tip = repo.get(before[f"refs/heads/{ref}"])
        on_top = repo.create_commit(None, who, who, "On top", tip.tree_id, [tip.id])
        apart = repo.create_commit(None, who, who, f"Apart {ref}", tip.tree_id, [])
        made[ref] = (str(on_top), str(apart))
    return made


def document_push(forge, person, bare: Path) -> str:
    """The hook's messages to `person` on a push to a document repo (the
    ticket repo, the site repo). Past the access check, the push fails the
    content check, which takes nothing but main."""
    before = tips(bare)
    key = ("document push", str(bare), tuple(sorted(before.items())))
    if key not in forge.cache:
        work = _work(forge, bare)
        git("fetch", "-q", str(bare), "+refs/heads/main:refs/heads/main", cwd=work)
        repo = pygit2.Repository(str(work))
        tip = repo.get(before["refs/heads/main"])
        who = pygit2.Signature("Probe", "probe@example.org")
        new = repo.create_commit(None, who, who, "Probe", tip.tree_id, [tip.id])
        refspecs = [f"{new}:refs/heads/main", f"{new}:refs/heads/probe"]
        pushes = _push_as_everybody(bare, refspecs, work)
        for done in pushes.values():
            if done.returncode == 0 or "push refused" not in done.stderr:
                raise ProbeError(f"the push was not refused: {done.stderr}")
            _unchanged(bare, before, done)
        forge.cache[key] = {who: done.stderr for who, done in pushes.items()}
    return forge.cache[key][person]


def _push_as_everybody(bare: Path, refspecs: list[str], work: Path) -> dict:
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = pool.map(lambda who: _push(who, bare, refspecs, work), SIGNED_IN)
        return dict(zip(SIGNED_IN, done, strict=True))


def _work(forge: Forge, bare: Path) -> Path:
    """The repo the probe pushes are made in, one for each pushed repo."""
    work = forge.work / "probe-pushes" / bare.relative_to(forge.config.repositories)
    if not work.is_dir():
        git("init", "-q", "--bare", str(work))
    return work


def _push(person: str, bare: Path, refspecs: list[str], work: Path):
    return git("push", str(bare), *refspecs, cwd=work, check=False,
               env=_as_pusher(person))  # fmt: skip


def _unchanged(bare: Path, before: dict, done) -> None:
    if tips(bare) != before:
        raise ProbeError(f"a refused push changed {bare.name}: {done.stderr}")


def hook_code(how: str) -> Trials:
    def trials(forge, person, fullname, ref):
        def answer() -> bool:
            return code_push(forge, person, fullname, how)[ref]

        return [Trial(f"push by path, {how} refs/heads/{ref}", answer,
                      {"ref": f"refs/heads/{ref}"})]  # fmt: skip

    return trials


def hook_tickets(forge, person, fullname, _ref):
    bare = forge.repo(RepoKind.TICKETS, fullname)
    refusal = f"{person} may not push to the ticket repo"
    return [
        Trial(
            f"push by path to tickets/{fullname}.git",
            lambda: refusal not in document_push(forge, person, bare),
            {"private_ticket_authors": ticket_authors(forge, fullname)},
        )
    ]


def hook_site(forge, person, _fullname, _ref):
    refusal = f"{person} may not push to the site repo"
    bare = forge.repo(None, None)
    return [
        Trial(
            "push by path to site.git",
            lambda: refusal not in document_push(forge, person, bare),
        )
    ]


# -- gitolite ------------------------------------------------------------------

# gitolite's answer to (repo, user, perm, ref), perm one of R W +
GitoliteAnswer = Callable[[Forge, str, str, str, str], bool]


@dataclass
class GitoliteRules:
    """gitolite.conf as gitolite reads it: group members, and for each repo
    its rules in order as (perm, refex, names)."""

    groups: dict[str, set[str]]
    repos: dict[str, list[tuple[str, str, set[str]]]]

    @classmethod
    def parse(cls, text: str) -> GitoliteRules:
        groups, repos, rules = {}, {}, None
        for line in text.splitlines():
            if line.startswith("@"):
                name, _, members = line.partition(" = ")
                groups.setdefault(name, set()).update(members.split())
            elif line.startswith("repo "):
                rules = repos.setdefault(line.removeprefix("repo "), [])
            elif line.startswith("    "):
                left, _, names = line.strip().partition(" = ")
                perm, _, refex = left.partition(" ")
                rules.append((perm, refex, set(names.split())))
        return cls(groups, repos)

    def allows(self, repo: str, user: str, perm: str, ref: str) -> bool:
        """Read access is any R rule naming the user; for a write the first
        rule naming the user and matching the ref decides, a `-` rule
        refusing (gitolite skips rules without the wanted permission, and
        deny rules for the ref `any`)."""
        mine = {user, "@all"} | {g for g, who in self.groups.items() if user in who}
        for rule_perm, refex, names in self.repos.get(repo, ()):
            if not mine & names:
                continue
            if ref != "any" and refex and not re.match(refex, ref):
                continue
            if rule_perm == "-" and perm != "R" and ref != "any":
                return False
            if perm in rule_perm:
                return True
        return False


def conf_answer(forge, repo, user, perm, ref) -> bool:
    """The generator's output for the site as it is now."""
    state = [project_tips(forge, fullname) for fullname in PROJECTS]
    key = ("gitolite.conf", repr(state))
    if key not in forge.cache:
        forge.cache[key] = GitoliteRules.parse(gitolite_conf(read_state(forge.config)))
    return forge.cache[key].allows(repo, user, perm, ref)


def gitolite_repos() -> list[str]:
    names = ["site"]
    for fullname in PROJECTS:
        names += [fullname, f"tickets/{fullname}", f"requests/{fullname}"]
    return names


def access_answer(forge, repo, user, perm, ref) -> bool:
    """`gitolite access` on the compiled configuration, asked in batches."""
    from tests.gitolite.test_gitolite_conf import gitolite_access

    key = ("gitolite access", perm, ref)
    if key not in forge.cache:
        pairs = [(name, who) for name in gitolite_repos() for who in SIGNED_IN]
        forge.cache[key] = gitolite_access(forge.config, perm, ref, pairs)
    return forge.cache[key][repo, user]


def gitolite_rule(answer: GitoliteAnswer, kind, perm, authors=False) -> Trials:
    def trials(forge, person, fullname, ref):
        repo = repo_relpath(kind, fullname) if kind else "site.git"
        repo = repo.removesuffix(".git")
        gitref = f"refs/heads/{ref}" if ref else "any"
        ask = {"ref": gitref} if ref else {}
        if authors:
            ask["private_ticket_authors"] = ticket_authors(forge, fullname)
        return [
            Trial(
                f"{perm} {repo} {gitref}",
                lambda: answer(forge, repo, person, perm, gitref),
                ask,
            )
        ]

    return trials


def gitolite_probes(entry: str, answer: GitoliteAnswer) -> dict[Action, list[Probe]]:
    def probe(kind, perm, **options) -> Probe:
        authors = options.pop("authors", False)
        rule = gitolite_rule(answer, kind, perm, authors)
        return Probe(entry, rule, people=SIGNED_IN, **options)

    return {
        Action.READ_PROJECT: [probe(RepoKind.CODE, "R"),
                              probe(RepoKind.REQUESTS, "R")],
        Action.PUSH_CODE: [probe(RepoKind.CODE, "W", per_ref=True)],
        Action.REWRITE_BRANCH: [probe(RepoKind.CODE, "+", per_ref=True)],
        Action.CLONE_TICKETS: [probe(RepoKind.TICKETS, "R", authors=True)],
        Action.PUSH_TICKETS: [probe(RepoKind.TICKETS, "W", authors=True)],
        Action.ADMINISTER_SITE: [probe(None, "R", site=True),
                                 probe(None, "W", site=True)],
    }  # fmt: skip


# -- which entry points enforce which action -----------------------------------

UPLOAD, RECEIVE = "git-upload-pack", "git-receive-pack"


def _web(trials: Trials, **options) -> Probe:
    return Probe("web", trials, **options)


def _http(kind, service, **options) -> Probe:
    authors = options.pop("authors", False)
    return Probe("git-http", git_http(kind, service, authors), **options)


def _hooks(trials: Trials, **options) -> Probe:
    return Probe("hooks", trials, people=SIGNED_IN, **options)


def _own_probes() -> dict[Action, list[Probe]]:
    return {
        Action.READ_PROJECT: [_web(read_project_page),
                              _http(RepoKind.CODE, UPLOAD),
                              _http(RepoKind.REQUESTS, UPLOAD)],
        Action.PUSH_CODE: [_http(RepoKind.CODE, RECEIVE),
                           _hooks(hook_code("fast-forward"), per_ref=True)],
        Action.REWRITE_BRANCH: [_hooks(hook_code("force-push"), per_ref=True),
                                _hooks(hook_code("delete"), per_ref=True)],
        Action.CREATE_TICKET: [_web(create_ticket_form)],
        Action.READ_TICKET: [_web(read_ticket_page)],
        Action.COMMENT_TICKET: [_web(ticket_forms(Action.COMMENT_TICKET))],
        Action.EDIT_TICKET: [_web(ticket_forms(Action.EDIT_TICKET))],
        Action.TRIAGE_TICKET: [_web(ticket_forms(Action.TRIAGE_TICKET))],
        Action.EDIT_COMMENT: [_web(edit_comment_form)],
        Action.CLONE_TICKETS: [_http(RepoKind.TICKETS, UPLOAD, authors=True)],
        Action.PUSH_TICKETS: [_http(RepoKind.TICKETS, RECEIVE, authors=True),
                              _hooks(hook_tickets)],
        Action.FORK_PROJECT: [_web(fork_form)],
        Action.OPEN_PULL_REQUEST: [_web(open_request_form)],
        Action.COMMENT_PULL_REQUEST: [_web(comment_request_form),
                                      _http(RepoKind.REQUESTS, RECEIVE)],
        Action.EDIT_PULL_REQUEST: [_web(edit_request_forms)],
        Action.MERGE_PULL_REQUEST: [_web(merge_request_forms, per_ref=True)],
        Action.FLAG_PULL_REQUEST: [Probe("api", flag_api)],
        Action.CHANGE_SETTINGS: [_web(settings_pages)],
        Action.MANAGE_GROUP: [_web(group_forms, site=True)],
        Action.ADMINISTER_SITE: [_http(None, UPLOAD, site=True),
                                 _http(None, RECEIVE, site=True),
                                 _hooks(hook_site, site=True)],
    }  # fmt: skip


def all_probes() -> dict[Action, list[Probe]]:
    """Every entry point of every action (a new action has none until one
    is added here)."""
    probes = _own_probes()
    for action, more in gitolite_probes("gitolite.conf", conf_answer).items():
        probes.setdefault(action, []).extend(more)
    return probes


PROBES = all_probes()
