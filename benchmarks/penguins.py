"""The penguins example, serially and under pytest-xdist, against one fit of its model.

Runs, alternately and ``--rounds`` times in the same session so that both see the same machine:

* ``fit-once``: a script that imports pandas and scikit-learn, reads the example's CSVs, fits
  the example's model once (``penguins_model.train.fit``) and predicts the validation rows (the
  issue's baseline: what one fit costs here);
* ``serial``: ``python -m pytest examples/penguins``;
* ``-n 2``: ``python -m pytest examples/penguins -n 2``;
* ``suite``, ``suite -n 2``: the same two without scoring (``-o addopts=--strict-markers``
  drops the example's ``--ml-score``): the example's own 22 tests, with the plugin installed
  but no built-in check run, no scorecard.

Prints the median wall time of each, the ratios ``-n 2 / serial`` and each run against
``fit-once``, and the load average before each round (the machine is shared: read the ratios,
not the seconds). Targets (issue 15): serial at most 2.0x fit-once, ``-n 2`` no slower than
serial. The suite without scoring bounds both from below: what scoring adds is ``serial -
suite`` (and ``-n 2 - suite -n 2`` under xdist), printed in seconds and in fit-once runs. Both pytest runs pass ``-p no:cacheprovider`` (nothing written into the example) and
``-p no:benchmark`` (pytest-benchmark, when installed, warns under xdist and the example turns
warnings into errors).

``--cached-bytecode`` runs without ``PYTHONDONTWRITEBYTECODE`` (set on this project's machine,
so that every process compiles the modules not byte-compiled at install: this package when
installed editable, the example, and pytest's rewrite of its plugins' modules), after one
warm-up run of each command, as on a machine that keeps ``__pycache__``.

    python benchmarks/penguins.py [--rounds 5] [--day good|bad] [--cached-bytecode]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _gen  # noqa: E402

EXAMPLE = ROOT / "examples" / "penguins"

FIT_ONCE = """
import pandas as pd
import sklearn
from penguins_model.train import fit
from penguins_model.features import model_input
training = pd.read_csv("data/training.csv")
validation = pd.read_csv("data/validation.csv")
serving = pd.read_csv("data/serving.csv")
model = fit(training)
model.predict(model_input(validation))
model.predict(model_input(serving))
"""

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark"]
UNSCORED = ["-o", "addopts=--strict-markers"]  # the example's addopts without its --ml-score


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--day", choices=("good", "bad"), default="good")
    parser.add_argument("--cached-bytecode", action="store_true")
    opts = parser.parse_args()
    env = {**os.environ, "PENGUINS_DAY": opts.day}
    if opts.cached_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(
        "PYTHONDONTWRITEBYTECODE "
        + ("set: modules compiled in every run" if env.get("PYTHONDONTWRITEBYTECODE") else "unset")
    )
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    # the example's own python path, as its pyproject.toml sets for pytest
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(EXAMPLE), env.get("PYTHONPATH")) if p)
    runs = {
        "fit-once": ([sys.executable, "-c", FIT_ONCE], EXAMPLE),
        "serial": ([*PYTEST, "examples/penguins"], ROOT),
        "-n 2": ([*PYTEST, "examples/penguins", "-n", "2"], ROOT),
        "suite": ([*PYTEST, *UNSCORED, "examples/penguins"], ROOT),
        "suite -n 2": ([*PYTEST, *UNSCORED, "examples/penguins", "-n", "2"], ROOT),
    }
    if opts.cached_bytecode:  # one run of each writes the byte code the timed runs read
        for cmd, cwd in runs.values():
            timed(cmd, cwd, env)
    times = _gen.alternate(
        {name: lambda cmd=cmd, cwd=cwd: timed(cmd, cwd, env) for name, (cmd, cwd) in runs.items()},
        opts.rounds,
    )
    med = {name: statistics.median(t) for name, t in times.items()}
    print()
    for name, m in med.items():
        print(f"{name:>10}: median {m:6.2f}s over {opts.rounds} rounds")
    fit = med["fit-once"]
    print()
    print(f"serial / fit-once:      {med['serial'] / fit:.2f}x (target <= 2.0)")
    print(f"suite / fit-once:       {med['suite'] / fit:.2f}x (the example's tests, unscored)")
    print(f"-n 2 / fit-once:        {med['-n 2'] / fit:.2f}x")
    print(f"-n 2 / serial:          {med['-n 2'] / med['serial']:.2f}x (target <= 1.0)")
    print(f"suite -n 2 / suite:     {med['suite -n 2'] / med['suite']:.2f}x (xdist, unscored)")
    added = med["serial"] - med["suite"]
    added_n2 = med["-n 2"] - med["suite -n 2"]
    print(f"scoring adds, serial:   {added:5.2f}s = {added / fit:.2f} fit-once")
    print(f"scoring adds, -n 2:     {added_n2:5.2f}s = {added_n2 / fit:.2f} fit-once")
    per_round = [p / s for p, s in zip(times["-n 2"], times["serial"], strict=True)]
    print("-n 2 / serial per round: " + ", ".join(f"{x:.2f}" for x in per_round))


if __name__ == "__main__":
    main()
