"""What the gitolite files are made from: the site repo's users, groups and
projects, which of the projects' repos exist on disk, and who wrote each
project's private tickets (from the index: the ticket repo rule needs them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from gitforge.config import Config
from gitforge.index.schema import projects, tickets
from gitforge.policy import ProjectFacts
from gitforge.store.documents import Snapshot, parse_json
from gitforge.store.errors import InvalidName
from gitforge.store.layout import SITE_REPO, RepoKind, repo_relpath, split_fullname
from gitforge.store.site import SiteRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    keys: tuple[str, ...]  # `<type> <base64>`, as stored


@dataclass(frozen=True)
class Project:
    facts: ProjectFacts
    repos: tuple[RepoKind, ...]  # those that exist on disk
    private_ticket_authors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SiteState:
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    site_repo: bool = True

    @property
    def admins(self) -> tuple[str, ...]:
        return tuple(sorted(u.name for u in self.users.values() if u.admin))


def read_state(config: Config) -> SiteState:
    """The state of the site in `config.home`, read afresh."""
    with SiteRepo.open(config.repositories) as site:
        snapshot = site.snapshot()
    authors = _private_ticket_authors(config)
    return SiteState(
        users=_users(snapshot),
        groups=_groups(snapshot),
        projects=_projects(snapshot, config.repositories, authors),
        site_repo=(config.repositories / SITE_REPO).is_dir(),
    )


def _users(snapshot: Snapshot) -> dict[str, User]:
    users = {}
    for path, data in snapshot.walk("users"):
        doc = parse_json(path, data)
        keys = tuple(k["key"] for k in doc.get("ssh_keys") or ())
        users[doc["name"]] = User(doc["name"], bool(doc.get("admin")), keys)
    return users


def _groups(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    groups = {}
    for path, data in snapshot.walk("groups"):
        doc = parse_json(path, data)
        groups[doc["name"]] = tuple(sorted(doc.get("members") or ()))
    return groups


def _projects(
    snapshot: Snapshot, repositories: Path, authors: dict[str, frozenset[str]]
) -> dict[str, Project]:
    found = {}
    for path, data in snapshot.walk("projects"):
        if not path.endswith(".json"):
            continue
        fullname = path.removeprefix("projects/").removesuffix(".json")
        try:
            split_fullname(fullname)
        except InvalidName:
            log.error("gitolite: left out %s: not a valid project name", path)
            continue
        facts = ProjectFacts.from_document(fullname, parse_json(path, data))
        repos = tuple(
            kind for kind in RepoKind
            if (repositories / repo_relpath(kind, fullname)).is_dir()
        )  # fmt: skip
        found[fullname] = Project(facts, repos, authors.get(fullname, frozenset()))
    return found


# Not yet: a private ticket pushed to a public project's ticket repo is
# readable over ssh until its sync has refreshed gitolite (HTTP, which also
# reads the index, lags as long).
def _private_ticket_authors(config: Config) -> dict[str, frozenset[str]]:
    """fullname -> authors of its private tickets, in one query. An engine
    of its own: this may run inside a sync that holds the shared one's
    lock (Huey's immediate mode, a rebuild of the index)."""
    engine = create_engine(config.database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(projects.c.fullname, tickets.c.author)
                .join(tickets, tickets.c.project_id == projects.c.id)
                .where(tickets.c.private)
                .distinct()
            ).all()
    finally:
        engine.dispose()
    found: dict[str, set[str]] = {}
    for fullname, author in rows:
        found.setdefault(fullname, set()).add(author)
    return {name: frozenset(authors) for name, authors in found.items()}
