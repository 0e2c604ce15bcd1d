"""Benchmark: ``pytest --ml-score`` on a config-only project against a one-pass numpy script.

    python benchmarks/config_only.py                 # 1M rows, 3 rounds
    python benchmarks/config_only.py --rows 100000 --rounds 5
    python benchmarks/config_only.py --pytest-args "-p no:hypothesispytest"

The project: training and serving Parquet files of 1M rows x 25 columns (20 numeric, 5
categorical; ``benchmarks/_gen.py``, reused from ``benchmarks/_data/`` when present), declared
in ``[tool.mltestscore.datasets]``, no model, no test of its own, the schema frozen once before
timing (as a team has it checked in). So the run is the data checks alone: data-1 (schema),
data-5 (PII scan), monitor-2 (serving against the schema), monitor-3 (drift) and the rest.

The baseline: a Python script that reads both files (pyarrow), histograms every numeric column
(numpy, 64 bins) and counts the values of every categorical column (``value_counts``): what the
data checks must at least do.

Both run as subprocesses, alternately, ``--rounds`` times in the same session; each child's
wall time and peak RSS (``os.wait4``: the child and the children it waited for) are taken, and
the medians' ratios printed, after one warm-up run of each (bytecode compiled and cached as on
a developer's machine, files in the page cache). The last round of ours runs with ``--durations=0``: the time of
each built-in check is printed, so the remaining cost is visible.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _gen  # noqa: E402

CONFIG = """
[tool.pytest.ini_options]
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.training]
path = "training.parquet"
[tool.mltestscore.datasets.serving]
path = "serving.parquet"
"""

BASELINE = """
import sys
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

for path in sys.argv[1:]:
    table = pq.read_table(path)
    for name in table.column_names:
        col = table.column(name)
        if col.type in ("string", "large_string") or str(col.type).startswith("dictionary"):
            pc.value_counts(col)
        else:
            x = col.to_numpy(zero_copy_only=False).astype(np.float64)
            x = x[~np.isnan(x)]
            np.histogram(x, bins=64)
    del table
"""


def project(rows: int) -> Path:
    """The config-only project (made once per size): the config and links to the data."""
    root = _gen.DATA / f"config_only_{rows}"
    root.mkdir(parents=True, exist_ok=True)
    for kind in ("training", "serving"):
        link = root / f"{kind}.parquet"
        if not link.exists():
            link.symlink_to(_gen.dataset(kind, rows))
    (root / "pyproject.toml").write_text(CONFIG)
    schema = root / "mltestscore-schema.json"
    if not schema.exists():
        subprocess.run(
            [sys.executable, "-m", "pytest", "--ml-score-freeze-schema", "-p", "no:cacheprovider"],
            cwd=root,
            check=True,
            capture_output=True,
        )
    return root


def child_env() -> dict[str, str]:
    """The children compile once and keep their bytecode (and pytest its rewritten asserts), as
    on a developer's machine, in a cache of their own (this machine's Python may be told not to
    write bytecode, which costs every pytest run about a second of recompiling)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(_gen.DATA / "pycache")
    return env


def run(cmd: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) and output of one child."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True, env=child_env()
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode not in (0, 1):  # 1: a check failed, which is a verdict, not an error
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{text[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def durations(text: str) -> list[tuple[float, str]]:
    """(seconds, item) of the built-in checks' calls from ``--durations=0``."""
    found = re.findall(r"^([\d.]+)s (call|setup)\s+(mltestscore::\S+)", text, flags=re.M)
    return sorted(((float(s), f"{what} {item}") for s, what, item in found), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pytest-args",
        default="",
        help='more arguments for our run, e.g. "-p no:hypothesispytest" to see what the '
        "hypothesis plugin's import at the end of every run costs",
    )
    args = parser.parse_args()
    root = project(args.rows)
    files = [str((root / f"{k}.parquet").resolve()) for k in ("training", "serving")]
    ours_cmd = [sys.executable, "-m", "pytest", "--ml-score", "-p", "no:cacheprovider", "-q"]
    ours_cmd += args.pytest_args.split()
    base_cmd = [sys.executable, "-c", BASELINE, *files]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.rows} rows x 25 columns")
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    cpu: dict[str, list[float]] = {"baseline": [], "ours": []}
    rss: dict[str, list[float]] = {"baseline": [], "ours": []}
    last: Any = ""
    run(base_cmd, root)  # warm-up, not counted: bytecode compiled, files in the page cache
    run(ours_cmd, root)
    for i in range(args.rounds):
        load = os.getloadavg()[0]
        b_wall, b_cpu, b_rss, _ = run(base_cmd, root)
        extra = ["--durations=0", "--durations-min=0.05"] if i == args.rounds - 1 else []
        o_wall, o_cpu, o_rss, last = run([*ours_cmd, *extra], root)
        cpu["baseline"].append(b_cpu)
        cpu["ours"].append(o_cpu)
        times["baseline"].append(b_wall)
        times["ours"].append(o_wall)
        rss["baseline"].append(b_rss)
        rss["ours"].append(o_rss)
        print(
            f"round {i + 1} (load {load:.1f}): baseline {b_wall:5.2f} s ({b_cpu:5.2f} cpu) "
            f"{b_rss:5.0f} MB | pytest --ml-score {o_wall:5.2f} s ({o_cpu:5.2f} cpu) "
            f"{o_rss:5.0f} MB | {o_wall / b_wall:.2f}x"
        )
    t_b, t_o = statistics.median(times["baseline"]), statistics.median(times["ours"])
    c_b, c_o = statistics.median(cpu["baseline"]), statistics.median(cpu["ours"])
    m_b, m_o = statistics.median(rss["baseline"]), statistics.median(rss["ours"])
    print(
        f"median wall time: baseline {t_b:.2f} s, ours {t_o:.2f} s: {t_o / t_b:.2f}x (target 1.5x)"
    )
    print(f"median CPU time: baseline {c_b:.2f} s, ours {c_o:.2f} s: {c_o / c_b:.2f}x")
    print(
        f"median peak RSS: baseline {m_b:.0f} MB, ours {m_o:.0f} MB: {m_o / m_b:.2f}x (target 1.2x)"
    )
    outcome = [ln for ln in last.splitlines() if re.search(r"\d+ (passed|failed|skipped)", ln)]
    print(f"outcome of the last run: {outcome[-1].strip('= ') if outcome else '?'}")
    print("built-in checks by time (last round, --durations=0):")
    for seconds, item in durations(last):
        print(f"  {seconds:6.2f} s  {item}")


if __name__ == "__main__":
    main()
