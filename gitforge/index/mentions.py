""" "#N" references between tickets and pull requests.

A ticket or pull request mentions number N when its body or one of its
comments says `#N`. The index keeps the pairs so that both ends can link to
each other; they are reloaded with the document that holds the text.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, delete, insert

from gitforge.index.schema import mentions

# "#12", but not an HTML entity ("&#12;"), a URL fragment ("page#12") or
# part of a longer word.
MENTION = re.compile(r"(?<![\w&#/])#(\d{1,9})\b")


def mentioned_numbers(*texts: str) -> set[int]:
    return {int(number) for text in texts for number in MENTION.findall(text)}


def forget_mentions(
    conn: Connection, project_id: int, kind: str, uids: list[str] | None
) -> None:
    """Drop what some documents (all of `kind` for None) mention."""
    which = (mentions.c.project_id == project_id) & (mentions.c.source_kind == kind)
    if uids is not None:
        which = which & mentions.c.source_uid.in_(uids)
    conn.execute(delete(mentions).where(which))


def mention_rows(project_id: int, kind: str, doc: dict, texts: list[str]) -> list:
    """The rows of what one document (with its comments' `texts`) mentions,
    leaving out itself."""
    numbers = mentioned_numbers(*texts) - {doc["number"]}
    return [
        {"project_id": project_id, "source_kind": kind, "source_uid": doc["uid"],
         "source_number": doc["number"], "target_number": number}
        for number in sorted(numbers)
    ]  # fmt: skip


def insert_mentions(conn: Connection, rows: list[dict]) -> None:
    if rows:
        conn.execute(insert(mentions), rows)
