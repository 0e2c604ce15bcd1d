"""State and components through the plugin: run history, ml_history, --ml-score-history,
monitor-6 against history, SLO windows over delayed labels, Prometheus, data-7, monitor-1."""

from __future__ import annotations

import json
import sqlite3
import urllib.request

import pytest

from pytest_mltestscore.options import (
    ML_SCORE,
    ML_SCORE_FREEZE_DEPS,
    ML_SCORE_HISTORY,
    ML_SCORE_PUSH,
    ML_SCORE_REPORT,
)

pytest.importorskip("sklearn")
pytest.importorskip("palmerpenguins")

ASSETS = '''
import os, time
import numpy as np
import palmerpenguins
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

NUM = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]

def _p():
    return palmerpenguins.load_penguins().dropna().reset_index(drop=True)

def serving():
    return _p()

class Slowed:
    """The same model, made slow on purpose (as a regression in serving code would)."""
    def __init__(self, model, delay):
        self.model, self.delay = model, delay
        self.feature_names_in_ = model.feature_names_in_
        self.classes_ = model.classes_
    def predict(self, X):
        time.sleep(self.delay)
        return self.model.predict(X)

def model():
    df = _p()
    m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(df[NUM], df["species"])
    delay = float(os.environ.get("PENGUIN_DELAY", "0"))
    return Slowed(m, delay) if delay else m
'''


@pytest.fixture
def project(pytester):
    pytester.makepyfile(penguin_state=ASSETS)

    def make(extra: str = "") -> pytest.Pytester:
        pytester.makepyprojecttoml(
            """
[tool.pytest.ini_options]
pythonpath = ["."]
[tool.mltestscore.models.default]
load = "penguin_state:model"
[tool.mltestscore.datasets.serving]
load = "penguin_state:serving"
target = "species"
[tool.mltestscore.checks.data-5]
enabled = false
"""
            + extra
        )
        return pytester

    return make


def _report(p: pytest.Pytester, name: str = "r.json") -> dict:
    return json.loads((p.path / name).read_text())


def test_history_is_appended_and_shown(project):
    p = project()
    p.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("model-1")
        def test_review(ml_history):
            ml_history.record("review_minutes", 42, reviewer="ana")
        """
    )
    first = p.runpytest(ML_SCORE, "-k", "review", f"{ML_SCORE_REPORT}=json:r.json")
    first.stdout.fnmatch_lines(
        ["history: run 1 stored in *history.sqlite*score trend, last 1 run(s): 0.0"]
    )
    assert _report(p)["history"]["run_id"] == 1
    p.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("model-1")
        def test_review(ml_history):
            assert ml_history.series("review_minutes", reviewer="ana") == [42.0]
            ml_history.record("review_minutes", 40, reviewer="ana")
        @pytest.mark.rubric("model-2")
        def test_new(): assert False
        """
    )
    second = p.runpytest(ML_SCORE, "-k", "review or new", f"{ML_SCORE_REPORT}=json:r.json")
    second.stdout.fnmatch_lines(
        ["history: run 2 stored*", "changed since the previous run: model-2 missing -> failing"]
    )
    assert _report(p)["history"]["changes"] == [
        {"item": "model-2", "previous": "missing", "current": "failing"}
    ]
    db = p.path / ".mltestscore" / "history.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    table = p.runpytest(ML_SCORE_HISTORY)
    assert table.ret == 0
    table.stdout.fnmatch_lines(
        ["ML Test Score history*newest first*", "run*created*score*", "2 *", "1 *"]
    )
    assert "collected" not in table.stdout.str()


def test_history_can_be_turned_off_and_errors_do_not_fail_the_run(project):
    p = project("[tool.mltestscore]\nhistory = false\n")
    p.makepyfile("def test_x(): pass")
    result = p.runpytest(ML_SCORE, "-k", "test_x")
    assert result.ret == 0
    assert not (p.path / ".mltestscore").exists()
    assert p.runpytest(ML_SCORE_HISTORY).ret == pytest.ExitCode.USAGE_ERROR
    # a corrupt history file: the run's own result is unaffected, the reason is printed
    p2 = project('[tool.mltestscore]\nhistory = "h.sqlite"\n')
    (p2.path / "h.sqlite").write_bytes(b"this is not a database" * 100)
    result = p2.runpytest(ML_SCORE, "-k", "test_x")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["run history not written: *h.sqlite*"])


