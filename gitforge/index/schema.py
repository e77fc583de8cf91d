"""Tables of the index. A change here bumps SCHEMA_VERSION, which makes every
existing index rebuild itself from git instead of migrating."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = "1"

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# The last commit sync loaded, per repo (path relative to the repositories).
repo_state = Table(
    "repo_state",
    metadata,
    Column("repo", String(512), primary_key=True),
    Column("commit", String(64)),
)

users = Table(
    "users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("full_name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("emails", Text, nullable=False),  # JSON list
    Column("password_hash", Text),
    Column("admin", Boolean, nullable=False),
    Column("created", String(20), nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fullname", String(201), nullable=False, unique=True),
    Column("namespace", String(100)),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("owner", String(100), nullable=False, index=True),
    Column("created", String(20), nullable=False),
    Column("settings", Text, nullable=False),  # JSON object
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("uid", String(32), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("close_reason", Text),
    Column("author", String(100), nullable=False),
    Column("assignee", String(100)),
    Column("priority", Integer),
    Column("milestone", Text),
    Column("private", Boolean, nullable=False),
    Column("created", String(20), nullable=False),
    Column("last_activity", String(20), nullable=False),
    Column("comment_count", Integer, nullable=False),
    UniqueConstraint("project_id", "uid"),
    Index("ix_tickets_list", "project_id", "status", "number"),
    Index("ix_tickets_assignee", "project_id", "assignee"),
)

ticket_tags = Table(
    "ticket_tags",
    metadata,
    Column(
        "ticket_id",
        Integer,
        ForeignKey("tickets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(255), primary_key=True),
    Index("ix_ticket_tags_tag", "tag", "ticket_id"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "ticket_id",
        Integer,
        ForeignKey("tickets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("uid", String(32), nullable=False),
    Column("author", String(100), nullable=False),
    Column("created", String(20), nullable=False),
    Column("edited", String(20)),
    Column("body", Text, nullable=False),
)
