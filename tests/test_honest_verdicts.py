"""Honest verdicts (issue 13): a check that cannot judge says so, the gate decides the build,
configuration that cannot work stops at once, existing suites are scored through a map, and the
history keeps whole runs only. Real pytest runs, serial and under pytest-xdist."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_MIN, ML_SCORE_REPORT

pytest.importorskip("palmerpenguins")
pytest.importorskip("sklearn")

SERIAL_AND_XDIST = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])

ASSETS = """
import numpy as np
import palmerpenguins

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]

def _penguins():
    df = palmerpenguins.load_penguins().dropna().reset_index(drop=True)
    df["bird"] = range(len(df))
    return df

def training():
    return _penguins().iloc[::2].reset_index(drop=True)

def validation():
    return _penguins().iloc[1::4].reset_index(drop=True)

def serving():
    return _penguins().iloc[3::4].reset_index(drop=True)

def serving_new_island():
    df = serving()
    df.loc[:6, "island"] = "Anvers"   # an island the model never saw
    return df

def numpy_model():
    # fitted on a bare array: it cannot take a frame that also holds island and sex
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    df = training()
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(
        df[NUMERIC].to_numpy(), df["species"]
    )

def strict_pipeline():
    # takes the training islands, raises on one it never saw
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    df = training()
    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="error"), ["island"]), (StandardScaler(), NUMERIC)
    )
    return make_pipeline(pre, LogisticRegression()).fit(df[["island", *NUMERIC]], df["species"])

