"""data-7 (feature code coverage) and monitor-1 (dependency lock and change detection)."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as md
import inspect
import json
import platform
import sys

import pytest
from infra_fixtures.penguins import FEATURES, fit_forest, fit_logistic, penguins

from pytest_mltestscore.checks.data.coverage import (
    feature_code_coverage,
    merge_reports,
    start_coverage,
    stop_and_report,
)
from pytest_mltestscore.checks.monitor.dependencies import dependency_changes, freeze_dependencies
from pytest_mltestscore.loading import save_model_artifact

FEATURE_MODULE = "infra_fixtures.feature_code"

# --- data-7 --------------------------------------------------------------------------------


def _body_statement_lines(fn) -> set[int]:
    """Lines of the statements in a function's body, docstring excluded (what coverage counts)."""
    source, start = inspect.getsourcelines(fn)
    node = ast.parse("".join(source)).body[0]
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    lines = set()
    for stmt in body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.stmt):
                lines.add(sub.lineno + start - 1)
    return lines


@pytest.fixture
def fresh_coverage():
    coverage = pytest.importorskip("coverage")
    if coverage.Coverage.current() is not None:
        pytest.skip("a coverage run is already active in this process")


def _measure(calls, preimport: bool):
    if not preimport:
        sys.modules.pop(FEATURE_MODULE, None)
    else:
        importlib.import_module(FEATURE_MODULE)
    handle = start_coverage([FEATURE_MODULE])
    try:
        module = importlib.import_module(FEATURE_MODULE)
        for name, arg in calls:
            getattr(module, name)(arg)
    finally:
        report = stop_and_report(handle)
    return module, report


@pytest.mark.parametrize("preimport", [False, True], ids=["fresh-import", "imported-before"])
def test_untested_feature_code_is_caught(fresh_coverage, preimport):
    module, report = _measure([("bill_ratio", penguins())], preimport)
    mc = report[FEATURE_MODULE]
    untested = _body_statement_lines(module.body_condition) | _body_statement_lines(
        module.island_code
    )
    assert mc.missed == len(untested) == 6
    missing = set()
    for part in mc.missing_lines.split(", "):
        lo, _, hi = part.partition("-")
        missing.update(range(int(lo), int(hi or lo) + 1))
    assert missing == untested
    assert mc.percent == pytest.approx(100 * (mc.statements - 6) / mc.statements)

    result = feature_code_coverage(report, min_coverage=90)
    assert result.verdict == "fail"
    row = result.table.rows[0]
    assert row[0] == FEATURE_MODULE and row[2] == 6
    assert FEATURE_MODULE in result.summary
    assert feature_code_coverage(report, min_coverage=50).verdict == "pass"


def test_fully_tested_feature_code_passes(fresh_coverage):
    df = penguins()
    _, report = _measure(
        [
            ("bill_ratio", df),
            ("body_condition", df),
            ("island_code", "Dream"),
            ("island_code", "Atlantis"),
        ],
        preimport=False,
    )
    assert report[FEATURE_MODULE].missed == 0
    result = feature_code_coverage(report, min_coverage=100)
    assert result.verdict == "pass"
    assert result.metrics["percent"] == 100.0


def test_reports_from_two_processes_merge(fresh_coverage):
    """Like two xdist workers: each ran a different function; together they cover both."""
    df = penguins()
    _, first = _measure([("bill_ratio", df), ("body_condition", df)], preimport=False)
    module, second = _measure([("island_code", "Dream"), ("island_code", "Atlantis")], False)
    assert first[FEATURE_MODULE].missing == tuple(sorted(_body_statement_lines(module.island_code)))
    merged = merge_reports([first, second])[FEATURE_MODULE]
    assert merged.missed == 0 and merged.percent == 100.0
    assert merged.statements == first[FEATURE_MODULE].statements


def test_coverage_arguments_are_checked(fresh_coverage):
    with pytest.raises(ValueError, match="non-empty list"):
        start_coverage("infra_fixtures.feature_code")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be found"):
        start_coverage(["infra_fixtures.no_such_features"])


# --- monitor-1 -----------------------------------------------------------------------------


@pytest.fixture
def frozen(tmp_path):
    df = penguins()
    csv = tmp_path / "training.csv"
    df.to_csv(csv, index=False)
    parquet = tmp_path / "serving.parquet"
    df[FEATURES].to_parquet(parquet)
    model = save_model_artifact(fit_forest(df, 0), tmp_path / "model.skops")
    lock_path = tmp_path / "mltestscore-deps.lock.json"
    assets = {
        "datasets": {"training": csv, "serving": parquet},
        "model_artifacts": {"default": model},
    }
    lock = freeze_dependencies(["infra_fixtures.pipeline"], path=lock_path, **assets)
    return lock_path, lock, assets