def test_monitor_6_flags_a_model_slowed_on_purpose(project, monkeypatch):
    p = project("[tool.mltestscore.checks.monitor-6]\nmin_history = 3\nsample = 200\n")
    args = (ML_SCORE, "-k", "monitor-6", f"{ML_SCORE_REPORT}=json:r.json", "-rs")
    first = p.runpytest(*args)
    first.stdout.fnmatch_lines(["*needs at least 3 earlier run(s)*"])  # skipped: no history yet
    for _ in range(3):  # history of the normal model (verdicts on steady series: unit tests)
        p.runpytest(*args)
    monkeypatch.setenv("PENGUIN_DELAY", "0.05")  # every predict call now takes 50 ms more
    slow = p.runpytest(*args)
    assert slow.ret == 1
    slow.stdout.fnmatch_lines(["*FAIL: performance regressed: latency_*(dramatic regression)*"])

    # The slowdown is accepted (a bigger model): from the day after, compare only with runs
    # since then. The runs before are left out, so the check waits for new history...
    monkeypatch.setenv("MLTESTSCORE_TODAY", "2100-01-02")
    p = project(
        "[tool.mltestscore.checks.monitor-6]\nmin_history = 2\nsample = 200\n"
        "baseline_since = 2100-01-02\n"
    )
    accepted = p.runpytest(*args)
    assert accepted.ret == 0
    accepted.stdout.fnmatch_lines(["*needs at least 2 earlier run(s)*"])
    p.runpytest(*args)
    p.runpytest(*args)
    # ...and then judges the slow model against its own runs: steady, no regression
    steady = p.runpytest(*args)
    assert steady.ret == 0, steady.stdout.str()
    items = {i["id"]: i for s in _report(p)["sections"] for i in s["items"]}
    assert items["monitor-6"]["status"] == "automated"


SLO_ASSETS = """
import numpy as np
import pandas as pd

def _frames(recall_drop):
    rng = np.random.default_rng(0)
    n = 900
    served = pd.Timestamp("2026-07-01", tz="UTC") + pd.to_timedelta(np.arange(n) * 2, unit="h")
    target = rng.integers(0, 2, n)
    pred = target.copy()
    late = served > pd.Timestamp("2026-08-01", tz="UTC")
    flip = (target == 1) & late & (rng.random(n) < recall_drop)
    pred[flip] = 0
    preds = pd.DataFrame({"rid": np.arange(n), "served_at": served, "pred": pred})
    arrival = served + pd.to_timedelta(rng.integers(1, 72, n), unit="h")   # labels arrive later
    labels = pd.DataFrame({"rid": np.arange(n), "label": target, "arrived": arrival})
    return preds, labels

def good_predictions(): return _frames(0.0)[0]
def good_labels(): return _frames(0.0)[1]
def bad_predictions(): return _frames(0.5)[0]
def bad_labels(): return _frames(0.5)[1]
"""


def _slo_project(pytester: pytest.Pytester, kind: str) -> str:
    """Write the SLO assets; the pyproject.toml text of a recall SLO over their ``kind`` data."""
    pytester.makepyfile(slo_assets=SLO_ASSETS)
    return f"""
[tool.pytest.ini_options]
pythonpath = ["."]
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.predictions]
load = "slo_assets:{kind}_predictions"
id = "rid"
timestamp = "served_at"
prediction = "pred"
[tool.mltestscore.datasets.labels]
load = "slo_assets:{kind}_labels"
id = "rid"
target = "label"
timestamp = "arrived"
[tool.mltestscore.slo.recall]
metric = "recall"
min = 0.9
window = "30d"
min_labels = 100
"""


@pytest.mark.parametrize(("kind", "ret"), [("good", 0), ("bad", 1)])
def test_slo_over_delayed_labels(pytester, kind, ret):
    pytester.makepyprojecttoml(_slo_project(pytester, kind))
    result = pytester.runpytest(ML_SCORE, "-k", "slo", "-v")
    assert result.ret == ret
    result.stdout.fnmatch_lines(
        [f"mltestscore::monitor-7::slo-recall {'PASSED' if ret == 0 else 'FAILED'}*"]
    )
    if kind == "bad":
        assert "2026-08" in result.stdout.str() or "2026-09" in result.stdout.str()


