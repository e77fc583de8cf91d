"""Read-only queries of groups and ssh keys, for the pages that show and
change them."""

from __future__ import annotations

from sqlalchemy import Engine, Row, func, select

from gitforge.index.schema import group_members, groups, ssh_keys


def all_groups(engine: Engine) -> list[Row]:
    """Every group with its number of members (`member_count`), by name."""
    count = func.count(group_members.c.user_name).label("member_count")
    with engine.connect() as conn:
        return conn.execute(
            select(groups, count)
            .outerjoin(group_members, group_members.c.group_name == groups.c.name)
            .group_by(groups.c.name)
            .order_by(groups.c.name)
        ).all()


def group(engine: Engine, name: str) -> Row | None:
    with engine.connect() as conn:
        return conn.execute(select(groups).where(groups.c.name == name)).first()


def members_of(engine: Engine, name: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(group_members.c.user_name)
                .where(group_members.c.group_name == name)
                .order_by(group_members.c.user_name)
            ).scalars()
        )


def keys_of(engine: Engine, user: str) -> list[Row]:
    """A user's ssh keys, oldest first."""
    with engine.connect() as conn:
        return conn.execute(
            select(ssh_keys)
            .where(ssh_keys.c.user_name == user)
            .order_by(ssh_keys.c.added, ssh_keys.c.fingerprint)
        ).all()
