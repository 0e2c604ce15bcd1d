"""Assets from config, lazy fixtures, and built-in checks collected as pytest items."""

from __future__ import annotations

import json

import pytest

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_FREEZE_SCHEMA

pytest.importorskip("palmerpenguins")
pytest.importorskip("sklearn")

DATA = """
import numpy as np
import palmerpenguins

def _penguins():
    return palmerpenguins.load_penguins().dropna().reset_index(drop=True)

def training():
    return _penguins().iloc[::2].reset_index(drop=True)

def serving():
    return _penguins().iloc[1::2].reset_index(drop=True)

def broken_serving():
    df = serving()
    df["bill_length_mm"] = df["bill_length_mm"] * 10   # a unit change upstream
    df["island"] = df["island"].where(df.index % 5 != 0, "Atlantis")
    return df.drop(columns=["sex"])

def not_a_frame():
    return [1, 2, 3]

def model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    df = training()
    X = df[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, df["species"])

def previous_model():
    # an older model on fewer features: checks must give each model its own columns
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    df = training()
    X = df[["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, df["species"])

def with_ids(frame, start):
    frame = frame.copy()
    frame["rid"] = range(start, start + len(frame))
    return frame

def training_ids():
    return with_ids(training(), 0)

def serving_ids():
    return with_ids(serving(), 10_000)   # new requests: no id is also in training

def exploding():
    raise RuntimeError("registry unreachable")
"""

CONFIG = """
[tool.pytest.ini_options]
pythonpath = ["."]

[tool.mltestscore.models.default]
load = "penguin_assets:model"

[tool.mltestscore.datasets.training]
load = "penguin_assets:training"
target = "species"

[tool.mltestscore.datasets.serving]
load = "penguin_assets:{serving}"
target = "species"
"""


@pytest.fixture
def project(pytester: pytest.Pytester):
    def make(serving: str = "serving", extra: str = "") -> pytest.Pytester:
        pytester.makepyfile(penguin_assets=DATA)
        pytester.makepyprojecttoml(CONFIG.format(serving=serving) + extra)
        return pytester

    return make


def test_fixtures_load_configured_assets(project):
    p = project()
    p.makepyfile(
        """
        def test_assets(ml_model, ml_models, ml_datasets, training_data, serving_data, ml_config):
            assert list(ml_models) == ["default"] and ml_models["default"] is ml_model
            assert sorted(ml_datasets) == ["serving", "training"]
            assert ml_datasets["training"] is training_data
            assert len(training_data) + len(serving_data) == 333
            X = serving_data[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]]
            assert (ml_model.predict(X) == serving_data["species"]).mean() > 0.9
            assert ml_config.datasets["training"].target == "species"
        """
    )
    result = p.runpytest()  # fixtures work without --ml-score (passive mode)
    result.assert_outcomes(passed=1)


