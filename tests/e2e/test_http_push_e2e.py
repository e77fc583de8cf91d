"""End to end: `git push` over HTTP to a real `gitforge serve`.

Every push here goes through the server: git asks for credentials on a 401,
sends a password or a token, gitforge asks the policy, and the hooks inside
`git http-backend` check each ref and file as the authenticated pusher.
Git runs with HOME in a temporary folder (tests.conftest.git), so no user
configuration is read or written.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitforge.config import Config
from gitforge.store import access
from gitforge.store.site import SiteRepo
from gitforge.store.tokens import create_token
from gitforge.tasks.access import change_site
from tests.conftest import git
from tests.e2e.conftest import Browser, gitforge
from tests.e2e.test_offline_e2e import ticket_folder, tickets_cli, wait_for

pytestmark = pytest.mark.e2e

NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}
NEXT_YEAR = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()
PASSWORDS = {name: f"{name}-pw-123" for name in ("boss", "rita", "tess", "sam")}


@pytest.fixture
def site(forge):
    """boss (a site admin) owns `demo` with a main branch; rita may push to
    release/*, tess triages tickets, sam has no access at all."""
    for name, password in PASSWORDS.items():
        extra = ["--admin"] if name == "boss" else []
        gitforge(forge.home, "user", "add", name, "--email", f"{name}@example.org",
                 *extra, "--password-stdin", input=f"{password}\n")  # fmt: skip
    gitforge(forge.home, "project", "create", "demo", "--owner", "boss")
    config = Config(forge.home)
    change_site(config, access.grant, "demo", "rita", "collaborator", ["release/*"])
    change_site(config, access.grant, "demo", "tess", "ticket")
    return forge


def url_as(forge, user: str, path: str, secret: str | None = None) -> str:
    """The URL of `path` with credentials in it, as git takes them."""
    secret = secret or PASSWORDS[user]
    return forge.url.replace("http://", f"http://{user}:{secret}@") + path


def push(work: Path, remote: str, *refspecs: str, settings=()):
    configured = [arg for setting in settings for arg in ("-c", setting)]
    return git(*configured, "push", remote, *refspecs, cwd=work, check=False,
               env=NO_PROMPT)  # fmt: skip


def tip(forge, relpath: str = "demo.git", ref: str = "main") -> str:
    repo = forge.home / "repositories" / relpath
    return git("rev-parse", "--verify", "-q", ref, cwd=repo, check=False).stdout


def local_commit(work: Path, name: str) -> str:
    (work / name).write_text(f"{name}\n")
    git("add", name, cwd=work)
    git("commit", "-qm", f"Add {name}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout


def new_work(tmp_path: Path, name: str = "work") -> Path:
    work = tmp_path / name
    git("init", "-q", "-b", "main", str(work))
    local_commit(work, "README")
    return work


def remote_says(result, message: str) -> bool:
    lines = result.stderr.splitlines()
    return any(line.startswith("remote: ") and message in line for line in lines)


# -- code ----------------------------------------------------------------------------


def test_admin_and_collaborator_push_code(site, tmp_path):
    forge = site
    work = new_work(tmp_path)

    anonymous = push(work, f"{forge.url}/demo.git", "main")
    assert anonymous.returncode != 0
    assert "could not read Username" in anonymous.stderr  # git asked for a login
    assert tip(forge) == ""

    admin = push(work, url_as(forge, "boss", "/demo.git"), "main")
    assert admin.returncode == 0, admin.stderr
    assert tip(forge) == git("rev-parse", "main", cwd=work).stdout
    status, page = Browser(forge.url).get("/demo")
    assert status == 200 and "README" in page

    git("pull", "-q", f"{forge.url}/demo.git", "main", cwd=work)
    local_commit(work, "release-notes.txt")
    as_rita = url_as(forge, "rita", "/demo.git")
    release = push(work, as_rita, "main:refs/heads/release/1.0")
    assert release.returncode == 0, release.stderr
    assert tip(forge, ref="release/1.0") == git("rev-parse", "main", cwd=work).stdout

    before = tip(forge)
    on_main = push(work, as_rita, "main")
    # The pre-receive hook asks the policy about each ref, as GITFORGE_USER.
    assert on_main.returncode != 0
    assert remote_says(on_main, "refs/heads/main: rita may not push here")
    assert remote_says(on_main, "covers the branches release/*")
    assert tip(forge) == before


def test_tokens_push_only_with_commit_scope_while_valid(site, tmp_path):
    forge = site
    work = new_work(tmp_path)
    assert push(work, url_as(forge, "boss", "/demo.git"), "main").returncode == 0
    local_commit(work, "by-token.txt")

    # A token made on the web page, handed to git by a credential helper.
    browser = Browser(forge.url)
    browser.submit("/login", "/login", {"name": "boss", "password": PASSWORDS["boss"]})
    fields = {"description": "laptop", "expires": NEXT_YEAR, "scopes": ["commit"]}
    status, page = browser.submit("/settings/tokens", "/settings/tokens", fields)
    assert status == 201, page
    token = re.search(r'class="token-secret" readonly value="([0-9a-f]{64})"', page)
    helper = (f"credential.helper=!f() {{ echo username=boss; "
              f"echo password={token.group(1)}; }}; f")  # fmt: skip
    pushed = push(work, f"{forge.url}/demo.git", "main", settings=[helper])
    assert pushed.returncode == 0, pushed.stderr
    assert tip(forge) == git("rev-parse", "main", cwd=work).stdout

    local_commit(work, "refused.txt")
    before = tip(forge)
    flag_only = _cli_token(forge, "boss", "--scope", "pull_request_flag")
    refused = push(work, url_as(forge, "boss", "/demo.git", flag_only), "main")
    assert refused.returncode != 0
    assert remote_says(refused, "The token lacks the scope commit")

    with SiteRepo.open(forge.home / "repositories") as site_repo:
        expired = create_token(site_repo, "boss", ["commit"], days=-1)[0]
    lapsed = push(work, url_as(forge, "boss", "/demo.git", expired), "main")
    assert lapsed.returncode != 0
    assert remote_says(lapsed, f"The token {expired[:16]} expired on")
    assert "Authentication failed" in lapsed.stderr

    revoked = _cli_token(forge, "boss", "--scope", "commit")
    gitforge(forge.home, "token", "revoke", revoked[:16])
    gone = push(work, url_as(forge, "boss", "/demo.git", revoked), "main")
    assert gone.returncode != 0
    assert remote_says(gone, f"The token {revoked[:16]} was revoked on")
    assert tip(forge) == before
    log = forge.log.read_text()
    for secret in (token.group(1), flag_only, expired, revoked, PASSWORDS["boss"]):
        assert secret not in log  # credentials never reach the server's log
    assert "credentials refused: The token" in log


def _cli_token(forge, user: str, *options: str) -> str:
    made = gitforge(forge.home, "token", "create", user, *options,
                    "--expires", NEXT_YEAR)  # fmt: skip
    return made.stdout.splitlines()[0]


def test_private_project_is_absent_for_strangers(site, tmp_path):
    forge = site
    work = new_work(tmp_path)
    assert push(work, url_as(forge, "boss", "/demo.git"), "main").returncode == 0
    change_site(Config(forge.home), access.set_private, "demo", True)
    local_commit(work, "secret.txt")
    before = tip(forge)

    cloned = git("clone", "-q", url_as(forge, "sam", "/demo.git"),
                 str(tmp_path / "clone"), check=False, env=NO_PROMPT)  # fmt: skip
    pushed = push(work, url_as(forge, "sam", "/demo.git"), "main")

    assert cloned.returncode != 0 and "not found" in cloned.stderr
    assert pushed.returncode != 0 and "not found" in pushed.stderr
    assert tip(forge) == before
    unknown = push(work, url_as(forge, "sam", "/nothing.git"), "main")
    assert unknown.stderr.replace("nothing", "demo") == pushed.stderr
    owner = push(work, url_as(forge, "boss", "/demo.git"), "main")
    assert owner.returncode == 0, owner.stderr


# -- tickets -------------------------------------------------------------------------


def test_ticket_level_user_pushes_tickets_not_code(site, tmp_path):
    forge = site
    work = new_work(tmp_path)
    assert push(work, url_as(forge, "boss", "/demo.git"), "main").returncode == 0
    local_commit(work, "by-tess.txt")
    code = push(work, url_as(forge, "tess", "/demo.git"), "main")
    assert code.returncode != 0
    assert remote_says(code, "tess may not push to demo")

    clone = tmp_path / "tickets"
    git("clone", "-q", f"{forge.url}/tickets/demo.git", str(clone))
    tickets_cli(clone, "new", "--title", "Pushed over HTTP", "--as", "tess")
    as_tess = url_as(forge, "tess", "/tickets/demo.git")
    pushed = push(clone, as_tess, "main")
    assert pushed.returncode == 0, pushed.stderr
    anonymous = Browser(forge.url)
    assert wait_for(lambda: "Pushed over HTTP" in anonymous.get("/demo/issue/1")[1])

    # A bad file is refused with the validation message; nothing changes.
    git("pull", "-q", cwd=clone)
    path = ticket_folder(clone, "Pushed over HTTP") / "ticket.json"
    path.write_text(path.read_text().replace('"Open"', '"Finished"'))
    git("commit", "-qam", "Finish it", cwd=clone)
    before = tip(forge, "tickets/demo.git")
    refused = push(clone, as_tess, "main")
    assert refused.returncode != 0
    name = path.relative_to(clone).as_posix()
    assert remote_says(refused, f"{name}: field 'status': unknown status 'Finished'")
    assert remote_says(refused, "push refused; nothing was changed")
    assert tip(forge, "tickets/demo.git") == before
    stored = git(
        "show", f"main:{name}", cwd=forge.home / "repositories/tickets/demo.git"
    )
    assert json.loads(stored.stdout)["status"] == "Open"
