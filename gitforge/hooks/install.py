"""Writing the hook scripts into a repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HOOK_NAMES = ("pre-receive", "post-receive")

_SCRIPT = """\
#!{python}
# Installed by gitforge: {hook} of a repository under {home}.
import sys
from gitforge.hooks.run import main
sys.exit(main({hook!r}, {home!r}))
"""


def install_hooks(repo_path: Path, home: Path) -> None:
    """Point the repo's pre- and post-receive hooks at gitforge.

    The scripts name the interpreter and the data home explicitly, so a push
    by path from any shell reaches the right site.
    """
    hooks = repo_path / "hooks"
    hooks.mkdir(exist_ok=True)
    for sample in hooks.glob("*.sample"):
        sample.unlink()
    for name in HOOK_NAMES:
        script = _SCRIPT.format(python=sys.executable, hook=name, home=str(home))
        target = hooks / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, target)