def test_slo_config_errors(pytester):
    pytester.makepyprojecttoml(
        '[tool.mltestscore.slo.recall]\nmetric = "recall"\nwindow = "30 days"\nmin = 0.9\n'
    )
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "slo.recall" in result.stderr.str()
    pytester.makepyprojecttoml('[tool.mltestscore.slo.recall]\nmetric = "recall"\n')
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "give min, max or both" in result.stderr.str()


def test_prometheus_report_parses(project):
    parser = pytest.importorskip("prometheus_client.parser")
    p = project()
    p.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("data-1")
        def test_x(ml_history): ml_history.record("rows_seen", 333, dataset="serving")
        """
    )
    p.runpytest(ML_SCORE, "-k", "test_x", f"{ML_SCORE_REPORT}=prometheus:out/m.prom")
    families = {
        f.name: f
        for f in parser.text_string_to_metric_families((p.path / "out" / "m.prom").read_text())
    }
    assert families["mltestscore_score"].samples[0].value == 0.0
    sections = {s.labels["section"]: s.value for s in families["mltestscore_section_score"].samples}
    assert sections == {"data": 1.0, "model": 0.0, "infra": 0.0, "monitor": 0.0}
    recorded = [
        s for f in families.values() for s in f.samples if s.labels.get("dataset") == "serving"
    ]
    assert [s.value for s in recorded] == [333.0]


def test_push_to_pushgateway(project):
    from _servers import pushgateway_url

    url = pushgateway_url()
    p = project()
    p.makepyfile("import pytest\n@pytest.mark.rubric('infra-2')\ndef test_x(): pass\n")
    result = p.runpytest(f"{ML_SCORE_PUSH}={url}", "-k", "test_x")
    result.stdout.fnmatch_lines([f"pushed the score to the Pushgateway at {url}"])
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert 'mltestscore_section_score{instance="",job="mltestscore",section="infra"} 1' in text


def test_push_to_unreachable_gateway_is_reported(project):
    p = project()
    p.makepyfile("def test_x(): pass")
    result = p.runpytest(f"{ML_SCORE_PUSH}=http://127.0.0.1:9", "-k", "test_x")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["could not push to the Pushgateway: *127.0.0.1:9*"])


FEATURES = """
def ratio(a, b):
    return a / b if b else 0.0

def never_tested(x):
    y = x * 2
    z = y + 1
    return z
