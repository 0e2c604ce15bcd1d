"""The example projects run end to end, as a user runs them, and score what their READMEs say.

Each example runs in a fresh ``python -m pytest`` process with its own pyproject.toml as
pytest's configuration (never this repository's addopts), and its JSON report is read back.
The expected statuses come from the example's README table, so the documentation and the real
run cannot drift apart; the exact failing and missing sets are also spelled out here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import validate_report

pytest.importorskip("sklearn")
pytest.importorskip("skops")
pytest.importorskip("palmerpenguins")
pytest.importorskip("coverage")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
TIMEOUT = 900

# Settings of the calling session that must not leak into an example's own run.
_DROPPED_ENV = ("PYTEST_", "MLTESTSCORE_", "PENGUINS_", "TWEETS_", "COV_CORE_")


@dataclass
class Finished:
    args: list[str]
    cwd: Path
    returncode: int
    output: str
    report: dict[str, Any] | None

    def items(self) -> dict[str, dict[str, Any]]:
        assert self.report is not None, self.output[-3000:]
        return {i["id"]: i for s in self.report["sections"] for i in s["items"]}

    def statuses(self, status: str) -> set[str]:
        return {i for i, item in self.items().items() if item["status"] == status}

    def sections(self) -> dict[str, float]:
        assert self.report is not None, self.output[-3000:]
        return {s["id"]: s["score"] for s in self.report["sections"]}


class Run:
    """One example run in a subprocess, started at once so that several run side by side."""

    def __init__(
        self, example: str, report: Path, *, inside: bool = False, env: dict[str, str] | None = None
    ) -> None:
        self.report = report
        self.log = report.with_suffix(".log")
        self.cwd = EXAMPLES / example if inside else REPO
        target = [] if inside else [str(Path("examples") / example)]
        self.args = [
            sys.executable,
            "-m",
            "pytest",
            *target,
            "-p",
            "no:cacheprovider",
            f"--ml-score-report=json:{report}",
            "--ml-score-report=term",
            "-rfEs",
        ]
        environ = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}
        environ.update(PYTHONDONTWRITEBYTECODE="1", COLUMNS="200", NO_COLOR="1", **(env or {}))
        # Output goes to a file, not a pipe: a full pipe would stall a run nobody reads yet.
        with self.log.open("w", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                self.args, cwd=self.cwd, env=environ, stdout=log, stderr=subprocess.STDOUT
            )
        self._finished: Finished | None = None

    def result(self) -> Finished:
        if self._finished is None:
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.stop()
                output = self.log.read_text(encoding="utf-8")
                pytest.fail(f"{' '.join(self.args)} timed out after {TIMEOUT} s:\n{output[-3000:]}")
            output = self.log.read_text(encoding="utf-8")
            report = json.loads(self.report.read_text()) if self.report.exists() else None
            self._finished = Finished(self.args, self.cwd, self.proc.returncode, output, report)
        return self._finished

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Runs:
    """The example runs by name, each started on first use (or all at once, see ``runs``)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: dict[str, Run] = {}

    def start(self, name: str) -> Run:
        if name not in self.started:
            example, _, day = name.partition(" ")
            report = self.tmp / f"{example}-{day or 'run'}.json"
            if day == "bad":  # from inside the example directory, the other way to invoke it
                self.started[name] = Run(example, report, inside=True, env={"PENGUINS_DAY": "bad"})
            elif example == "tweet_source" and day:
                self.started[name] = Run(example, report, env={"TWEETS_DAY": day})
            else:
                self.started[name] = Run(example, report)
        return self.started[name]

    def __getitem__(self, name: str) -> Run:
        return self.start(name)


