"""The scoring rules as plain functions, with hypothesis properties of their invariants."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mltestscore.rubric import load_rubric
from pytest_mltestscore.scoring import TestOutcome, combine_phases, item_status, score_run
from pytest_mltestscore.settings import Attestation

RUBRIC = load_rubric("breck2017")
IDS = list(RUBRIC.items)
TODAY = dt.date(2026, 11, 1)
OUTCOMES = ["passed", "failed", "error", "skipped", "xfailed", "xpassed"]

tests_by_item = st.dictionaries(
    st.sampled_from(IDS),
    st.lists(
        st.builds(TestOutcome, st.text("abc", min_size=1, max_size=4), st.sampled_from(OUTCOMES)),
        max_size=4,
    ),
)
attestations = st.dictionaries(
    st.sampled_from(IDS),
    st.integers(0, 800).map(
        lambda age: Attestation("x", "evidence", TODAY - dt.timedelta(days=age))
    ),
)


@settings(max_examples=300, deadline=None)
@given(tests_by_item, attestations)
def test_score_invariants(tests, attested):
    attested = {k: Attestation(k, a.evidence, a.date) for k, a in attested.items()}
    result = score_run(RUBRIC, tests, attested, today=TODAY)
    for section in result.sections:
        for item in section.items:
            assert item.points in (0.0, 0.5, 1.0)
        assert 0 <= section.score <= 7
        assert (section.score * 2).is_integer()
        assert section.score == sum(i.points for i in section.items)
    assert result.score == min(s.score for s in result.sections)
    assert result.band == RUBRIC.band(result.score).text


@settings(max_examples=300, deadline=None)
@given(tests_by_item, attestations, st.sampled_from(IDS), st.sampled_from(["failed", "error"]))
def test_a_failing_test_never_raises_a_score(tests, attested, item, bad):
    attested = {k: Attestation(k, a.evidence, a.date) for k, a in attested.items()}
    before = score_run(RUBRIC, tests, attested, today=TODAY)
    worse = {k: list(v) for k, v in tests.items()}
    worse.setdefault(item, []).append(TestOutcome("new::test", bad))
    after = score_run(RUBRIC, worse, attested, today=TODAY)
    assert after.score <= before.score
    assert after.items[item].status == "failing"
    for s_before, s_after in zip(before.sections, after.sections, strict=True):
        assert s_after.score <= s_before.score


@settings(max_examples=200, deadline=None)
@given(tests_by_item, st.floats(0, 7))
def test_gate_verdict_matches_threshold(tests, threshold):
    result = score_run(RUBRIC, tests, {}, today=TODAY, min_score=threshold)
    assert result.passed is (result.score >= threshold)


@pytest.mark.parametrize(
    ("outcomes", "age", "expected"),
    [
        (["passed"], None, "automated"),
        (["passed", "failed"], None, "failing"),
        (["error"], 10, "failing"),
        (["skipped", "xfailed", "xpassed"], None, "missing"),
        (["skipped"], 365, "manual"),
        ([], 366, "stale"),
        ([], None, "missing"),
    ],
)
def test_item_status_table(outcomes, age, expected):
    att = None if age is None else Attestation("x", "e", TODAY - dt.timedelta(days=age))
    assert item_status(outcomes, att, TODAY, 365) == expected


@pytest.mark.parametrize(
    ("score", "upper"),
    [
        (0.0, 0.0),
        (0.5, 1.0),
        (1.0, 1.0),
        (1.5, 2.0),
        (2.0, 2.0),
        (2.5, 3.0),
        (3.0, 3.0),
        (3.5, 5.0),
        (5.0, 5.0),
        (5.5, None),
        (7.0, None),
    ],
)
def test_bands_are_open_left_closed_right(score, upper):
    assert RUBRIC.band(score).upper == upper


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (
            {"setup": ("passed", False), "call": ("passed", False), "teardown": ("passed", False)},
            "passed",
        ),
        ({"setup": ("failed", False)}, "error"),
        ({"setup": ("skipped", False)}, "skipped"),
        ({"setup": ("skipped", True)}, "xfailed"),
        (
            {"setup": ("passed", False), "call": ("failed", False), "teardown": ("failed", False)},
            "failed",
        ),
        (
            {"setup": ("passed", False), "call": ("passed", False), "teardown": ("failed", False)},
            "error",
        ),
        (
            {"setup": ("passed", False), "call": ("skipped", True), "teardown": ("passed", False)},
            "xfailed",
        ),
        (
            {"setup": ("passed", False), "call": ("passed", True), "teardown": ("passed", False)},
            "xpassed",
        ),
        ({"setup": ("passed", False), "call": ("skipped", False)}, "skipped"),
        ({}, None),
    ],
)
def test_combine_phases(phases, expected):
    assert combine_phases(phases) == expected


def test_all_automated_scores_seven():
    tests = {i: [TestOutcome(f"t::{i}", "passed")] for i in IDS}
    result = score_run(RUBRIC, tests, {}, today=TODAY, min_score=7)
    assert result.score == 7.0 and result.passed is True
    assert result.band == RUBRIC.bands[-1].text
