"""The one access policy, case by case."""

from __future__ import annotations

import pytest

from gitforge.policy import (
    Action,
    Grant,
    Level,
    ProjectFacts,
    TicketFacts,
    Viewer,
    grant_of,
    may,
)

PROJECT = ProjectFacts("foo", owner="olive")
PRIVATE_PROJECT = ProjectFacts("secret", owner="olive", private=True)
OWNER, ADMIN = Viewer("olive"), Viewer("root", admin=True)
AUTHOR, STRANGER = Viewer("alice"), Viewer("sam")
PUBLIC_TICKET = TicketFacts(author="alice", private=False)
PRIVATE_TICKET = TicketFacts(author="alice", private=True)

# (viewer, action, ticket, allowed)
CASES = [
    (None, Action.READ_PROJECT, None, True),
    (None, Action.READ_TICKET, PUBLIC_TICKET, True),
    (None, Action.READ_TICKET, PRIVATE_TICKET, False),
    (None, Action.CREATE_TICKET, None, False),
    (None, Action.COMMENT_TICKET, PUBLIC_TICKET, False),
    (None, Action.PUSH_CODE, None, False),
    (STRANGER, Action.CREATE_TICKET, None, True),
    (STRANGER, Action.COMMENT_TICKET, PUBLIC_TICKET, True),
    (STRANGER, Action.READ_TICKET, PRIVATE_TICKET, False),
    (STRANGER, Action.COMMENT_TICKET, PRIVATE_TICKET, False),
    (STRANGER, Action.EDIT_TICKET, PUBLIC_TICKET, False),
    (STRANGER, Action.TRIAGE_TICKET, PUBLIC_TICKET, False),
    (STRANGER, Action.PUSH_CODE, None, False),
    (AUTHOR, Action.READ_TICKET, PRIVATE_TICKET, True),
    (AUTHOR, Action.EDIT_TICKET, PUBLIC_TICKET, True),
    (AUTHOR, Action.TRIAGE_TICKET, PUBLIC_TICKET, False),
    (OWNER, Action.READ_TICKET, PRIVATE_TICKET, True),
    (OWNER, Action.EDIT_TICKET, PRIVATE_TICKET, True),
    (OWNER, Action.TRIAGE_TICKET, PUBLIC_TICKET, True),
    (OWNER, Action.PUSH_CODE, None, True),
    (ADMIN, Action.TRIAGE_TICKET, PRIVATE_TICKET, True),
    (ADMIN, Action.PUSH_CODE, None, True),
    (None, Action.FORK_PROJECT, None, False),
    (None, Action.OPEN_PULL_REQUEST, None, False),
    (None, Action.COMMENT_PULL_REQUEST, None, False),
    (None, Action.EDIT_PULL_REQUEST, None, False),
    (STRANGER, Action.FORK_PROJECT, None, True),
    (STRANGER, Action.OPEN_PULL_REQUEST, None, True),
    (STRANGER, Action.COMMENT_PULL_REQUEST, None, True),
    (STRANGER, Action.EDIT_PULL_REQUEST, None, False),
    (STRANGER, Action.MERGE_PULL_REQUEST, None, False),
    (STRANGER, Action.FLAG_PULL_REQUEST, None, False),
    (OWNER, Action.EDIT_PULL_REQUEST, None, True),
    (OWNER, Action.MERGE_PULL_REQUEST, None, True),
    (ADMIN, Action.FLAG_PULL_REQUEST, None, True),
    (STRANGER, Action.CHANGE_SETTINGS, None, False),
    (OWNER, Action.CHANGE_SETTINGS, None, True),
]


@pytest.mark.parametrize("viewer, action, ticket, allowed", CASES)
def test_policy_cases(viewer, action, ticket, allowed):
    assert may(viewer, action, PROJECT, ticket=ticket) is allowed


def test_the_author_of_a_pull_request_may_edit_it():
    allowed = may(AUTHOR, Action.EDIT_PULL_REQUEST, PROJECT, comment_author="alice")
    assert allowed
    assert not may(AUTHOR, Action.MERGE_PULL_REQUEST, PROJECT)


def test_policy_every_action_has_a_case():
    assert {case[1] for case in CASES} | {case[1] for case in LEVEL_CASES} | {
        Action.EDIT_COMMENT,
        Action.CLONE_TICKETS,
        Action.ADMINISTER_SITE,
        Action.MANAGE_GROUP,
    } == set(Action)


def test_policy_private_project_is_absent_for_others():
    for action in (Action.READ_PROJECT, Action.CREATE_TICKET, Action.PUSH_CODE):
        assert not may(STRANGER, action, PRIVATE_PROJECT)
        assert not may(None, action, PRIVATE_PROJECT)
    assert may(OWNER, Action.READ_PROJECT, PRIVATE_PROJECT)


def test_policy_comment_edits_belong_to_their_author():
    def edit(viewer, author):
        return may(viewer, Action.EDIT_COMMENT, PROJECT, ticket=PUBLIC_TICKET,
                   comment_author=author)  # fmt: skip

    assert edit(STRANGER, "sam") and not edit(STRANGER, "alice")
    assert edit(ADMIN, "sam") and not edit(OWNER, "sam")


