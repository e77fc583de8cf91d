"""`gitforge group`, `gitforge access` and `gitforge key`: who may do what,
from the command line.

Each command is one commit to the site repo (as the forge itself: the
command line is the site's administrator), then a sync, so the pages
show the change at once. Bad input exits 1 with a message and changes
nothing.
"""

from __future__ import annotations

import click

from gitforge.config import Config
from gitforge.policy import LEVEL_WORDS, Level


@click.group("group")
def group_group() -> None:
    """Manage groups of users (granted access as @NAME)."""


@click.group("access")
def access_group() -> None:
    """Grant and revoke access to projects."""


@click.group("key")
def key_group() -> None:
    """Manage users' ssh public keys."""


# Imported only after the groups exist: either module may be imported first.
from gitforge.cli import with_home  # noqa: E402


def _change_site(config: Config, write, *args, **kwargs):
    from gitforge.tasks.access import change_site

    return change_site(config, write, *args, **kwargs)


# -- groups --------------------------------------------------------------------


@group_group.command("add")
@click.argument("name")
@click.option("--member", "members", multiple=True, metavar="USER",
              help="A member (repeatable).")  # fmt: skip
@click.option("--description", default="", help="One line about the group.")
@with_home
def group_add(config: Config, name: str, members: tuple[str, ...],
              description: str) -> None:  # fmt: skip
    """Make group NAME."""
    from gitforge.store.access import add_group

    doc = _change_site(config, add_group, name, list(members), description)
    click.echo(f"Added group {name} with {len(doc['members'])} members")


@group_group.command("members")
@click.argument("name")
@click.option("--add", "added", multiple=True, metavar="USER", help="Repeatable.")
@click.option("--remove", "removed", multiple=True, metavar="USER",
              help="Repeatable.")  # fmt: skip
@with_home
def group_members(config: Config, name: str, added: tuple[str, ...],
                  removed: tuple[str, ...]) -> None:  # fmt: skip
    """Show the members of group NAME, after adding and removing some."""
    from gitforge.store.access import change_members

    doc = _change_site(config, change_members, name, list(added), list(removed))
    click.echo("\n".join(doc["members"]) or f"Group {name} has no members")


@group_group.command("delete")
@click.argument("name")
@with_home
def group_delete(config: Config, name: str) -> None:
    """Delete group NAME and every grant to it."""
    from gitforge.store.access import delete_group

    _change_site(config, delete_group, name)
    click.echo(f"Deleted group {name}")


# -- access --------------------------------------------------------------------


@access_group.command("grant")
@click.argument("project")
@click.argument("subject", metavar="USER|@GROUP")
@click.argument("level", metavar="LEVEL")
@click.option("--branches", "patterns", multiple=True, metavar="PATTERNS",
              help="For a collaborator: the branches (release/*) it may push "
                   "to, comma-separated or repeated.")  # fmt: skip
@with_home
def access_grant(config: Config, project: str, subject: str, level: str,
                 patterns: tuple[str, ...]) -> None:  # fmt: skip
    """Give USER (or @GROUP) LEVEL on PROJECT: admin, commit, collaborator
    (with --branches) or ticket. It replaces what they held."""
    from gitforge.store.access import grant

    branches = _checked_grant(level, patterns)
    _change_site(config, grant, project, subject, level, branches)
    on = f" on {', '.join(branches)}" if branches else ""
    click.echo(f"{subject} has {level}{on} in {project}")


def _checked_grant(level: str, patterns: tuple[str, ...]) -> list[str]:
    from gitforge.store.access_formats import branch_pattern

    try:
        Level.named(level)
    except ValueError:
        raise click.ClickException(
            f"unknown level {level!r}; use one of {', '.join(LEVEL_WORDS)}"
        ) from None
    branches = [p.strip() for joined in patterns for p in joined.split(",")]
    branches = [p for p in branches if p]
    if level == Level.COLLABORATOR.word and not branches:
        raise click.ClickException("a collaborator needs --branches PATTERNS")
    if level != Level.COLLABORATOR.word and branches:
        raise click.ClickException("--branches is for the collaborator level only")
    for pattern in branches:
        if problem := branch_pattern(pattern):
            raise click.ClickException(problem)
    return branches


@access_group.command("revoke")
@click.argument("project")
@click.argument("subject", metavar="USER|@GROUP")
@with_home
def access_revoke(config: Config, project: str, subject: str) -> None:
    """Take away what USER (or @GROUP) held on PROJECT."""
    from gitforge.store.access import revoke

    _change_site(config, revoke, project, subject)
    click.echo(f"{subject} has no access to {project} now")


@access_group.command("list")
@click.argument("project")
@with_home
def access_list(config: Config, project: str) -> None:
    """Show who holds what on PROJECT."""
    from gitforge.policy import ProjectFacts
    from gitforge.store.site import SiteRepo

    with SiteRepo.open(config.repositories) as site:
        facts = ProjectFacts.from_document(project, site.project(project))
    click.echo(f"{facts.owner}\tadmin (owner)")
    for subject, held in facts.grants:
        on = f" {','.join(held.branches)}" if held.branches else ""
        click.echo(f"{subject}\t{held.level.word}{on}")
    if facts.private:
        click.echo("(private: absent for everybody else)")


# -- ssh keys --------------------------------------------------------------------


@key_group.command("add")
@click.argument("user")
@click.argument("keyfile", type=click.File("r"))
@click.option("--title", default="", help="A name for the key [default: its comment].")
@with_home
def key_add(config: Config, user: str, keyfile, title: str) -> None:
    """Add the public key in KEYFILE (an .pub file, or - for stdin) to USER."""
    from gitforge.store.keys import BadKey, add_key

    text = keyfile.read(64 * 1024)
    try:
        entry = _change_site(config, add_key, user, text, title)
    except BadKey as err:
        raise click.ClickException(f"{keyfile.name}: {err}") from None
    click.echo(f"Added key {entry['fingerprint']} ({entry['title']}) to {user}")


@key_group.command("remove")
@click.argument("user")
@click.argument("fingerprint")
@with_home
def key_remove(config: Config, user: str, fingerprint: str) -> None:
    """Remove USER's key with FINGERPRINT (SHA256:...)."""
    from gitforge.store.keys import remove_key

    _change_site(config, remove_key, user, fingerprint)
    click.echo(f"Removed key {fingerprint} of {user}")


@key_group.command("list")
@click.argument("user")
@with_home
def key_list(config: Config, user: str) -> None:
    """Show USER's keys: fingerprint, date added, title."""
    from gitforge.store.site import SiteRepo

    with SiteRepo.open(config.repositories) as site:
        found = site.user(user).get("ssh_keys", [])
    for entry in found:
        click.echo(f"{entry['fingerprint']}\t{entry['added']}\t{entry['title']}")
    if not found:
        click.echo(f"{user} has no keys")