def test_missing_asset_fails_the_test_that_uses_it(pytester):
    pytester.makepyfile(
        """
        def test_needs_model(ml_model): pass
        def test_other(): pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert "no model 'default' is configured: add [tool.mltestscore.models.default]" in out
    assert "During handling" not in out and "Traceback" not in out


def test_loader_errors_name_the_key(project):
    p = project(
        serving="exploding",
        extra='[tool.mltestscore.datasets.other]\nload = "penguin_assets:not_a_frame"\n',
    )
    p.makepyfile(
        """
        def test_serving(serving_data): pass
        def test_other(ml_datasets): ml_datasets["other"]
        """
    )
    result = p.runpytest()
    result.assert_outcomes(errors=1, failed=1)
    out = result.stdout.str()
    assert (
        "[tool.mltestscore.datasets.serving] load = 'penguin_assets:exploding': calling it "
        "raised RuntimeError: registry unreachable" in out
    )
    assert (
        "[tool.mltestscore.datasets.other] load = 'penguin_assets:not_a_frame': returned list, "
        "expected a pandas DataFrame" in out
    )


def test_freeze_schema_then_checks_pass(project):
    p = project()
    result = p.runpytest(ML_SCORE_FREEZE_SCHEMA)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "wrote the schema of 7 features, inferred from 167 training rows, to *mltestscore-schema.json"
        ]
    )
    assert "collected" not in result.stdout.str()  # no test session ran
    schema = json.loads((p.path / "mltestscore-schema.json").read_text())
    assert schema["features"]["island"]["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert "species" not in schema["features"]  # the target is not a feature

    result = p.runpytest(ML_SCORE, "-v", "--ml-score-report=json:r.json")
    result.stdout.fnmatch_lines(
        [
            "mltestscore::data-1::schema PASSED*",
            "mltestscore::monitor-2::serving-invariants PASSED*",
        ]
    )
    report = json.loads((p.path / "r.json").read_text())
    items = {i["id"]: i for s in report["sections"] for i in s["items"]}
    assert items["data-1"]["status"] == "automated"
    assert [(t["nodeid"], t["outcome"]) for t in items["monitor-2"]["tests"]] == [
        ("mltestscore::monitor-2::serving-invariants", "passed")
    ]


def test_broken_serving_data_fails_monitor_2_with_a_table(project):
    p = project(serving="broken_serving")
    assert p.runpytest(ML_SCORE_FREEZE_SCHEMA).ret == 0
    result = p.runpytest(ML_SCORE, "-k", "monitor-2")
    assert result.parseoutcomes()["failed"] == 1
    out = result.stdout.str()
    assert "Traceback" not in out
    result.stdout.fnmatch_lines(
        [
            "*monitor-2 serving data against mltestscore-schema.json: FAIL*",
            "*column*rule*expected*observed*rows*examples*",
        ]
    )
    assert "sex" in out and "missing" in out
    assert "Atlantis" in out
    assert "bill_length_mm" in out and "out of range" in out


def test_without_schema_file_data_1_is_not_judged_with_how_to(project):
    """A schema not yet frozen is nothing to check against: not judged, never failed."""
    p = project()
    result = p.runpytest(ML_SCORE, "-k", "data-1", "-rs")
    assert result.ret == 0
    assert result.parseoutcomes()["skipped"] == 1
    result.stdout.fnmatch_lines(
        [
            "*no schema file at *mltestscore-schema.json; create it from the training data with `pytest --ml-score-freeze-schema`*"
        ]
    )


def test_builtin_checks_skip_when_assets_missing(pytester):
    pytester.makepyprojecttoml('[tool.mltestscore.models.default]\nload = "os:getcwd"\n')
    result = pytester.runpytest(ML_SCORE, "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes["skipped"] >= 10
    # monitor-1 needs no asset, only its lock file: not judged until it is frozen, saying how
    assert "failed" not in outcomes and "passed" not in outcomes
    assert "--ml-score-freeze-deps" in result.stdout.str()
    assert (
        "no dataset 'training' configured ([tool.mltestscore.datasets.training])"
        in result.stdout.str()
    )


def test_no_builtin_checks_without_assets_or_ml_score(project, pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    result.assert_outcomes(passed=1)  # zero config: nothing but the user's tests
    p = project()
    result = p.runpytest()  # passive: no built-in checks collected
    result.assert_outcomes(passed=1)


def test_checks_can_be_disabled_and_tuned(project):
    p = project(
        extra="[tool.mltestscore.checks.monitor-2]\nenabled = false\n[tool.mltestscore.checks.data-1]\nsigmas = 8\n"
    )
    p.runpytest(ML_SCORE_FREEZE_SCHEMA)
    result = p.runpytest(ML_SCORE, "--collect-only", "-q")
    assert "mltestscore::data-1::schema" in result.stdout.str()
    assert "monitor-2" not in result.stdout.str()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "[tool.mltestscore.checks.monitor-2]\nsigma = 3\n",
            "*checks.monitor-2] sigma: unknown key; did you mean 'sigmas'?*",
        ),
        (
            "[tool.mltestscore.checks.monitor-2]\nsigmas = -1\n",
            "*checks.monitor-2] sigmas: expected a number of at least 0.5, got -1*",
        ),
        (
            "[tool.mltestscore.checks.model-1]\nenabled = false\n",
            "*checks] model-1: has no built-in check; built-in checks exist for: *",
        ),
        ("[tool.mltestscore.checks.modle-5]\n", "*checks] modle-5: is not a rubric id*"),
        (
            "[tool.mltestscore.models.previous]\npath = 'a.skops'\nload = 'x:y'\n",
            "*models.previous] load: give exactly one of 'load'*",
        ),
        (
            "[tool.mltestscore.models.previous]\nload = 'nocolon'\n",
            "*models.previous] load: expected an import path 'package.module:callable'*",
        ),
        (
            "[tool.mltestscore.datasets.extra]\npath = 'x.csv'\nformat = 'xlsx'\n",
            "*datasets.extra] format: expected one of csv, parquet, jsonl*",
        ),
        (
            "[tool.mltestscore.datasets.extra]\npath = 'x.csv'\nfeatures = 'a'\n",
            "*datasets.extra] features: expected an array of non-empty strings*",
        ),
        (
            "[tool.mltestscore.datasets.extra]\npath = 'x.csv'\ntarget = 'y'\nfeatures = ['y']\n",
            "*y is also named as target*",
        ),
        (
            "[tool.mltestscore.datasets.extra]\npaht = 'x.csv'\n",
            "*datasets.extra] paht: unknown key; did you mean 'path'?*",
        ),
        (
            "[tool.mltestscore.models.default2]\nload = 'a:b'\ncreated = '2026-01-01'\n",
            "*created: expected a TOML date or datetime such as 2026-10-01 (write it unquoted)*",
        ),
    ],
)
def test_asset_config_errors_are_usage_errors(project, extra, message):
    p = project(extra=extra)
    result = p.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message.strip("*") in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_builtin_checks_run_under_xdist(project):
    pytest.importorskip("xdist")
    p = project(serving="broken_serving")
    p.runpytest(ML_SCORE_FREEZE_SCHEMA)
    p.runpytest(ML_SCORE, "-n", "2", "--ml-score-report=json:r.json")
    report = json.loads((p.path / "r.json").read_text())
    items = {i["id"]: i["status"] for s in report["sections"] for i in s["items"]}
    assert items["data-1"] == "automated" and items["monitor-2"] == "failing"


def test_gate_gives_each_model_its_own_columns(project):
    p = project(
        extra='[tool.mltestscore.models.previous]\nload = "penguin_assets:previous_model"\n'
        '[tool.mltestscore.datasets.validation]\nload = "penguin_assets:serving"\ntarget = "species"\n'
    )
    result = p.runpytest(ML_SCORE, "-k", "infra-4", "-v")
    result.stdout.fnmatch_lines(["mltestscore::infra-4::validation-gate PASSED*"])


def test_skew_without_shared_ids_compares_distributions(pytester):
    pytester.makepyfile(penguin_assets=DATA)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n[tool.mltestscore]\nhistory = false\n'
        '[tool.mltestscore.datasets.training]\nload = "penguin_assets:training_ids"\nid = "rid"\ntarget = "species"\n'
        '[tool.mltestscore.datasets.serving]\nload = "penguin_assets:serving_ids"\nid = "rid"\ntarget = "species"\n'
    )
    result = pytester.runpytest(ML_SCORE, "-k", "monitor-3", "-v")
    result.stdout.fnmatch_lines(["mltestscore::monitor-3::training-serving-skew PASSED*"])


def test_explicit_node_selection_runs_only_that_test(project):
    p = project()
    p.makepyfile(test_one="def test_a(): pass")
    result = p.runpytest(ML_SCORE, "test_one.py::test_a")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("online", "outcome"), [("tracks", "PASSED"), ("reversed", "FAILED")])
def test_model_2_from_an_experiment_log(pytester, online, outcome):
    # eight past model versions: offline validation AUC and the online metric they reached
    offline = [0.71, 0.74, 0.75, 0.78, 0.80, 0.81, 0.83, 0.86]
    ctr = [0.020, 0.021, 0.023, 0.022, 0.025, 0.026, 0.027, 0.029]
    if online == "reversed":
        ctr = ctr[::-1]
    rows = "\n".join(f"v{i},{a},{c}" for i, (a, c) in enumerate(zip(offline, ctr, strict=True)))
    pytester.makefile(".csv", experiments="version,auc,ctr\n" + rows + "\n")
    pytester.makepyprojecttoml(
        "[tool.mltestscore]\nhistory = false\n"
        '[tool.mltestscore.datasets.experiments]\npath = "experiments.csv"\n'
        '[tool.mltestscore.checks.model-2]\ndataset = "experiments"\noffline = "auc"\nonline = "ctr"\n'
    )
    result = pytester.runpytest(ML_SCORE, "-k", "model-2", "-v")
    result.stdout.fnmatch_lines([f"mltestscore::model-2::offline-online-correlation {outcome}*"])
