"""The ML Test Score of one run, computed by one pure function (no pytest import).

Rules (Breck et al. 2017): an item is ``failing`` when any test marked with it failed or
errored; else ``automated`` when one passed; else ``manual`` with a fresh attestation, ``stale``
with an old one, ``missing`` otherwise. Sections sum their items; the final score is the
minimum section. Points are multiples of 0.5, which binary floating point adds exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .rubric import Rubric
from .settings import Attestation

Status = Literal["automated", "manual", "failing", "stale", "missing"]
Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]

EARNS: frozenset[str] = frozenset({"passed"})
LOSES: frozenset[str] = frozenset({"failed", "error"})


@dataclass(frozen=True)
class TestOutcome:
    """The final outcome of one test (one parametrized case) that carries rubric ids."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: Outcome
    reason: str | None = None  # why it was skipped (a built-in check: why it could not judge)
    via: str = "marker"  # how it earns the item: "marker", "map" or "marker+map"


@dataclass(frozen=True)
class ItemScore:
    id: str
    title: str
    status: Status
    points: float
    tests: tuple[TestOutcome, ...]
    manual: Attestation | None


@dataclass(frozen=True)
class SectionScore:
    id: str
    title: str
    score: float
    max_score: float
    items: tuple[ItemScore, ...]


@dataclass(frozen=True)
class ScoreResult:
    """Score, band and verdict of a run; the gate, the banner and every report read this."""

    rubric_id: str
    score: float
    max_score: float
    band: str
    sections: tuple[SectionScore, ...]
    min_score: float | None
    passed: bool | None

    @property
    def items(self) -> dict[str, ItemScore]:
        return {i.id: i for s in self.sections for i in s.items}


def item_status(
    outcomes: Iterable[str], attestation: Attestation | None, today: dt.date, max_age_days: int
) -> Status:
    """The status of one item from its tests' outcomes and its attestation (if any)."""
    seen = set(outcomes)
    if seen & LOSES:
        return "failing"
    if seen & EARNS:
        return "automated"
    if attestation is not None:
        return "manual" if (today - attestation.date).days <= max_age_days else "stale"
    return "missing"


def score_run(
    rubric: Rubric,
    tests_by_item: Mapping[str, Iterable[TestOutcome]],
    attestations: Mapping[str, Attestation],
    *,
    today: dt.date,
    max_age_days: int = 365,
    min_score: float | None = None,
) -> ScoreResult:
    """Score a run from the outcomes of the tests marked with each item and the attestations."""
    points_for: dict[Status, float] = {
        "automated": rubric.points_automated,
        "manual": rubric.points_manual,
        "failing": 0.0,
        "stale": 0.0,
        "missing": 0.0,
    }
    sections = []
    for section in rubric.sections:
        items = []
        for item in section.items:
            tests = tuple(sorted(tests_by_item.get(item.id, ()), key=lambda t: t.nodeid))
            attestation = attestations.get(item.id)
            status = item_status((t.outcome for t in tests), attestation, today, max_age_days)
            items.append(
                ItemScore(item.id, item.title, status, points_for[status], tests, attestation)
            )
        total = sum(i.points for i in items)
        sections.append(
            SectionScore(
                section.id,
                section.title,
                total,
                len(section.items) * rubric.points_automated,
                tuple(items),
            )
        )
    final = min(s.score for s in sections)
    passed = None if min_score is None else final >= min_score
    return ScoreResult(
        rubric_id=rubric.id,
        score=final,
        max_score=rubric.max_score,
        band=rubric.band(final).text,
        sections=tuple(sections),
        min_score=min_score,
        passed=passed,
    )


def combine_phases(phases: Mapping[str, tuple[str, bool]]) -> Outcome | None:
    """One test's outcome from its setup/call/teardown reports.

    ``phases`` maps the phase name to (pytest outcome, was-xfail). A setup or teardown error
    makes the test ``error`` unless its call failed; a non-strict xpass is ``xpassed``.
    """
    setup = phases.get("setup")
    call = phases.get("call")
    teardown = phases.get("teardown")
    if setup is None:
        return None
    if setup[0] == "failed":
        return "error"
    if setup[0] == "skipped":
        return "xfailed" if setup[1] else "skipped"
    result: Outcome = "passed"
    if call is not None:
        outcome, wasxfail = call
        if outcome == "failed":
            return "failed"
        if outcome == "skipped":
            result = "xfailed" if wasxfail else "skipped"
        elif wasxfail:
            result = "xpassed"
    if teardown is not None and teardown[0] == "failed":
        return "error"
    return result
