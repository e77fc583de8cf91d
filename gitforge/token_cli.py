"""`gitforge token`: make and revoke API tokens from the server's shell.

A token is printed once, when it is made; only its hash is kept (in the
site repo, gitforge.store.tokens). Its scopes are Pagure's ACL names:
`commit` lets it push over HTTP, `pull_request_flag` post CI flags.
"""

from __future__ import annotations

import click

from gitforge.config import Config
from gitforge.store.access_formats import TOKEN_SCOPES
from gitforge.store.token_expiry import expiry_of_date


@click.group("token")
def token_group() -> None:
    """Manage API tokens."""


# gitforge.cli adds the group above to `gitforge` when it loads, so it is
# imported only after the group exists: either module may be imported first.
from gitforge.cli import with_home  # noqa: E402


@token_group.command("create")
@click.argument("user_name", metavar="USER")
@click.option("--project", "fullname", help="Limit the token to one project.")
@click.option(
    "--scope",
    "--acl",
    "scopes",
    multiple=True,
    type=click.Choice(TOKEN_SCOPES),
    default=["pull_request_flag"],
    show_default=True,
    help="What the token allows (repeatable): commit to push over HTTP.",
)
@click.option("--expires", "expires_on", metavar="YYYY-MM-DD",
              help="The last day the token works (UTC).")  # fmt: skip
@click.option(
    "--days", type=int, help="Days until it expires, instead.  [default: 365]"
)
@click.option("--description", default="", help="What the token is for.")
@with_home
def token_create(config: Config, user_name: str, fullname: str | None,
                 scopes: tuple[str, ...], expires_on: str | None, days: int | None,
                 description: str) -> None:  # fmt: skip
    """Create an API token for USER and print it (it is shown only once)."""
    from gitforge.store.site import SiteRepo
    from gitforge.store.tokens import create_token

    if expires_on is not None and days is not None:
        raise click.UsageError("give --expires or --days, not both")
    if days is not None and days < 1:
        raise click.UsageError("--days must be 1 or more")
    expires = _expiry(expires_on) if expires_on is not None else None
    with SiteRepo.open(config.repositories) as site:
        secret, doc = create_token(site, user_name, list(scopes), fullname,
                                   days=365 if days is None else days,
                                   description=description.strip(),
                                   expires=expires)  # fmt: skip
    click.echo(secret)
    scope_words = ", ".join(doc["acls"])
    click.echo(f"id {doc['id']}, scopes {scope_words}, expires {doc['expires']}",
               err=True)  # fmt: skip


@token_group.command("revoke")
@click.argument("token_id", metavar="ID")
@with_home
def token_revoke(config: Config, token_id: str) -> None:
    """Revoke the token with id ID (its first 16 digits); it opens nothing
    from then on."""
    from gitforge.store.site import SiteRepo
    from gitforge.store.tokens import revoke_token

    with SiteRepo.open(config.repositories) as site:
        doc = revoke_token(site, token_id.strip().lower()[:16])
    click.echo(f"Revoked token {doc['id']} of {doc['user']} ({doc['revoked']})")


def _expiry(expires_on: str) -> str:
    try:
        return expiry_of_date(expires_on)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--expires") from None
