"""`gitforge gitolite`: write gitolite's rules and keydir, and compile.

The work is in gitforge.gitolite, imported only when the command runs.
"""

from __future__ import annotations

import click

# gitforge.cli adds the command below to `gitforge` when it loads, so it is
# imported only after with_home exists: either module may be imported first.
from gitforge.cli import with_home
from gitforge.config import Config


@click.command("gitolite")
@click.option("--show", is_flag=True, help="Print gitolite.conf as it would be.")
@with_home
def gitolite_command(config: Config, show: bool) -> None:
    """Bring <home>/gitolite up to the site (rules from the access policy,
    keys from the users' ssh keys) and compile it when that changed. With
    the setting `gitolite = on` this also runs after every change of the
    site; see docs/ssh.md."""
    from gitforge.gitolite.compile import GitoliteError, apply, describe
    from gitforge.gitolite.conf import gitolite_conf
    from gitforge.gitolite.state import read_state
    from gitforge.index.db import engine_for

    engine_for(config)  # the index exists (and is current) before it is read
    state = read_state(config)
    if show:
        click.echo(gitolite_conf(state), nl=False)
        return
    try:
        changes = apply(config, state)
    except GitoliteError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{config.home / 'gitolite'}: {describe(changes)}")
    _note_when_off(config)


def _note_when_off(config: Config) -> None:
    from gitforge.gitolite.trigger import gitolite_enabled

    try:
        enabled = gitolite_enabled(config)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    if not enabled:
        click.echo(
            "Note: the setting gitolite is off: these files will not follow "
            "changes of the site until it is on (docs/ssh.md)."
        )
