"""`gitforge merge-driver`: the command git runs to merge ticket files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitforge.merge_driver import merge_files


@click.command("merge-driver")
@click.argument("base", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("ours", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("theirs", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name", default="document")
def merge_driver(base: Path, ours: Path, theirs: Path, name: str) -> None:
    """Merge a ticket or pull request document field by field (git runs
    this as `gitforge merge-driver %O %A %B %P`)."""
    problems = merge_files(base, ours, theirs, name)
    for problem in problems:
        click.echo(f"gitforge: {problem}", err=True)
    sys.exit(1 if problems else 0)
