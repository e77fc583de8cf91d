"""Writing the hook scripts into a repository, and keeping them current.

A hook script names the interpreter and the data home it was written for.
Once a virtualenv or the home moves, those names are wrong and every push
fails; `repair_hooks` finds such scripts and writes them anew.
"""

from __future__ import annotations

import logging
import os
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

HOOK_NAMES = ("pre-receive", "post-receive")

# `-S` skips the site module (a tenth of the interpreter's start, paid on
# every push); the script names the folders the hooks import from instead.
_SCRIPT = """\
#!{python} -S
# Installed by gitforge: {hook} of a repository under {home}.
import sys
sys.path += {import_path!r}
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
    for name, script in _scripts(home).items():
        target = hooks / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, target)


def hooks_are_current(repo_path: Path, home: Path) -> bool:
    """True when the repo's hooks are the scripts this interpreter would
    write for `home`, and may be run."""
    for name, script in _scripts(home).items():
        target = repo_path / "hooks" / name
        try:
            if target.read_text() != script or not os.access(target, os.X_OK):
                return False
        except (OSError, UnicodeDecodeError):  # missing, or not ours
            return False
    return True


def repositories_under(root: Path) -> Iterator[Path]:
    """Every repository below `root` (site, code, ticket, request, docs and
    fork repos alike): a folder named `*.git` that holds a HEAD. Their
    insides are not searched."""
    for folder, subfolders, _files in os.walk(root):
        path = Path(folder)
        if path.name.endswith(".git") and (path / "HEAD").is_file():
            subfolders.clear()
            yield path
        else:
            subfolders.sort()  # a stable order, for logs and tests


def install_all_hooks(home: Path) -> tuple[int, int]:
    """Write the hooks of every repository of the home; returns how many
    repositories that was and how many of them had other hooks before."""
    written = stale = 0
    for repo_path in repositories_under(home / "repositories"):
        stale += not hooks_are_current(repo_path, home)
        install_hooks(repo_path, home)
        written += 1
    return written, stale


def repair_hooks(home: Path) -> int:
    """Rewrite the hooks that are not the ones this interpreter would write
    for `home` (moved virtualenv, moved home, older gitforge); returns how
    many repositories needed it."""
    repaired = 0
    for repo_path in repositories_under(home / "repositories"):
        if not hooks_are_current(repo_path, home):
            install_hooks(repo_path, home)
            repaired += 1
    if repaired:
        log.warning(
            "rewrote the hooks of %d repositories: they named another "
            "interpreter or home than %s and %s",
            repaired,
            sys.executable,
            home,
        )
    return repaired


def _scripts(home: Path) -> dict[str, str]:
    return {
        name: _SCRIPT.format(
            python=sys.executable, hook=name, home=str(home), import_path=_import_path()
        )
        for name in HOOK_NAMES
    }


def _import_path() -> list[str]:
    """Where the hooks find gitforge and the libraries it needs, as the site
    module would have set it up: site-packages, and gitforge's own folder
    for an editable install."""
    paths = sysconfig.get_paths()
    folders = [paths["purelib"], paths["platlib"], str(Path(__file__).parents[2])]
    return list(dict.fromkeys(folders))
