"""`gitforge tickets` and `gitforge requests`: work in a clone, offline.

The logic is in gitforge.offline; this module turns options into calls and
results into text. It imports gitforge.offline only when a command runs, so
that `gitforge --help` stays quick.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click


def _rules(repo: str, publish: str) -> str:
    return (
        f"Run inside a clone of the {repo}. Each change is one commit on the "
        "checked-out branch, made by git with your identity (user.name, "
        f"user.email){publish}. The author written into the files is, in this "
        "order: --as USER, `git config gitforge.user`, or your git email up "
        "to the @.\n"
    )


@click.group(
    help=(
        "Read and change tickets in a clone of a project's ticket repo, with "
        "no server.\n\n"
        + _rules("ticket repo", "; publish it with `git push`")
        + "\nA ticket made here is written "
        'with "number": null: the server numbers it when it gets the push, '
        "and you see the number after your next `git pull`. Until then, name "
        "it by the first digits of its uid, as `list` shows it: `show 3f2a`."
        "\n\nReads show the checked-out commit: edits you have not committed "
        "are not shown, and a command refuses to touch a file that has them."
    )
)
def tickets() -> None:
    pass


@click.group(
    help=(
        "Comment on and close pull requests in a clone of a project's request "
        "repo, with no server; push them back like ticket changes. The server "
        "takes comments and the opening, closing and editing of pull requests "
        "it already has; merges and new pull requests happen on the web. "
        + _rules("request repo", "")
    )
)
def requests() -> None:
    pass


def _in_clone(kind_name: str):
    """Open the clone around the working folder and pass it as `clone`;
    turn the errors the user must fix into one-line messages."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(**kwargs):
            from gitforge import offline
            from gitforge.store.errors import StoreError

            kind = getattr(offline, kind_name)
            try:
                with offline.open_clone(Path.cwd(), kind) as clone:
                    return command(clone=clone, **kwargs)
            except offline.NothingChanged as unchanged:
                click.echo(f"Nothing changed: {unchanged}")
            except (offline.OfflineError, StoreError) as err:
                raise click.ClickException(str(err)) from None

        return wrapper

    return decorate


_as_option = click.option(
    "--as",
    "as_user",
    metavar="USER",
    help="The gitforge user to write as.  [default: git config gitforge.user, "
    "else your git email up to the @]",
)


# -- tickets: reading ---------------------------------------------------------


@tickets.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "closed", "all"]),
    default="open",
    show_default=True,
)
@click.option("--tag", "tags", multiple=True, help="Only tickets with this tag.")
@click.option("--assignee", help="Only tickets assigned to USER.", metavar="USER")
@click.option("--author", help="Only tickets opened by USER.", metavar="USER")
@click.option(
    "--sort",
    type=click.Choice(["newest", "oldest", "updated", "comments"]),
    default="newest",
    show_default=True,
)
@_in_clone("TICKETS")
def list_tickets(clone, status, tags, assignee, author, sort) -> None:
    """List tickets: number, status, title and tags, as the web list.

    Tickets that have not reached the server show as `(new)` with the
    first digits of their uid."""
    from gitforge import offline
    from gitforge.index.queries import TicketFilter

    wanted = TicketFilter(
        status={"open": "Open", "closed": "Closed", "all": None}[status],
        tags=tuple(offline.clean_tags(tags)),
        assignee=assignee,
        author=author,
        sort=sort,
    )
    snapshot = clone.snapshot()
    found = offline.read_all(snapshot, offline.TICKETS)
    for problem in found.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    chosen = offline.select_tickets(snapshot, found.docs, wanted)
    if not chosen:
        click.echo("No tickets match.")
        return
    shorts = offline.short_uids(doc["uid"] for doc in found.docs)
    rows = [
        (_number_label(t, shorts), t["status"], t["title"], ", ".join(t["tags"]))
        for t in chosen
    ]
    for row in _align(rows):
        click.echo(row)


def _number_label(ticket: dict, shorts: dict[str, str]) -> str:
    if ticket["number"] is None:
        return f"(new) {shorts[ticket['uid']]}"
    return str(ticket["number"])


