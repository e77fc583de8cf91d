"""gitolite's update hook, for pushes that come through gitolite only.

gitolite links every repo's `hooks/update` to `<admin base>/hooks/common/
update` (and refuses access to a repo whose link points elsewhere). Its
hook needs the environment gitolite-shell sets up, so a push by path on
the server or over HTTP, which gitforge's own pre-receive hook checks
against the policy, would fail in it. gitforge therefore keeps gitolite's
hook beside the link target and puts a wrapper there that runs it when
gitolite-shell started the push (GL_LIBDIR is set) and lets other pushes
through to gitforge's hooks.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from gitforge.gitolite.files import write_atomic

_WRAPPER = """\
#!/bin/sh
# Written by gitforge over gitolite's update hook, which is kept as
# {kept_name} and runs for pushes that came through gitolite-shell.
# Others (by path, over HTTP) have no gitolite user: gitforge's
# pre-receive hook has checked them against the access policy.
[ -n "$GL_LIBDIR" ] || exit 0
exec {kept} "$@"
"""


# Not yet: `gitolite compile` writes its own hook back here when it links a
# repo for the first time; until the wrapper is put back (moments later) a
# push by path or over HTTP fails in it.
def wrap_update_hook(admin_base: Path) -> bool:
    """Put the wrapper in place of the hook gitolite wrote, if it wrote one
    since the last time; True when it did."""
    common = admin_base / "hooks" / "common" / "update"
    kept = admin_base / "hooks" / "gitolite-update"
    wrapper = _WRAPPER.format(kept_name=kept.name, kept=shlex.quote(str(kept)))
    try:
        current = common.read_text()
    except FileNotFoundError:  # gitolite has hooked no repo yet
        return False
    if current == wrapper:
        return False
    write_atomic(kept, current.encode(), 0o755)
    write_atomic(common, wrapper.encode(), 0o755)
    return True
