"""Private means absent: a private project, its tickets, its forks and its
pull requests are answered exactly like a project that does not exist
(404, never 403), on every route of the app, for anonymous visitors and
for signed-in strangers, and left out of every list and count; a member
with the lowest level (ticket) reads them all.

The walk goes over `app.url_map`, so a route added later is covered
without touching this file.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import Rule

from gitforge.store import access
from gitforge.store.documents import Identity
from gitforge.store.site import NewUser
from gitforge.store.tickets import TicketRepo
from gitforge.tasks import pull_requests as prs
from gitforge.tasks.access import change_site
from gitforge.tasks.forks import fork_project
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import add_user
from tests.conftest import git
from tests.tasks.test_pull_requests import _commit
from tests.web import test_ticket_views as ticket_tests
from tests.web.signin import sign_in

people = ticket_tests.people
ALICE, BOB = ticket_tests.ALICE, ticket_tests.BOB
# Every private name and text below holds "hush", so one search finds a leak.
HUSHED = re.compile("hush", re.IGNORECASE)
PROJECT, NAMESPACED = "hushproj", "hushns/hushden"
FORK, NAMESPACED_FORK = f"forks/bob/{PROJECT}", f"forks/bob/{NAMESPACED}"
ABSENT = {
    PROJECT: "nothere",
    NAMESPACED: "nons/nothere",
    FORK: "forks/bob/nothere",
    NAMESPACED_FORK: "forks/bob/nons/nothere",
}


def push(config, work, fullname, *refspecs):
    git("push", "-q", str(config.repositories / f"{fullname}.git"), *refspecs,
        cwd=work)  # fmt: skip


@pytest.fixture
def hushed(people, tmp_path):
    """alice's private projects `hushproj` and `hushns/hushden`, where bob
    holds the ticket level: code on main, ticket #1 (with an attachment and
    a comment), bob's forks of both and his pull request #2 from his fork;
    carol is a stranger. Gives the config and the facts the walk needs."""
    add_user(people, NewUser("carol", "carol@example.org", "Carol", "secret-pw1"))
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    main = _commit(work, "README.md", "# Hush\n", "Start hushing")
    for fullname in (PROJECT, NAMESPACED):
        create_project(people, fullname, "alice", "Hushed description", private=True)
        change_site(people, access.grant, fullname, "bob", "ticket")
        push(people, work, fullname, "main")
        fork_project(people, fullname, "bob")
    ticket = _ticket(people)
    git("checkout", "-q", "-b", "topic", cwd=work)
    _commit(work, "topic.txt", "hush\n", "Hushed change")
    push(people, work, FORK, "topic")
    push(people, work, PROJECT, "topic")  # for the compare page
    prs.open_pull_request(people, PROJECT, BOB, prs.Branch(FORK, "topic"), "main",
                          "Hushed pull request")  # fmt: skip
    return people, {"sha": main, "comment_uid": ticket["comment_uid"]}


def _ticket(config) -> dict:
    path = config.repositories / "tickets" / f"{PROJECT}.git"
    with TicketRepo(path) as repo:
        made = repo.create_ticket(ALICE, "Hushed ticket title", "Hushed body")
        repo.attach(made["uid"], ALICE, "hush.txt", b"hushed notes\n")
        note = repo.add_comment(made["uid"], ALICE, "Hushed comment")
    ticket_tests.sync(config, PROJECT)
    return {"uid": made["uid"], "comment_uid": note["uid"]}


# -- building URLs for every rule ---------------------------------------------


def project_args(rule: Rule, fullname: str) -> dict[str, str]:
    """The rule's project arguments for `fullname` (which must have the
    shape the rule takes: a fork for /fork/..., a namespace or not)."""
    parts = fullname.split("/")
    args = {}
    if "fork_user" in rule.arguments:
        args["fork_user"] = parts[1]
        parts = parts[2:]
    if "namespace" in rule.arguments:
        args["namespace"] = parts[0]
    args["repo"] = parts[-1]
    return args


def project_of(rule: Rule) -> str:
    """Which private project the walk tries at `rule`."""
    if "fork_user" in rule.arguments:
        return NAMESPACED_FORK if "namespace" in rule.arguments else FORK
    return NAMESPACED if "namespace" in rule.arguments else PROJECT


_REQUEST_ENDPOINTS = ("requests.", "request_forms.", "api.")


def other_args(rule: Rule, facts: dict) -> dict[str, str]:
    """Values for the rule's other arguments that name real things of
    hushproj: ticket 1, pull request 2, the main branch, the attachment."""
    endpoint = rule.endpoint
    values = {
        "number": 2 if endpoint.startswith(_REQUEST_ENDPOINTS) else 1,
        "sha": facts["sha"],
        "branch": "main",
        "uid": facts["comment_uid"],
        "name": "hush.txt",
        "spec": {"code.tree": "main", "compare.compare": "main..topic"}.get(
            endpoint, "main/f/README.md"
        ),
    }
    # An argument added later gets a plain value: the project is checked
    # before anything else.
    return {
        key: values.get(key, "0123456789abcdef")
        for key in rule.arguments
        if key not in ("repo", "namespace", "fork_user")
    }


def url_of(rule: Rule, args: dict) -> str:
    path = rule.rule
    for key, value in args.items():
        path = re.sub(rf"<(?:[a-z]+:)?{key}>", str(value), path)
    assert "<" not in path, f"the walk has no value for {path}"
    return path + QUERIES.get(rule.endpoint, "")


QUERIES = {"git_http.info_refs": "?service=git-upload-pack",
           "compare.choose_branches": "?from=topic&to=main"}  # fmt: skip


def project_rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "repo" in r.arguments]


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods & {"GET", "POST"})


def ask(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    token = ticket_tests.token(client)
    return client.post(url, data={"csrf_token": token, "body": "x", "title": "x"})


def as_absent(text: str) -> str:
    """`text` with the private names replaced by the absent ones."""
    for hushed, absent in (("hushns", "nons"), ("hushden", "nothere"),
                           ("hushproj", "nothere")):  # fmt: skip
        text = text.replace(hushed, absent)
    return text


def git_http_urls(rule: Rule) -> list[tuple[str, str]]:
    """(private, absent) repo paths for the git over HTTP routes."""
    pairs = [(PROJECT, "nothere"), (f"tickets/{PROJECT}", "tickets/nothere"),
             (f"requests/{PROJECT}", "requests/nothere"), (FORK, "forks/bob/nothere"),
             (f"tickets/{NAMESPACED}", "tickets/nons/nothere")]  # fmt: skip
    return [(url_of(rule, {"repo": p}), url_of(rule, {"repo": a})) for p, a in pairs]


def walk_pairs(app, facts) -> list[tuple[str, str, str]]:
    """(method, URL of a private thing, URL of an absent one) for every
    project route of the app."""
    pairs = []
    for rule in project_rules(app):
        if rule.endpoint.startswith("git_http."):
            urls = git_http_urls(rule)
        else:
            fullname = project_of(rule)
            extra = other_args(rule, facts)
            hushed_args = {**project_args(rule, fullname), **extra}
            absent_args = {**project_args(rule, ABSENT[fullname]), **extra}
            urls = [(url_of(rule, hushed_args), url_of(rule, absent_args))]
        for method in methods(rule):
            pairs += [
                (method, hushed_url, absent_url) for hushed_url, absent_url in urls
            ]
    return pairs


# -- the walk ------------------------------------------------------------------


@pytest.fixture
def visitors(app, hushed):
    """An anonymous client and carol's (signed in, no access)."""
    anonymous = app.test_client()
    stranger = app.test_client()
    sign_in(app, stranger, "carol")
    return {"anonymous": anonymous, "stranger": stranger}


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_every_route_answers_as_if_the_project_did_not_exist(app, hushed, visitors,
                                                              who):  # fmt: skip
    _config, facts = hushed
    client = visitors[who]
    pairs = walk_pairs(app, facts)
    assert len(pairs) > 150  # every route, in its four project forms
    for method, hushed_url, absent_url in pairs:
        private = ask(client, method, hushed_url)
        absent = ask(client, method, absent_url)
        where = f"{who} {method} {hushed_url}"
        assert private.status_code != 403, where
        assert private.status_code == absent.status_code, where
        # The same answer, but for the name the visitor typed (a "Log in"
        # link leads back to the URL asked for).
        assert as_absent(private.get_data(as_text=True)) == absent.get_data(
            as_text=True
        ), where
        assert as_absent(private.headers.get("Location", "")) == absent.headers.get(
            "Location", ""
        ), where


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_no_other_page_names_a_private_project(app, hushed, visitors, who):
    client = visitors[who]
    pages = ["/", "/user/alice", "/user/bob", "/groups", "/foo", "/ns/bar",
             "/foo/issues", "/foo/pull-requests"]  # fmt: skip
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.rule not in pages:
            pages.append(rule.rule)
    for page in pages:
        response = client.get(page)
        assert response.status_code in (200, 302), page
        assert not HUSHED.search(response.get_data(as_text=True)), f"{who} {page}"


