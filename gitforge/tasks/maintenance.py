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


def add_merge_attributes(config) -> list[str]:
    """Give every ticket and request repo made before gitforge shipped its
    merge driver the `.gitattributes` that enables it in clones, one commit
    each; returns the repos that needed it. Run at start by serve and
    worker."""
    from gitforge.hooks.install import repositories_under
    from gitforge.index.db import engine_for
    from gitforge.index.sync import sync_repo
    from gitforge.store.documents import SYSTEM, DocumentRepo
    from gitforge.store.tickets import MERGE_ATTRIBUTES

    changed = []
    for folder in ("tickets", "requests"):
        for path in repositories_under(config.repositories / folder):
            with DocumentRepo(path) as repo:
                if repo.snapshot().read_bytes(".gitattributes") is not None:
                    continue
                repo.transact(
                    lambda _snapshot: {".gitattributes": MERGE_ATTRIBUTES},
                    SYSTEM,
                    "Merge JSON files with gitforge's merge driver in clones",
                )
            relpath = path.relative_to(config.repositories).as_posix()
            sync_repo(engine_for(config), config.repositories, relpath)
            changed.append(relpath)
    if changed:
        log.info("added .gitattributes to %d document repos", len(changed))
    return changed
