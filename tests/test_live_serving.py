"""Live serving end to end, the way users run it: a project whose serving rows come from the
database the service logs to (a 1-day window) and whose deployed model answers at a real
MLServer on loopback, scored with ``pytest --ml-score``.

The tested artifact is a random forest (seed 0). The deployment serves the same forest, one
trained with another seed, or the same forest behind preprocessing that scales one feature by
10: infra-6 and monitor-3 pass on the first and fail on the others, naming rows; monitor-5 judges
the live outputs; monitor-6 measures latency at the endpoint and stores it in the history.
Credentials given as ``${VAR}`` never reach the output, the reports or the history.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _model_servers import mlserver

pytest.importorskip("sklearn")
pytest.importorskip("sqlalchemy")
pytest.importorskip("urllib3")

DAY = "2026-11-20"
FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area", "worst concavity"]


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X[FEATURES]
    tested = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    other_seed = RandomForestClassifier(n_estimators=20, random_state=1).fit(X, y)
    # the service's preprocessing reads "worst area" in other units: x10 (a scaler whose
    # scale_ divides by 1/10 there and by 1 elsewhere)
    units = StandardScaler(with_mean=False).set_output(transform="pandas").fit(X)
    units.scale_ = np.ones(len(FEATURES))
    units.scale_[FEATURES.index("worst area")] = 0.1
    scaled = Pipeline([("units", units), ("model", tested)])
    return {"same": tested, "seed1": other_seed, "scaled": scaled, "X": X}


@pytest.fixture(scope="module")
def server(models: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    served = {k: models[k] for k in ("same", "seed1", "scaled")}
    with mlserver(served, tmp_path_factory.mktemp("mlserver")) as base:
        yield base


def _serving_log(path: Path, X: pd.DataFrame) -> None:
    """The service's log: 60 rows served on the pinned day (Seattle time, -08:00) and 40 the
    day before, which the 1-day window leaves out."""
    rows = X.iloc[:100].copy()
    stamps = [
        (dt.datetime(2026, 11, 19, 17, 0) + dt.timedelta(minutes=7 * i)).isoformat() + "-08:00"
        if i < 60
        else (dt.datetime(2026, 11, 19, 1, 0) + dt.timedelta(minutes=7 * i)).isoformat() + "Z"
        for i in range(100)
    ]
    rows.insert(0, "request_id", [f"r{i:03d}" for i in range(100)])
    rows.insert(1, "served_at", stamps)
    with sqlite3.connect(path) as db:
        rows.to_sql("predictions", db, index=False)


def _project(
    pytester: pytest.Pytester, models: dict[str, Any], deployed: str, serving: str
) -> None:
    import joblib

    joblib.dump(models["same"], pytester.path / "model.joblib")
    _serving_log(pytester.path / "serving.sqlite", models["X"])
    pytester.makepyprojecttoml(
        f"""
[tool.mltestscore.models.default]
path = "model.joblib"
trusted = true

[tool.mltestscore.models.deployed]
{deployed}

[tool.mltestscore.datasets.serving]
{serving}
id = "request_id"
timestamp = "served_at"

