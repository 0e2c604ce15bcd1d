"""``engine = "dask"`` datasets: the built-in checks give the same verdicts and messages as the
single-process engine, and an unreachable scheduler is a clear failure naming the address."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_FREEZE_SCHEMA

pytest.importorskip("dask")
pytest.importorskip("pyarrow")


def _write(path, n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    for part in range(5):
        df = pd.DataFrame(
            {
                "x": rng.normal(shift, 1, n),
                "y": rng.lognormal(0, 1, n),
                "c": rng.choice(["a", "b", "c"], n),
            }
        )
        df.to_parquet(path / f"part-{part}.parquet")


def _config(engine: str, scheduler: str = "") -> str:
    sched = f'scheduler = "{scheduler}"\n' if scheduler else ""
    return (
        "[tool.mltestscore]\nhistory = false\n"
        '[tool.mltestscore.datasets.training]\npath = "train/*.parquet"\n'
        f'[tool.mltestscore.datasets.serving]\npath = "serve"\nengine = "{engine}"\n{sched}'
    )


# Runs go through a subprocess: pyarrow's pandas extension types cannot be registered again
# after pytester's in-process runs restore sys.modules.
def _run(pytester):
    result = pytester.runpytest_subprocess(
        ML_SCORE, "-k", "monitor-2 or monitor-3", "--ml-score-report=json:r.json"
    )
    report = json.loads((pytester.path / "r.json").read_text())
    statuses = {i["id"]: i["status"] for s in report["sections"] for i in s["items"]}
    failures = re.sub(
        r"\d+\.\d+s", "", result.stdout.str().split("FAILURES", 1)[-1].split("ML Test Score", 1)[0]
    )
    return statuses, failures


def test_dask_engine_matches_local(pytester):
    _write(pytester.path / "train", 4000, 0)
    _write(pytester.path / "serve", 4000, 1, shift=0.5)  # a real mean shift in x
    pytester.makepyprojecttoml(_config("local"))
    assert pytester.runpytest_subprocess(ML_SCORE_FREEZE_SCHEMA).ret == 0
    local = _run(pytester)
    pytester.makepyprojecttoml(_config("dask"))
    distributed = _run(pytester)
    assert local[0]["monitor-3"] == "failing"  # the shift is caught...
    assert distributed == local  # ...identically, message for message


def test_unreachable_scheduler_names_the_address(pytester):
    _write(pytester.path / "train", 500, 0)
    _write(pytester.path / "serve", 500, 1)
    pytester.makepyprojecttoml(_config("local"))
    pytester.runpytest_subprocess(ML_SCORE_FREEZE_SCHEMA)
    pytester.makepyprojecttoml(_config("dask", "tcp://127.0.0.1:9"))
    result = pytester.runpytest_subprocess(ML_SCORE, "-k", "monitor-2")
    assert result.ret == 1
    out = result.stdout.str()
    assert "engine = 'dask'" in out and "tcp://127.0.0.1:9" in out
    assert "Traceback" not in out


def test_engine_config_errors(pytester):
    pytester.makepyprojecttoml(
        '[tool.mltestscore.datasets.serving]\npath = "x"\nengine = "spark2"\n'
    )
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "engine: expected one of local, dask" in result.stderr.str()