def fit_numpy(data, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(
        data[NUMERIC].to_numpy(), data["species"]
    )
"""


def _project(pytester: pytest.Pytester, config: str) -> pytest.Pytester:
    pytester.makepyfile(penguin_verdicts=ASSETS)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\npythonpath = ["."]\n' + config)
    return pytester


def _items(path: Path) -> dict[str, dict]:
    report = json.loads(path.read_text())
    return {i["id"]: i for s in report["sections"] for i in s["items"]}


REJECTING = """
[tool.mltestscore]
history = false
slices = ["island"]
protected = ["sex"]
[tool.mltestscore.models.default]
load = "penguin_verdicts:numpy_model"
created = 2026-11-01
[tool.mltestscore.datasets.training]
load = "penguin_verdicts:training"
target = "species"
id = "bird"
[tool.mltestscore.datasets.validation]
load = "penguin_verdicts:validation"
target = "species"
id = "bird"
[tool.mltestscore.datasets.serving]
load = "penguin_verdicts:serving"
target = "species"
id = "bird"
[tool.mltestscore.training]
fit = "penguin_verdicts:fit_numpy"
[tool.mltestscore.checks.infra-4]
threshold = 0.8
[tool.mltestscore.checks.monitor-4]
max_age_days = 365
[tool.mltestscore.checks.monitor-7]
min_rows = 10
"""

NEEDS_THE_MODEL = [
    "data-2",
    "data-3",
    "model-5",
    "model-6",
    "model-7",
    "infra-1",
    "infra-3",
    "infra-4",
    "monitor-5",
    "monitor-7",
]


@SERIAL_AND_XDIST
def test_a_model_that_cannot_take_the_data_is_not_judged(pytester, workers):
    """One explanation; every check that feeds the model is skipped with a one-line reason;
    no check claims numerical problems or fails because it could not run."""
    p = _project(pytester, REJECTING)
    result = p.runpytest_subprocess(ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", "-rs", *workers)
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "failed" not in result.parseoutcomes()
    assert out.count("---- models that cannot take their data ----") == 1
    assert out.count("could not convert string to float") >= 1
    assert "numerical problem" not in out and "internal error" not in out
    assert "save a scikit-learn Pipeline that includes the preprocessing" in out
    items = _items(p.path / "r.json")
    for item in NEEDS_THE_MODEL:
        tests = items[item]["tests"]
        assert tests and all(t["outcome"] == "skipped" for t in tests), (item, tests)
        # the check that feeds the local model says why; a deployment check beside it (monitor-5
        # also judges a deployed model) is not judged for want of its own configuration
        reasons = [t["message"] for t in tests]
        assert any("cannot take the columns" in r for r in reasons), (item, reasons)
        assert all("cannot take the columns" in r or "deployed" in r for r in reasons), reasons
        assert items[item]["status"] == "missing"


STRICT_ON_NEW_ISLANDS = """
[tool.mltestscore]
history = false
[tool.mltestscore.models.default]
load = "penguin_verdicts:strict_pipeline"
[tool.mltestscore.datasets.training]
load = "penguin_verdicts:training"
target = "species"
id = "bird"
[tool.mltestscore.datasets.serving]
load = "penguin_verdicts:serving_new_island"
target = "species"
id = "bird"
[tool.mltestscore.checks.monitor-7]
min_rows = 10
"""


def test_a_model_that_fails_only_on_serving_rows_fails_the_serving_items(pytester):
    """It takes the training rows (its trial passes): raising on serving rows is a finding."""
    p = _project(pytester, STRICT_ON_NEW_ISLANDS)
    result = p.runpytest(ML_SCORE, "-k", "monitor-5 or monitor-7")
    out = result.stdout.str()
    assert result.ret == 1
    # monitor-5's deployment check has no deployed model here: not judged
    result.assert_outcomes(failed=2, skipped=1, deselected=result.parseoutcomes()["deselected"])
    assert "the model raised on 2 calls" in out  # predict and predict_proba on serving rows
    assert "Found unknown categories ['Anvers']" in out
    assert "rows 0, 1, 2, 3, 4, ... (7 of" in out  # the rows that raise are named
    assert "models that cannot take their data" not in out


GATED = """
[tool.mltestscore]
history = false
min_score = 0.0
[tool.mltestscore.models.default]
load = "penguin_verdicts:strict_pipeline"
[tool.mltestscore.datasets.training]
load = "penguin_verdicts:training"
target = "species"
id = "bird"
[tool.mltestscore.checks.data-4]
forbidden_features = ["island"]
"""


@pytest.mark.parametrize(
    ("extra", "args", "test_body", "ret"),
    [
        pytest.param("", [], "pass", 0, id="gate-met"),  # a non-blocking finding: the gate decides
        pytest.param("", ["-n", "2"], "pass", 0, id="gate-met-xdist"),
        pytest.param("blocking = true\n", [], "pass", 1, id="blocking"),  # this one blocks
        pytest.param("blocking = true\n", ["-n", "2"], "pass", 1, id="blocking-xdist"),
        pytest.param("", [f"{ML_SCORE_MIN}=1"], "pass", 1, id="gate-missed"),
        pytest.param("", [], "assert False", 1, id="user-test-fails"),
    ],
)
def test_the_gate_decides_the_build(pytester, extra, args, test_body, ret):
    p = _project(pytester, GATED + extra)
    p.makepyfile(test_mine=f"def test_mine():\n    {test_body}\n")
    run = p.runpytest_subprocess if "-n" in args else p.runpytest
    result = run(ML_SCORE, "-k", "data-4 or mine", *args)
    out = result.stdout.str()
    assert result.ret == ret, out
    assert "mltestscore::data-4::feature-policy" in out  # listed as failed whatever the exit
    if ret == 0:
        assert "1 built-in check(s) failed: they cost their points but do not fail the run" in out


def test_without_a_gate_a_failing_builtin_check_fails_the_run(pytester):
    p = _project(pytester, GATED.replace("min_score = 0.0\n", ""))
    result = p.runpytest(ML_SCORE, "-k", "data-4")
    assert result.ret == 1
    result.assert_outcomes(failed=1, deselected=result.parseoutcomes()["deselected"])


def test_blocking_for_every_check(pytester):
    p = _project(pytester, GATED.replace("min_score = 0.0\n", "min_score = 0.0\nblocking = true\n"))
    assert p.runpytest(ML_SCORE, "-k", "data-4").ret == 1


SUITE = """
import pytest

class TestSchema:
    def test_columns(self): pass
    def test_ranges(self): pass

@pytest.mark.parametrize("n", [1, 2])
def test_model_beats_baseline(n): pass

def test_model_is_slow(): assert False

def test_unrelated(): pass
"""

MARKED = """
import pytest

@pytest.mark.rubric("data-1")
class TestSchema:
    def test_columns(self): pass
    def test_ranges(self): pass

@pytest.mark.rubric("model-5")
@pytest.mark.parametrize("n", [1, 2])
def test_model_beats_baseline(n): pass

@pytest.mark.rubric("monitor-6")
def test_model_is_slow(): assert False

def test_unrelated(): pass
"""

MAP = """
[tool.mltestscore]
history = false
[tool.mltestscore.map]
"test_suite.py::TestSchema" = "data-1"
"test_suite.py::test_model_beats*" = ["Model 5"]
"test_suite.py::test_model_is_slow" = "monitor-6"
"tests/integration/*.py" = "infra-3"
"""


@SERIAL_AND_XDIST
def test_a_mapped_suite_scores_like_the_same_suite_marked(pytester, workers):
    pytester.makepyprojecttoml("[tool.mltestscore]\nhistory = false\n")
    pytester.makepyfile(test_suite=MARKED)
    pytester.runpytest_subprocess(ML_SCORE, f"{ML_SCORE_REPORT}=json:marked.json", *workers)
    pytester.makepyprojecttoml(MAP)
    pytester.makepyfile(test_suite=SUITE)
    mapped = pytester.runpytest_subprocess(
        ML_SCORE,
        f"{ML_SCORE_REPORT}=json:mapped.json",
        f"{ML_SCORE_REPORT}=markdown:mapped.md",
        *workers,
    )
    marked_items = _items(pytester.path / "marked.json")
    mapped_items = _items(pytester.path / "mapped.json")
    assert {i: v["status"] for i, v in mapped_items.items()} == {
        i: v["status"] for i, v in marked_items.items()
    }
    assert mapped_items["data-1"]["status"] == "automated"
    assert mapped_items["monitor-6"]["status"] == "failing"
    assert [t["nodeid"] for t in mapped_items["model-5"]["tests"]] == [
        "test_suite.py::test_model_beats_baseline[1]",
        "test_suite.py::test_model_beats_baseline[2]",
    ]
    assert all(t["via"] == "map" for t in mapped_items["model-5"]["tests"])
    assert all(t["via"] == "marker" for t in marked_items["model-5"]["tests"])
    out = mapped.stdout.str()
    markdown = (pytester.path / "mapped.md").read_text()
    assert "| 2 passed (2 by map) |" in markdown  # the evidence says how it was earned
    # a pattern that matches no collected test is reported
    assert "[tool.mltestscore.map] 'tests/integration/*.py' matches no collected test" in out


def test_marker_and_map_merge(pytester):
    pytester.makepyprojecttoml(
        '[tool.mltestscore]\nhistory = false\n[tool.mltestscore.map]\n"test_m.py" = "data-2"\n'
    )
    pytester.makepyfile(
        test_m='import pytest\n@pytest.mark.rubric("data-2", "data-3")\ndef test_a(): pass\n'
    )
    pytester.runpytest(ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json")
    items = _items(pytester.path / "r.json")
    assert items["data-2"]["tests"][0]["via"] == "marker+map"
    assert items["data-3"]["tests"][0]["via"] == "marker"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[tool.mltestscore.map]\n"test_*.py" = "modle-5"\n',
            "map] test_*.py: unknown rubric id 'modle-5'",
        ),
        ('[tool.mltestscore.map]\n"test_*.py" = []\n', "expected a rubric id or a non-empty array"),
    ],
)
def test_a_bad_map_is_a_usage_error(pytester, config, message):
    pytester.makepyprojecttoml(config)
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


DATASETS = """
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.training]
load = "penguin_verdicts:training"
target = "species"
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[tool.mltestscore.datasets.serving]\npath = "logs/servng/*.csv"\n',
            "[tool.mltestscore.datasets.serving] path = 'logs/servng/*.csv': no file matches",
        ),
        (
            '[tool.mltestscore.models.default]\npath = "models/modle.skops"\n',
            "[tool.mltestscore.models.default] path = ",
        ),
        (
            '[tool.mltestscore.models.default]\npath = "broken.skops"\n',
            "[tool.mltestscore.models.default]",
        ),
        (
            '[tool.mltestscore.models.default]\nload = "no_such_module:build"\n',
            "[tool.mltestscore.models.default] load = 'no_such_module:build'",
        ),
        (
            '[tool.mltestscore.training]\nfit = "penguin_verdicts:no_such_fit"\n',
            "[tool.mltestscore.training] fit = 'penguin_verdicts:no_such_fit'",
        ),
        (
            "[tool.mltestscore.checks.data-7]\nmin_coverage = 10\n",
            "'no_such_features' cannot be found",
        ),
    ],
    ids=[
        "dataset-glob",
        "model-missing",
        "model-unreadable",
        "load-import",
        "fit-import",
        "feature-module",
    ],
)
def test_configuration_that_cannot_work_stops_at_once(pytester, extra, message):
    top = 'feature_modules = ["no_such_features"]\n' if "no_such_features" in message else ""
    p = _project(pytester, DATASETS.replace("history = false\n", "history = false\n" + top) + extra)
    (p.path / "broken.skops").write_bytes(b"not a zip archive at all" * 10)
    p.makepyfile(test_x="def test_x(): pass\n")
    result = p.runpytest(ML_SCORE)
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    assert "configuration that cannot work" in err and message in err, err
    assert err.count(message) == 1  # once, not once per check
    assert "test_x" not in result.stdout.str() and "Traceback" not in err
    # stopped before collection: no dataset was read, no check and no test ran
    assert "collected" not in result.stdout.str() and "mltestscore::" not in result.stdout.str()