def _align(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell (the last one is not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


@tickets.command("show")
@click.argument("ref", metavar="N")
@_in_clone("TICKETS")
def show_ticket(clone, ref) -> None:
    """Show ticket N (a number, or the first digits of a new ticket's uid):
    its fields, its body and its comments, oldest first."""
    from gitforge import offline

    snapshot = clone.snapshot()
    ticket = offline.find(snapshot, offline.TICKETS, ref)
    click.echo(f"{offline.label(ticket, snapshot)} {ticket['title']}")
    for name, value in _ticket_fields(ticket):
        click.echo(f"{name + ':':<11}{value}")
    if ticket["body"].strip():
        click.echo(f"\n{ticket['body'].rstrip()}")
    for note in offline.read_comments(snapshot, ticket["uid"]):
        edited = f" (edited {note['edited']})" if note.get("edited") else ""
        click.echo(f"\n--- {note['author']}, {note['created']}{edited}")
        click.echo(note["body"].rstrip())


def _ticket_fields(ticket: dict) -> list[tuple[str, str]]:
    status = ticket["status"]
    if ticket["close_reason"]:
        status += f" ({ticket['close_reason']})"
    fields = [
        ("Status", status),
        ("Author", f"{ticket['author']}, {ticket['created']}"),
        ("Tags", ", ".join(ticket["tags"]) or "-"),
    ]
    for name in ("assignee", "priority", "milestone"):
        if ticket.get(name) is not None:
            fields.append((name.capitalize(), str(ticket[name])))
    if ticket["private"]:
        fields.append(("Private", "yes"))
    fields.append(("Uid", ticket["uid"]))
    return fields


# -- tickets: writing ---------------------------------------------------------


def _report(what: str, written) -> None:
    click.echo(f"{what} [{written.branch} {written.commit[:7]}]")
    if written.branch != "main":
        click.echo(
            f"note: the server takes changes on main only; publish with "
            f"`git push origin {written.branch}:main`",
            err=True,
        )


_NEW_HELP = """\
Write the ticket's title on the first line and its body (Markdown) below.
Everything from the scissors line above down is left out.
An empty title aborts: nothing is written."""


@tickets.command("new")
@click.option("--title", help="The title; without it, your editor opens.")
@click.option("--body", default=None, help="The body (Markdown).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--private", is_flag=True, help="Visible to its author and committers.")
@_as_option
@_in_clone("TICKETS")
def new_ticket(clone, title, body, tags, private, as_user) -> None:
    """Open a new ticket, with no number until it reaches the server.

    Without --title, your git editor (GIT_EDITOR, core.editor, VISUAL,
    EDITOR, as git picks it) opens on a template: the first line is the
    title, the rest the body."""
    from gitforge import offline

    author = offline.author_of(clone, as_user)
    if title is None:
        text = offline.edit_text(clone, f"\n\n{body or ''}", _NEW_HELP)
        title, body = offline.split_title(text)
        if not title:
            raise click.ClickException("the title is empty; nothing was written")
    written = offline.new_ticket(
        clone, author, title, body or "", tags=tags, private=private
    )
    _report(f"Created ticket {written.about}: {written.doc['title']}", written)
    click.echo("Push it (git push); the server gives it a number.")


_COMMENT_HELP = """\
Write your comment (Markdown) above the scissors line; everything from it
down is left out. An empty comment aborts: nothing is written."""


def _comment(clone, ref, body, as_user) -> None:
    from gitforge import offline

    author = offline.author_of(clone, as_user)
    if body is None:
        target = offline.find(clone.snapshot(), clone.kind, ref)
        what = f"{clone.kind.noun} {offline.label(target)}: {target['title']}"
        text = offline.edit_text(clone, "", f"On {what}\n{_COMMENT_HELP}")
        body = text.strip("\n").rstrip()
    written = offline.add_comment(clone, author, ref, body)
    _report(f"Commented on {clone.kind.noun} {written.about}", written)


@tickets.command("comment")
@click.argument("ref", metavar="N")
@click.option("--body", default=None, help="The comment; without it, your editor.")
@_as_option
@_in_clone("TICKETS")
def comment_ticket(clone, ref, body, as_user) -> None:
    """Comment on ticket N."""
    _comment(clone, ref, body, as_user)


def _edit(clone, ref, as_user, change_of, verb: str, done: str) -> None:
    """Change a ticket or pull request: `change_of(author)` gives the
    change (a document -> the fields to set); `verb` starts the commit
    message and `done` the line printed."""
    from gitforge import offline

    author = offline.author_of(clone, as_user)
    written = offline.edit(clone, ref, change_of(author), verb)
    _report(f"{done} {clone.kind.noun} {written.about}", written)


@tickets.command("close")
@click.argument("ref", metavar="N")
@click.option("--reason", default=None, help="Why, in one line (e.g. Fixed).")
@_as_option
@_in_clone("TICKETS")
def close_ticket(clone, ref, reason, as_user) -> None:
    """Close ticket N."""
    from gitforge import offline

    _edit(
        clone, ref, as_user, lambda _a: offline.close_ticket(reason), "Close", "Closed"
    )


@tickets.command("reopen")
@click.argument("ref", metavar="N")
@_as_option
@_in_clone("TICKETS")
def reopen_ticket(clone, ref, as_user) -> None:
    """Reopen ticket N."""
    from gitforge import offline

    _edit(clone, ref, as_user, lambda _a: offline.reopen_ticket, "Reopen", "Reopened")


@tickets.command("tag")
@click.argument("ref", metavar="N")
@click.argument("tags", nargs=-1, metavar="[TAG]...")
@click.option("--remove", multiple=True, metavar="TAG", help="Take a tag off.")
@_as_option
@_in_clone("TICKETS")
def tag_ticket(clone, ref, tags, remove, as_user) -> None:
    """Add the TAGs to ticket N (and take off the --remove ones)."""
    from gitforge import offline

    if not tags and not remove:
        raise click.UsageError("name a TAG to add or a --remove TAG to take off")
    _edit(clone, ref, as_user, lambda _a: offline.retag(tags, remove), "Tag", "Tagged")


@tickets.command("assign")
@click.argument("ref", metavar="N")
@click.argument("user", required=False)
@click.option("--none", "unassign", is_flag=True, help="Assign nobody.")
@_as_option
@_in_clone("TICKETS")
def assign_ticket(clone, ref, user, unassign, as_user) -> None:
    """Assign ticket N to USER (or, with --none, to nobody).

    The server checks on push that USER has an account."""
    from gitforge import offline

    if (user is None) == (not unassign):
        raise click.UsageError("give either USER or --none")
    _edit(clone, ref, as_user, lambda _a: offline.assign(user), "Assign", "Assigned")


_EDIT_HELP = """\
Edit the title (the first line) and the body below it. Everything from
the scissors line above down is left out. An empty title aborts."""


@tickets.command("edit")
@click.argument("ref", metavar="N")
@click.option("--title", default=None, help="The new title.")
@click.option("--body", default=None, help="The new body (Markdown).")
@_as_option
@_in_clone("TICKETS")
def edit_ticket(clone, ref, title, body, as_user) -> None:
    """Change the title or body of ticket N; with neither option, edit both
    in your editor."""
    from gitforge import offline

    if title is None and body is None:
        offline.author_of(clone, as_user)  # no identity: fail before editing
        ticket = offline.find(clone.snapshot(), offline.TICKETS, ref)
        clone.require_clean([offline.TICKETS.path(ticket["uid"])])
        text = f"{ticket['title']}\n\n{ticket['body']}"
        title, body = offline.split_title(offline.edit_text(clone, text, _EDIT_HELP))
        if not title:
            raise click.ClickException("the title is empty; nothing was written")
    _edit(
        clone, ref, as_user, lambda _a: offline.retitle(title, body), "Edit", "Edited"
    )


# -- requests -----------------------------------------------------------------


@requests.command("comment")
@click.argument("ref", metavar="N")
@click.option("--body", default=None, help="The comment; without it, your editor.")
@_as_option
@_in_clone("REQUESTS")
def comment_request(clone, ref, body, as_user) -> None:
    """Comment on pull request N (a commit in this clone; push it back)."""
    _comment(clone, ref, body, as_user)


@requests.command("close")
@click.argument("ref", metavar="N")
@_as_option
@_in_clone("REQUESTS")
def close_request(clone, ref, as_user) -> None:
    """Close pull request N without merging it (a commit in this clone;
    push it back)."""
    from gitforge import offline

    _edit(clone, ref, as_user, offline.close_request, "Close", "Closed")
