"""Benchmark helpers: generated data (20 numeric, 5 categorical columns), timing, the peers' venv.

Numeric columns are normal, lognormal and uniform (a few with nulls); categoricals have 3 to 50
levels with weights falling as 1/rank and a rare last level. ``changes`` turns a sample into a
"serving" sample with known drift: the columns in ``MEANINGFUL`` move by amounts that matter,
those in ``NUISANCE`` by amounts that do not, and the rest are drawn from the same distribution.
Generation is vectorised and seeded per chunk, so 10M rows never sit in memory at once.

Peers (Evidently, pandera, Great Expectations, NannyML) are measured from their own virtual environment,
``benchmarks/_venv_peers``, made by :func:`ensure_peers`; they are never dependencies.
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "_data"
PEERS = Path(__file__).resolve().parent / "_venv_peers"
# Evidently 0.7 still imports pandas internals removed in pandas 3.
PEER_PACKAGES = (
    "evidently",
    "pandera",
    "great_expectations",
    "nannyml",
    "pandas<3",
    "pyarrow",
    "scipy",
)
CHUNK = 1_000_000

# name -> (shape, (a, b), null rate)
NUMERIC: dict[str, tuple[str, tuple[float, float], float]] = {
    "num_normal_0": ("normal", (0.0, 1.0), 0.0),
    "num_normal_1": ("normal", (100.0, 15.0), 0.02),
    "num_normal_2": ("normal", (-5.0, 0.2), 0.0),
    "num_normal_3": ("normal", (1e6, 3e4), 0.0),
    "num_normal_4": ("normal", (3.0, 2.0), 0.01),
    "num_normal_5": ("normal", (0.0, 1.0), 0.0),
    "num_normal_6": ("normal", (10.0, 3.0), 0.0),
    "num_lognormal_0": ("lognormal", (0.0, 1.0), 0.0),
    "num_lognormal_1": ("lognormal", (1.0, 0.5), 0.01),
    "num_lognormal_2": ("lognormal", (2.0, 0.8), 0.0),
    "num_lognormal_3": ("lognormal", (0.0, 0.3), 0.0),
    "num_lognormal_4": ("lognormal", (0.0, 1.0), 0.05),
    "num_lognormal_5": ("lognormal", (-1.0, 0.7), 0.0),
    "num_uniform_0": ("uniform", (0.0, 1.0), 0.0),
    "num_uniform_1": ("uniform", (-10.0, 10.0), 0.0),
    "num_uniform_2": ("uniform", (5.0, 6.0), 0.01),
    "num_uniform_3": ("uniform", (0.0, 1000.0), 0.0),
    "num_uniform_4": ("uniform", (-1.0, 1.0), 0.0),
    "num_uniform_5": ("uniform", (2.0, 4.0), 0.03),
    "num_uniform_6": ("uniform", (0.0, 1.0), 0.0),
}
# name -> (levels, null rate)
CATEGORICAL: dict[str, tuple[int, float]] = {
    "cat_3": (3, 0.0),
    "cat_5": (5, 0.01),
    "cat_10": (10, 0.0),
    "cat_20": (20, 0.0),
    "cat_50": (50, 0.02),
}

MEANINGFUL: dict[str, tuple[Any, ...]] = {
    "num_normal_0": ("shift", 0.25),  # mean moved by 0.25 SD
    "num_lognormal_0": ("shift", -0.25),
    "num_uniform_0": ("spread", 1.3),  # spread changed by 30%
    "num_lognormal_1": ("spread", 0.7),
    "num_uniform_1": ("support", 0.1),  # support moved by 10% of its range
    "num_normal_4": ("nulls", 0.03),  # null rate tripled (1% -> 3%)
    "cat_3": ("move", 0, 0.05),  # a category share moved by 5 points
    "cat_50": ("unseen", 0.011),  # an unseen category in 1.1% of rows
}
NUISANCE: dict[str, tuple[Any, ...]] = {
    "num_normal_5": ("shift", 0.009),  # mean moved by < 0.01 SD
    "num_uniform_6": ("shift", -0.009),
    "num_lognormal_5": ("shift", 0.009),
    "cat_10": ("move", 0, 0.0045),  # a category share moved by < 0.5 points
}


def population_sd(shape: str, params: tuple[float, float]) -> float:
    a, b = params
    if shape == "normal":
        return b
    if shape == "lognormal":
        return math.sqrt((math.exp(b * b) - 1) * math.exp(2 * a + b * b))
    return (b - a) / math.sqrt(12)


def population_mean(shape: str, params: tuple[float, float]) -> float:
    a, b = params
    if shape == "normal":
        return a
    if shape == "lognormal":
        return math.exp(a + b * b / 2)
    return (a + b) / 2


def frame(n: int, seed: int, changes: dict[str, tuple[Any, ...]] | None = None) -> pd.DataFrame:
    """``n`` rows of the 25 columns; categoricals as strings, as they come from files."""
    changes = changes or {}
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for name, (shape, (a, b), nulls) in NUMERIC.items():
        x = getattr(rng, shape)(a, b, n)
        change = changes.get(name, ())
        sd, mean = population_sd(shape, (a, b)), population_mean(shape, (a, b))
        if change[:1] == ("shift",):
            x += change[1] * sd
        elif change[:1] == ("spread",):
            x = mean + change[1] * (x - mean)
        elif change[:1] == ("support",):
            x += change[1] * (b - a)
        null_rate = change[1] if change[:1] == ("nulls",) else nulls
        if null_rate:
            x[rng.random(n) < null_rate] = np.nan
        cols[name] = x
    for name, (k, nulls) in CATEGORICAL.items():
        weights = 1.0 / np.arange(1, k + 1)
        if k >= 20:
            weights[-1] = 0.001 * weights[:-1].sum() / 0.999
        weights /= weights.sum()
        labels = [f"{name}_level_{i}" for i in range(k)]
        change = changes.get(name, ())
        if change[:1] == ("move",):
            _, which, points = change
            moved = weights * (1 - weights[which] - points) / (1 - weights[which])
            moved[which] = weights[which] + points
            weights = moved
        elif change[:1] == ("unseen",):
            weights = np.append(weights * (1 - change[1]), change[1])
            labels.append(f"{name}_never_seen")
        codes = np.minimum(np.searchsorted(np.cumsum(weights), rng.random(n)), len(labels) - 1)
        if nulls:
            codes[rng.random(n) < nulls] = -1
        cols[name] = pd.Categorical.from_codes(codes, labels).astype("str")
    return pd.DataFrame(cols)


def write_parquet(
    path: Path,
    rows: int,
    seed: int,
    changes: dict[str, tuple[Any, ...]] | None = None,
    chunk: int = CHUNK,
) -> Path:
    """Write ``rows`` rows in row groups of ``chunk`` rows (generated one chunk at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for i, start in enumerate(range(0, rows, chunk)):
            df = frame(min(chunk, rows - start), seed * 1000 + i, changes)
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=chunk)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path