[tool.mltestscore.checks.monitor-6]
row_requests = 5
batch_requests = 3
"""
    )


SQLITE_SERVING = (
    'url = "sqlite:///serving.sqlite"\nquery = "SELECT * FROM predictions"\nwindow = "1d"'
)
SELECTED = ("-k", "deployment or deployed or endpoint", "-rs")


def _kserve(server: str, name: str) -> str:
    return (
        f'url = "{server}/v2/models/{name}"\nprotocol = "kserve-v2"\n'
        'proba = "predict_proba"\nbatch_size = 25\nmax_requests_per_second = 20'
    )


def _outcomes(report: Path) -> dict[str, str]:
    data = json.loads(report.read_text())
    return {
        t["nodeid"]: t["outcome"] for s in data["sections"] for i in s["items"] for t in i["tests"]
    }


def test_deployment_agrees_with_the_artifact(
    pytester: pytest.Pytester, models: dict[str, Any], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTESTSCORE_TODAY", DAY)
    _project(pytester, models, _kserve(server, "same"), SQLITE_SERVING)
    result = pytester.runpytest("--ml-score", "--ml-score-report=json:r.json", "-v", *SELECTED)
    outcomes = _outcomes(pytester.path / "r.json")
    assert outcomes["mltestscore::infra-6::deployment"] == "passed"
    assert outcomes["mltestscore::monitor-3::deployment-skew"] == "passed"
    assert outcomes["mltestscore::monitor-5::deployed-outputs"] == "passed"
    # the first run has no history to compare latency with: not judged, measured and stored
    assert outcomes["mltestscore::monitor-6::endpoint-latency"] == "skipped"
    result.stdout.fnmatch_lines(["*not enough history for any verdict*"])
    from pytest_mltestscore.history import open_store

    store = open_store(str(pytester.path / ".mltestscore" / "history.sqlite"))
    try:
        series = store.metric_series(
            "latency_batch_p50_seconds", {"check": "monitor-6:endpoint-latency"}
        )
    finally:
        store.close()
    assert len(series) == 1 and series[0].value > 0


@pytest.mark.parametrize(
    ("deployed", "what"),
    [("seed1", "probabilities differ on"), ("scaled", "label")],
    ids=["another-seed", "feature-scaled"],
)
def test_deployment_that_differs_fails_naming_rows(
    pytester: pytest.Pytester,
    models: dict[str, Any],
    server: str,
    monkeypatch: pytest.MonkeyPatch,
    deployed: str,
    what: str,
) -> None:
    monkeypatch.setenv("MLTESTSCORE_TODAY", DAY)
    _project(pytester, models, _kserve(server, deployed), SQLITE_SERVING)
    result = pytester.runpytest(
        "--ml-score", "--ml-score-report=json:r.json", "-k", "deployment", "-rs"
    )
    outcomes = _outcomes(pytester.path / "r.json")
    assert outcomes["mltestscore::infra-6::deployment"] == "failed"
    assert outcomes["mltestscore::monitor-3::deployment-skew"] == "failed"
    out = result.stdout.str()
    assert "the service runs a different model or different preprocessing" in out
    assert "disagrees with the tested artifact on" in out and " of 60 serving rows" in out
    assert what in out
    # rows are named by the log's request ids, all within the window (r000..r059)
    named = {tok.strip("'") for tok in out.split() if tok.strip("'").startswith("r0")}
    assert named and all(int(t[1:4]) < 60 for t in named if t[1:4].isdigit())


@pytest.mark.parametrize("optional", [False, True], ids=["stops-at-start", "optional"])
def test_credentials_are_masked_in_output_reports_and_history(
    pytester: pytest.Pytester,
    models: dict[str, Any],
    server: str,
    monkeypatch: pytest.MonkeyPatch,
    optional: bool,
) -> None:
    """A database password and an endpoint token, both from the environment, and both wrong:
    the run says what failed, naming the key and server, and neither secret is printed or
    stored. Required, they stop the run at start (exit 4); optional, the checks that need them
    are not judged and the reports and the history are written, without the secrets."""
    from _servers import postgres_url

    host = postgres_url().rsplit("@", 1)[1]
    monkeypatch.setenv("MLTESTSCORE_TODAY", DAY)
    monkeypatch.setenv("LIVE_DB_PASSWORD", "pg-Secret-9f3")
    monkeypatch.setenv("LIVE_TOKEN", "tok-Secret-7a1")
    flag = "\noptional = true" if optional else ""
    serving = (
        f'url = "postgresql://mlts:${{LIVE_DB_PASSWORD}}@{host}"\n'
        f'table = "predictions"\nwindow = "1d"{flag}'
    )
    deployed = (
        f'url = "{server}/v2/models/missing"\nprotocol = "kserve-v2"\n'
        f'headers = {{ Authorization = "Bearer ${{LIVE_TOKEN}}" }}{flag}'
    )
    _project(pytester, models, deployed, serving)
    result = pytester.runpytest(
        "--ml-score",
        "--ml-score-report=json:r.json",
        "--ml-score-report=markdown:r.md",
        *SELECTED,
    )
    out = result.stdout.str() + result.stderr.str()
    assert "[tool.mltestscore.datasets.serving]: postgresql://mlts:***@" in out
    assert "password authentication failed" in out
    assert "/v2/models/missing" in out and "not on this server" in out
    written = ("r.json", "r.md", ".mltestscore/history.sqlite")
    if optional:
        assert result.ret == 0, out
        assert set(_outcomes(pytester.path / "r.json").values()) == {"skipped"}
        assert all((pytester.path / f).is_file() for f in written)
    else:
        assert result.ret == pytest.ExitCode.USAGE_ERROR, out
        assert not any((pytester.path / f).exists() for f in written)
    for secret in ("pg-Secret-9f3", "tok-Secret-7a1"):
        assert secret not in out
        for file in written:
            path = pytester.path / file
            assert not path.exists() or secret.encode() not in path.read_bytes(), file


def test_deployed_model_stands_where_a_model_does(
    pytester: pytest.Pytester, models: dict[str, Any], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``default`` model itself at an endpoint: monitor-5's in-process check runs on it."""
    monkeypatch.setenv("MLTESTSCORE_TODAY", DAY)
    _serving_log(pytester.path / "serving.sqlite", models["X"])
    pytester.makepyprojecttoml(
        f"""
[tool.mltestscore.models.default]
{_kserve(server, "same")}
features = {json.dumps(FEATURES)}

[tool.mltestscore.datasets.serving]
{SQLITE_SERVING}
id = "request_id"
timestamp = "served_at"
"""
    )
    result = pytester.runpytest("--ml-score", "-k", "monitor-5 or infra-6", "-rs", "-v")
    result.stdout.fnmatch_lines(
        [
            "*infra-6::canary SKIPPED*",
            "*monitor-5::numerical-stability PASSED*",
            "*model 'default' is called at an endpoint; this check needs an artifact file*",
        ]
    )