#: Test name prefix -> the run its tests read.
RUN_OF_TEST = {
    "test_penguins_good_day": "penguins good",
    "test_penguins_bad_day": "penguins bad",
    "test_diabetes": "diabetes_regression",
    "test_tweets_clean_day": "tweet_source",
    "test_tweets_other_period": "tweet_source later",
    "test_tweets_truncated": "tweet_source truncated",
}


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The runs the selected tests need start at once and share the machine; under
    pytest-xdist each worker starts a run when the first of its tests needs it."""
    started = Runs(tmp_path_factory.mktemp("examples"))
    if "PYTEST_XDIST_WORKER" not in os.environ:
        here = request.node.path
        for item in request.session.items:
            if item.path == here:
                for prefix, name in RUN_OF_TEST.items():
                    if item.name.startswith(prefix):
                        started.start(name)
    yield started
    for run in started.started.values():
        run.stop()


def readme_statuses(example: str, header: str) -> dict[str, str]:
    """``item -> status`` from the README table whose header row starts with ``header``."""
    lines = (EXAMPLES / example / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    table: dict[str, str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0]] = cells[1]
    return table


def assert_config_is_the_examples(run: Finished, example: str, gate: float | None = 3) -> None:
    """pytest took the example's directory as rootdir and its pyproject.toml as configfile."""
    rootdir = re.search(r"^rootdir: ([^,\n]+)", run.output, re.M)
    configfile = re.search(r"configfile: ([^,\s]+)", run.output)
    assert rootdir and configfile, run.output[:2000]
    assert Path(rootdir.group(1)) == EXAMPLES / example
    assert configfile.group(1) == "pyproject.toml"
    if gate is None:
        assert re.search(r"^mltestscore: rubric breck2017 \(", run.output, re.M), run.output[:2000]
    else:
        assert f"mltestscore: rubric breck2017, min score {gate:g}" in run.output


def outcomes(run: Finished) -> dict[str, str]:
    return {t["nodeid"]: t["outcome"] for item in run.items().values() for t in item["tests"]}


def scorecard(run: Finished) -> dict[str, Any]:
    """What a run decided: exit status, score, gate, sections, and the items without full credit."""
    assert run.report is not None, f"no JSON report; output:\n{run.output[-6000:]}"
    return {
        "returncode": run.returncode,
        "score": run.report["score"],
        "passed": run.report["passed"],
        "sections": run.sections(),
        **{status: run.statuses(status) for status in ("failing", "stale", "manual", "missing")},
    }


def check_scorecard(run: Finished, expected: dict[str, Any]) -> None:
    assert scorecard(run) == expected, run.output[-6000:]


# -- penguins -------------------------------------------------------------------------------------
def test_penguins_good_day_scores_five(runs):
    run = runs["penguins good"].result()
    check_scorecard(
        run,
        {
            "returncode": 0,
            "score": 5.0,
            "passed": True,
            "sections": {"data": 6.5, "model": 6.0, "infra": 7.0, "monitor": 5.0},
            "failing": set(),
            "stale": set(),
            "manual": {"data-6"},
            "missing": {"model-2", "monitor-1", "monitor-6"},
        },
    )
    assert_config_is_the_examples(run, "penguins")
    assert run.items()["data-6"]["manual"]["evidence"] == "docs/feature-process.md"
    assert "ML Test Score 5.0 meets the required 3.0" in run.output


def test_penguins_good_day_matches_its_readme(runs):
    run = runs["penguins good"].result()
    documented = readme_statuses("penguins", "| item | status | source |")
    assert documented == {item: data["status"] for item, data in run.items().items()}


def test_penguins_good_day_points_come_from_user_tests_and_builtin_checks(runs):
    run = runs["penguins good"].result()
    seen = outcomes(run)
    assert set(seen.values()) <= {"passed", "skipped"}, run.output[-6000:]
    user = {n.split("::")[-1] for n in seen if n.startswith("tests/")}
    assert {
        "test_model_spec_is_the_reviewed_one",
        "test_staleness_curve_over_three_seasons",
        "test_one_bird_can_be_followed_through_the_pipeline",
        "test_serving_feature_code_matches_training_feature_code",
    } <= user
    builtin = {n for n in seen if n.startswith("mltestscore::")}
    assert "mltestscore::data-7::feature-coverage" in builtin
    assert "mltestscore::monitor-4::model-staleness" in builtin


