"""Keeping repositories packed.

Web writes go straight into the bare repo with pygit2, which leaves loose
objects behind and, unlike a push, never runs git's automatic gc. A
repository of 10,000 tickets in 60,000 loose objects reindexes at half the
speed of a packed one, so web writes queue `git gc --auto`, which returns at
once while there is little to pack.
"""

from __future__ import annotations

import logging
import subprocess

from gitforge.tasks.queue import huey

log = logging.getLogger(__name__)


@huey.task()
def gc_auto(home: str, relpath: str) -> None:
    from gitforge.config import Config

    config = Config.load(home)
    repo = config.repositories / relpath
    done = subprocess.run(
        [config.get("git_binary"), "--git-dir", str(repo), "gc", "--auto", "--quiet"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        log.warning("git gc --auto in %s failed: %s", relpath, done.stderr.strip())