"""


def _data_7_project(pytester: pytest.Pytester, workers: list[str]) -> None:
    """A feature module and a config asking 70% line coverage of it (data-7)."""
    if workers:
        pytest.importorskip("xdist")
    pytest.importorskip("coverage")
    pytester.makepyfile(my_features=FEATURES)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n'
        '[tool.mltestscore]\nhistory = false\nfeature_modules = ["my_features"]\n'
        "[tool.mltestscore.checks.data-7]\nmin_coverage = 70\n"
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_data_7_feature_coverage(pytester, workers):
    _data_7_project(pytester, workers)
    pytester.makepyfile(
        test_f="""
        import my_features
        def test_ratio(): assert my_features.ratio(1, 2) == 0.5
        def test_zero(): assert my_features.ratio(1, 0) == 0.0
        """
    )
    # in a subprocess: coverage's C tracer cannot be re-imported after pytester's in-process
    # runs restore sys.modules, and this is how users run it anyway
    result = pytester.runpytest_subprocess(ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", *workers)
    assert result.ret == 1  # never_tested() leaves the module under 70%
    # reported as an item: counted by pytest, its table in the failures section
    result.stdout.fnmatch_lines(
        ["*_ data-7 feature-coverage _*", "*FAIL*", "*", "*", "my_features*"]
    )
    assert "1 failed, 2 passed" in result.stdout.str()
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "failing"
    pytester.makepyfile(
        test_g="import my_features\ndef test_more(): assert my_features.never_tested(1) == 3\n"
    )
    result = pytester.runpytest_subprocess(ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", *workers)
    assert result.ret == 0
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "automated"
    assert [(t["nodeid"], t["outcome"]) for t in items["data-7"]["tests"]] == [
        ("mltestscore::data-7::feature-coverage", "passed")
    ]
    (judged,) = items["data-7"]["tests"]
    assert judged["check"]["verdict"] == "pass"  # the session judge's result, in the JSON too


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_data_7_counts_only_what_the_suites_tests_run(pytester, workers):
    """Feature code that only the plugin runs (a dataset's load callable, read by the built-in
    checks and cached for the session) is not tested by the suite: data-7 does not count it."""
    _data_7_project(pytester, workers)
    pytester.makepyfile(
        my_data="""
        import pandas as pd
        import my_features

        def training():
            rows = [my_features.never_tested(i) for i in range(40)]
            notes = [f"bird {i} measured at dawn" for i in range(40)]
            return pd.DataFrame({"x": rows, "note": notes, "y": [i % 2 for i in range(40)]})
        """,
        test_f="""
        import my_features
        def test_ratio(): assert my_features.ratio(1, 2) == 0.5
        def test_zero(): assert my_features.ratio(1, 0) == 0.0
        """,
    )
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.mltestscore.datasets.training]\nload = "my_data:training"\ntarget = "y"\n'
    )
    result = pytester.runpytest_subprocess(
        ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", "-rA", *workers
    )
    outcomes = {
        t["nodeid"]: t["outcome"]
        for s in _report(pytester)["sections"]
        for i in s["items"]
        for t in i["tests"]
    }
    # the training frame was built (never_tested ran) by at least one check that passed
    assert outcomes["mltestscore::data-5::privacy"] == "passed", result.stdout.str()
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "failing", result.stdout.str()
    result.stdout.fnmatch_lines(["*_ data-7 feature-coverage _*", "*", "*", "*", "my_features*5-7"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_data_7_is_not_judged_on_a_partial_run(pytester, workers):
    """-k and -x measure less feature code than the suite covers: skipped, never failed."""
    _data_7_project(pytester, workers)
    pytester.makepyfile(
        test_f="""
        import my_features
        def test_ratio(): assert my_features.ratio(1, 2) == 0.5
        def test_zero(): assert my_features.ratio(1, 0) == 0.0
        def test_more(): assert my_features.never_tested(1) == 3
        """
    )
    full = pytester.runpytest_subprocess(ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", *workers)
    assert full.ret == 0
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "automated"
    # the same suite without test_more would leave the module under 70%: not judged
    part = pytester.runpytest_subprocess(
        ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", "-k", "not test_more", "-rs", *workers
    )
    assert part.ret == 0
    part.stdout.fnmatch_lines(
        ["*data-7 feature-coverage: not judged: a partial run (1 test(s) deselected*"]
    )
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "missing"
    assert [(t["nodeid"], t["outcome"]) for t in items["data-7"]["tests"]] == [
        ("mltestscore::data-7::feature-coverage", "skipped")
    ]
    assert (
        "not judged: a partial run (1 test(s) deselected" in items["data-7"]["tests"][0]["message"]
    )
    # a session stopped at its first failure is partial too
    pytester.makepyfile(test_e="def test_early(): assert False\n")
    stopped = pytester.runpytest_subprocess(
        ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", "-x", "-rs", *workers
    )
    # xdist reports the stop as an interruption
    assert stopped.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "missing"
    # its item comes last: not reached when the session stops (as pytest leaves any test), or,
    # when a worker reached it first, not judged with the reason; never passed or failed
    if items["data-7"]["tests"]:
        assert items["data-7"]["tests"][0]["outcome"] == "skipped"
        stopped.stdout.fnmatch_lines(
            ["*data-7 feature-coverage: not judged: a partial run (the session stopped early*"]
        )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_data_7_is_not_judged_where_coverage_cannot_start(pytester, workers):
    """The processes that run tests measure coverage (not the xdist controller): when they
    cannot, the controller learns why and data-7 is not judged, never failed at 0%."""
    _data_7_project(pytester, workers)
    pytester.makepyfile(
        # shadows coverage.py on the project's python path, as an environment without it would
        coverage="raise ImportError('No module named coverage')\n",
        test_f="import my_features\ndef test_ratio(): assert my_features.ratio(1, 2) == 0.5\n",
    )
    result = pytester.runpytest_subprocess(
        ML_SCORE, f"{ML_SCORE_REPORT}=json:r.json", "-rs", *workers
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*data-7 feature-coverage: not judged: coverage was not measured*"]
    )
    items = {i["id"]: i for s in _report(pytester)["sections"] for i in s["items"]}
    assert items["data-7"]["status"] == "missing"


def test_monitor_1_dependency_lock(project):
    p = project(
        '[tool.mltestscore]\nhistory = false\n[tool.mltestscore.datasets.training]\npath = "train.csv"\n'
    )
    (p.path / "train.csv").write_text("a,b\n1,2\n3,4\n")
    # nothing frozen yet: not judged, with the command that freezes it
    missing = p.runpytest(ML_SCORE, "-k", "monitor-1", "-rs")
    assert missing.ret == 0
    missing.assert_outcomes(skipped=1, deselected=missing.parseoutcomes()["deselected"])
    assert "not judged: no dependency lock" in missing.stdout.str()
    assert "--ml-score-freeze-deps" in missing.stdout.str()
    frozen = p.runpytest(ML_SCORE_FREEZE_DEPS)
    assert frozen.ret == 0
    frozen.stdout.fnmatch_lines(["wrote the dependency lock to *mltestscore-deps.lock.json*"])
    lock = json.loads((p.path / "mltestscore-deps.lock.json").read_text())
    assert "scikit-learn" in json.dumps(lock)
    assert p.runpytest(ML_SCORE, "-k", "monitor-1").ret == 0
    (p.path / "train.csv").write_text("a,b,c\n1,2,x\n3,4,y\n")  # upstream added a column
    changed = p.runpytest(ML_SCORE, "-k", "monitor-1")
    assert changed.ret == 1
    assert "training" in changed.stdout.str()


def test_drift_against_the_previous_runs_serving_profile(project, tmp_path):
    """The serving profile stored by one run is the reference of the next (stateful drift)."""
    p = project(
        '[tool.mltestscore.datasets.training]\nload = "penguin_state:serving"\ntarget = "species"\n'
    )
    assert p.runpytest("--ml-score-freeze-schema").ret == 0
    p.runpytest(ML_SCORE, "-k", "monitor-2")  # stores today's serving profile
    p.makepyfile(
        test_history_drift="""
        import pytest
        from pytest_mltestscore import checks
        from pytest_mltestscore.profiles import profile_frame

        @pytest.mark.rubric("monitor-2")
        @pytest.mark.parametrize("scale", [1.0, 1000.0])
        def test_serving_vs_last_run(ml_history, serving_data, scale):
            earlier = ml_history.profiles("serving", limit=1)
            assert len(earlier) == 1
            now = serving_data.copy()
            now["body_mass_g"] = now["body_mass_g"] / scale   # 1000: grams became kilograms
            cols = list(earlier[-1].columns)
            checks.check_drift(earlier[-1], profile_frame(now[cols], reference=earlier[-1]))
        """
    )
    result = p.runpytest(ML_SCORE, "-k", "serving_vs_last_run")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_serving_vs_last_run?1000.0?*", "*drifted (body_mass_g)*"])


def test_slo_min_support_is_read_and_validated(pytester):
    """min_support reaches the check (a floor above any window's positives: unknown, skipped)
    and a bad value is a usage error naming the file, the key and what was expected."""
    head = _slo_project(pytester, "good")
    # 12 predictions a day, half of them positive: a 30-day window holds about 180 positives
    pytester.makepyprojecttoml(head + "min_support = 1000\n")
    result = pytester.runpytest(ML_SCORE, "-k", "slo", "-v", "-rs")
    result.stdout.fnmatch_lines(
        [
            "mltestscore::monitor-7::slo-recall SKIPPED*",
            "*no window could be judged*",
        ]
    )
    assert "positives < min_support 1000" in result.stdout.str()
    for bad, shown in (("0", "0"), ('"30"', "the string '30'"), ("2.5", "2.5")):
        pytester.makepyprojecttoml(head + f"min_support = {bad}\n")
        result = pytester.runpytest(ML_SCORE)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"*pyproject.toml: [[]tool.mltestscore.slo.recall[]] min_support: expected a whole"
                f" number of at least 1, got {shown}*"
            ]
        )


def test_monitor_6_baseline_since_must_be_a_toml_date(project):
    p = project('[tool.mltestscore.checks.monitor-6]\nbaseline_since = "last week"\n')
    result = p.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "[tool.mltestscore.checks.monitor-6] baseline_since: expected a TOML date or datetime "
        "such as 2026-10-01 (write it unquoted)" in result.stderr.str()
    )