def test_policy_ticket_repo_clone_needs_every_ticket_readable():
    def clone(viewer, authors):
        return may(viewer, Action.CLONE_TICKETS, PROJECT,
                   private_ticket_authors=frozenset(authors))  # fmt: skip

    assert clone(None, []) and clone(STRANGER, [])
    assert not clone(None, ["alice"]) and not clone(STRANGER, ["alice"])
    assert clone(AUTHOR, ["alice"]) and not clone(AUTHOR, ["alice", "bob"])
    assert clone(OWNER, ["alice", "bob"])


# A project that grants every level, to users and to groups.
SHARED = ProjectFacts(
    "shared",
    owner="olive",
    private=True,
    grants=(
        ("ada", Grant(Level.ADMIN)),
        ("cole", Grant(Level.COMMIT)),
        ("rita", Grant(Level.COLLABORATOR, ("release/*",))),
        ("tia", Grant(Level.TICKET)),
        ("@qa", Grant(Level.TICKET)),
        ("@releng", Grant(Level.COLLABORATOR, ("stable",))),
    ),
    protected_branches=("main",),
)
ADA, COLE, RITA, TIA = Viewer("ada"), Viewer("cole"), Viewer("rita"), Viewer("tia")
QA_MEMBER = Viewer("quinn", groups=frozenset({"qa"}))
BOTH = Viewer("rita", groups=frozenset({"releng"}))

# (viewer, action, ref, allowed) on SHARED
LEVEL_CASES = [
    (ADA, Action.CHANGE_SETTINGS, None, True),
    (COLE, Action.CHANGE_SETTINGS, None, False),
    (COLE, Action.PUSH_CODE, "refs/heads/main", True),
    (COLE, Action.PUSH_CODE, "refs/tags/v1", True),
    (COLE, Action.REWRITE_BRANCH, "refs/heads/main", False),  # protected
    (COLE, Action.REWRITE_BRANCH, "refs/heads/topic", True),
    (COLE, Action.FLAG_PULL_REQUEST, None, True),
    (RITA, Action.PUSH_CODE, "refs/heads/release/1.0", True),
    (RITA, Action.PUSH_CODE, "release/2.0/fix", True),
    (RITA, Action.PUSH_CODE, "refs/heads/main", False),
    (RITA, Action.PUSH_CODE, "refs/tags/release/1.0", False),
    (RITA, Action.PUSH_CODE, None, True),  # some branch
    (RITA, Action.MERGE_PULL_REQUEST, "release/1.0", True),
    (RITA, Action.MERGE_PULL_REQUEST, "main", False),
    (RITA, Action.REWRITE_BRANCH, "refs/heads/release/1.0", True),
    (RITA, Action.FLAG_PULL_REQUEST, None, False),
    (BOTH, Action.PUSH_CODE, "refs/heads/stable", True),  # patterns joined
    (BOTH, Action.PUSH_CODE, "refs/heads/release/3", True),
    (TIA, Action.READ_PROJECT, None, True),
    (TIA, Action.PUSH_CODE, None, False),
    (TIA, Action.TRIAGE_TICKET, None, True),
    (TIA, Action.PUSH_TICKETS, None, True),
    (QA_MEMBER, Action.TRIAGE_TICKET, None, True),
    (QA_MEMBER, Action.MERGE_PULL_REQUEST, "main", False),
    (STRANGER, Action.READ_PROJECT, None, False),
    (STRANGER, Action.PUSH_TICKETS, None, False),
    (None, Action.PUSH_TICKETS, None, False),
]


@pytest.mark.parametrize("viewer, action, ref, allowed", LEVEL_CASES)
def test_policy_levels(viewer, action, ref, allowed):
    ticket = TicketFacts(author="alice", private=True)
    assert may(viewer, action, SHARED, ticket=ticket, ref=ref) is allowed


def test_policy_levels_include_the_ones_below():
    ticket = TicketFacts(author="alice", private=True)
    for viewer in (ADA, COLE, RITA, TIA):
        assert may(viewer, Action.READ_TICKET, SHARED, ticket=ticket)
        assert may(viewer, Action.EDIT_TICKET, SHARED, ticket=ticket)
    assert may(COLE, Action.PUSH_CODE, SHARED, ref="release/1.0")


def test_policy_the_highest_grant_wins():
    held = grant_of(Viewer("tia", groups=frozenset({"releng"})), SHARED)
    assert held == Grant(Level.COLLABORATOR, ("stable",))


def test_policy_groups_are_run_by_their_members_and_site_admins():
    members = frozenset({"alice"})
    assert may(AUTHOR, Action.MANAGE_GROUP, None, group_members=members)
    assert may(ADMIN, Action.MANAGE_GROUP, None, group_members=members)
    assert not may(STRANGER, Action.MANAGE_GROUP, None, group_members=members)
    assert not may(None, Action.MANAGE_GROUP, None, group_members=members)


def test_policy_site_repo_is_for_site_admins():
    assert may(ADMIN, Action.ADMINISTER_SITE, None)
    assert not may(OWNER, Action.ADMINISTER_SITE, None)
    assert not may(None, Action.ADMINISTER_SITE, None)


def test_policy_project_facts_from_a_document():
    facts = ProjectFacts.from_document(
        "p",
        {
            "owner": "olive",
            "private": True,
            "access": {
                "users": {"rita": {"level": "collaborator", "branches": ["r/*"]}},
                "groups": {"qa": {"level": "ticket"}},
            },
            "protected_branches": ["main"],
        },
    )
    assert facts.grants == (
        ("rita", Grant(Level.COLLABORATOR, ("r/*",))),
        ("@qa", Grant(Level.TICKET)),
    )
    assert facts.private and facts.is_protected("refs/heads/main")