def test_a_ticket_level_member_reads_every_page(app, hushed):
    _config, facts = hushed
    member = app.test_client()
    sign_in(app, member, "bob")
    for rule in project_rules(app):
        if "GET" not in rule.methods or rule.endpoint.startswith("git_http."):
            continue
        if "fork_user" in rule.arguments or "namespace" in rule.arguments:
            continue  # the data (tickets, pull request) is hushproj's
        args = {**project_args(rule, PROJECT), **other_args(rule, facts)}
        if "/settings" in rule.rule:  # for the project's admins
            assert member.get(url_of(rule, args)).status_code == 403, rule.rule
            continue
        response = member.get(url_of(rule, args))
        assert response.status_code in (200, 302), f"{url_of(rule, args)}"
    for fullname in (PROJECT, NAMESPACED, FORK, NAMESPACED_FORK):
        page = member.get(f"/{fullname.replace('forks/', 'fork/', 1)}")
        assert page.status_code == 200, fullname
    for repo in (PROJECT, f"tickets/{PROJECT}", f"requests/{PROJECT}", FORK):
        refs = member.get(f"/{repo}.git/info/refs?service=git-upload-pack")
        assert refs.status_code == 200, repo
    listed = member.get("/").text
    assert f'href="/{PROJECT}"' in listed and f'href="/{NAMESPACED}"' in listed
    assert "Hushed ticket title" in member.get(f"/{PROJECT}/issues").text
    assert "Hushed pull request" in member.get(f"/{PROJECT}/pull-requests").text


