"""Clone over HTTP: gitforge against plain `git http-backend`.

Imports a repository into a throwaway gitforge home, serves that home with
gitforge on one loopback port and the same repositories folder with a
minimal standard-library CGI server for `git http-backend` on another, then
times `git clone --bare` over each and prints the medians and their ratio.

    python bench/bench_clone.py                       # a small generated repo
    python bench/bench_clone.py --repo /tmp/bench-repo.git --runs 9

Both servers run in threads of this process, stream with the same 64 KiB
reads, and hand git the same pack files on disk, so the difference is what
gitforge adds: routing, the access check and the WSGI layer.
"""

from __future__ import annotations

import argparse
import http.server
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 64 * 1024
PROJECT = "bench"


def main() -> None:
    options = _parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gitforge-bench-"))
    try:
        source = options.repo or _make_small_repo(scratch / "small.git")
        home = scratch / "home"
        # The task queue reads GITFORGE_HOME when it is first imported.
        os.environ["GITFORGE_HOME"] = str(home)
        config = _import_project(home, source)
        with _serving(_gitforge_server(config)) as forge_url:
            with _serving(_plain_server(config.repositories)) as plain_url:
                _report(options, scratch, forge_url, plain_url)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="repository to clone")
    parser.add_argument("--runs", type=int, default=7, help="clones per server")
    parser.add_argument(
        "--protocol", default="2", choices=("0", "1", "2"), help="protocol.version"
    )
    return parser.parse_args()


# -- the repository and the site ---------------------------------------------


def _make_small_repo(path: Path, commits: int = 2000) -> Path:
    """A bare repo of `commits` commits over 200 files, a few MB packed."""
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    stream = []
    for number in range(commits):
        message = f"Commit {number}\n"
        content = "".join(f"line {number} {n}\n" for n in range(number % 50 + 1))
        stream += [
            "commit refs/heads/main",
            f"committer Bench <bench@example.org> {1700000000 + number} +0000",
            f"data {len(message)}",
            message,
            f"M 644 inline src/file{number % 200}.txt",
            f"data {len(content)}",
            content,
        ]
        if number % 500 == 0:
            stream += [f"tag v{number}", "from refs/heads/main", "tagger Bench "
                       f"<bench@example.org> {1700000000 + number} +0000",
                       "data 4", "tag", ""]  # fmt: skip
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=path,
        input="\n".join(stream) + "\n",
        text=True,
        check=True,
    )
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)
    return path


def _import_project(home: Path, source: Path):
    from gitforge.config import Config
    from gitforge.store.site import NewUser
    from gitforge.tasks.projects import create_project
    from gitforge.tasks.site import init_site

    config = Config(home)
    init_site(config, NewUser("admin", "admin@example.org", "Ad Min", "bench-pw-1",
                              admin=True))  # fmt: skip
    started = time.perf_counter()
    create_project(config, PROJECT, "admin", source=str(source))
    print(f"imported {source} in {time.perf_counter() - started:.1f} s")
    return config


# -- the two servers ---------------------------------------------------------


def _gitforge_server(config) -> http.server.HTTPServer:
    from werkzeug.serving import make_server

    from gitforge.web.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log
    return make_server("127.0.0.1", 0, create_app(config), threaded=True)


def _plain_server(repositories: Path) -> http.server.HTTPServer:
    handler = type("Handler", (_CGIHandler,), {"root": str(repositories)})
    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)


class _serving:
    """Serve in a daemon thread for the length of a `with` block."""

    def __init__(self, server: http.server.HTTPServer):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


class _CGIHandler(http.server.BaseHTTPRequestHandler):
    """`git http-backend` as CGI, streaming both ways, nothing else."""

    root = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._run_backend()

    do_POST = do_GET

    def log_message(self, format, *args) -> None:
        pass  # quiet, as werkzeug's request log is not shown either

    def _run_backend(self) -> None:
        process = subprocess.Popen(
            ["git", "http-backend"],
            env=self._environ(),
            stdin=subprocess.PIPE if self.command == "POST" else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=CHUNK,
        )
        feeder = None
        if self.command == "POST":
            feeder = threading.Thread(target=self._copy_body, args=(process.stdin,))
            feeder.start()
        self._send_headers(process.stdout)
        while chunk := process.stdout.read1(CHUNK):
            self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
        process.stdout.close()
        process.wait()
        if feeder:
            feeder.join()
        self.close_connection = True

    def _environ(self) -> dict[str, str]:
        url = urlsplit(self.path)
        env = {"PATH": os.environ["PATH"], "GIT_HTTP_EXPORT_ALL": "1"}
        env.update(GIT_PROJECT_ROOT=self.root, PATH_INFO=url.path)
        env.update(QUERY_STRING=url.query, REQUEST_METHOD=self.command)
        for header, name in (
            ("Content-Type", "CONTENT_TYPE"),
            ("Content-Length", "CONTENT_LENGTH"),
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
            ("Git-Protocol", "GIT_PROTOCOL"),
        ):
            if self.headers.get(header):
                env[name] = self.headers[header]
        return env

    def _copy_body(self, sink) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().split(b";")[0], 16):
                sink.write(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left and (chunk := self.rfile.read(min(left, CHUNK))):
                sink.write(chunk)
                left -= len(chunk)
        sink.close()

    def _send_headers(self, output) -> None:
        status, headers = "200 OK", []
        while line := output.readline().rstrip(b"\r\n").decode("latin-1"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name, value.strip()))
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()


# -- timing --------------------------------------------------------------------


def _clone_time(url: str, target: Path, protocol: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["git", "-c", f"protocol.version={protocol}", "clone", "-q", "--bare",
         f"{url}/{PROJECT}.git", str(target)],
        check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    shutil.rmtree(target)
    return elapsed


def _report(options, scratch: Path, forge_url: str, plain_url: str) -> None:
    servers = {"gitforge": forge_url, "git http-backend": plain_url}
    times: dict[str, list[float]] = {name: [] for name in servers}
    for url in servers.values():  # warm the page cache and the imports
        _clone_time(url, scratch / "clone.git", options.protocol)
    # Alternate the two so that drift in machine load hits both alike.
    for _ in range(options.runs):
        for name, url in servers.items():
            times[name].append(
                _clone_time(url, scratch / "clone.git", options.protocol)
            )
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        spread = ", ".join(f"{value:.3f}" for value in sorted(values))
        print(f"{name:>17}: median {medians[name]:.3f} s  ({spread})")
    ratio = medians["gitforge"] / medians["git http-backend"]
    # The best runs are the least disturbed by other work on the machine.
    best = min(times["gitforge"]) / min(times["git http-backend"])
    print(f"{'ratio':>17}: {ratio:.2f}x of medians, {best:.2f}x of best runs "
          f"(protocol v{options.protocol}, {options.runs} runs each)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