def test_lock_pins_what_the_model_code_imports(frozen):
    lock_path, lock, _ = frozen
    on_disk = json.loads(lock_path.read_text())
    assert on_disk == json.loads(json.dumps(lock))
    # infra_fixtures/pipeline.py imports numpy, pandas, palmerpenguins and sklearn.
    for dist in ("numpy", "pandas", "palmerpenguins", "scikit-learn"):
        assert lock["packages"][dist] == md.version(dist)
    assert lock["imports"]["sklearn"] == ["scikit-learn"]
    assert "__future__" not in lock["imports"] and "collections" not in lock["imports"]
    assert lock["python"] == platform.python_version()
    assert lock["datasets"]["training"]["columns"]["body_mass_g"] == "float64"
    assert lock["datasets"]["serving"]["columns"]["body_mass_g"] == "double"
    assert lock["artifacts"]["default"]["bytes"] > 0


def test_no_change_passes(frozen):
    lock_path, _, assets = frozen
    result = dependency_changes(lock_path, **assets)
    assert result.verdict == "pass", result.message()


def test_upgraded_and_missing_packages_are_listed(frozen):
    lock_path, lock, assets = frozen
    lock["packages"]["scikit-learn"] = "1.0.2"
    lock["packages"]["numpy"] = "99.0.0"
    lock["packages"]["long-gone-dependency"] = "0.3.1"
    lock_path.write_text(json.dumps(lock))
    result = dependency_changes(lock_path, **assets)
    assert result.verdict == "fail"
    rows = {r[1]: r for r in result.table.rows}
    assert rows["scikit-learn"] == (
        "package",
        "scikit-learn",
        "1.0.2",
        md.version("scikit-learn"),
        "upgraded",
    )
    assert rows["numpy"][-1] == "downgraded"
    assert rows["long-gone-dependency"][-1] == "not installed"
    assert "--ml-score-freeze-deps" in result.summary


def test_python_minor_version_change_is_a_change(frozen):
    lock_path, lock, _ = frozen
    lock["python"] = "3.8.18"
    lock_path.write_text(json.dumps(lock))
    result = dependency_changes(lock_path)
    assert result.verdict == "fail"
    assert ("python", "python", "3.8.18", platform.python_version(), "changed") in (
        result.table.rows
    )
    assert any("dataset schemas in the lock were not compared" in n for n in result.notes)


def test_new_import_in_model_code_is_listed(tmp_path, monkeypatch):
    code = tmp_path / "churn_model_code.py"
    code.write_text("import numpy as np\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lock_path = tmp_path / "lock.json"
    freeze_dependencies(["churn_model_code"], path=lock_path)
    assert dependency_changes(lock_path).verdict == "pass"
    code.write_text("import numpy as np\nfrom scipy import stats\nimport json\n")
    result = dependency_changes(lock_path)
    assert result.verdict == "fail"
    assert result.table.rows == (("package", "scipy", None, md.version("scipy"), "new import"),)


def test_dataset_schema_and_artifact_changes(frozen):
    lock_path, _, assets = frozen
    df = penguins().rename(columns={"sex": "gender"})
    df["body_mass_g"] = df["body_mass_g"].map(lambda g: f"{g:.0f} g")
    df.to_csv(assets["datasets"]["training"], index=False)
    serving = penguins()[FEATURES]
    serving["year_seen"] = 2026
    serving.to_parquet(assets["datasets"]["serving"])
    save_model_artifact(fit_logistic(penguins(), 0), assets["model_artifacts"]["default"])
    result = dependency_changes(lock_path, **assets)
    assert result.verdict == "fail"
    changes = {(r[1], r[-1]) for r in result.table.rows}
    assert changes == {
        ("training.sex", "column removed"),
        ("training.gender", "column added"),
        ("training.body_mass_g", "type changed"),
        ("serving.year_seen", "column added"),
        ("default", "file changed"),
    }


def test_reordered_columns_change_the_fingerprint(frozen):
    lock_path, _, assets = frozen
    df = penguins()
    df[list(reversed(df.columns))].to_csv(assets["datasets"]["training"], index=False)
    result = dependency_changes(lock_path, **assets)
    assert result.verdict == "fail"
    assert [r[-1] for r in result.table.rows] == ["column order changed"]


def test_missing_or_broken_lock_says_how_to_fix(tmp_path):
    # nothing frozen yet: nothing to compare against, not judged (never a pass, never a fail)
    missing = dependency_changes(tmp_path / "none.json")
    assert missing.verdict == "skip"
    assert "pytest --ml-score-freeze-deps" in missing.summary
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert dependency_changes(broken).verdict == "fail"
    assert "not valid JSON" in dependency_changes(broken).summary
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"lock_version": 0}))
    assert "unknown format" in dependency_changes(old).summary


def test_freeze_validates_arguments(tmp_path):
    with pytest.raises(ValueError, match="list of module names"):
        freeze_dependencies("infra_fixtures.pipeline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be found"):
        freeze_dependencies(["no_such_model_code_xy"])
    with pytest.raises(ValueError, match="not found"):
        freeze_dependencies([], model_artifacts={"default": tmp_path / "nope.skops"})
