"""Benchmark: profiling + schema validation of serving data, against a numpy/pandas lower bound.

    python benchmarks/profile.py                      # 1M rows
    python benchmarks/profile.py --rows 1000000 10000000
    python benchmarks/profile.py --peers              # also pandera, from benchmarks/_venv_peers

Data: 20 numeric + 5 categorical columns (``benchmarks/_gen.py``), training and serving samples
from the same distribution, written to Parquet in ``benchmarks/_data/`` (made once, gitignored).

Each configuration runs in its own subprocess, which reports its time (best of ``--repeat``)
and its peak RSS (``ru_maxrss``), so memory figures do not leak between configurations:

* lower bound: per column one pass of fixed-bin histograms (scale, clip, cast, bincount) for
  numbers and ``value_counts`` for categories, nothing else;
* ours: ``profile_frame(serving, reference=training profile)`` + ``validate`` against the schema
  inferred from training (the training profile is made before timing);
* the same two read from Parquet chunk by chunk (``iter_chunks``), reading included;
* pandera: a ``DataFrameSchema`` with the usual checks (dtype, nullability, the training
  min/max, allowed categories), ``validate(lazy=True)``, when pandera is importable here or in
  the peers venv (``--peers``). The notes say which columns each validation failed.
* Great Expectations (1.x, ``--peers``, 1M rows at most): an ephemeral context, a pandas
  dataframe asset, and a suite derived from training the usual way (per numeric column
  ``expect_column_values_to_be_between`` the training min/max, per categorical column
  ``expect_column_values_to_be_in_set`` the training categories, ``..._to_not_be_null`` where
  training had no nulls), run as a ``ValidationDefinition`` on the serving frame. Since
  serving comes from the same distribution, every failing column is a false alarm.

Targets: ours at most 2x the lower bound; 10M rows from Parquet under 1.5 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This file is named like the stdlib ``profile`` module (which cProfile imports): keep its folder
# off the import path so that ``import profile`` finds the stdlib, and load _gen by its path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))


def _load_gen() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_gen", HERE / "_gen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_gen"] = module
    spec.loader.exec_module(module)
    return module


_gen = _load_gen()

BINS = 8192


# ---------------------------------------------------------------------------------------------
# The lower bound: what any one-pass profiler must at least do.


def lower_bound_frame(df: Any, ranges: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Fixed-bin histograms of numeric columns and value counts of the others, one pass each."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in df.columns:
        col = df[name]
        if name in ranges:
            x = col.to_numpy()
            lo, hi = ranges[name]
            scale = BINS / (hi - lo) if hi > lo else 1.0
            with np.errstate(invalid="ignore"):  # nulls land in bin 0: a lower bound cuts corners
                idx = ((x - lo) * scale).astype(np.intp)
            np.clip(idx, 0, BINS - 1, out=idx)
            out[name] = np.bincount(idx, minlength=BINS)
        else:
            out[name] = col.value_counts()
    return out


def training_reference() -> tuple[Any, Any, dict[str, tuple[float, float]]]:
    """Training profile (streamed from Parquet), its schema and its numeric ranges."""
    from pytest_mltestscore.checks.data.schema import infer_schema
    from pytest_mltestscore.profiles import profile_chunks
    from pytest_mltestscore.readers import iter_chunks

    ref = profile_chunks(iter_chunks(_gen.dataset("training", ROWS)))
    ranges = {
        name: (col.numeric.min, col.numeric.max)
        for name, col in ref.columns.items()
        if col.numeric is not None and col.kind == "numeric"
    }
    return ref, infer_schema(ref), ranges


# ---------------------------------------------------------------------------------------------
# Workers (one configuration per subprocess)


def worker(config: str, repeat: int) -> dict[str, Any]:
    from pytest_mltestscore.checks.data.schema import infer_schema, validate
    from pytest_mltestscore.profiles import profile_chunks, profile_frame
    from pytest_mltestscore.readers import iter_chunks

    serving = _gen.dataset("serving", ROWS)
    info: dict[str, Any] = {}
    if config == "lower bound, in memory":
        _, _, ranges = training_reference()
        df = _gen.read(serving)
        seconds, cpu = _gen.timed(repeat, lambda: lower_bound_frame(df, ranges))
    elif config == "ours, in memory":
        ref, schema, _ = training_reference()
        df = _gen.read(serving)

        def job() -> None:
            result = validate(profile_frame(df, ref), schema)
            assert result.table is not None
            info["verdict"] = result.verdict
            info["failing columns"] = sorted({row[0] for row in result.table.rows})

        seconds, cpu = _gen.timed(repeat, job)
    elif config == "ours, training profile + infer schema":
        df = _gen.read(_gen.dataset("training", ROWS))
        seconds, cpu = _gen.timed(repeat, lambda: infer_schema(profile_frame(df)))
    elif config == "lower bound, Parquet streamed":
        _, _, ranges = training_reference()

        def job() -> None:
            for chunk in iter_chunks(serving):
                lower_bound_frame(chunk, ranges)

        seconds, cpu = _gen.timed(repeat, job)
    elif config == "ours, Parquet streamed":
        ref, schema, _ = training_reference()

        def job() -> None:
            result = validate(profile_chunks(iter_chunks(serving), ref), schema)
            info["verdict"] = result.verdict

        seconds, cpu = _gen.timed(repeat, job)
    elif config == "pandera, in memory":
        ref, schema, _ = training_reference()
        df = _gen.read(serving)
        pa_schema = pandera_schema(ref, schema)

        def job() -> None:
            try:
                pa_schema.validate(df, lazy=True)
                info["verdict"] = "pass"
            except Exception as exc:  # pandera's SchemaErrors: count the failing checks
                failures = getattr(exc, "failure_cases", None)
                info["verdict"] = "fail"
                info["failing columns"] = (
                    sorted(set(failures["column"].dropna().astype(str)))
                    if failures is not None
                    else str(exc)[:200]
                )

        seconds, cpu = _gen.timed(repeat, job)
    elif config == "Great Expectations, in memory":
        ref, schema, _ = training_reference()
        df = _gen.read(serving)
        validation = gx_validation(ref, schema)

        def job() -> None:
            result = validation.run(batch_parameters={"dataframe": df})
            info["verdict"] = "pass" if result.success else "fail"
            info["failing columns"] = sorted(
                {
                    str(r.expectation_config.kwargs["column"])
                    for r in result.results
                    if not r.success
                }
            )

        seconds, cpu = _gen.timed(repeat, job)
    else:
        raise SystemExit(f"unknown configuration {config!r}")
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": _gen.peak_rss_mb(), **info}


def pandera_schema(ref: Any, schema: Any) -> Any:
    """pandera's version of the usual schema: dtype, nullability, training min/max, categories.

    (Given our quantile ranges instead, it flags any value beyond them, with no allowance.)
    """
    import pandera.pandas as pa

    columns = {}
    for name, f in schema.features.items():
        num = ref[name].numeric
        if f.kind == "numeric" and num is not None:
            check = pa.Check.in_range(num.min, num.max)
            columns[name] = pa.Column(float, checks=[check], nullable=f.nullable, coerce=True)
        elif f.categories is not None:
            check = pa.Check.isin(list(f.categories))
            columns[name] = pa.Column(str, checks=[check], nullable=f.nullable)
    return pa.DataFrameSchema(columns)


def gx_validation(ref: Any, schema: Any) -> Any:
    """Great Expectations' usual suite (training min/max, categories, not-null), ready to run.

    Made with the 1.x API: ephemeral context, pandas dataframe asset, whole-frame batch.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("serving").add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("whole frame")
    suite = context.suites.add(gx.ExpectationSuite(name="from training"))
    for name, f in schema.features.items():
        num = ref[name].numeric
        if f.kind == "numeric" and num is not None:
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=float(num.min), max_value=float(num.max)
                )
            )
        elif f.categories is not None:
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(f.categories))
            )
        if not f.nullable:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name))
    definition = gx.ValidationDefinition(data=batch, suite=suite, name="serving")
    return context.validation_definitions.add(definition)


