"""Entry point of every hook script: find the repo, dispatch on its kind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# What the pre-receive checks read from the hook's environment: the
# pusher as the git front end names them, and where git keeps the pushed
# objects until the push is accepted.
PUSH_ENVIRONMENT = (
    "GITFORGE_USER", "GL_USER", "GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH",
)  # fmt: skip


def main(hook: str, home: str) -> int:
    updates = [line.split() for line in sys.stdin.read().splitlines() if line]
    repositories = Path(home) / "repositories"
    repo_dir = Path(os.environ.get("GIT_DIR", ".")).resolve()
    try:
        relpath = repo_dir.relative_to(repositories.resolve()).as_posix()
    except ValueError:
        print(f"gitforge: {repo_dir} is not under {repositories}", file=sys.stderr)
        return 1
    if hook == "pre-receive":
        return _report(_problems(home, relpath, updates, _push_environment()))
    if hook == "post-receive":
        return _post_receive(home, relpath, updates)
    return 0


def _push_environment() -> dict[str, str]:
    env = {name: os.environ[name] for name in PUSH_ENVIRONMENT if name in os.environ}
    for name in ("GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH"):
        if name in env:  # absolute, for the hook service in another folder
            env[name] = str(Path(env[name]).resolve())
    return env


def _problems(home: str, relpath: str, updates, env: dict) -> list[str]:
    """The pre-receive verdict: from the hook service of a running forge,
    which has everything imported already, else worked out here."""
    from gitforge.hooks.service_client import ask_service

    answer = ask_service(home, relpath, updates, env)
    if answer is not None:
        return answer
    return push_problems(Path(home) / "repositories", relpath, updates, env)


def push_problems(
    repositories: Path, relpath: str, updates: list[list[str]], env: dict
) -> list[str]:
    """Why the push of `updates` to the repo at `relpath` is refused; an
    empty list accepts it. `env` holds the hook's PUSH_ENVIRONMENT."""
    from gitforge.hooks.access_checks import access_problems, identify_pusher
    from gitforge.hooks.pusher import UnknownPusher
    from gitforge.hooks.validate import (
        content_check_for,
        open_with_quarantine,
        refusals,
    )

    repo = open_with_quarantine(repositories / relpath, env)
    try:
        pusher = identify_pusher(repositories, relpath, env)
    except UnknownPusher as err:
        return [str(err)]
    problems = access_problems(pusher, repo, relpath, updates)
    check_content = None if problems else content_check_for(relpath, pusher)
    if check_content is not None:
        problems = refusals(repo, check_content, updates)
    return problems


def _report(problems: list[str]) -> int:
    for problem in problems:
        print(f"gitforge: {printable(problem)}", file=sys.stderr)
    if problems:
        print("gitforge: push refused; nothing was changed.", file=sys.stderr)
    return 1 if problems else 0


def _post_receive(home: str, relpath: str, updates: list[list[str]]) -> int:
    os.environ["GITFORGE_HOME"] = home
    code_repo = _code_repo_name(relpath)
    if code_repo is not None:
        _offer_pull_requests(home, code_repo, updates)
    sys.stdout.flush()
    sys.stderr.flush()
    _in_background(_queue_tasks, home, relpath, code_repo, updates)
    return 0


def _queue_tasks(home, relpath, code_repo, updates) -> None:
    """Queue the load-JSON task (document repos) or the pull request
    refresh (code repos) for this push."""
    if code_repo is None:
        from gitforge.tasks.sync import load_json

        main = [old for old, _new, ref in updates if ref == "refs/heads/main"]
        load_json(home, relpath, main[0] if main else None)
        return
    from gitforge.tasks.pull_requests import code_pushed

    moved = [ref.removeprefix("refs/heads/") for _old, _new, ref in updates
             if ref.startswith("refs/heads/")]  # fmt: skip
    if moved:
        code_pushed(home, code_repo, moved)


def _in_background(work, *args) -> None:
    """Run `work` in a detached child, so that git hands the push back to
    the pusher at once: importing the task queue alone takes 300 ms. The
    queue is durable once the task is in it, and the reconciler syncs any
    repo whose push was never queued. GITFORGE_HOOK_FOREGROUND=1 keeps
    the work in the hook, for debugging."""
    if os.environ.get("GITFORGE_HOOK_FOREGROUND"):
        work(*args)
        return
    if os.fork() != 0:
        return
    try:
        os.setsid()
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # git waits until these close
            os.dup2(quiet, fd)
        _log_to_home(args[0])
        work(*args)
    except BaseException:
        import logging

        logging.getLogger(__name__).exception("post-receive task failed")
    finally:
        os._exit(0)


def _log_to_home(home: str) -> None:
    import logging  # here: a push's own path does without it

    logging.basicConfig(
        filename=str(Path(home) / "hooks.log"),
        level=logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


def printable(text: str) -> str:
    """`text` with control characters written as escapes: file and branch
    names in messages must not drive the pusher's terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _code_repo_name(relpath: str) -> str | None:
    """`foo` for `foo.git`, `forks/ann/foo` for a fork; None for the site
    repo and ticket, request and docs repos."""
    top = relpath.split("/", 1)[0]
    if relpath == "site.git" or top in ("tickets", "requests", "docs"):
        return None
    return relpath.removesuffix(".git")


def _offer_pull_requests(home: str, code_repo: str, updates: list[list[str]]) -> None:
    """For each new branch, print the address that opens a pull request."""
    from gitforge.hooks.offers import pull_request_offers

    for line in pull_request_offers(home, code_repo, updates):
        print(line)