def test_configuration_that_cannot_work_stops_at_once_under_xdist(pytester):
    """The controller reports it once, before any worker starts."""
    p = _project(pytester, DATASETS + '[tool.mltestscore.datasets.serving]\npath = "nope/*.csv"\n')
    p.makepyfile(test_x="def test_x(): pass\n")
    result = p.runpytest_subprocess(ML_SCORE, "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert err.count("path = 'nope/*.csv': no file matches") == 1
    assert "INTERNALERROR" not in err and "bringing up nodes" not in result.stdout.str()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[tool.mltestscore.models.default]\npath = "broken.skops"\n',
            "[tool.mltestscore.models.default]",
        ),
        (
            '[tool.mltestscore.training]\nfit = "penguin_verdicts:no_such_fit"\n',
            "[tool.mltestscore.training] fit = 'penguin_verdicts:no_such_fit'",
        ),
        (
            '[tool.mltestscore.checks.model-3]\nfactory = "penguin_verdicts:no_such_factory"\n'
            "search_space = { C = [1.0] }\n",
            "[tool.mltestscore.checks.model-3] factory: ",
        ),
    ],
    ids=["model-unreadable", "fit-import", "factory-import"],
)
def test_what_takes_imports_is_checked_while_xdist_workers_start(pytester, extra, message):
    """Loading models and importing user code is checked by the first xdist worker, before it
    collects; a problem still stops the run before any test, once, as a usage error."""
    p = _project(pytester, DATASETS + extra)
    (p.path / "broken.skops").write_bytes(b"not a zip archive at all" * 10)
    p.makepyfile(test_x="def test_x(): pass\n")
    result = p.runpytest_subprocess(ML_SCORE, "-n", "2")
    err, out = result.stderr.str(), result.stdout.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, out + err
    assert "configuration that cannot work" in err and err.count(message) == 1, err
    assert "INTERNALERROR" not in err + out and "Traceback" not in err + out
    assert "passed" not in out and "test_x" not in out  # no test ran