def test_penguins_bad_day_fails_the_gate_and_names_the_causes(runs):
    run = runs["penguins bad"].result()
    failing = {"infra-6", "monitor-2", "monitor-3", "monitor-4", "monitor-7"}
    check_scorecard(
        run,
        {
            "returncode": 1,
            "score": 1.0,
            "passed": False,
            "sections": {"data": 6.5, "model": 6.0, "infra": 6.0, "monitor": 1.0},
            "failing": failing,
            "stale": set(),
            "manual": {"data-6"},
            "missing": {"model-2", "monitor-1", "monitor-6"},
        },
    )
    assert_config_is_the_examples(run, "penguins")
    failed = {n for n, o in outcomes(run).items() if o in ("failed", "error")}
    assert {n.split("::")[1] for n in failed} == failing  # only built-in checks, one each
    assert readme_statuses("penguins", "| item | status | what the failure says |") == {
        item: "failing" for item in failing
    }

    out = run.output
    assert "FAIL: ML Test Score 1.0 is below the required 3.0" in out
    assert re.search(r"body_mass_g\s+out of range .*100% beyond: 173 below", out)  # kg, not g
    assert re.search(r"2 of 6 columns drifted \(island, body_mass_g\)", out)
    assert "'Torgersen' 13.2% -> 0%" in out
    assert re.search(r"model 277\.0 \(created 2026-11-16.*now 2027-08-20", out)
    assert re.search(r"accuracy regressed on overall", out)
    assert re.search(r"label agreement\s+0\.7688\s+0\.9\s+FAILED", out)


def test_penguins_bad_day_json_names_the_columns(runs):
    """The JSON report alone tells which column failed and why (no JUnit XML needed)."""
    run = runs["penguins bad"].result()
    validate_report(run.report)
    tests = {t["nodeid"]: t for item in run.items().values() for t in item["tests"]}
    schema = tests["mltestscore::monitor-2::serving-invariants"]
    assert "body_mass_g" in schema["message"] and "out of range" in schema["message"]
    rows = schema["check"]["findings"]
    assert [(r["column"], r["rule"]) for r in rows] == [("body_mass_g", "out of range")]
    assert [f["title"] for f in schema["check"]["figures"]] == ["body_mass_g: training vs serving"]
    drift = tests["mltestscore::monitor-3::training-serving-skew"]["check"]
    assert {r["column"] for r in drift["findings"] if r["drift"] == "DRIFT"} == {
        "island",
        "body_mass_g",
    }
    assert run.report["gate"]["message"] == "FAIL: ML Test Score 1.0 is below the required 3.0"


def test_penguins_good_day_json_matches_the_schema(runs):
    validate_report(runs["penguins good"].result().report)


# -- diabetes -------------------------------------------------------------------------------------
def test_diabetes_json_matches_the_schema(runs):
    run = runs["diabetes_regression"].result()
    validate_report(run.report)
    tests = {t["nodeid"]: t for item in run.items().values() for t in item["tests"]}
    slices = tests["mltestscore::model-6::slice-quality"]["check"]
    assert [f["kind"] for f in slices["figures"]] == ["intervals"]


def test_diabetes_scores_four_and_a_half(runs):
    run = runs["diabetes_regression"].result()
    check_scorecard(
        run,
        {
            "returncode": 0,
            "score": 4.5,
            "passed": True,
            "sections": {"data": 6.0, "model": 4.5, "infra": 7.0, "monitor": 5.0},
            "failing": set(),
            "stale": set(),
            "manual": {"model-1"},
            "missing": {"data-6", "model-2", "model-4", "monitor-1", "monitor-6"},
        },
    )
    assert_config_is_the_examples(run, "diabetes_regression")
    assert run.items()["model-1"]["manual"]["evidence"] == "docs/model-review.md"
    assert set(outcomes(run).values()) <= {"passed", "skipped"}
    # The three checks this example is about ran and passed.
    for item, check in [
        ("model-5", "simpler-baseline"),
        ("model-6", "slice-quality"),
        ("model-7", "inclusion"),
    ]:
        assert [(t["nodeid"], t["outcome"]) for t in run.items()[item]["tests"]] == [
            (f"mltestscore::{item}::{check}", "passed")
        ]