# ---------------------------------------------------------------------------------------------
# Driver


CONFIGS = (
    "lower bound, in memory",
    "ours, in memory",
    "ours, training profile + infer schema",
    "pandera, in memory",
    "Great Expectations, in memory",
    "lower bound, Parquet streamed",
    "ours, Parquet streamed",
)

# peer configuration -> the module it needs (run from benchmarks/_venv_peers unless importable here)
PEER_MODULES = {
    "pandera, in memory": "pandera",
    "Great Expectations, in memory": "great_expectations",
}


def has_module(python: str, module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", code], check=False).returncode == 0


def run(config: str, rows: int, repeat: int, python: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    cmd = [python, __file__, "--worker", config, "--rows", str(rows), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    global ROWS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--peers",
        action="store_true",
        help="run pandera and Great Expectations from benchmarks/_venv_peers",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ROWS = args.rows[0]
        print(json.dumps(worker(args.worker, args.repeat)))
        return
    peer_python: dict[str, str | None] = {}
    for config, module in PEER_MODULES.items():
        peer_python[config] = sys.executable if has_module(sys.executable, module) else None
        if peer_python[config] is None and args.peers:
            peer_python[config] = _gen.ensure_peers()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    print(f"best of {args.repeat}; x lower = CPU time / lower bound's CPU time in the same mode")
    header = (
        f"{'configuration':40} {'rows':>10} {'wall s':>8} {'cpu s':>8} {'x lower':>8} "
        f"{'peak RSS MB':>12}  notes"
    )
    print(header)
    print("-" * len(header))
    for rows in args.rows:
        for kind in ("training", "serving"):
            _gen.dataset(kind, rows)
        bounds: dict[str, float] = {}
        for config in CONFIGS:
            if config in PEER_MODULES:
                python = peer_python[config]
                if python is None:
                    print(f"{config:40} {rows:>10}  skipped: not installed (use --peers)")
                    continue
                if rows > 1_000_000:
                    print(f"{config:40} {rows:>10}  skipped: peers are measured up to 1M rows")
                    continue
                res = run(config, rows, args.repeat, python)
            else:
                res = run(config, rows, args.repeat, sys.executable)
            if "error" in res:
                print(f"{config:40} {rows:>10}  error: {res['error']}")
                continue
            where = "Parquet" if "Parquet" in config else "memory"
            if config.startswith("lower bound"):
                bounds[where] = res["cpu"]
            ratio = res["cpu"] / bounds[where] if where in bounds else float("nan")
            notes = ", ".join(
                f"{k} {v}" for k, v in res.items() if k not in ("seconds", "cpu", "peak_rss_mb")
            )
            print(
                f"{config:40} {rows:>10} {res['seconds']:>8.3f} {res['cpu']:>8.3f} {ratio:>8.2f} "
                f"{res['peak_rss_mb']:>12.0f}  {notes}"
            )


ROWS = 0

if __name__ == "__main__":
    main()
