"""gitolite.conf made from the site's state, every decision the policy's.

For each repo that exists on disk, each candidate subject — everyone
(`@all`), the site's administrators (`@site`), the owner, every user and
group (`@group.<name>`) the project grants a level to, and for a ticket
repo the authors of its private tickets — is turned into a policy Viewer
and asked what it may do. A gitolite user is a member of several subjects;
gitolite takes the first rule that matches a ref, so the rules of a code
repo come in this order:

    R                  = who may read the project
    RW                 = committers                 (only with protected
    RW  <collaborator> = collaborators               branches: push, but
    -   <protected>    = @all                        no rewind or delete)
    RW+                = committers
    RW+ <collaborator> = collaborators

Names reach this file only after `store.layout.check_name`; they are
checked again here and anything else is left out (and logged), failing
closed: a protected branch pattern that is not a pattern protects every
branch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from gitforge.gitolite.state import Project, SiteState
from gitforge.policy import Action, ProjectFacts, Viewer, grant_of, is_committer, may
from gitforge.store.layout import SITE_REPO, RepoKind, repo_relpath

log = logging.getLogger(__name__)

EVERYONE = "@all"
SITE_ADMINS = "@site"  # "site" is a reserved name: no group can be called so
GROUP_PREFIX = "@group."  # a group called "all" must not become gitolite's @all

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_PATTERN = re.compile(r"[A-Za-z0-9_.*+/-]{1,200}")
_MEMBERS_PER_LINE = 10

HEADER = """\
# Written by gitforge (`gitforge gitolite`) from the site repo; do not edit:
# every change is overwritten. See docs/ssh.md.
"""


def gitolite_conf(state: SiteState) -> str:
    """The whole gitolite.conf; the same state gives the same text."""
    lines = [HEADER.rstrip("\n"), ""]
    lines += _group_lines(state)
    if state.site_repo:
        lines += _site_repo_lines(state)
    for fullname in sorted(state.projects):
        if _safe_repo_name(fullname):
            lines += _project_lines(state, state.projects[fullname])
    return "\n".join(lines) + "\n"


def group_name(group: str) -> str:
    return GROUP_PREFIX + group


# Viewers standing for everyone, the site's admins and a group are named so
# that no grant (to a user name or `@group`) can name them.


# -- groups ----------------------------------------------------------------------


def _group_lines(state: SiteState) -> list[str]:
    lines = _definition(SITE_ADMINS, _safe_names(state.admins))
    for group in sorted(state.groups):
        if _safe_name("group", group):
            members = _safe_names(m for m in state.groups[group] if m in state.users)
            lines += _definition(group_name(group), members)
    return lines + [""] if lines else []


def _definition(group: str, members: list[str]) -> list[str]:
    """`@g = a b ...`, ten members a line (gitolite adds the lines up); no
    line for a group without members, which gitolite would warn about."""
    return [
        f"{group} = {' '.join(members[i : i + _MEMBERS_PER_LINE])}"
        for i in range(0, len(members), _MEMBERS_PER_LINE)
    ]


def _existing_groups(state: SiteState) -> set[str]:
    """The gitolite groups `_group_lines` defines (with members)."""
    names = {EVERYONE}
    if _safe_names(state.admins):
        names.add(SITE_ADMINS)
    for group, members in state.groups.items():
        if _safe_name("group", group) and _safe_names(
            m for m in members if m in state.users
        ):
            names.add(group_name(group))
    return names


# -- repos -----------------------------------------------------------------------


def _site_repo_lines(state: SiteState) -> list[str]:
    admins = [
        name for name, viewer in _site_subjects(state)
        if may(viewer, Action.ADMINISTER_SITE, None)
    ]  # fmt: skip
    return _repo_block(SITE_REPO, [_rule("RW+", "", admins)])


def _site_subjects(state: SiteState) -> list[tuple[str, Viewer]]:
    subjects = [(EVERYONE, Viewer("(everyone)"))]
    if SITE_ADMINS in _existing_groups(state):
        subjects.append((SITE_ADMINS, Viewer("(site admins)", admin=True)))
    return subjects


def _project_lines(state: SiteState, project: Project) -> list[str]:
    lines: list[str] = []
    facts = project.facts
    for kind in project.repos:
        relpath = repo_relpath(kind, facts.fullname)
        subjects = _subjects(state, project, kind)
        if kind is RepoKind.TICKETS:
            rules = _ticket_rules(subjects, project)
        elif kind is RepoKind.REQUESTS:
            rules = _request_rules(subjects, facts)
        else:  # code and docs follow the project's code access
            rules = _code_rules(subjects, facts)
        lines += _repo_block(relpath, rules)
    return lines


def _repo_block(relpath: str, rules: list[str | None]) -> list[str]:
    kept = [rule for rule in rules if rule]
    return [f"repo {relpath.removesuffix('.git')}", *kept, ""]


def _subjects(
    state: SiteState, project: Project, kind: RepoKind
) -> list[tuple[str, Viewer]]:
    """Every gitolite name that may hold a right on the project's repo,
    with the Viewer the policy is asked about."""
    facts = project.facts
    subjects = _site_subjects(state)
    users = {facts.owner}
    groups = set()
    for subject, _grant in facts.grants:
        if subject.startswith("@"):
            groups.add(subject[1:])
        else:
            users.add(subject)
    if kind is RepoKind.TICKETS:
        users |= project.private_ticket_authors
    known = _existing_groups(state)
    for user in sorted(users):
        if user in state.users and _safe_name("user", user):
            subjects.append((user, Viewer(user)))
    for group in sorted(groups):
        if group_name(group) in known:
            viewer = Viewer(f"(group {group})", groups=frozenset({group}))
            subjects.append((group_name(group), viewer))
    return subjects


def _readers(subjects, facts: ProjectFacts) -> list[str]:
    return _everyone_or(
        name for name, viewer in subjects
        if may(viewer, Action.READ_PROJECT, facts)
    )  # fmt: skip


def _ticket_rules(subjects, project: Project) -> list[str | None]:
    """Those who may clone the ticket repo read it, those who may push to
    it write (no rewind: its history is the tickets'); each file pushed is
    checked by gitforge's pre-receive hook."""
    facts, authors = project.facts, project.private_ticket_authors

    def allowed(action: Action) -> list[str]:
        return _everyone_or(
            name for name, viewer in subjects
            if may(viewer, action, facts, private_ticket_authors=authors)
        )  # fmt: skip

    return [
        _rule("R", "", allowed(Action.CLONE_TICKETS)),
        _rule("RW", "", allowed(Action.PUSH_TICKETS)),
    ]


def _request_rules(subjects, facts: ProjectFacts) -> list[str | None]:
    """Readers read the request repo; those who may comment push the
    discussion (no rewind), each file checked by the pre-receive hook."""
    commenters = _everyone_or(
        name for name, viewer in subjects
        if may(viewer, Action.COMMENT_PULL_REQUEST, facts)
    )  # fmt: skip
    return [_rule("R", "", _readers(subjects, facts)), _rule("RW", "", commenters)]


def _code_rules(subjects, facts: ProjectFacts) -> list[str | None]:
    readers = set(_readers(subjects, facts))
    committers, collaborators = [], {}
    for name, viewer in subjects:
        if is_committer(viewer, facts):
            committers.append(name)
        elif may(viewer, Action.PUSH_CODE, facts):
            for pattern in grant_of(viewer, facts).branches:
                refex = _refex(pattern)
                if refex:
                    collaborators.setdefault(refex, []).append(name)
    rules = [_rule("R", "", sorted(readers))]
    protected = _protected_refexes(facts)
    if protected:
        rules += _push_rules("RW", committers, collaborators)
        rules += [_rule("-", refex, [EVERYONE]) for refex in protected]
    rules += _push_rules("RW+", committers, collaborators)
    return rules


def _push_rules(perm: str, committers, collaborators) -> list[str | None]:
    rules = [_rule(perm, "", committers)]
    for refex in sorted(collaborators):
        rules.append(_rule(perm, refex, collaborators[refex]))
    return rules


def _protected_refexes(facts: ProjectFacts) -> list[str]:
    refexes = set()
    for pattern in facts.protected_branches:
        refex = _refex(pattern)
        if refex is None:  # fail closed: protect every branch
            log.error("protected branch pattern %r of %s is not a pattern; "
                      "protecting every branch", pattern, facts.fullname)  # fmt: skip
            refex = _refex("*")
        refexes.add(refex)
    return sorted(refexes)


def _refex(pattern: str) -> str | None:
    """gitolite's refex (a regex matched at the start of the ref) for a
    branch pattern of the policy: `release/*` -> `refs/heads/release/.*$`
    (`*` spans slashes there too)."""
    if not _PATTERN.fullmatch(pattern) or ".." in pattern:
        return None
    parts = [re.escape(part) for part in pattern.split("*")]
    return "refs/heads/" + ".*".join(parts) + "$"


def _rule(perm: str, refex: str, names: Iterable[str]) -> str | None:
    names = sorted(set(names))
    if not names:
        return None
    ref = f" {refex}" if refex else ""
    return f"    {perm}{ref} = {' '.join(names)}"


def _everyone_or(names: Iterable[str]) -> list[str]:
    """`@all` alone when everyone is among `names`, the names otherwise."""
    names = sorted(set(names))
    return [EVERYONE] if EVERYONE in names else names


# -- names -----------------------------------------------------------------------


def _safe_name(kind: str, name: str) -> bool:
    if _NAME.fullmatch(name) and ".." not in name:
        return True
    log.error("gitolite: left out the %s %r: not a valid name", kind, name)
    return False


def _safe_names(names: Iterable[str]) -> list[str]:
    return sorted({name for name in names if _safe_name("user", name)})


def _safe_repo_name(fullname: str) -> bool:
    return all(_safe_name("project", part) for part in fullname.split("/"))
