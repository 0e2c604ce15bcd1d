"""The check result and its table: rendering, truncation, verdicts."""

from __future__ import annotations

import pytest

from pytest_mltestscore.result import CheckResult, Table, enforce


def test_empty_table_renders_its_header():
    text = Table(("column", "rule")).render()
    assert text.splitlines() == ["column  rule", "------  ----"]


def test_rows_beyond_the_limit_are_counted_and_long_cells_shown_in_full_below():
    long = "against the median 0.0123 s of 10 runs, tolerance max(20%, 5 x noise 0.0004 s) " * 2
    table = Table(("a", "b"), ((0, long.strip()), *((i, "short") for i in range(1, 25))))
    text = table.render(max_rows=20)
    lines = text.splitlines()
    assert "... and 5 more rows" in lines
    assert lines[2].endswith("... [1]") and len(lines[2]) <= 70  # the column keeps its width
    assert lines[-1] == f"[1] {long.strip()}"  # and nothing is cut: the whole text under it


def test_rows_must_match_the_columns():
    with pytest.raises(ValueError, match="has 1 cells, expected 2"):
        Table(("a", "b"), ((1,),))


def test_enforce_raises_the_message_and_skips_without_verdict():
    failing = CheckResult("c", "fail", "bad", Table(("col",), (("x",),)))
    with pytest.raises(AssertionError, match=r"c: FAIL: bad\ncol"):
        enforce(failing)
    with pytest.raises(pytest.skip.Exception, match="c: SKIP: too few rows"):
        enforce(CheckResult("c", "skip", "too few rows"))
    ok = CheckResult("c", "pass", "fine", Table(("col",)))
    assert enforce(ok) is ok and ok.message() == "c: PASS: fine"
