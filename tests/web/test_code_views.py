"""Code pages over a real site: a project imported from a repository built
with the git CLI, an empty project, and a namespaced copy.

The site is built once per module and only read, so every test shares it.
Links are checked by following them from the pages, as a browser would.
"""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from html import unescape
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from gitforge.config import Config
from gitforge.store.site import NewUser
from gitforge.tasks.projects import create_project
from gitforge.tasks.site import init_site
from gitforge.web.app import create_app
from gitforge.web.code_views import patch_html
from tests.conftest import git
from tests.store.conftest import commit_all, dated, write

ODD_BRANCH = "feature/fé+x@y"
DEEP_BRANCH = "topic/f/deep"
ODD_FILE = "dir with space/fïle ü #?%.txt"
HOSTILE_README = (
    "# Code\n\nHello <script>alert('readme')</script> "
    "[click](javascript:alert(1)) <img src=x onerror=alert(2)>\n"
)
PYTHON = "\n\nclass Greeter:\n    def hello(self):\n        return 'hi'  # say it\n"
COUNTED = 60  # small commits at the tip, so that history has several pages

_HREF = re.compile(r'href="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0\0")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def build_source(work: Path) -> dict[str, str]:
    """The work tree the project is imported from; returns named commits."""
    git("init", "-q", "-b", "trunk", str(work))
    made = {}
    write(work, "README.md", HOSTILE_README)
    write(work, "src/app.py", PYTHON)
    write(work, ODD_FILE, "spaced and unicode\n")
    write(work, "docs/guide.md", "".join(f"guide line {i}\n" for i in range(30)))
    write(work, "page.html", "<html><script>alert('html')</script></html>\n")
    write(work, "logo.svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>\n')
    write(work, "img.png", png())
    write(work, "data.bin", bytes(range(256)) * 8)
    write(work, "empty.txt", "")
    write(work, "f/note.txt", "a folder named like the marker\n")
    made["root"] = commit_all(work, "Start the project\n\nWith a body.", 1)

    git("mv", "docs/guide.md", "docs/manual.md", cwd=work)
    made["rename"] = commit_all(work, "Rename the guide", 2)

    git("checkout", "-q", "-b", ODD_BRANCH, cwd=work)
    write(work, "feature.txt", "on the odd branch\n")
    write(work, "data.bin", bytes(range(255, -1, -1)) * 8)
    made["feature"] = commit_all(work, "Add the feature", 3)
    git("checkout", "-q", "trunk", cwd=work)
    write(work, "src/app.py", PYTHON + "\nprint('merged')\n")
    made["before_merge"] = commit_all(work, "Print something", 4)
    git("merge", "-q", "--no-ff", "-m", "Merge the feature", ODD_BRANCH,
        cwd=work, env=dated(5))  # fmt: skip
    made["merge"] = git("rev-parse", "HEAD", cwd=work).stdout.strip()

    os.symlink("README.md", work / "link")
    # An empty folder is how git sees a submodule that is not checked out;
    # without it `git add -A` would stage the submodule's removal.
    (work / "sub").mkdir()
    git("update-index", "--add", "--cacheinfo", f"160000,{'a' * 40},sub", cwd=work)
    made["links"] = commit_all(work, "Add a symlink and a submodule", 7)

    for i in range(COUNTED):
        write(work, "counter.txt", f"count {i}\n")
        made[f"count{i}"] = commit_all(work, f"Count to {i}", 10 + i)

    git("branch", DEEP_BRANCH, made["rename"], cwd=work)
    git("checkout", "-q", DEEP_BRANCH, cwd=work)
    write(work, "deep.txt", "only on the deep branch\n")
    made["deep"] = commit_all(work, "Go deep", 100)
    git("checkout", "-q", "trunk", cwd=work)
    git("update-ref", "refs/heads/-x", made["root"], cwd=work)
    git("tag", "-a", "v1.0", "-m", "First release", made["rename"], cwd=work,
        env=dated(6))  # fmt: skip
    git("tag", "light", made["merge"], cwd=work)
    return made


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory):
    """The site with `code` and `ns/code` imported from one source, and an
    empty project `blank`; yields (config, source work tree, commits)."""
    root = tmp_path_factory.mktemp("code-views")
    work = root / "source"
    made = build_source(work)
    config = Config(root / "home")
    admin = NewUser("admin", "admin@example.org", "Ad Min", "secret-pw1", admin=True)
    init_site(config, admin)
    create_project(config, "code", "admin", "Code pages", source=str(work))
    create_project(config, "ns/code", "admin", "Namespaced", source=str(work))
    create_project(config, "blank", "admin", "Nothing yet")
    return config, work, made


@pytest.fixture(scope="module")
def code_app(forge):
    app = create_app(forge[0])
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def client(code_app):
    return code_app.test_client()


@pytest.fixture
def made(forge) -> dict[str, str]:
    return forge[2]


@pytest.fixture
def small_limit_client(forge):
    """A client of the same site where files and diffs over 100 bytes are
    too big to show."""
    app = create_app(Config(forge[0].home, {"max_render_bytes": "100"}))
    app.config["TESTING"] = True
    return app.test_client()


def get_ok(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def links(response) -> list[str]:
    return [unescape(href) for href in _HREF.findall(response.text)]


def link_to(response, text: str) -> str:
    """The href of the link whose text is `text`."""
    pattern = re.compile(r'<a[^>]*href="([^"]+)"[^>]*>\s*' + re.escape(text) + r"\s*<")
    found = pattern.search(response.text)
    assert found, f"no link {text!r}"
    return unescape(found.group(1))


def git_ids(config: Config, *args: str) -> list[str]:
    repo = config.repositories / "code.git"
    return git("--git-dir", str(repo), "log", "--format=%H", *args).stdout.split()


# -- summary -----------------------------------------------------------------


def test_summary_shows_default_branch_readme_and_clone_urls(client):
    page = get_ok(client, "/code").text
    assert "Code pages" in page
    assert '<span class="ref">trunk</span>' in page
    assert "http://localhost/code.git" in page
    assert "http://localhost/tickets/code.git" in page
    assert "<h1>Code</h1>" in page
    assert "Count to 59" in page and "Count to 49" not in page  # ten commits


def test_summary_readme_markdown_is_sanitized(client):
    page = get_ok(client, "/code").text
    assert "<script>" not in page
    assert "javascript:" not in page
    assert "onerror" not in page


def test_summary_lists_branches_and_links_to_all(client):
    response = get_ok(client, "/code")
    assert link_to(response, "All 4 branches") == "/code/branches"
    assert "/code/tree/trunk" in links(response)


def test_summary_uses_site_url_for_clone_urls(forge):
    config = Config(forge[0].home, {"site_url": "https://forge.example.org/"})
    app = create_app(config)
    page = get_ok(app.test_client(), "/ns/code").text
    assert "https://forge.example.org/ns/code.git" in page
    assert "https://forge.example.org/tickets/ns/code.git" in page


def test_empty_project_shows_push_instructions(client):
    for url in ("/blank", "/blank/tree", "/blank/commits"):
        page = get_ok(client, url).text
        assert "has no code yet" in page
        assert "git remote add origin http://localhost/blank.git" in page
    assert "No branches yet" in get_ok(client, "/blank/branches").text
    assert "No tags yet" in get_ok(client, "/blank/tags").text


def test_unknown_project_is_not_found(client):
    assert client.get("/nope").status_code == 404
    assert client.get("/nope/tree").status_code == 404


# -- trees and files -----------------------------------------------------------


def test_tree_root_lists_entries_with_kind_and_size(client):
    page = get_ok(client, "/code/tree").text
    assert 'href="/code/tree/trunk/f/src">src/</a>' in page
    assert 'href="/code/blob/trunk/f/page.html">page.html</a>' in page
    assert "2.0 KB" in page  # data.bin


def test_tree_odd_path_link_round_trips(client):
    response = get_ok(client, "/code/tree/trunk")
    folder = link_to(response, "dir with space/")
    assert folder == "/code/tree/trunk/f/dir%20with%20space"
    file_link = link_to(get_ok(client, folder), "fïle ü #?%.txt")
    assert "%23%3F%25" in file_link  # '#', '?' and '%' are encoded
    assert "spaced and unicode" in get_ok(client, file_link).text


def test_tree_without_marker_splits_at_longest_ref(client):
    assert "app.py" in get_ok(client, "/code/tree/trunk/src").text


def test_tree_of_a_file_redirects_to_its_blob(client):
    response = client.get("/code/tree/trunk/f/src/app.py")
    assert response.status_code == 302
    assert response.location.endswith("/code/blob/trunk/f/src/app.py")


def test_blob_of_a_folder_redirects_to_its_tree(client):
    response = client.get("/code/blob/trunk/f/src")
    assert response.status_code == 302
    assert response.location.endswith("/code/tree/trunk/f/src")


def test_blob_python_is_highlighted_with_line_anchors(client):
    page = get_ok(client, "/code/blob/trunk/f/src/app.py").text
    assert '<span class="k">class</span>' in page
    assert '<a id="L1" href="#L1">1</a>' in page
    # Leading blank lines are kept, so numbers match the file.
    assert '<a id="L3" href="#L3">3</a>' in page
    assert '<span class="nc">Greeter</span>' in page.split('id="L3"')[1]


def test_blob_markdown_rendered_with_a_source_link(client):
    response = get_ok(client, "/code/blob/trunk/f/README.md")
    assert "<h1>Code</h1>" in response.text
    assert "<script>" not in response.text
    source = get_ok(client, link_to(response, "Source")).text
    assert "&lt;script&gt;" in source and "<script>" not in source


def test_blob_html_file_is_shown_escaped(client):
    page = get_ok(client, "/code/blob/trunk/f/page.html").text
    assert '&lt;</span><span class="nt">script</span>' in page
    assert "<script>" not in page


def test_blob_binary_shows_summary_and_raw_link(client):
    response = get_ok(client, "/code/blob/trunk/f/data.bin")
    assert "A binary file of 2.0 KB, not shown" in response.text
    assert link_to(response, "Download it") == "/code/raw/trunk/f/data.bin"


def test_blob_too_big_shows_summary_not_content(small_limit_client):
    response = get_ok(small_limit_client, "/code/blob/trunk/f/docs/manual.md")
    assert "too big to show here" in response.text
    assert "guide line 5" not in response.text


def test_symlink_and_submodule(client):
    tree = get_ok(client, "/code/tree/trunk").text
    assert f'sub <span class="muted">@ {"a" * 10}</span>' in tree
    response = get_ok(client, "/code/blob/trunk/f/link")
    assert "symbolic link" in response.text and "README.md" in response.text
    raw = get_ok(client, link_to(response, "Raw"))
    assert raw.data == b"README.md"
    page = get_ok(client, "/code/blob/trunk/f/sub").text
    assert f"A submodule at commit <code>{'a' * 40}</code>" in page
    assert client.get("/code/raw/trunk/f/sub").status_code == 404


def test_blob_empty_file(client):
    assert "This file is empty" in get_ok(client, "/code/blob/trunk/f/empty.txt").text


def test_blob_etag_answers_not_modified(client):
    first = get_ok(client, "/code/blob/trunk/f/src/app.py")
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get("/code/blob/trunk/f/src/app.py", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    # The same file on another branch is the same blob: same ETag.
    other = client.get("/code/blob/light/f/src/app.py", headers={"If-None-Match": etag})
    assert other.status_code == 304
    stale = client.get(
        "/code/blob/trunk/f/src/app.py", headers={"If-None-Match": '"x"'}
    )
    assert stale.status_code == 200


def test_blob_etag_differs_for_a_signed_in_viewer(code_app, client):
    url = "/code/blob/trunk/f/src/app.py"
    anonymous = get_ok(client, url).headers["ETag"]
    signed_in = code_app.test_client()
    token = _CSRF.search(signed_in.get("/login").text).group(1)
    form = {"csrf_token": token, "name": "admin", "password": "secret-pw1"}
    assert signed_in.post("/login", data=form).status_code == 302
    response = get_ok(signed_in, url)
    assert response.headers["ETag"] != anonymous
    assert "private" in response.headers["Cache-Control"]
    assert "Log out" in response.text
    stale = signed_in.get(url, headers={"If-None-Match": anonymous})
    assert stale.status_code == 200


def test_blob_etag_changes_with_the_file(client, made):
    old = get_ok(client, f"/code/blob/{made['rename']}/f/src/app.py").headers["ETag"]
    new = get_ok(client, "/code/blob/trunk/f/src/app.py").headers["ETag"]
    assert old != new


# -- raw -------------------------------------------------------------------------


def assert_inert(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_raw_text_is_plain_text(client):
    response = get_ok(client, "/code/raw/trunk/f/src/app.py")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data.decode() == PYTHON + "\nprint('merged')\n"
    assert_inert(response)


def test_raw_html_is_plain_text(client):
    response = get_ok(client, "/code/raw/trunk/f/page.html")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert_inert(response)


def test_raw_svg_is_an_attachment(client):
    response = get_ok(client, "/code/raw/trunk/f/logo.svg")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert_inert(response)


def test_raw_png_is_an_image(client):
    response = get_ok(client, "/code/raw/trunk/f/img.png")
    assert response.headers["Content-Type"] == "image/png"
    assert response.data == png()
    assert_inert(response)


def test_raw_binary_is_an_attachment(client):
    response = get_ok(client, "/code/raw/trunk/f/data.bin")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == "attachment; filename=data.bin"
    assert response.data == bytes(range(255, -1, -1)) * 8  # as merged
    assert_inert(response)


def test_raw_odd_name_and_etag(client):
    url = "/code/raw/trunk/f/" + "dir%20with%20space/f%C3%AFle%20%C3%BC%20%23%3F%25.txt"
    response = get_ok(client, url)
    assert response.data == b"spaced and unicode\n"
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert_inert(again)


# -- refs ------------------------------------------------------------------------


def test_branches_page_links_work_for_odd_names(client):
    response = get_ok(client, "/code/branches")
    for name in ("trunk", ODD_BRANCH, DEEP_BRANCH, "-x"):
        assert f">{name}</a>" in response.text
    odd_tree = link_to(response, ODD_BRANCH)
    assert unquote(urlsplit(odd_tree).path) == f"/code/tree/{ODD_BRANCH}"
    assert "feature.txt" in get_ok(client, odd_tree).text
    dash = link_to(response, "-x")
    assert dash == "/code/tree/-x"
    assert "docs/" in get_ok(client, dash).text  # the root commit, before the rename


def test_branch_holding_f_part_is_resolved(client):
    assert "deep.txt" in get_ok(client, "/code/tree/topic/f/deep").text
    page = get_ok(client, "/code/blob/topic/f/deep/f/deep.txt").text
    assert "only on the deep branch" in page
    page = get_ok(client, "/code/blob/topic/f/deep/f/f/note.txt").text
    assert "named like the marker" in page


def test_folder_named_f_is_a_path(client):
    assert "note.txt" in get_ok(client, "/code/tree/trunk/f/f").text
    raw = get_ok(client, "/code/raw/trunk/f/f/note.txt")
    assert raw.data == b"a folder named like the marker\n"


def test_tags_page_lists_both_kinds(client, made):
    response = get_ok(client, "/code/tags")
    assert "First release" in response.text
    assert '>v1.0</a> <span class="tag">annotated</span>' in response.text
    assert ">light</a>\n" in response.text or ">light</a></td>" in response.text
    tagged = get_ok(client, link_to(response, "v1.0")).text
    assert "docs/" in tagged and "counter.txt" not in tagged
    assert f"/code/c/{made['merge']}" in links(response)


@pytest.mark.parametrize(
    "url",
    [
        "/code/tree/nope",
        "/code/tree/trunk/f/nope",
        "/code/blob/trunk/f/nope.txt",
        "/code/blob/nope/f/README.md",
        "/code/raw/trunk/f/nope.txt",
        "/code/raw/trunk/f/src",
        "/code/commits/nope",
        "/code/c/deadbeef",
        "/code/c/trunk",
        "/code/c/deadbeef.patch",
        "/code/tree/trunk/f/../../etc",
        "/code/blob/--help/f/README.md",
        "/code/blob/trunk/f/a%00b",
        "/code/commits/trunk?path=a%00b",
        "/code/tree/" + "f/" * 1500,
        "/code/tree/" + "x/" * 1500,
    ],
)
def test_unknown_ref_or_path_is_not_found(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("part", ["f/", "x/"])
def test_a_long_url_is_refused_in_linear_time(client, part):
    # Every one of the 30,000 parts could end a ref; building each prefix
    # to try it took seconds.
    started = time.perf_counter()
    assert client.get("/code/tree/trunk/" + part * 30_000).status_code == 404
    assert time.perf_counter() - started < 1


# -- history ---------------------------------------------------------------------


def test_commits_page_etag_follows_the_branch_tip(client, made):
    etag = get_ok(client, "/code/commits").headers["ETag"]
    assert (
        client.get("/code/commits", headers={"If-None-Match": etag}).status_code == 304
    )
    # Another branch at another tip, under its own URL, has its own ETag.
    other = client.get("/code/commits/v1.0", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_commits_paging_matches_git_log(client, forge):
    expected = git_ids(forge[0], "trunk")
    first = get_ok(client, "/code/commits")
    page_one = re.findall(r'class="sha" href="/code/c/([0-9a-f]{40})"', first.text)
    assert page_one == expected[:50]
    second = get_ok(client, link_to(first, "Older"))
    page_two = re.findall(r'class="sha" href="/code/c/([0-9a-f]{40})"', second.text)
    assert page_two == expected[50:100]
    assert "Older" not in second.text  # the history ends on page 2
    assert link_to(second, "Newer") == "/code/commits"


def test_commits_of_an_odd_branch(client, forge):
    response = get_ok(client, "/code/branches")
    url = next(u for u in links(response) if u.startswith("/code/commits/feature"))
    assert unquote(url) == f"/code/commits/{ODD_BRANCH}"
    ids = re.findall(
        r'class="sha" href="/code/c/([0-9a-f]{40})"', get_ok(client, url).text
    )
    assert ids == git_ids(forge[0], ODD_BRANCH)


def test_commits_of_a_path(client, forge):
    page = get_ok(client, "/code/commits/trunk?path=docs/manual.md").text
    ids = re.findall(r'class="sha" href="/code/c/([0-9a-f]{40})"', page)
    assert ids == git_ids(forge[0], "trunk", "--", "docs/manual.md")


def test_commit_page_of_a_rename(client, made):
    page = get_ok(client, f"/code/c/{made['rename']}").text
    assert "docs/guide.md → docs/manual.md" in page
    assert "renamed (100%)" in page
    assert f'href="/code/c/{made["root"]}"' in page


def test_commit_page_of_a_merge_shows_both_parents(client, made):
    page = get_ok(client, f"/code/c/{made['merge']}").text
    assert "Merge the feature" in page
    assert f'href="/code/c/{made["before_merge"]}"' in page
    assert f'href="/code/c/{made["feature"]}"' in page
    assert '<span class="add">+on the odd branch\n</span>' in page
    assert "Binary file." in page  # data.bin changed on the branch


def test_commit_page_root_commit_and_short_id(client, made):
    page = get_ok(client, f"/code/c/{made['root'][:8]}").text
    assert "none (a root commit)" in page
    assert "With a body." in page
    assert "&lt;script&gt;" in page  # the README's patch, escaped
    assert "<script>" not in page


def test_commit_page_truncated_file_gets_raw_link(small_limit_client, made):
    response = get_ok(small_limit_client, f"/code/c/{made['rename']}")
    assert "Binary file" not in response.text
    response = get_ok(small_limit_client, f"/code/c/{made['root']}")
    assert "too big to show" in response.text
    assert f"/code/raw/{made['root']}/f/README.md" in links(response)


def test_patch_html_splits_lines_at_newlines_only():
    html = str(patch_html("diff --git a/x b/x\n@@ -1 +1 @@\n-a\r\n+<b>\x0c\n ctx\n"))
    assert html == (
        '<span class="hunk">@@ -1 +1 @@\n</span><span class="del">-a\r\n</span>'
        '<span class="add">+&lt;b&gt;\x0c\n</span> ctx\n'
    )


def test_commit_page_etag_is_the_commit_id(client, made):
    url = f"/code/c/{made['merge']}"
    etag = get_ok(client, url).headers["ETag"]
    assert etag.startswith(f'"{made["merge"]}-')
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_commit_patch_and_diff_downloads(client, made, forge):
    patch = get_ok(client, f"/code/c/{made['rename']}.patch")
    assert patch.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert b"Subject: [PATCH] Rename the guide" in patch.data
    assert_inert(patch)
    diff = get_ok(client, f"/code/c/{made['before_merge']}.diff")
    repo = forge[0].repositories / "code.git"
    expected = git("--git-dir", str(repo), "diff", made["rename"], made["before_merge"])
    assert diff.data.decode() == expected.stdout
    assert_inert(diff)


# -- following links -----------------------------------------------------------


@pytest.mark.parametrize("project", ["code", "ns/code"])
def test_every_link_from_the_pages_works(client, project):
    """Crawl the project's code pages from its summary; every link must
    answer 200 (or redirect to a page that does). Pages pinned to a commit
    id are checked but not crawled further, which keeps the crawl to every
    ref's files plus every commit's page."""
    start = f"/{project}"
    seen, queue = {start}, [start]
    while queue:
        url = queue.pop(0)
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        if response.mimetype != "text/html" or _PINNED.search(url):
            continue
        for link in links(response):
            path = urlsplit(link).path
            if path.startswith(start + "/") and "/issue" not in path:
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    assert len(seen) < 2000
    visited = {unquote(urlsplit(u).path) for u in seen}
    assert f"/{project}/tree/{ODD_BRANCH}" in visited
    assert f"/{project}/blob/{ODD_BRANCH}/f/feature.txt" in visited
    assert f"/{project}/blob/trunk/f/{ODD_FILE}" in visited
    assert f"/{project}/tree/-x" in visited
    assert f"/{project}/blob/{DEEP_BRANCH}/f/deep.txt" in visited


_PINNED = re.compile(r"/(tree|blob|raw)/[0-9a-f]{40}(/|$)")
