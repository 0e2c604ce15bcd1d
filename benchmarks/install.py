"""Fresh install of the README's test command: time and size, against a baseline revision.

    python benchmarks/install.py                    # this tree against ca78eff (pyspark in [test])
    python benchmarks/install.py --baseline REV --repeat 2

For the baseline revision (exported with ``git archive``) and for this working tree, each in a
new virtual environment without system site-packages and without pip's cache, times
``python -m pip install -e ".[test]"`` (after upgrading pip, not timed) and measures the
environment's size on disk. Prints each run, then the ratios this tree / baseline. Downloads
come from the package index each time, so the times include the network; run it on a quiet
machine, and read the sizes, which do not vary, first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "ca78eff"  # the last revision whose [test] extra installed pyspark


def size_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total / 1e6


def install(source: Path, work: Path, label: str) -> tuple[float, float]:
    """Seconds and MB of a fresh ``pip install -e ".[test]"`` of ``source``."""
    venv = work / f"venv-{label}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
    start = time.perf_counter()
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-e", ".[test]"],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    mb = size_mb(venv)
    shutil.rmtree(venv, ignore_errors=True)
    return seconds, mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with")
    parser.add_argument("--repeat", type=int, default=1, help="installs of each, alternating")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mltestscore-install-") as tmp:
        work = Path(tmp)
        baseline = work / "baseline"
        baseline.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.baseline], cwd=REPO, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "this tree": []}
        for _ in range(args.repeat):
            for label, source in (("baseline", baseline), ("this tree", REPO)):
                seconds, mb = install(source, work, label.replace(" ", "-"))
                runs[label].append((seconds, mb))
                print(f"{label:10s} {seconds:7.1f} s {mb:8.0f} MB", flush=True)
    best = {label: (min(s for s, _ in r), min(m for _, m in r)) for label, r in runs.items()}
    (bs, bm), (ts, tm) = best["baseline"], best["this tree"]
    print(
        f"best of {args.repeat}: baseline {bs:.0f} s, {bm:.0f} MB; this tree {ts:.0f} s, {tm:.0f} MB"
    )
    print(f"ratio this tree / baseline: time {ts / bs:.2f}, size {tm / bm:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
