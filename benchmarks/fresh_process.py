"""Fresh-process jobs: a new interpreter each (cold) versus children forked from one warm process.

Part 1 runs N jobs through ``pytest_mltestscore.fresh_process.run_script``, each importing
pandas and scikit-learn and fitting a small pipeline on the penguins example's training rows,
with ``MLTESTSCORE_FRESH_PROCESSES=cold`` and ``=warm`` alternately (``--rounds`` times; the warm
round starts its warm process afresh, so its first job pays the warm process's imports). It
prints the median wall time of the N jobs for each and the ratio cold / warm.

Part 2 (``--pytest``) times ``python -m pytest examples/penguins -k "infra-1 or infra-6"``
(one fresh process: the canary; the gate is set to 0 since -k leaves items out) and the same with infra-1's ``separate_processes = true`` (two
more), cold and warm alternately, on a copy of the example, and prints the ratios.

    python benchmarks/fresh_process.py [--jobs 8] [--rounds 3] [--pytest]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_mltestscore import fresh_process

ROOT = Path(__file__).resolve().parent.parent
PENGUINS = ROOT / "examples" / "penguins"

JOB = """
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv(ARGS["csv"]).dropna()
numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
prep = ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), ["island"])])
model = make_pipeline(prep, LogisticRegression(max_iter=1000)).fit(df, df["species"])
reply({"accuracy": float(model.score(df, df["species"]))})
"""


def run_jobs(mode: str, n: int) -> float:
    os.environ[fresh_process.MODE_VARIABLE] = mode
    fresh_process.shutdown()  # each warm round starts its warm process afresh
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            workdir = Path(tmp) / str(i)
            workdir.mkdir()
            args = {"csv": str(PENGUINS / "data" / "training.csv")}
            res = fresh_process.run_script(JOB, args, workdir)
            if not res.ok or res.payload is None:
                raise SystemExit(f"{mode} job {i} failed: {res.error}")
    elapsed = time.perf_counter() - start
    fresh_process.shutdown()
    return elapsed


def run_pytest(project: Path, mode: str) -> float:
    env = {**os.environ, fresh_process.MODE_VARIABLE: mode}
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ml-score-min=0",  # -k leaves items out: no gate
            "-k",
            "infra-1 or infra-6",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pytest ({mode}) failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return elapsed


def report(title: str, times: dict[str, list[float]]) -> None:
    cold, warm = statistics.median(times["cold"]), statistics.median(times["warm"])
    print(f"{title}")
    for mode in ("cold", "warm"):
        runs = ", ".join(f"{t:.2f}" for t in times[mode])
        print(f"  {mode:4}: median {statistics.median(times[mode]):6.2f} s  ({runs})")
    print(f"  ratio cold / warm: {cold / warm:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pytest", action="store_true", help="also time the penguins example")
    opts = parser.parse_args()
    if not fresh_process.warm_supported():
        raise SystemExit("warm fresh processes need os.fork (POSIX, not macOS)")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for _ in range(opts.rounds):
        for mode in ("cold", "warm"):
            times[mode].append(run_jobs(mode, opts.jobs))
    report(f"{opts.jobs} jobs (import pandas + scikit-learn, fit a penguins pipeline)", times)
    if not opts.pytest:
        return
    with tempfile.TemporaryDirectory() as tmp:
        shipped = Path(tmp) / "penguins"
        shutil.copytree(PENGUINS, shipped, ignore=shutil.ignore_patterns("__pycache__"))
        separate = Path(tmp) / "penguins-separate"
        shutil.copytree(shipped, separate)
        with (separate / "pyproject.toml").open("a", encoding="utf-8") as fh:
            fh.write("\n[tool.mltestscore.checks.infra-1]\nseparate_processes = true\n")
        for title, project in (
            ('pytest examples/penguins -k "infra-1 or infra-6" (1 fresh process)', shipped),
            ("the same with infra-1 separate_processes = true (3 fresh processes)", separate),
        ):
            times = {"cold": [], "warm": []}
            for _ in range(opts.rounds):
                for mode in ("cold", "warm"):
                    times[mode].append(run_pytest(project, mode))
            report(title, times)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
