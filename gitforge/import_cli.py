"""`gitforge import`: bring tickets and pull requests over from other forges.

The logic is in the package gitforge.pagure; this module turns options into a
call and the report into text, and imports the logic only when a command
runs, so that `gitforge --help` stays quick.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group("import")
def import_group() -> None:
    """Import tickets and pull requests from other forges."""


# gitforge.cli adds the group above to `gitforge` when it loads, so it is
# imported only after the group exists: either module may be imported first.
from gitforge.cli import with_home  # noqa: E402

_GIT_REPO = click.Path(exists=True, file_okay=False, path_type=Path)


@import_group.command("pagure")
@click.argument("project")
@click.option("--tickets", "tickets", type=_GIT_REPO, help="Pagure's ticket repo.")
@click.option("--requests", "requests", type=_GIT_REPO, help="Pagure's request repo.")
@click.option(
    "--users",
    "users_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Lines `pagure_name = gitforge_name` naming who is who.",
)
@with_home
def import_pagure_command(
    config, project: str, tickets: Path | None, requests: Path | None,
    users_file: Path | None,
) -> None:  # fmt: skip
    """Import the tickets and pull requests of a Pagure project into
    PROJECT, which must exist. Reads Pagure's ticket repo and request repo
    (bare or not) from their default branch; see docs/import-pagure.md.

    Users without an account (and not mapped with --users) get placeholder
    accounts that cannot log in. Running it again adds only what is new."""
    from gitforge.pagure import import_pagure, read_users_file

    if tickets is None and requests is None:
        raise click.UsageError("give --tickets, --requests or both")
    users = read_users_file(users_file) if users_file else {}
    report = import_pagure(config, project, tickets, requests, users)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.created_users:
        click.echo(
            "Created placeholder accounts (they cannot log in): "
            + ", ".join(report.created_users)
        )
    click.echo(_summary(report))


def _summary(report) -> str:
    if report.nothing_new:
        return f"Nothing new to import into {report.project}."
    parts = [
        _count(len(report.tickets), "ticket"),
        _count(len(report.requests), "pull request"),
        _count(report.comments, "comment"),
        _count(report.attachments, "attachment"),
        _count(report.flags, "flag"),
    ]
    return f"Imported into {report.project}: {', '.join(parts)}."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
