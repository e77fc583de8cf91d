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

SCHEMA_VERSION = "4"

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

# The longest full name: forks/<user>/<namespace>/<name>, 100 characters each.
FULLNAME_LENGTH = 308

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fullname", String(FULLNAME_LENGTH), nullable=False, unique=True),
    Column("namespace", String(100)),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("owner", String(100), nullable=False, index=True),
    Column("created", String(20), nullable=False),
    Column("settings", Text, nullable=False),  # JSON object
    # The full name of the project a fork was made from; None for a project.
    Column("parent", String(FULLNAME_LENGTH), index=True),
    # Who may do what: the document's fields as they are (policy.py reads
    # them through ProjectFacts.from_document).
    Column("private", Boolean, nullable=False, default=False),
    Column("access", Text, nullable=False, default="{}"),  # JSON object
    Column("protected_branches", Text, nullable=False, default="[]"),  # JSON
    Column("ticket_settings", Text, nullable=False, default="{}"),  # JSON
)

groups = Table(
    "groups",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("description", Text, nullable=False),
    Column("created", String(20), nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column(
        "group_name",
        String(100),
        ForeignKey("groups.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_name", String(100), primary_key=True, index=True),
)

ssh_keys = Table(
    "ssh_keys",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("user_name", String(100), nullable=False, index=True),
    Column("key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("added", String(20), nullable=False),
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


pull_requests = Table(
    "pull_requests",
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
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("author", String(100), nullable=False),
    Column("assignee", String(100)),
    Column("source_repo", String(512), nullable=False),
    Column("source_branch", Text, nullable=False),
    Column("target_branch", Text, nullable=False),
    Column("base", String(64), nullable=False),
    Column("head", String(64), nullable=False),
    Column("merge_kind", String(16)),  # None until computed
    Column("merge_target", String(64)),
    Column("merge_head", String(64)),
    Column("merge_conflicts", Text),  # JSON list
    Column("merge_commit", String(64)),
    Column("closed_by", String(100)),
    Column("closed_at", String(20)),
    Column("created", String(20), nullable=False),
    Column("last_activity", String(20), nullable=False),
    Column("comment_count", Integer, nullable=False),
    UniqueConstraint("project_id", "uid"),
    Index("ix_pull_requests_list", "project_id", "status", "number"),
    Index("ix_pull_requests_source", "source_repo"),
)


def _request_child(name: str, *columns: Column) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column(
            "request_id",
            Integer,
            ForeignKey("pull_requests.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        *columns,
    )


request_tags = Table(
    "request_tags",
    metadata,
    Column(
        "request_id",
        Integer,
        ForeignKey("pull_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(255), primary_key=True),
    Index("ix_request_tags_tag", "tag", "request_id"),
)

request_comments = _request_child(
    "request_comments",
    Column("uid", String(32), nullable=False),
    Column("author", String(100), nullable=False),
    Column("created", String(20), nullable=False),
    Column("edited", String(20)),
    Column("body", Text, nullable=False),
    Column("inline_commit", String(64)),
    Column("inline_path", Text),
    Column("inline_line", Integer),
    Column("inline_side", String(3)),
)

request_flags = _request_child(
    "request_flags",
    Column("uid", String(32), nullable=False),
    Column("username", String(100), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("percent", Integer),
    Column("comment", Text, nullable=False),
    Column("url", Text),
    Column("created", String(20), nullable=False),
    Column("updated", String(20), nullable=False),
)

request_updates = _request_child(
    "request_updates",
    Column("uid", String(32), nullable=False),
    Column("created", String(20), nullable=False),
    Column("old_head", String(64), nullable=False),
    Column("new_head", String(64), nullable=False),
    Column("forced", Boolean, nullable=False),
)


# "#N" written in a ticket or pull request (or one of its comments): which
# document mentions which number, for the links both ways.
mentions = Table(
    "mentions",
    metadata,
    Column(
        "project_id",
        Integer,
        ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("source_kind", String(8), primary_key=True),  # "ticket" / "request"
    Column("source_uid", String(32), primary_key=True),
    Column("target_number", Integer, primary_key=True),
    Column("source_number", Integer, nullable=False),
    Index("ix_mentions_target", "project_id", "target_number"),
)