def test_diabetes_matches_its_readme(runs):
    run = runs["diabetes_regression"].result()
    documented = readme_statuses("diabetes_regression", "| item | status | source |")
    assert documented == {item: data["status"] for item, data in run.items().items()}


# -- tweet_source ---------------------------------------------------------------------------------
TWEETS_MISSING = {
    "data-4",
    "data-6",
    "data-7",
    "model-1",
    "model-2",
    "model-3",
    "model-4",
    "model-6",
    "model-7",
    "infra-1",
    "infra-3",
    "infra-5",
    "infra-6",
    "infra-7",
    "monitor-1",
    "monitor-6",
}


def test_tweets_clean_day_passes_every_text_check(runs):
    run = runs["tweet_source"].result()
    check_scorecard(
        run,
        {
            "returncode": 0,
            "score": 1.0,
            "passed": None,
            "sections": {"data": 4.0, "model": 1.0, "infra": 2.0, "monitor": 5.0},
            "failing": set(),
            "stale": set(),
            "manual": set(),
            "missing": TWEETS_MISSING,
        },
    )
    assert_config_is_the_examples(run, "tweet_source", gate=None)
    assert set(outcomes(run).values()) <= {"passed", "skipped"}
    for item, check in [
        ("data-1", "schema"),
        ("data-2", "features-beneficial"),
        ("data-3", "feature-cost"),
        ("monitor-2", "serving-invariants"),
        ("monitor-3", "training-serving-skew"),
    ]:
        tests = {t["nodeid"]: t["outcome"] for t in run.items()[item]["tests"]}
        nodeid = f"mltestscore::{item}::{check}"
        assert tests.pop(nodeid) == "passed", (nodeid, tests)
        # the item's other built-in checks (the deployment ones) have no deployed model here
        assert set(tests.values()) <= {"skipped"}, tests


def test_tweets_clean_day_matches_its_readme(runs):
    run = runs["tweet_source"].result()
    documented = readme_statuses("tweet_source", "| item | status | source |")
    assert documented == {item: data["status"] for item, data in run.items().items()}


def _failing_builtin(run: Finished) -> set[str]:
    return {n.split("::")[1] for n, o in outcomes(run).items() if o in ("failed", "error")}


def test_tweets_other_period_is_caught_on_the_text_column(runs):
    run = runs["tweet_source later"].result()
    failing = {"monitor-2", "monitor-3", "monitor-7"}
    assert run.returncode == 1, run.output[-6000:]
    assert run.statuses("failing") == _failing_builtin(run) == failing
    assert readme_statuses("tweet_source", "| item (another period) |") == {
        item: "failing" for item in failing
    }
    out = run.output
    assert re.search(r"text\s+length out of range \(characters\)\s+\[12, 155\] characters", out)
    assert re.search(r"1 of 1 columns drifted \(text\)", out)
    assert re.search(r"text\s+JS distance\s+[\d.]+\s+[\d.]+\s+DRIFT\s+moved most: '", out)
    assert "accuracy regressed on overall" in out


def test_tweets_truncated_text_is_caught_on_the_text_column(runs):
    run = runs["tweet_source truncated"].result()
    failing = {"monitor-3", "monitor-7"}
    assert run.returncode == 1, run.output[-6000:]
    assert run.statuses("failing") == _failing_builtin(run) == failing
    assert run.items()["monitor-2"]["status"] == "automated"  # each text is still valid
    assert readme_statuses("tweet_source", "| item (truncated text) |") == {
        item: "failing" for item in failing
    }
    out = run.output
    assert re.search(r"text\s+W1/sd, characters per text\s+[\d.]+\s+[\d.]+\s+DRIFT", out)
    assert re.search(r"text\s+W1/sd, tokens per text\s+[\d.]+\s+[\d.]+\s+DRIFT", out)
