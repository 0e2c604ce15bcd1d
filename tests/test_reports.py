"""The JSON report (schema version 2), the HTML report and the pytest-html integration, from real
runs: a project whose serving data drifted in one column."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import validate_report

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_REPORT
from pytest_mltestscore.profile_figures import display_histograms, display_shares
from pytest_mltestscore.profiles import profile_frame
from pytest_mltestscore.result import CheckResult, Figure, Table, json_safe

pytest.importorskip("matplotlib")

PYPROJECT = """
[tool.mltestscore]
history = false

[tool.mltestscore.datasets.training]
path = "training.csv"

[tool.mltestscore.datasets.serving]
path = "serving.csv"
"""

TESTS = """
import pytest

@pytest.mark.rubric("model-1")
def test_fails():
    assert 1 + 1 == 3, "arithmetic is broken"

@pytest.mark.rubric("model-2")
def test_skips():
    pytest.skip("no online metric yet")

@pytest.mark.rubric("model-3")
@pytest.mark.xfail(reason="known flaky tuner")
def test_xfails():
    assert False

@pytest.mark.rubric("model-4")
def test_records(ml_history):
    ml_history.record("rows_seen", 12, dataset="serving")
"""


def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 2000
    training = pd.DataFrame(
        {
            "amount": rng.normal(100.0, 10.0, n),
            "age": rng.normal(40.0, 8.0, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        }
    )
    serving = pd.DataFrame(
        {
            "amount": rng.normal(130.0, 10.0, n),  # drifted by three standard deviations
            "age": rng.normal(40.0, 8.0, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        }
    )
    return training, serving


@pytest.fixture
def drifted(pytester: pytest.Pytester) -> pytest.Pytester:
    training, serving = _frames()
    training.to_csv(pytester.path / "training.csv", index=False)
    serving.to_csv(pytester.path / "serving.csv", index=False)
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_suite=TESTS)
    return pytester


def _run(p: pytest.Pytester, *args: str) -> dict:
    p.runpytest(
        ML_SCORE,
        "-p",
        "no:randomly",
        "-k",
        "training-serving-skew or test_",
        f"{ML_SCORE_REPORT}=json:out/r.json",
        f"{ML_SCORE_REPORT}=html:out/r.html",
        *args,
    )
    data = json.loads((p.path / "out" / "r.json").read_text())
    validate_report(data)
    return data


def _tests(data: dict) -> dict[str, dict]:
    return {t["nodeid"]: t for s in data["sections"] for i in s["items"] for t in i["tests"]}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_json_carries_messages_metrics_findings_and_figures(drifted, workers):
    pytest.importorskip("xdist")
    data = _run(drifted, *workers)
    tests = _tests(data)
    assert tests["test_suite.py::test_fails"]["outcome"] == "failed"
    assert "arithmetic is broken" in tests["test_suite.py::test_fails"]["message"]
    assert tests["test_suite.py::test_skips"]["message"] == "no online metric yet"
    assert tests["test_suite.py::test_xfails"]["message"] == "xfail: known flaky tuner"
    recorded = tests["test_suite.py::test_records"]["metrics"]
    assert recorded == [{"name": "rows_seen", "value": 12.0, "labels": {"dataset": "serving"}}]

    check = tests["mltestscore::monitor-3::training-serving-skew"]
    assert check["outcome"] == "failed"
    assert "amount" in check["message"] and "age" not in check["message"].split("drifted")[1][:40]
    payload = check["check"]
    assert payload["verdict"] == "fail"
    drifted_rows = [r for r in payload["findings"] if r["drift"] == "DRIFT"]
    assert {r["column"] for r in drifted_rows} == {"amount"}
    assert payload["metrics"]["columns_drifted"] == 1.0
    flagged = [f for f in payload["figures"] if f["flagged"]]
    assert [f["title"] for f in flagged] == ["amount: training vs serving"]
    histogram = flagged[0]
    assert histogram["kind"] == "histogram"
    assert [s["name"] for s in histogram["series"]] == ["training", "serving"]
    for s in histogram["series"]:
        assert len(s["values"]) == len(histogram["edges"]) - 1
        assert sum(s["values"]) == pytest.approx(1.0)
    # the serving mass sits to the right of training's: the plot shows the shift
    edges = np.array(histogram["edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    means = [float(np.dot(centres, s["values"])) for s in histogram["series"]]
    assert means[1] - means[0] == pytest.approx(30.0, abs=3.0)
    kinds = {f["title"].split(":")[0]: f["kind"] for f in payload["figures"]}
    assert kinds == {"amount": "histogram", "age": "histogram", "colour": "shares"}
    assert data["gate"] == {"min_score": None, "passed": None, "message": None}


def test_html_report_is_one_self_contained_page(drifted):
    _run(drifted)
    page = (drifted.path / "out" / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # the findings: the failed check and the failed test, with the drifted column's plot
    findings = page[page.index('id="findings"') : page.index('id="scorecard"')]
    assert "monitor-3" in findings and "test_suite.py::test_fails" in findings
    flagged = re.findall(r'<figure class="flagged"><figcaption>([^<]+)<', findings)
    assert flagged == ["amount: training vs serving"]
    assert findings.count("<svg") >= 3  # amount flagged; age and colour folded under it
    # nothing to fetch and nothing to run: no script, no external reference
    assert "<script" not in page
    assert not re.search(r'(src|href)="(?!#)', page)
    assert not re.search(r"url\((?!#)", page)
    assert len(page.encode()) < 2 * 1024 * 1024
    # ids of the inline SVGs do not collide between plots
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_pytest_html_gets_the_scorecard_and_the_plots(drifted):
    pytest.importorskip("pytest_html")
    drifted.runpytest(
        ML_SCORE,
        "-p",
        "no:randomly",
        "-k",
        "training-serving-skew",
        "--html=out/ph.html",
        "--self-contained-html",
    )
    page = html.unescape((drifted.path / "out" / "ph.html").read_text(encoding="utf-8"))
    summary = page[: page.index('id="data-container"')]
    assert "ML Test Score" in summary and "Training and serving features" in summary
    blob = page[page.index('id="data-container"') :]
    row = blob[blob.index("mltestscore::monitor-3::training-serving-skew") :]
    assert "amount: training vs serving" in row and "<svg" in row


def test_html_report_needs_matplotlib_only_when_asked(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(f"{ML_SCORE_REPORT}=html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "report type 'html' needs a path" in result.stderr.str()


REPORT_MODULES = ("htmlreport", "plots", "prometheus")


@pytest.mark.parametrize(
    ("reports", "imported"),
    [
        ([], []),  # the scorecard alone
        ([f"{ML_SCORE_REPORT}=json:r.json"], []),
        ([f"{ML_SCORE_REPORT}=html:r.html"], ["htmlreport", "plots"]),
        ([f"{ML_SCORE_REPORT}=prometheus:r.prom"], ["prometheus"]),
    ],
)
def test_a_run_imports_only_the_report_modules_it_writes_with(pytester, reports, imported):
    """Report modules cost every run their import: those of a kind not asked for stay out."""
    pytester.makepyfile(
        conftest=(
            "import sys\n"
            "def pytest_unconfigure(config):\n"
            f"    names = {REPORT_MODULES!r}\n"
            "    found = [n for n in names if f'pytest_mltestscore.{n}' in sys.modules]\n"
            "    print('report modules imported:', found)\n"
        ),
        test_x="import pytest\n\n@pytest.mark.rubric('data-1')\ndef test_x(): pass\n",
    )
    pytester.makepyprojecttoml("[tool.mltestscore]\nhistory = false\n")
    if "prometheus" in imported:
        pytest.importorskip("prometheus_client")
    result = pytester.runpytest_subprocess(ML_SCORE, "-p", "no:cacheprovider", *reports)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines([f"report modules imported: {imported!r}"])


# -- the pieces, as functions ----------------------------------------------------------------
def test_display_histograms_share_edges_and_sum_to_one():
    training, serving = _frames(1)
    ref = profile_frame(training)
    cur = profile_frame(serving, reference=ref)
    edges, shares = display_histograms(
        [ref.columns["amount"].numeric, cur.columns["amount"].numeric]
    )
    assert len(edges) == 41 and all(len(s) == 40 for s in shares)
    assert [sum(s) for s in shares] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert edges[0] < 80 and edges[-1] > 150  # both distributions in view
    categories, cat_shares = display_shares([ref.columns["colour"], cur.columns["colour"]])
    assert categories == ["red", "green", "blue"]
    assert cat_shares[0] == pytest.approx([0.5, 0.3, 0.2], abs=0.04)


def test_check_results_become_plain_json():
    result = CheckResult(
        "c",
        "fail",
        "one bad",
        Table(("column", "value"), (("x", np.float64(1.5)), ("y", float("nan")))),
        metrics={"n": np.int64(3)},  # type: ignore[dict-item]
        figures=(Figure("series", "t", {"x": ["a"], "series": [{"name": "s", "values": [1]}]}),),
    )
    data = result.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["findings"] == [{"column": "x", "value": 1.5}, {"column": "y", "value": None}]
    assert data["metrics"] == {"n": 3}
    assert data["figures"][0]["kind"] == "series" and data["figures"][0]["flagged"] is False
    assert json_safe({"a": (np.bool_(True), Path("p"))}) == {"a": [True, "p"]}