def dataset(kind: str, rows: int) -> Path:
    """The Parquet file of ``kind`` (training, serving, drifted) at ``rows`` rows, made once."""
    seeds = {"training": 1, "serving": 2, "drifted": 3}
    changes = {**MEANINGFUL, **NUISANCE} if kind == "drifted" else None
    path = DATA / f"{kind}_{rows}.parquet"
    if not path.exists():
        write_parquet(path, rows, seeds[kind], changes)
    return path


def read(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()


def ensure_peers() -> str:
    """The peers' virtual environment (created on first use); its python executable."""
    import subprocess
    import sys

    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return str(python)


def timed(repeat: int, fn: Callable[[], Any]) -> tuple[float, float]:
    """Best wall time and best CPU time (all threads) of ``repeat`` runs of ``fn``.

    On a shared machine the CPU time is the steadier figure, so ratios are taken on it.
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def alternate(runs: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each of ``runs`` (a callable returning its seconds) once per round, in turn, ``rounds``
    times, so that all see the same machine; prints a line per round with the load average
    before it, and returns each run's seconds."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        load = os.getloadavg()[0]
        row = []
        for name, run in runs.items():
            times[name].append(run())
            row.append(f"{name} {times[name][-1]:6.2f}s")
        print(f"round {r + 1}/{rounds} (load {load:.2f}): " + "   ".join(row), flush=True)
    return times


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
