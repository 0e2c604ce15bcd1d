"""Each built-in check's cost in model fits, on the example projects.

For each example (``examples/penguins``, ``examples/diabetes_regression``,
``examples/tweet_source``), in the same session:

* a fit-once baseline: a fresh Python process imports the example's training code, reads its
  training CSV and times its training function (the median of ``--fits`` fits after one
  warm-up), so the seconds of one fit of that example's model on that machine, at that load;
* the example's suite, ``python -m pytest --ml-score-durations`` with a JSON report, from which
  each built-in check's wall time (its call phase) and what it spent it on are read back.

Each check's cost is printed as its seconds over one fit's ("x fit"), the slowest first, with
the fits, predictions and fresh processes it made; the issue's target is at most 3 fits.

    python benchmarks/checks_cost.py [--examples penguins,diabetes_regression,tweet_source]
                                     [--fits 5] [--limit 3.0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Examples whose pyproject names no [tool.mltestscore.training] fit: their training function.
TRAINERS = {"tweet_source": "tweet_source.train:fit"}

BASELINE = r"""
import importlib, inspect, json, statistics, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
target, path, seed, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
module, _, name = target.partition(":")
fit = getattr(importlib.import_module(module), name)
df = pd.read_csv(path)
args = (df, seed) if len(inspect.signature(fit).parameters) >= 2 else (df,)
fit(*args)  # warm-up: imports and caches, as the suite's first fit also pays them
times = []
for _ in range(repeat):
    start = time.perf_counter()
    fit(*args)
    times.append(time.perf_counter() - start)
print(json.dumps({"fit": statistics.median(times), "rows": len(df)}))
"""


def _env() -> dict[str, str]:
    """The calling shell's settings that must not leak into an example's own run."""
    dropped = ("PYTEST_", "MLTESTSCORE_", "PENGUINS_", "TWEETS_", "COV_CORE_")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


def one_fit(example: Path, repeat: int) -> dict[str, Any]:
    config = tomllib.loads((example / "pyproject.toml").read_text())["tool"]["mltestscore"]
    trainer = config.get("training", {}).get("fit") or TRAINERS[example.name]
    seed = int(config.get("training", {}).get("seed", 0))
    data = example / config["datasets"]["training"]["path"]
    out = subprocess.run(
        [sys.executable, "-c", BASELINE, trainer, str(data), str(seed), str(repeat)],
        cwd=example,
        env={**_env(), "PYTHONPATH": str(example)},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), trainer=trainer)


def run_suite(example: Path) -> tuple[float, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "report.json")
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--ml-score-durations",
                f"--ml-score-report=json:{report}",
            ],
            cwd=example,
            env=_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        if not report.is_file():  # the run stopped before scoring: say why, not a traceback
            raise SystemExit(
                f"{example.name}: pytest exited {proc.returncode} without a report:\n"
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        rows = json.loads(report.read_text())["durations"]
    return wall, rows


def _calls(row: dict[str, Any], kind: str) -> str:
    spent = row["spent"].get(kind)
    return str(spent["calls"]) if spent else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default="penguins,diabetes_regression,tweet_source")
    parser.add_argument("--fits", type=int, default=5)
    parser.add_argument("--limit", type=float, default=3.0)
    opts = parser.parse_args()
    over = []
    for name in opts.examples.split(","):
        example = EXAMPLES / name
        base = one_fit(example, opts.fits)
        wall, rows = run_suite(example)
        fit = base["fit"]
        load = os.getloadavg()[0]
        print(
            f"\n{name}: one fit of {base['trainer']} on {base['rows']} rows = {fit * 1000:.1f} ms "
            f"(median of {opts.fits}); suite {wall:.1f} s; load {load:.1f}"
        )
        print(f"{'check':<36} {'seconds':>8} {'x fit':>7} {'fits':>5} {'predict':>8} {'fresh':>6}")
        for row in rows:
            ratio = row["seconds"] / fit
            check = row["nodeid"].split("::", 1)[1]
            if ratio > opts.limit:
                over.append(f"{name} {check} {ratio:.1f}x")
            print(
                f"{check:<36} {row['seconds']:>8.3f} {ratio:>7.1f} {_calls(row, 'fits'):>5} "
                f"{_calls(row, 'predictions'):>8} {_calls(row, 'fresh processes'):>6}"
            )
    print(f"\nchecks above {opts.limit:g} fits: " + (", ".join(over) if over else "none"))


if __name__ == "__main__":
    main()