CONTROLLER_MODULES = """
import json
import sys


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):  # the xdist controller
        heavy = ("sklearn", "skops", "penguin_verdicts")
        with open("controller_modules.json", "w") as fh:
            json.dump([m for m in heavy if m in sys.modules], fh)
"""


def test_under_xdist_a_worker_checks_what_takes_imports_and_the_controller_imports_none(
    pytester,
):
    """The models load and the user code imports in a worker's main thread, once per session
    (the other workers read its answer); the controller, which runs no test, imports neither
    scikit-learn, skops nor the project's code, and the run goes on as serially."""
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression

    p = _project(
        pytester,
        DATASETS
        + '[tool.mltestscore.models.default]\npath = "model.skops"\n'
        + '[tool.mltestscore.training]\nfit = "penguin_verdicts:fit_numpy"\n',
    )
    skops_io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), p.path / "model.skops")
    p.makeconftest(CONTROLLER_MODULES)
    p.makepyfile(test_x="def test_x(): pass\n")
    result = p.runpytest_subprocess(ML_SCORE, "-n", "2", "-k", "test_x or data-5")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert result.parseoutcomes()["passed"] >= 1
    assert json.loads((p.path / "controller_modules.json").read_text()) == []


SIGNALS = """
import signal

signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # only the main thread may do this


def make(C=1.0):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    pre = make_column_transformer((StandardScaler(), numeric))
    return make_pipeline(pre, LogisticRegression(C=C, max_iter=1000))
"""


