"""Bring `<home>/gitolite` up to the site: write the rc, gitolite.conf and
keydir where they changed, and run gitolite only then.

`gitolite setup` is never run: it would make a gitolite-admin repo (and a
`testing` one) among the site's repositories. `gitolite compile` is what
reads gitolite.conf; it also links gitolite's update hook into each repo
it sees for the first time, and would create a repo named in the conf
that is missing, so the conf names only repos found on disk.
`gitolite trigger POST_COMPILE` turns the keydir into authorized_keys.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gitforge.config import Config
from gitforge.gitolite.conf import gitolite_conf
from gitforge.gitolite.files import write_if_changed
from gitforge.gitolite.keydir import KeydirChanges, keydir_files, sync_keydir
from gitforge.gitolite.rc import rc_text
from gitforge.gitolite.state import SiteState, read_state
from gitforge.gitolite.update_hook import wrap_update_hook
from gitforge.store.layout import SITE_REPO, repo_relpath

log = logging.getLogger(__name__)

MISSING = (
    "the gitolite program is missing: install the Debian package gitolite3 "
    "(apt-get install gitolite3), or set gitolite = off"
)


class GitoliteError(RuntimeError):
    """gitolite is missing or refused the files gitforge wrote."""


@dataclass
class Changes:
    rc: bool = False
    conf: bool = False
    keydir: KeydirChanges = field(default_factory=KeydirChanges)
    compiled: bool = False
    authorized_keys: bool = False

    def __bool__(self) -> bool:
        return self.rc or self.conf or bool(self.keydir) or self.compiled


def gitolite_home(config: Config) -> Path:
    return config.home / "gitolite"


def gitolite_program() -> str | None:
    return shutil.which("gitolite")


def apply(config: Config, state: SiteState | None = None) -> Changes:
    """Write what changed and compile; safe to run from several processes
    at once (they take turns)."""
    program = gitolite_program()
    if program is None:
        raise GitoliteError(MISSING)
    base = gitolite_home(config)
    with _locked(base):
        state = state or read_state(config)
        changes = _write_files(config, base, state)
        first = not (base / "conf" / "gitolite.conf-compiled.pm").exists()
        if first or changes.rc or changes.conf or _unhooked(config, state):
            _run(program, base, "compile")
            changes.compiled = True
        if first or changes.compiled or changes.keydir:
            _run(program, base, "trigger", "POST_COMPILE")
            changes.authorized_keys = True
        wrap_update_hook(base)
        _link_update_hooks(config, state, base)
    if changes:
        log.info("gitolite updated: %s", describe(changes))
    return changes


def describe(changes: Changes) -> str:
    """What `apply` changed, in one line per item."""
    if not changes:
        return "nothing changed"
    said = []
    if changes.rc:
        said.append(".gitolite.rc rewritten")
    if changes.conf:
        said.append("gitolite.conf rewritten")
    for verb in ("added", "changed", "removed"):
        names = getattr(changes.keydir, verb)
        if names:
            said.append(f"keys {verb}: {', '.join(names)}")
    if changes.compiled:
        said.append("gitolite compiled")
    if changes.authorized_keys:
        said.append("authorized_keys rewritten")
    return "; ".join(said)


def _write_files(config: Config, base: Path, state: SiteState) -> Changes:
    for folder in ("conf", "keydir", "logs"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    # gitolite's trigger makes these too, with a warning each time.
    (base / ".ssh").mkdir(mode=0o700, exist_ok=True)
    if not (base / ".ssh" / "authorized_keys").exists():
        write_if_changed(base / ".ssh" / "authorized_keys", b"")
    conf = gitolite_conf(state).encode()
    return Changes(
        rc=write_if_changed(base / ".gitolite.rc", rc_text(config.home).encode()),
        conf=write_if_changed(base / "conf" / "gitolite.conf", conf),
        keydir=sync_keydir(base / "keydir", keydir_files(state)),
    )


def _unhooked(config: Config, state: SiteState) -> bool:
    """Whether a repo lacks gitolite's update hook link (made again on
    disk under a name the conf already held): compiling links it."""
    return any(not (path / "hooks" / "update").is_symlink()
               for path in _repo_paths(config, state))  # fmt: skip


def _link_update_hooks(config: Config, state: SiteState, base: Path) -> None:
    """Link the update hook into the repos gitolite did not (it links only
    repos it compiles rules for the first time), as gitolite would: its
    access check refuses everything in a repo without this very link."""
    target = base / "hooks" / "common" / "update"
    if not target.exists():
        return
    for path in _repo_paths(config, state):
        hook = path / "hooks" / "update"
        if hook.is_symlink() and os.readlink(hook) == str(target):
            continue
        tmp = hook.with_name(".update.gitforge")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        os.replace(tmp, hook)


def _repo_paths(config: Config, state: SiteState) -> Iterator[Path]:
    if state.site_repo:
        yield config.repositories / SITE_REPO
    for fullname, project in state.projects.items():
        for kind in project.repos:
            yield config.repositories / repo_relpath(kind, fullname)


def _run(program: str, base: Path, *args: str) -> None:
    env = {**os.environ, "HOME": str(base)}
    env.pop("GL_BYPASS_ACCESS_CHECKS", None)
    done = subprocess.run(
        [program, *args], env=env, cwd=base, capture_output=True, text=True
    )
    for line in done.stderr.splitlines():
        if line.strip():
            log.warning("gitolite %s: %s", args[0], line)
    if done.returncode != 0:
        raise GitoliteError(
            f"gitolite {' '.join(args)} failed ({done.returncode}): "
            f"{done.stderr.strip() or done.stdout.strip()}"
        )


@contextmanager
def _locked(base: Path) -> Iterator[None]:
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".gitforge.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
