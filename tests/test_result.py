"""The check result and its table: rendering, truncation, verdicts."""

from __future__ import annotations

import pytest

from pytest_mltestscore.result import CheckResult, Table, enforce


def test_empty_table_renders_its_header():
    text = Table(("column", "rule")).render()
    assert text.splitlines() == ["column  rule", "------  ----"]


def test_rows_beyond_the_limit_are_counted_and_long_cells_cut():
    table = Table(("a", "b"), tuple((i, "x" * 100) for i in range(25)))
    text = table.render(max_rows=20)
    assert text.endswith("... and 5 more rows")
    assert "x" * 57 + "..." in text and "x" * 61 not in text


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