def test_user_code_that_imports_only_in_the_main_thread_is_not_a_problem_under_xdist(pytester):
    """User code that can only be imported in the main thread (it installs a signal handler) is
    imported by the worker that checks the configuration, in its main thread."""
    p = _project(
        pytester,
        DATASETS
        + '[tool.mltestscore.checks.model-3]\nfactory = "signals_factory:make"\n'
        + "search_space = { C = [0.1, 1.0] }\n",
    )
    p.makepyfile(signals_factory=SIGNALS, test_x="def test_x(): pass\n")
    result = p.runpytest_subprocess(
        ML_SCORE, "-n", "2", "-k", "test_x or model-3", f"{ML_SCORE_REPORT}=json:r.json"
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert result.parseoutcomes()["passed"] == 2  # test_x, and model-3 judged the search
    assert _items(p.path / "r.json")["model-3"]["status"] == "automated"


def test_an_optional_dataset_that_has_not_arrived_is_not_judged(pytester):
    p = _project(
        pytester,
        DATASETS
        + '[tool.mltestscore.datasets.serving]\npath = "logs/today/*.csv"\noptional = true\n',
    )
    assert p.runpytest("--ml-score-freeze-schema").ret == 0
    result = p.runpytest(ML_SCORE, "-rs", "-k", "monitor-2 or monitor-3 or data-1")
    assert result.ret == 0
    # monitor-2 and monitor-3 wait for the serving data; monitor-3's deployment check for a
    # deployed model
    result.assert_outcomes(passed=1, skipped=3, deselected=result.parseoutcomes()["deselected"])
    result.stdout.fnmatch_lines(
        ["*dataset 'serving' is optional and not available: *logs/today/*.csv*no file matches*"]
    )


def test_freezing_the_schema_from_an_optional_dataset_that_has_not_arrived_is_a_usage_error(
    pytester,
):
    p = _project(
        pytester,
        "[tool.mltestscore]\nhistory = false\n[tool.mltestscore.datasets.training]\n"
        'path = "exports/*.csv"\noptional = true\n',
    )
    result = p.runpytest("--ml-score-freeze-schema")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "Traceback" not in err and "INTERNALERROR" not in err
    result.stderr.fnmatch_lines(
        [
            "*--ml-score-freeze-schema: dataset 'training' is optional and not available: *"
            "exports/*.csv*no file matches*"
        ]
    )
    assert not (p.path / "mltestscore-schema.json").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[tool.mltestscore.checks.data-2]\nmetric = "acuracy"\n',
            "unknown value 'acuracy'; did you mean 'accuracy'?",
        ),
        (
            '[tool.mltestscore.checks.infra-4]\nmetric = "f2"\n',
            "checks.infra-4] metric: unknown value 'f2'",
        ),
        (
            '[tool.mltestscore.checks.model-2]\ndirection = "up"\n',
            "checks.model-2] direction: unknown value 'up'",
        ),
        (
            '[tool.mltestscore.checks.model-2]\ndataset = "experiments"\n',
            "no dataset 'experiments' is configured",
        ),
        ('[tool.mltestscore.checks.monitor-6]\nclock = "tsc"\n', "expected one of: wall, cpu"),
        (
            "[tool.mltestscore.checks.model-6]\nmin_slice_size = 99999999999999999999\n",
            "min_slice_size: expected a whole number from 1 to 2147483647",
        ),
        (
            '[tool.mltestscore.checks.model-3]\nfactory = "nowhere:make"\n',
            "checks.model-3] factory: ",
        ),
        (
            "[tool.mltestscore.checks.model-3]\nsearch_space = { C = [] }\n",
            "search_space: C: expected a non-empty array",
        ),
        (
            '[tool.mltestscore.checks.model-3]\nracing = "yes"\n',
            "[tool.mltestscore.checks.model-3] racing: expected true or false",
        ),
        (
            '[tool.mltestscore.checks.model-5]\nmargin = 0.1\n[tool.mltestscore.checks."Model 5"]\nmargin = 0.2\n',
            "a second table for model-5",
        ),
        (
            '[tool.mltestscore]\npush_url = "http://"\n',
            "push_url: expected an http:// or https:// URL with a host",
        ),
        (
            '[tool.mltestscore]\nhistory_url = "sqlite:///"\n',
            "history_url: history URL 'sqlite:///'",
        ),
        ('[tool.mltestscore]\nhistory = "."\n', "history: "),
    ],
)
def test_every_parameter_is_validated_at_start(pytester, config, message):
    pytester.makepyfile(penguin_verdicts=ASSETS)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n'
        + DATASETS.replace("[tool.mltestscore]\nhistory = false\n", "")
        + config
    )
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert message in result.stderr.str(), result.stderr.str()
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("value", ["http://", "", "ftp://gateway:9091", "http://host:port"])
def test_a_malformed_push_url_on_the_command_line_is_a_usage_error(pytester, value):
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = pytester.runpytest(f"--ml-score-push={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--ml-score-push" in result.stderr.str()


def _runs(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM mlts_runs").fetchone()[0])


PARTIAL = """
import pytest
@pytest.mark.rubric("data-1")
def test_a(): pass
@pytest.mark.rubric("data-2")
@pytest.mark.slow
def test_b(): pass
"""
PARTIAL_CONFIG = (
    '[tool.pytest.ini_options]\nmarkers = ["slow"]\n[tool.mltestscore]\nhistory = "h.sqlite"\n'
)


def test_partial_runs_leave_the_history_unchanged(pytester):
    pytester.makepyprojecttoml(PARTIAL_CONFIG)
    pytester.makepyfile(test_s=PARTIAL)
    assert pytester.runpytest(ML_SCORE).ret == 0
    db = pytester.path / "h.sqlite"
    assert _runs(db) == 1
    for args in (
        ["-k", "test_a"],
        ["-m", "not slow"],
        ["--deselect", "test_s.py::test_b"],
        ["test_s.py::test_a"],
    ):
        part = pytester.runpytest(ML_SCORE, *args)
        assert part.ret == 0
        part.stdout.fnmatch_lines(["*history: this run is not stored, nor pushed: a partial run*"])
    pytester.makepyfile(test_t="def test_fails(): assert False\ndef test_other(): pass\n")
    stopped = pytester.runpytest(ML_SCORE, "-x")
    stopped.stdout.fnmatch_lines(["*not stored*the session stopped early*"])
    last_failed = pytester.runpytest(ML_SCORE, "--lf")
    last_failed.stdout.fnmatch_lines(["*not stored*--lf*"])
    assert _runs(db) == 1  # the -k, -m, --deselect, node id, -x and --lf runs were not stored
    pytester.runpytest(ML_SCORE)
    assert _runs(db) == 2


def test_partial_runs_leave_the_history_unchanged_under_xdist(pytester):
    pytester.makepyprojecttoml(PARTIAL_CONFIG)
    pytester.makepyfile(test_s=PARTIAL)
    pytester.runpytest_subprocess(ML_SCORE, "-n", "2")
    db = pytester.path / "h.sqlite"
    assert _runs(db) == 1
    part = pytester.runpytest_subprocess(ML_SCORE, "-n", "2", "-k", "test_a")
    part.stdout.fnmatch_lines(["*not stored*1 test(s) deselected*"])
    pytester.makepyfile(test_t="def test_fails(): assert False\n")
    stopped = pytester.runpytest_subprocess(ML_SCORE, "-n", "2", "-x")
    stopped.stdout.fnmatch_lines(["*not stored*"])
    assert _runs(db) == 1


@SERIAL_AND_XDIST
def test_a_copy_of_the_history_file_holds_every_run(pytester, workers, tmp_path):
    """CI caches the one SQLite file: at the end of every session the log is folded back."""
    pytester.makepyprojecttoml('[tool.mltestscore]\nhistory = "h.sqlite"\n')
    pytester.makepyfile(
        test_m="""
        import pytest
        @pytest.mark.rubric("monitor-6")
        @pytest.mark.parametrize("n", range(4))
        def test_timing(ml_history, n):
            ml_history.record("seconds", 1.0 + n, case=n)
            ml_history.series("seconds", case=n)  # reads the store in the worker too
        """
    )
    for n in (1, 2):
        pytester.runpytest_subprocess(ML_SCORE, "-p", "no:cacheprovider", *workers)
        copy = tmp_path / f"copy{n}.sqlite"
        copy.write_bytes((pytester.path / "h.sqlite").read_bytes())  # the one file, as cached
        assert _runs(copy) == n
        with sqlite3.connect(copy) as conn:
            assert conn.execute("SELECT count(*) FROM mlts_metrics").fetchone()[0] == 4 * n


WALK = """
[tool.mltestscore]
history = "h.sqlite"
slices = ["island"]
protected = ["sex"]
[tool.mltestscore.models.default]
load = "penguin_verdicts:numpy_model"
[tool.mltestscore.models.previous]
load = "penguin_verdicts:numpy_model"
[tool.mltestscore.datasets.training]
load = "penguin_verdicts:training"
[tool.mltestscore.datasets.serving]
load = "penguin_verdicts:serving"
[tool.mltestscore.training]
fit = "penguin_verdicts:fit_numpy"
"""
# Without the model's help and without a target, id or timestamp, only these can judge.
NEED_NEITHER_MODEL_NOR_LABELS = {"data-5", "monitor-3"}
TO_CONFIGURE = (
    "[tool.mltestscore",
    "configure",
    "set ",
    "--ml-score-freeze",
    "cannot take the columns",
    "created = ",
    "needs at least",
    " = ...)",
)


def test_walk_every_check_with_a_rejecting_model_and_no_optional_columns(pytester):
    """No check passes on what it did not judge, none fails because it could not run, and
    every reason names what to configure."""
    from pytest_mltestscore.registry import all_checks

    p = _project(pytester, WALK)
    result = p.runpytest(ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", "-rs")
    assert result.ret == 0, result.stdout.str()
    items = _items(p.path / "r.json")
    seen = set()
    for check in all_checks():
        tests = [
            t for t in items[check.rubric_id]["tests"] if t["nodeid"].startswith("mltestscore::")
        ]
        mine = [t for t in tests if t["nodeid"].endswith(f"::{check.name}")]
        assert mine, f"{check.rubric_id} {check.name} was not collected"
        [entry] = mine
        seen.add(check.rubric_id)
        assert entry["outcome"] in ("passed", "skipped"), (check.rubric_id, entry)
        if entry["outcome"] == "passed":
            assert check.rubric_id in NEED_NEITHER_MODEL_NOR_LABELS, (check.rubric_id, entry)
        else:
            reason = entry.get("message") or ""
            assert any(k in reason for k in TO_CONFIGURE), (check.rubric_id, reason)
    assert len(seen) == len({c.rubric_id for c in all_checks()})


FEATURE_COST = """
[tool.mltestscore]
history = false
[tool.mltestscore.models.default]
load = "penguin_verdicts:strict_pipeline"
[tool.mltestscore.datasets.training]
load = "penguin_verdicts:training"
target = "species"
id = "bird"
[tool.mltestscore.datasets.validation]
load = "penguin_verdicts:validation"
target = "species"
id = "bird"
[tool.mltestscore.checks.data-3]
pipelines = {{ body_mass_g = "{path}" }}
"""


def test_data_3_times_the_feature_code_it_is_given(pytester):
    """A feature whose code is declared is timed with it: slow code for little gain is flagged."""
    p = _project(pytester, FEATURE_COST.format(path="slow_features:body_mass"))
    p.makepyfile(
        slow_features="""
        import time
        def body_mass(frame):
            time.sleep(0.05)  # an upstream lookup, say
            return frame["body_mass_g"]
        """
    )
    result = p.runpytest(ML_SCORE, "-k", "data-3", "-rA")
    out = result.stdout.str()
    assert "1 feature pipeline(s) timed" in out, out
    assert "body_mass_g" in out
    bad = _project(pytester, FEATURE_COST.format(path="slow_features:no_such_function"))
    refused = bad.runpytest(ML_SCORE)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert "checks.data-3] pipelines: body_mass_g: " in refused.stderr.str()


TUNING = (
    DATASETS
    + """[tool.mltestscore.checks.model-3]
factory = "tuned:make"
params = { C = 1.0 }
search_space = { C = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0] }
{racing}
"""
)


@pytest.mark.parametrize("racing", ["", "racing = true", "racing = false"])
def test_model_3_races_unless_configured_not_to(pytester, racing):
    """The configured ``racing`` reaches the check: racing by default, the full search with
    ``racing = false``; the verdict is the same either way."""
    p = _project(pytester, TUNING.replace("{racing}", racing))
    p.makepyfile(
        tuned="""
        from sklearn.compose import make_column_transformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]

        def make(C=1.0):
            scale = make_column_transformer((StandardScaler(), NUMERIC))
            return make_pipeline(scale, LogisticRegression(C=C, max_iter=1000))
        """
    )
    result = p.runpytest(ML_SCORE, "-k", "model-3", f"{ML_SCORE_REPORT}=json:r.json")
    assert result.ret == 0, result.stdout.str()
    [entry] = _items(p.path / "r.json")["model-3"]["tests"]
    check = entry["check"]
    assert check["verdict"] == "pass", check["summary"]
    assert check["metrics"]["full_search_fits"] == 18  # 6 values of C x 3 folds
    if racing == "racing = false":
        assert "6 candidates: shipped" in check["summary"]
        assert check["metrics"]["fits"] == 18
        assert not any("racing" in note for note in check["notes"])
    else:
        assert "6 candidates raced over the folds" in check["summary"]
        assert check["metrics"]["fits"] < 18
        assert any(note.startswith("racing over the 3 folds") for note in check["notes"])
