"""``engine = "dask"`` and ``engine = "spark"`` datasets: the built-in checks give the same
verdicts and messages as the single-process engine, and an unreachable scheduler or master is a
clear failure naming the address."""

from __future__ import annotations

import contextlib
import importlib
import json
import re

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_FREEZE_SCHEMA

pytest.importorskip("pyarrow")

# Import the frameworks before any pytester test: imported for the first time inside one, they
# are dropped again when pytester restores sys.modules, and the in-process runs that follow no
# longer find this plugin's entry point.
for _framework in ("dask", "distributed", "pyspark"):
    with contextlib.suppress(ImportError):
        importlib.import_module(_framework)


@pytest.fixture(params=["dask", "spark"])
def engine(request: pytest.FixtureRequest) -> str:
    """An engine whose framework is installed (skipped, with the reason, otherwise)."""
    if request.param == "dask":
        pytest.importorskip("dask", reason="the Dask engine needs the 'dask' extra")
    else:
        from _servers import require_spark

        require_spark()
    return str(request.param)


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


def _config(engine: str, address: str = "") -> str:
    key = "master" if engine == "spark" else "scheduler"
    sched = f'{key} = "{address}"\n' if address else ""
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
    # the failure reports, without the closing "N failed ... in 2.2s" line (its width varies)
    failures = re.sub(
        r"^=+ .* in \d+\.\d+s.* =+$",
        "",
        result.stdout.str().split("FAILURES", 1)[-1].split("ML Test Score", 1)[0],
        flags=re.MULTILINE,
    )
    return statuses, failures


def test_engine_matches_local(pytester, engine):
    _write(pytester.path / "train", 4000, 0)
    _write(pytester.path / "serve", 4000, 1, shift=0.5)  # a real mean shift in x
    pytester.makepyprojecttoml(_config("local"))
    assert pytester.runpytest_subprocess(ML_SCORE_FREEZE_SCHEMA).ret == 0
    local = _run(pytester)
    pytester.makepyprojecttoml(_config(engine))
    distributed = _run(pytester)
    assert local[0]["monitor-3"] == "failing"  # the shift is caught...
    assert distributed == local  # ...identically, message for message


def test_engine_under_xdist(pytester, engine):
    """Each xdist worker profiles on the engine (a Spark worker starts its own JVM, whose
    output goes to a log file, not into the test reports)."""
    pytest.importorskip("xdist")
    _write(pytester.path / "train", 2000, 0)
    _write(pytester.path / "serve", 2000, 1, shift=0.5)
    pytester.makepyprojecttoml(_config("local"))
    assert pytester.runpytest_subprocess(ML_SCORE_FREEZE_SCHEMA).ret == 0
    pytester.makepyprojecttoml(_config(engine))
    result = pytester.runpytest_subprocess(
        ML_SCORE, "-n", "2", "-k", "serving-invariants or training-serving-skew"
    )
    assert result.ret == 1
    # both checks reached a verdict: the shift in x drifts (monitor-3) but stays within the
    # schema's ranges at this size (monitor-2)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "1 of 3 columns drifted (x)" in out
    for noise in ("log4j", "WARN ", "Traceback"):
        assert noise not in out, noise


def test_unreachable_scheduler_names_the_address(pytester, engine):
    address = "spark://127.0.0.1:9" if engine == "spark" else "tcp://127.0.0.1:9"
    _write(pytester.path / "train", 500, 0)
    _write(pytester.path / "serve", 500, 1)
    pytester.makepyprojecttoml(_config("local"))
    pytester.runpytest_subprocess(ML_SCORE_FREEZE_SCHEMA)
    pytester.makepyprojecttoml(_config(engine, address))
    result = pytester.runpytest_subprocess(ML_SCORE, "-k", "monitor-2")
    assert result.ret == 1
    out = result.stdout.str()
    assert f"engine = '{engine}'" in out and address in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'engine = "spark2"',
            "engine: expected one of local, dask, spark, got the string 'spark2'",
        ),
        ('engine = "dask"\nmaster = "local[2]"', "master: only the spark engine takes a master"),
        (
            'engine = "spark"\nscheduler = "tcp://h:8786"',
            "scheduler: only the dask engine takes a scheduler (Spark's is called master)",
        ),
        (
            'engine = "spark"\nmaster = " "',
            "master: expected a non-empty string, got the string ' '",
        ),
    ],
)
def test_engine_config_errors(pytester, table, expected):
    pytester.makepyprojecttoml(f'[tool.mltestscore.datasets.serving]\npath = "x"\n{table}\n')
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "pyproject.toml" in err and "tool.mltestscore.datasets.serving" in err
    assert expected in err
