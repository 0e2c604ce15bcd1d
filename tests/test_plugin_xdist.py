"""Under pytest-xdist the scorecard, the gate and every scoring field equal a serial run."""

from __future__ import annotations

import pytest

from pytest_mltestscore.options import ML_SCORE_MIN

pytest.importorskip("xdist")

SUITE = """
import pytest

pytestmark = pytest.mark.rubric("data-7")

@pytest.fixture
def broken():
    yield
    raise RuntimeError("teardown")

@pytest.mark.rubric("data-1", "monitor-2")
def test_schema(): pass

@pytest.mark.rubric("model-5")
def test_fails(): assert False

@pytest.mark.rubric("infra-1")
def test_teardown_error(broken): pass

@pytest.mark.parametrize("x", range(6))
@pytest.mark.rubric("model-6")
def test_slices(x): pass

@pytest.mark.rubric("model-7")
@pytest.mark.xfail(strict=False)
def test_xf(): assert False

@pytest.mark.rubric("monitor-1")
@pytest.mark.skip
def test_skip(): pass

@pytest.mark.rubric("monitr-3")
def test_typo(): pass

class TestInfra:
    pytestmark = pytest.mark.rubric("Infrastructure 2")
    def test_a(self): pass
    def test_b(self): pass
"""

PYPROJECT = """
[tool.mltestscore]
min_score = 1
[tool.mltestscore.manual.model-1]
evidence = "reviews/1"
date = 2026-10-01
"""


def scoring_fields(report: dict) -> dict:
    """The report without the fields that differ between identical runs (time, version, the
    history block, which depends on the runs before, and the checks' durations)."""
    varying = ("created", "plugin_version", "history", "durations")
    return {k: v for k, v in report.items() if k not in varying}


def test_xdist_report_equals_serial(scored, monkeypatch):
    monkeypatch.setenv("MLTESTSCORE_TODAY", "2026-11-01")
    scored.pytester.makepyprojecttoml(PYPROJECT)
    scored.pytester.makepyfile(SUITE)
    serial, serial_data = scored.run(report="serial.json")
    parallel, parallel_data = scored.run("-n", "2", report="parallel.json")
    assert serial_data is not None and parallel_data is not None
    assert scoring_fields(serial_data) == scoring_fields(parallel_data)
    assert serial.ret == parallel.ret == 1
    # and the content is what the rules say, so equality is not vacuous
    items = scored.items(parallel_data)
    assert items["model-6"]["status"] == "automated" and len(items["model-6"]["tests"]) == 6
    assert items["infra-1"]["status"] == "failing"
    assert items["infra-1"]["tests"][0]["outcome"] == "error"
    assert items["data-7"]["status"] == "failing"
    assert items["model-1"]["status"] == "manual"
    assert items["infra-2"]["status"] == "automated"
    assert parallel_data["unknown_ids"][0]["ids"] == ["monitr-3"]


def test_xdist_unknown_id_and_gate(pytester):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("data-99")
        def test_typo(): pass
        def test_plain(): pass
        """
    )
    result = pytester.runpytest("-n", "2", f"{ML_SCORE_MIN}=0.5")
    assert result.ret == 1
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*unknown rubric id 'data-99'; closest valid ids: data-7*",
            "FAIL: ML Test Score 0.0 is below the required 0.5",
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str()
    assert result.stdout.str().count("ML Test Score ==") == 1  # one card, from the controller


def test_xdist_config_error_is_usage_error(pytester):
    pytester.makepyprojecttoml("[tool.mltestscore]\nmin_scor = 1\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-n", "2", "--ml-score")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
