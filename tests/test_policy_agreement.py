"""Every entry point answers as the one policy does.

For each policy Action, the entry points that enforce it (the web UI, the
JSON API, git over HTTP, the hooks and the gitolite configuration generator,
as tests/policy_probes.py lists them) are asked about every person on a
public and a private project (and for each of REFS where the action takes a
ref); each answer must be `may(...)` computed from the index. A refused
write must also leave every repo as it was.

One site serves the whole module: the probes write (tickets, comments,
forks, merges) but never change who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gitforge.index import queries
from gitforge.policy import Action, may
from tests import policy_probes as probes
from tests.policy_probes import PROBES, PROJECTS, REFS, Forge, Probe, ProbeError


@pytest.fixture(scope="module")
def forge(tmp_path_factory) -> Forge:
    return probes.build_forge(tmp_path_factory.mktemp("policy-agreement"))


@dataclass(frozen=True)
class Case:
    """One question to one entry point."""

    entry: str
    action: Action
    person: str | None
    project: str | None
    ref: str | None

    def __str__(self) -> str:
        who = self.person or "anonymous"
        return f"{self.entry}, {self.action.name}, {who}, {self.project}, {self.ref}"


def cases(action: Action, probe: Probe):
    for project in (None,) if probe.site else PROJECTS:
        for person in probe.people:
            for ref in REFS if probe.per_ref else (None,):
                yield Case(probe.entry, action, person, project, ref)


def disagreements(forge: Forge, case: Case, probe: Probe) -> list[str]:
    """What the entry point said where the policy says otherwise, each as
    (entry point, action, person, project, ref, expected, got) and what was
    sent."""
    found = []
    viewer = queries.viewer(forge.engine, case.person) if case.person else None
    row = queries.project(forge.engine, case.project) if case.project else None
    facts = queries.facts(row) if row is not None else None
    for trial in probe.trials(forge, case.person, case.project, case.ref):
        expected = may(viewer, case.action, facts, **trial.ask)
        tips = probes.project_tips
        before = tips(forge, case.project) if trial.writes else None
        try:
            got = trial.answer()
        except ProbeError as err:
            got = f"probe error: {err}"
        if got is False and before is not None and tips(forge, case.project) != before:
            got = "refused, yet git changed"
        if got != expected:
            found.append(f"({case}, expected {expected}, got {got}): {trial.where}")
    return found


def probes_of(action: Action) -> list[Probe]:
    found = PROBES.get(action)
    if not found:
        pytest.fail(
            f"Action.{action.name} has no probe: add the entry points that "
            "enforce it to tests/policy_probes.py (_own_probes, or "
            "gitolite_probes for gitolite rules)"
        )
    return found


@pytest.mark.parametrize("action", list(Action), ids=lambda action: action.name)
def test_every_entry_point_agrees_with_the_policy(forge, action):
    found = []
    for probe in probes_of(action):
        for case in cases(action, probe):
            found += disagreements(forge, case, probe)
    assert not found, f"{len(found)} disagreements:\n" + "\n".join(found)


# -- gitolite itself ------------------------------------------------------------

GITOLITE_PROBES = probes.gitolite_probes("gitolite access", probes.access_answer)


@pytest.fixture(scope="module")
def compiled(forge):
    """The gitolite configuration compiled, for `gitolite access`; skipped
    without gitolite (never under CI=true)."""
    from gitforge.gitolite.compile import apply
    from tests.gitolite.programs import need

    need("gitolite")
    apply(forge.config)
    return forge


@pytest.mark.parametrize("action", list(GITOLITE_PROBES), ids=lambda a: a.name)
def test_gitolite_reads_the_configuration_as_the_policy_means_it(compiled, action):
    found = []
    for probe in GITOLITE_PROBES[action]:
        for case in cases(action, probe):
            found += disagreements(compiled, case, probe)
    assert not found, f"{len(found)} disagreements:\n" + "\n".join(found)
