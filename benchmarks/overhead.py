"""Plugin overhead: a generated suite of 2,000 marked trivial tests, run with the plugin disabled
(``-p no:mltestscore``) and with ``--ml-score``, alternately in the same session; prints the ratio
of median wall times. Target: at most 1.10.

    python benchmarks/overhead.py [--tests 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IDS = [f"{s}-{n}" for s in ("data", "model", "infra", "monitor") for n in range(1, 8)]


def make_suite(root: Path, n_tests: int) -> None:
    per_file = 100
    for f in range(n_tests // per_file):
        lines = ["import pytest", ""]
        for t in range(per_file):
            rid = IDS[(f * per_file + t) % len(IDS)]
            lines += [f"@pytest.mark.rubric({rid!r})", f"def test_{t}():", "    assert True", ""]
        (root / f"test_gen_{f:03d}.py").write_text("\n".join(lines))
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n"
    )


def run(root: Path, args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args], cwd=root, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"pytest {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_suite(root, opts.tests)
        variants = {
            "plugin disabled (-p no:mltestscore)": ["-p", "no:mltestscore"],
            "passive (plugin loaded, no --ml-score)": [],
            "--ml-score (scorecard)": ["--ml-score"],
            "--ml-score + json report": ["--ml-score", "--ml-score-report=json:r.json"],
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        run(root, ["-p", "no:mltestscore"])  # warm the file system and bytecode caches
        names = list(variants)
        for r in range(opts.rounds):
            # alternate, and rotate which variant goes first, so drift and order hit all alike
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name].append(run(root, variants[name]))
    base = statistics.median(times["plugin disabled (-p no:mltestscore)"])
    print(f"{opts.tests} marked trivial tests, {opts.rounds} alternating rounds, median wall time")
    print(f"{'variant':45s} {'median s':>9s} {'ratio':>7s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:45s} {med:9.3f} {med / base:7.3f}")


if __name__ == "__main__":
    main()
