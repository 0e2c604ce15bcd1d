"""A config-only project under pytest-xdist: each dataset read and profiled once per session.

Makes a project with no test of its own: training and serving Parquet files of ``--rows`` rows
x 25 columns (``benchmarks/_gen.py``, made once under ``benchmarks/_data/``), a frozen schema,
and the built-in checks that read them (data-1, data-5, monitor-2, monitor-3...). Then runs
``pytest --ml-score`` on it serially and with ``-n 2``, alternately, ``--rounds`` times, and
prints the median wall times and the ratio ``-n 2 / serial``.

``--baseline REV`` adds the same two runs with the package as of git revision ``REV`` (extracted
to a temporary directory and put first on ``PYTHONPATH``), e.g. the commit before the session
cache, so that the gain is measured on the same machine in the same session.

    python benchmarks/xdist_shared.py [--rows 1000000] [--rounds 3] [--baseline REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _load_gen() -> Any:
    spec = importlib.util.spec_from_file_location("_gen", HERE / "_gen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_gen"] = module
    spec.loader.exec_module(module)
    return module


PYPROJECT = """
[tool.pytest.ini_options]
addopts = ["-p", "no:cacheprovider", "-p", "no:benchmark"]

[tool.mltestscore]
history = false

[tool.mltestscore.datasets.training]
path = "{training}"

[tool.mltestscore.datasets.serving]
path = "{serving}"
"""


def extract(rev: str, into: Path) -> Path:
    """The package as of ``rev``, as a directory to put first on ``PYTHONPATH``."""
    data = subprocess.run(
        ["git", "archive", rev, "pytest_mltestscore"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(project: Path, args: list[str], env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "-q", "--ml-score", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # a failing check is a verdict, not a broken run
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", default=None)
    opts = parser.parse_args()
    gen = _load_gen()
    training, serving = gen.dataset("training", opts.rows), gen.dataset("serving", opts.rows)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            PYPROJECT.format(training=training, serving=serving)
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        envs = {"now": env}
        if opts.baseline:
            base = extract(opts.baseline, Path(tmp) / "baseline")
            path = os.pathsep.join(p for p in (str(base), env.get("PYTHONPATH")) if p)
            envs[opts.baseline] = {**env, "PYTHONPATH": path}
        subprocess.run(
            [sys.executable, "-m", "pytest", "--ml-score-freeze-schema"],
            cwd=project,
            env=env,
            capture_output=True,
            check=True,
        )
        runs = {
            f"{name} {label}": (args, e)
            for name, e in envs.items()
            for label, args in (("serial", []), ("-n 2", ["-n", "2"]))
        }
        times = gen.alternate(
            {
                name: lambda args=args, e=e: run(project, args, e)
                for name, (args, e) in runs.items()
            },
            opts.rounds,
        )
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{opts.rows:,} rows x 25 columns, training and serving, medians of {opts.rounds}:")
    for name, m in med.items():
        print(f"  {name:>16}: {m:6.2f}s")
    for name in envs:
        ratio = med[f"{name} -n 2"] / med[f"{name} serial"]
        print(f"  {name}: -n 2 / serial = {ratio:.2f}x")
    if opts.baseline:
        for label in ("serial", "-n 2"):
            ratio = med[f"now {label}"] / med[f"{opts.baseline} {label}"]
            print(f"  {label}: now / {opts.baseline} = {ratio:.2f}x")


if __name__ == "__main__":
    main()
