"""Who is pushing, and what the access policy lets them change.

A push is attributed to the authenticated pusher: git over HTTP names them
in GITFORGE_USER, gitolite (git over ssh) in GL_USER. A push by path on the
server itself (an administrator's shell, a test) is attributed to
GITFORGE_USER when set, else to the site's first administrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitforge.policy import Action, ProjectFacts, TicketFacts, Viewer, may
from gitforge.store.access import groups_of
from gitforge.store.documents import Snapshot, parse_json
from gitforge.store.errors import NotFound
from gitforge.store.site import SiteRepo, project_path, user_path


class UnknownPusher(Exception):
    """The push names no account to attribute it to."""


@dataclass(frozen=True)
class Pusher:
    viewer: Viewer
    project: ProjectFacts | None  # None for a push to the site repo
    site: Snapshot  # the site repo as the push found it

    @property
    def name(self) -> str:
        return self.viewer.name

    def knows(self, user: str) -> bool:
        return self.site.exists(user_path(user))

    def may(self, action: Action, ticket: dict | None = None, **kwargs) -> bool:
        """The policy's answer for this pusher on the project."""
        facts = TicketFacts(ticket["author"], ticket["private"]) if ticket else None
        return may(self.viewer, action, self.project, ticket=facts, **kwargs)


def pusher_for(repositories: Path, fullname: str | None, env: dict) -> Pusher:
    """The pusher of a push into project `fullname`'s repos, or with None
    into the site repo, as the hook's environment `env` names them."""
    with SiteRepo.open(repositories) as site_repo:
        site = site_repo.snapshot()
    name = pusher_name(env) or _first_admin(site)
    user = site.read(user_path(name)) if name else None
    if user is None:
        raise UnknownPusher(
            f"GITFORGE_USER names no account: {name!r}"
            if name
            else "the site has no administrator to attribute this push to"
        )
    facts = None
    if fullname is not None:
        project = site.read(project_path(fullname))
        if project is None:
            raise NotFound("project", fullname)
        facts = ProjectFacts.from_document(fullname, project)
    viewer = Viewer(user["name"], user["admin"], groups_of(site, user["name"]))
    return Pusher(viewer, facts, site)


def pusher_name(env: dict) -> str | None:
    """The authenticated pusher named by the git front end, if any."""
    return env.get("GITFORGE_USER") or env.get("GL_USER") or None


def _first_admin(site: Snapshot) -> str | None:
    admins = []
    for path, data in site.walk("users"):
        user = parse_json(path, data)
        if user.get("admin"):
            admins.append((user["created"], user["name"]))
    return min(admins)[1] if admins else None
