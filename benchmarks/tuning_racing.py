"""Cost of model-3's search with racing over the folds against the full search, on the examples.

For each example with a ``[tool.mltestscore.checks.model-3]`` table (penguins,
diabetes_regression, seattle_weather), its configured search (factory, shipped parameters,
search space, ``n_iter``, ``cv``, metric) runs on its training rows, as the built-in check does,
with ``racing = true`` and ``racing = false`` in turn, ``--repeat`` times each, alternating, in
this process. Printed: each mode's verdict, shipped and best scores, fits (counted by the cost
meter) and median seconds, and the ratios racing / full.

    python benchmarks/tuning_racing.py [--examples penguins,diabetes_regression,seattle_weather]
                                       [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _search(name: str) -> tuple[Any, dict[str, Any], Any, Any]:
    """The example's factory, its model-3 table, and its training X and y (labelled rows)."""
    import pandas as pd

    from pytest_mltestscore.loading import load_callable

    config = tomllib.loads((EXAMPLES / name / "pyproject.toml").read_text())["tool"]["mltestscore"]
    table = config["checks"]["model-3"]
    training = config["datasets"]["training"]
    sys.path.insert(0, str(EXAMPLES / name))
    factory = load_callable(table["factory"])
    frame = pd.read_csv(EXAMPLES / name / training["path"])
    frame = frame[frame[training["target"]].notna()]
    features = training.get("features") or [c for c in frame if c != training["target"]]
    return factory, table, frame[features], frame[training["target"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default="penguins,diabetes_regression,seattle_weather")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    warnings.simplefilter("ignore")

    from pytest_mltestscore.checks.model.tuning import hyperparameters_tuned
    from pytest_mltestscore.cost import FIT, metering

    print(f"load average {os.getloadavg()[0]:.2f}; median of {opts.repeat} runs per mode")
    for name in opts.examples.split(","):
        factory, table, X, y = _search(name)
        runs: dict[bool, list[float]] = {True: [], False: []}
        seen: dict[bool, tuple[Any, int]] = {}
        for _ in range(opts.repeat):
            for racing in (True, False):
                with metering() as meter:
                    start = time.perf_counter()
                    result = hyperparameters_tuned(
                        factory,
                        table.get("params", {}),
                        table["search_space"],
                        X,
                        y,
                        metric=table.get("metric"),
                        cv=table.get("cv", 3),
                        n_iter=table.get("n_iter", 20),
                        relative_tolerance=table.get("relative_tolerance", 0.02),
                        racing=racing,
                    )
                    runs[racing].append(time.perf_counter() - start)
                seen[racing] = (result, meter.kinds[FIT].calls)
        print(f"\n{name}: {len(y)} training rows")
        print(f"{'mode':<8}{'verdict':>8}{'shipped':>12}{'best':>12}{'fits':>6}{'seconds':>9}")
        for racing in (True, False):
            result, fits = seen[racing]
            m = result.metrics
            print(
                f"{'racing' if racing else 'full':<8}{result.verdict:>8}"
                f"{m['shipped_score']:>12.5g}{m['best_score']:>12.5g}{fits:>6}"
                f"{statistics.median(runs[racing]):>9.3f}"
            )
        print(
            f"racing / full: fits {seen[True][1] / seen[False][1]:.2f}, seconds "
            f"{statistics.median(runs[True]) / statistics.median(runs[False]):.2f}"
        )


if __name__ == "__main__":
    main()
