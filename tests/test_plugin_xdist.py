"""Under pytest-xdist the scorecard, the gate and every scoring field equal a serial run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_mltestscore.options import ML_SCORE_MIN

pytest.importorskip("xdist")

SUITE = """
import json
from pathlib import Path

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


COUNTED = """
import os
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_iris


def training():
    with open(Path(__file__).parent / "loads.txt", "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    return frame
"""

USES_DATA = """
from pathlib import Path

import json
from pathlib import Path

import pytest

from pytest_mltestscore.shared_cache import WORKERINPUT_KEY

HERE = Path(__file__).parent


@pytest.mark.rubric("data-2")
@pytest.mark.parametrize("i", range(8))
def test_data(i, request, training_data, serving_data):
    workerinput = getattr(request.config, "workerinput", {})
    shared = workerinput.get(WORKERINPUT_KEY, "-")
    worker = workerinput.get("workerid", "serial")
    line = f"{worker} {shared} {len(training_data)} {serving_data['petal_length'].sum():.1f}"
    with open(HERE / "seen.txt", "a") as fh:
        fh.write(line + "\\n")
"""

SHARED_CONFIG = """
[tool.pytest.ini_options]
pythonpath = ["."]
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.training]
load = "counted:training"
target = "species"
[tool.mltestscore.datasets.serving]
path = "serving.csv"
target = "species"
"""


def _serving(pytester: pytest.Pytester, rows: int) -> tuple[str, str]:
    """Write the first ``rows`` iris flowers as serving.csv; what the test sees of them."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame.head(rows)
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    frame.to_csv(pytester.path / "serving.csv", index=False)
    return "150", f"{frame['petal_length'].sum():.1f}"


def _lines(pytester: pytest.Pytester, name: str) -> list[list[str]]:
    path = pytester.path / name
    lines = [line.split() for line in path.read_text().splitlines()]
    path.unlink()
    return lines


def test_xdist_workers_read_a_dataset_once_per_session(pytester):
    """Two workers that both need the training data: its load callable runs once in the
    session, as serially; the shared directory is gone when the session ends; a file changed
    between sessions is read again; the checks' verdicts equal the serial run's."""
    pytester.makepyfile(counted=COUNTED, test_uses_data=USES_DATA)
    pytester.makepyprojecttoml(SHARED_CONFIG)
    first = _serving(pytester, 100)
    serial = pytester.runpytest("--ml-score", "-rA", "--ml-score-report=json:serial.json")
    assert serial.ret == 0, serial.stdout.str()
    assert len(_lines(pytester, "loads.txt")) == 1
    assert {line[0] for line in _lines(pytester, "seen.txt")} == {"serial"}

    parallel = pytester.runpytest("-n", "2", "--ml-score", "-rA", "--ml-score-report=json:xd.json")
    assert parallel.ret == 0, parallel.stdout.str()
    seen = _lines(pytester, "seen.txt")
    assert {line[0] for line in seen} == {"gw0", "gw1"}  # both workers needed the data
    assert len(_lines(pytester, "loads.txt")) == 1  # and it was loaded once
    shared = {line[1] for line in seen}
    assert len(shared) == 1 and not Path(shared.pop()).exists()  # removed at session end
    assert {(line[2], line[3]) for line in seen} == {first}
    assert _items(pytester.path / "serial.json") == _items(pytester.path / "xd.json")

    second = _serving(pytester, 50)  # the next session reads the changed file
    assert second != first
    again = pytester.runpytest("-n", "2", "--ml-score")
    assert again.ret == 0, again.stdout.str()
    assert {(line[2], line[3]) for line in _lines(pytester, "seen.txt")} == {second}
    assert len(_lines(pytester, "loads.txt")) == 1


def _items(path: Path) -> dict[str, dict]:
    report = json.loads(path.read_text())
    return {
        i["id"]: {k: v for k, v in i.items() if k != "duration"}
        for s in report["sections"]
        for i in s["items"]
    }
