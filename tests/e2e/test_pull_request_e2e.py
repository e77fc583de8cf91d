"""End to end: the life of a pull request on a real `gitforge serve`.

Fork on the web, push a branch to the fork, open the pull request from the
address the push printed, comment on a line, post a CI flag with a token,
force-push and see the range refresh with the comment outdated, merge as a
committer, and see the target branch moved and the ticket it fixes closed.
"""

from __future__ import annotations

import html
import json
import re
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.conftest import git
from tests.e2e.conftest import Browser, gitforge
from tests.e2e.test_forge import wait_for

pytestmark = pytest.mark.e2e

APP = "".join(f"line {n}\n" for n in range(1, 8))
LINE_LINK = re.compile(r'href="(\?file=\d+&amp;side=new&amp;line=2)[^"]*"')


def _source(path):
    git("init", "-q", "-b", "main", str(path))
    (path / "app.py").write_text(APP)
    git("add", "-A", cwd=path)
    git("commit", "-qm", "First", cwd=path)
    return path


def _admin(forge) -> Browser:
    password = re.search(r"as admin with password (\S+)", forge.log.read_text())[1]
    admin = Browser(forge.url)
    admin.submit("/login", "/login", {"name": "admin", "password": password})
    return admin


def _form_action(page: str, marker: str) -> str:
    """The action of the form whose HTML holds `marker`."""
    for form in re.findall(r"<form[^>]*>.*?</form>", page, re.S):
        if marker in form:
            return html.unescape(re.search(r'action="([^"]+)"', form)[1])
    raise AssertionError(f"no form with {marker!r}")


def _fields(page: str, form_marker: str) -> dict:
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S)
                if form_marker in f)  # fmt: skip
    pairs = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    return {name: html.unescape(value) for name, value in pairs}


def _commit_line_two(work, text, message):
    (work / "app.py").write_text(APP.replace("line 2\n", f"{text}\n"))
    git("commit", "-qam", message, cwd=work)


def test_fork_pull_request_review_flag_force_push_merge(forge, tmp_path):
    gitforge(forge.home, "project", "import", "demo", str(_source(tmp_path / "src")))
    gitforge(forge.home, "user", "add", "erin", "--email", "erin@example.org",
             "--password-stdin", input="erin-pw-12\n")  # fmt: skip
    admin = _admin(forge)
    admin.submit("/demo/new_issue", "/demo/new_issue", {"title": "Line 2 is wrong"})
    erin = Browser(forge.url)
    erin.submit("/login", "/login", {"name": "erin", "password": "erin-pw-12"})

    # Fork on the web, then push a branch to the fork over HTTP as erin.
    status, page = erin.submit("/demo", "/demo/fork", {})
    assert status == 200 and "forked from" in page
    work = tmp_path / "work"
    git("clone", "-q", f"{forge.url}/forks/erin/demo.git", str(work))
    git("checkout", "-q", "-b", "fix/line-2", cwd=work)
    _commit_line_two(work, "line two", "Fix line 2\n\nFixes #1")
    erins = forge.url.replace("http://", "http://erin:erin-pw-12@")
    pushed = git("push", f"{erins}/forks/erin/demo.git", "fix/line-2", cwd=work,
                 env={"GIT_TERMINAL_PROMPT": "0"})  # fmt: skip
    offer = re.search(r"remote: +(http\S+/diff/main\.\.fix/line-2)", pushed.stderr)
    assert offer, pushed.stderr

    # Open the pull request from the printed address: into the parent.
    assert offer[1].startswith(forge.url + "/")  # the address it serves on
    diff_page = urlsplit(offer[1]).path
    status, page = erin.get(diff_page)
    assert status == 200 and "Fix line 2" in page
    action = _form_action(page, 'name="title"')
    status, page = erin.submit(diff_page, action, {"title": "Fix line 2"})
    assert status == 200, page
    # Anyone can fetch the proposed commits from the target project.
    fetched = tmp_path / "fetched"
    git("clone", "-q", f"{forge.url}/demo.git", str(fetched))
    git("fetch", "-q", "origin", "refs/pull/2/head", cwd=fetched)
    proposed = git("rev-parse", "HEAD", cwd=work).stdout
    assert git("rev-parse", "FETCH_HEAD", cwd=fetched).stdout == proposed

    # An inline comment on the new line 2, from the files tab.
    status, files = erin.get("/demo/pull-request/2/files")
    link = LINE_LINK.search(files)
    assert status == 200 and link, files
    _status, form_page = erin.get("/demo/pull-request/2/files" +
                                  html.unescape(link[1]))  # fmt: skip
    fields = _fields(form_page, 'name="line"')
    fields["comment"] = "Why *two*?"
    action = _form_action(form_page, 'name="line"')
    status, page = erin.submit("/demo/pull-request/2/files", action, fields)
    assert status == 200 and "Why <em>two</em>?" in page

    # A CI flag with a token made on the command line.
    token = gitforge(forge.home, "token", "create", "admin", "--project", "demo")
    flag = urllib.request.Request(
        f"{forge.url}/api/0/demo/pull-request/2/flag",
        data=json.dumps({"username": "CI", "status": "success", "comment": "ok",
                         "url": "https://ci.example.org/7"}).encode(),
        headers={"Authorization": f"token {token.stdout.strip()}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(flag, timeout=10) as answer:
        assert answer.status == 201
    assert "ci.example.org/7" in erin.get("/demo/pull-request/2")[1]

    # A force-push refreshes the range; the comment stays, marked outdated.
    git("commit", "-q", "--amend", "-m", "Fix line 2 again\n\nFixes #1", cwd=work)
    _commit_line_two(work, "line 2, fixed", "Fix line 2 better\n\nFixes #1")
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    git("push", "-q", "--force", f"{erins}/forks/erin/demo.git", "fix/line-2", cwd=work)

    def refreshed():
        page = erin.get("/demo/pull-request/2")[1]
        return "force-pushed" in page and "outdated" in page and page

    page = wait_for(refreshed, timeout=20)
    assert page, erin.get("/demo/pull-request/2")[1]
    assert "Why <em>two</em>?" in page

    # A committer merges; the page follows the task to its outcome.
    status, page = admin.submit("/demo/pull-request/2", "/demo/pull-request/2/merge",
                                {})  # fmt: skip
    assert status == 200 and "merge" in page.lower(), page

    def merged():
        return 'class="status status-Merged"' in admin.get("/demo/pull-request/2")[1]

    assert wait_for(merged, timeout=20), admin.get("/demo/pull-request/2")[1]
    main = git("rev-parse", "main", cwd=forge.home / "repositories/demo.git")
    assert main.stdout.strip() == head  # a fast-forward
    _status, ticket = admin.get("/demo/issue/1")
    assert "Closed" in ticket and "Fixed by pull request #2" in ticket
