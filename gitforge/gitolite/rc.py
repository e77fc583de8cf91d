"""gitolite's .gitolite.rc for a gitforge home.

gitolite reads `$HOME/.gitolite.rc`, so the ssh user's home must be
`<home>/gitolite`. The rc points gitolite's repo base at the repositories
gitforge makes, and its admin base (conf, keydir, hooks, logs) at
`<home>/gitolite` itself. Only the features gitforge needs are on: the
`help` and `info` commands and the keydir-to-authorized_keys trigger; no
`gitweb`, `daemon` or `git-config` writing into the repos, no wild repos.
"""

from __future__ import annotations

from pathlib import Path

_RC = """\
# Written by gitforge (`gitforge gitolite`); do not edit: every change is
# overwritten. See docs/ssh.md.
%RC = (
    GL_REPO_BASE    => {repositories},
    GL_ADMIN_BASE   => {admin_base},
    LOG_TEMPLATE    => {log_template},
    # Files gitolite writes into the repos (packs, refs) stay readable by
    # the group, for a web server running as another user of that group.
    UMASK           => 0027,
    GIT_CONFIG_KEYS => '',
    ENABLE          => [ 'help', 'info', 'ssh-authkeys' ],
);
1;
"""


def rc_text(home: Path) -> str:
    gitolite = home / "gitolite"
    return _RC.format(
        repositories=perl_string(str(home / "repositories")),
        admin_base=perl_string(str(gitolite)),
        log_template=perl_string(str(gitolite / "logs" / "gitolite-%y-%m.log")),
    )


def perl_string(text: str) -> str:
    """A single-quoted Perl string: only `\\` and `'` are special there."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
