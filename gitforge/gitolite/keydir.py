"""gitolite's keydir from the users' ssh keys: `<user>@<n>.pub`, one file a
key (gitolite's way of giving one user several keys: it reads the user's
name up to the `@`). gitolite turns the folder into authorized_keys lines
that run gitolite-shell with that name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from gitforge.gitolite.files import write_if_changed
from gitforge.gitolite.state import SiteState
from gitforge.store.access_formats import SSH_KEY_TYPES

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_KEY = re.compile(r"(?P<type>[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}")


@dataclass
class KeydirChanges:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def keydir_files(state: SiteState) -> dict[str, bytes]:
    """File name -> content, for every stored key that is well formed (a
    key with anything else in it would become part of an authorized_keys
    line, so it is left out and logged)."""
    files = {}
    for name in sorted(state.users):
        if not _NAME.fullmatch(name) or ".." in name:
            log.error("gitolite: left out the keys of %r: not a valid name", name)
            continue
        for number, key in enumerate(state.users[name].keys):
            match = _KEY.fullmatch(key)
            if not match or match["type"] not in SSH_KEY_TYPES:
                log.error("gitolite: left out ssh key %d of %s: not a public key",
                          number, name)  # fmt: skip
                continue
            files[f"{name}@{number}.pub"] = f"{key}\n".encode()
    return files


# Not yet: gitolite's ssh-authkeys runs ssh-keygen once per key whenever a
# key changes; many thousands of keys take seconds.
def sync_keydir(keydir: Path, files: dict[str, bytes]) -> KeydirChanges:
    """Make `keydir` hold exactly `files`; say what that changed."""
    keydir.mkdir(parents=True, exist_ok=True)
    changes = KeydirChanges()
    present = {path.name for path in keydir.glob("*.pub")}
    for name in sorted(present - set(files)):
        (keydir / name).unlink()
        changes.removed.append(name)
    for name, data in sorted(files.items()):
        if write_if_changed(keydir / name, data, 0o644):
            (changes.changed if name in present else changes.added).append(name)
    return changes