def test_a_fork_of_a_private_project_is_private(hushed):
    config, _facts = hushed
    from gitforge.store.site import SiteRepo

    with SiteRepo.open(config.repositories) as site:
        assert site.project(FORK)["private"] is True
        assert site.project(NAMESPACED_FORK)["private"] is True


# -- a private fork of a public project ----------------------------------------


@pytest.fixture
def public_with_forks(people, tmp_path, app):
    """foo with alice's public fork and bob's private one (made private
    after forking), and a pull request from bob's fork into foo."""
    add_user(people, NewUser("carol", "carol@example.org", "Carol", "secret-pw1"))
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    _commit(work, "README.md", "# Foo\n", "Start")
    push(people, work, "foo", "main")
    fork_project(people, "foo", "alice")
    fork_project(people, "foo", "bob")
    change_site(people, access.set_private, "forks/bob/foo", True,
                actor=Identity("bob", "bob@example.org", "Bob"))  # fmt: skip
    git("checkout", "-q", "-b", "topic", cwd=work)
    _commit(work, "t.txt", "t\n", "Topic")
    push(people, work, "forks/bob/foo", "topic")
    prs.open_pull_request(people, "foo", BOB, prs.Branch("forks/bob/foo", "topic"),
                          "main", "From a private fork")  # fmt: skip
    return people


def test_private_forks_are_left_out_of_lists_and_counts(app, public_with_forks):
    stranger = app.test_client()
    sign_in(app, stranger, "carol")
    for client in (app.test_client(), stranger):
        summary = client.get("/foo").text
        assert 'href="/fork/alice/foo"' in summary
        assert "forks/bob/foo" not in summary and "2 forks" not in summary
        assert client.get("/fork/bob/foo").status_code == 404
        assert "forks/bob/foo" not in client.get("/user/bob").text
        request_page = client.get("/foo/pull-request/1")
        assert request_page.status_code == 200
        assert "forks/bob/foo" not in request_page.text
        assert "a private fork" in request_page.text
    owner = app.test_client()
    sign_in(app, owner, "bob")
    assert 'href="/fork/bob/foo"' in owner.get("/foo").text
    assert 'href="/fork/bob/foo"' in owner.get("/foo/pull-request/1").text
    assert "forks/bob/foo" in owner.get("/user/bob").text


def test_a_public_fork_of_a_private_parent_does_not_name_it(app, hushed):
    config, _facts = hushed
    change_site(config, access.set_private, FORK, False)
    stranger = app.test_client()
    sign_in(app, stranger, "carol")
    page = stranger.get(f"/fork/bob/{PROJECT}")
    assert page.status_code == 200
    assert "forked from" not in page.text
    member = app.test_client()
    sign_in(app, member, "bob")
    assert "forked from" in member.get(f"/fork/bob/{PROJECT}").text
