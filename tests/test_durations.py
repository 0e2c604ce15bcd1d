"""--ml-score-durations: each built-in check's time and what it spent it on, serial and under
xdist, in the terminal and in the JSON report; and the counters the shared seams feed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.cost import FIT, PREDICT, READ, counted_trainer, metered_chunks, metering
from pytest_mltestscore.durations import render_durations
from pytest_mltestscore.modeling import predict_for
from pytest_mltestscore.options import ML_SCORE_DURATIONS

pytest.importorskip("palmerpenguins")
pytest.importorskip("sklearn")

from test_plugin_assets import CONFIG, DATA  # the penguin project of those tests

TRAINING = """
def fit(df, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X = df[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))
    return model.fit(X, df["species"])
"""

EXTRA = """
[tool.mltestscore]
history = false

[tool.mltestscore.training]
fit = "penguin_assets:fit"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(penguin_assets=DATA + TRAINING)
    pytester.makepyprojecttoml(EXTRA + CONFIG.format(serving="serving"))
    return pytester


def _by_node(data: dict) -> dict[str, dict]:
    return {row["nodeid"]: row for row in data["durations"]}


def test_durations_table_and_json_serial_and_distributed(project, scored):
    serial, serial_data = scored.run(ML_SCORE_DURATIONS, report="serial.json")
    parallel, parallel_data = scored.run(ML_SCORE_DURATIONS, "-n", "2", report="parallel.json")
    assert serial_data is not None and parallel_data is not None
    for result in (serial, parallel):
        result.stdout.fnmatch_lines(
            [
                "*ML Test Score: built-in checks by time (slowest first)*",
                "check*seconds*share*fits*predictions*",
                "total*100%*",
            ]
        )
    rows = serial_data["durations"]
    seconds = [r["seconds"] for r in rows]
    assert seconds == sorted(seconds, reverse=True)  # the slowest first
    reproducible = _by_node(serial_data)["mltestscore::infra-1::reproducible-training"]
    assert reproducible["spent"][FIT]["calls"] >= 2  # trains twice and compares
    assert reproducible["spent"][FIT]["rows"] > 0
    # the controller prints one table of every worker's checks, with the same fits (loads,
    # reads and the model's trial are charged to the first check that needs them in a process)
    assert set(_by_node(parallel_data)) == set(_by_node(serial_data))
    for nodeid, row in _by_node(serial_data).items():
        other = _by_node(parallel_data)[nodeid]["spent"]
        fits = row["spent"].get(FIT, {}).get("calls")
        assert other.get(FIT, {}).get("calls") == fits, nodeid
    # every row of the table names a check that ran
    table = serial.stdout.str().split("by time (slowest first)")[1]
    for nodeid in _by_node(serial_data):
        assert nodeid.split("::", 1)[1] in table


def test_without_the_option_no_table_but_the_json_keeps_durations(project, scored):
    result, data = scored.run()
    result.stdout.no_fnmatch_line("*built-in checks by time*")
    assert data is not None and data["durations"]
    assert all(r["nodeid"].startswith("mltestscore::") for r in data["durations"])


def test_the_option_implies_ml_score(project):
    result = project.runpytest(ML_SCORE_DURATIONS, "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*ML Test Score*", "*built-in checks by time*"])


# -- the counters -----------------------------------------------------------------------------


class _Model:
    classes_ = np.array([0, 1])

    def predict(self, X: object) -> np.ndarray:
        return np.zeros(len(X))  # type: ignore[arg-type]

    def predict_proba(self, X: object) -> np.ndarray:
        return np.tile([0.5, 0.5], (len(X), 1))  # type: ignore[arg-type]


def test_seams_count_calls_and_rows_only_inside_a_meter():
    X = pd.DataFrame({"a": range(7)})
    predict_for(_Model(), X, "label")  # outside any meter: nothing to count, nothing fails
    with metering() as meter:
        predict_for(_Model(), X, "label")
        predict_for(_Model(), X.head(3), "proba")
        trainer = counted_trainer(lambda df, seed: (len(df), seed))
        assert trainer(X, 4) == (7, 4)
        assert sum(len(c) for c in metered_chunks(READ, [X, X.head(2)])) == 9
    assert meter.kinds[PREDICT].calls == 2 and meter.kinds[PREDICT].rows == 10
    assert meter.kinds[FIT].calls == 1 and meter.kinds[FIT].rows == 7
    assert meter.kinds[READ].calls == 1 and meter.kinds[READ].rows == 9
    assert all(s.seconds >= 0 for s in meter.kinds.values())


def test_meters_nest_and_restore():
    X = pd.DataFrame({"a": range(4)})
    with metering() as outer:
        with metering() as inner:
            predict_for(_Model(), X, "label")
        predict_for(_Model(), X, "label")
    assert inner.kinds[PREDICT].calls == 1 and outer.kinds[PREDICT].calls == 1


def test_table_renders_kinds_that_occurred_with_shares():
    rows = [
        {
            "nodeid": "mltestscore::model-3::tuned",
            "seconds": 3.0,
            "spent": {FIT: {"calls": 24, "rows": 2000, "seconds": 2.5}},
        },
        {
            "nodeid": "mltestscore::data-1::schema",
            "seconds": 1.0,
            "spent": {PREDICT: {"calls": 2, "rows": 1500, "seconds": 0.25}},
        },
    ]
    lines = render_durations(rows)
    assert lines[0].split() == ["check", "seconds", "share", "fits", "predictions"]
    assert lines[1].split() == ["model-3::tuned", "3.00", "75%", "24:", "2.50s", "-"]
    assert lines[2].split() == ["data-1::schema", "1.00", "25%", "-", "2/1.5k", "rows:", "0.25s"]
    assert lines[-1].split() == ["total", "4.00", "100%"]
    assert render_durations([]) == ["no built-in check ran"]
