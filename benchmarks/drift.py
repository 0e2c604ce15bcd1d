"""Benchmark: which of 25 columns drifted, plus serving validation, at 10k to 10M rows.

    python benchmarks/drift.py                          # 10k and 1M rows
    python benchmarks/drift.py --rows 10000 1000000 10000000
    python benchmarks/drift.py --peers                  # + Evidently, NannyML at 1M rows

Data (``benchmarks/_gen.py``): a training sample, a serving sample from the same distribution,
and a drifted serving sample where the columns of ``MEANINGFUL`` moved by amounts that matter
(mean 0.25 SD, spread 30%, support 10% of range, nulls tripled, a category +5 points, an unseen
category in 1.1% of rows) and those of ``NUISANCE`` by amounts that do not (mean < 0.01 SD, a
category < 0.5 points). Methods, each in its own subprocess (time: best of ``--repeat``; peak
RSS of the process):

* lower bound: histograms and value counts of both samples, one pass each, nothing decided;
* ours: profile training, profile serving against it, ``check_drift`` + ``validate`` against
  the inferred schema (in memory, and streamed from Parquet with reading included);
* scipy: ``ks_2samp`` per numeric column and a chi-square test per categorical column, flagged
  at p < 0.05 (the peers' usual rule);
* Evidently's data drift preset and NannyML's ``UnivariateDriftCalculator`` (its default
  methods and thresholds; one chunk = the whole sample, and its default of 10 chunks, a column
  flagged when any serving chunk alerts) (``--peers``, 1M rows only), installed in
  ``benchmarks/_venv_peers``, never dependencies.

Targets: ours within 2x of the lower bound; no false flag at any size; every meaningful drift
flagged.
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
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _gen  # noqa: E402

BINS = 8192


def ranges_of(df: Any) -> dict[str, tuple[float, float]]:
    import numpy as np

    return {
        c: (float(np.nanmin(df[c].to_numpy())), float(np.nanmax(df[c].to_numpy())))
        for c in df.columns
        if c.startswith("num")
    }


def lower_bound(frames: Any, ranges: dict[str, tuple[float, float]]) -> None:
    """Fixed-bin histograms and value counts of every column of every frame, one pass each."""
    import numpy as np

    for df in frames:
        for name in df.columns:
            if name in ranges:
                lo, hi = ranges[name]
                with np.errstate(invalid="ignore"):  # nulls land in bin 0: it cuts corners
                    idx = ((df[name].to_numpy() - lo) * (BINS / (hi - lo))).astype(np.intp)
                np.clip(idx, 0, BINS - 1, out=idx)
                np.bincount(idx, minlength=BINS)
            else:
                df[name].value_counts()


def scipy_flags(train: Any, serve: Any, alpha: float = 0.05) -> list[str]:
    """Columns flagged by two-sample KS (numeric) or chi-square (categorical) at p < alpha."""
    import numpy as np
    import pandas as pd
    from scipy.stats import chi2_contingency, ks_2samp

    flagged = []
    for name in train.columns:
        a, b = train[name].dropna(), serve[name].dropna()
        if name.startswith("num"):
            p = ks_2samp(a.to_numpy(), b.to_numpy()).pvalue
        else:
            table = pd.concat([a.value_counts(), b.value_counts()], axis=1).fillna(0)
            p = chi2_contingency(np.asarray(table, dtype=float).T)[1]
        if p < alpha:
            flagged.append(name)
    return flagged


def ours(train_source: Any, serve_source: Any, streamed: bool) -> dict[str, Any]:
    """Profile both, drift between them, and the serving sample against the training schema."""
    from pytest_mltestscore.checks.data.schema import infer_schema, validate
    from pytest_mltestscore.checks.monitor.drift import check_drift
    from pytest_mltestscore.profiles import profile_chunks, profile_frame
    from pytest_mltestscore.readers import iter_chunks

    if streamed:
        ref = profile_chunks(iter_chunks(train_source))
        cur = profile_chunks(iter_chunks(serve_source), ref)
    else:
        ref = profile_frame(train_source)
        cur = profile_frame(serve_source, ref)
    drift = check_drift(ref, cur)
    valid = validate(cur, infer_schema(ref))
    assert drift.table is not None and valid.table is not None
    return {
        "flagged": sorted({row[0] for row in drift.table.rows if row[4] == "DRIFT"}),
        "schema violations": sorted({row[0] for row in valid.table.rows}),
    }


def evidently_flags(train: Any, serve: Any) -> list[str]:
    """Evidently's data drift preset (0.7 API): the columns it reports as drifted.

    Its per-column method depends on the sample (p-value tests below 1000 rows, distances with
    a threshold of 0.1 above); a p-value flags below its threshold, a distance at or above it.
    """
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(serve, train)
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        is_p_value = "p_value" in str(config.get("method", ""))
        if (value < threshold) if is_p_value else (value >= threshold):
            flagged.append(str(config["column"]))
    return sorted(flagged)


def nannyml_flags(train: Any, serve: Any, chunks: int) -> list[str]:
    """NannyML's univariate drift (default methods and thresholds): columns with an alert.

    Both samples are cut into ``chunks`` chunks; a column is flagged when any serving chunk
    alerts. The default threshold is the reference chunks' mean +- 3 SD of the statistic, so
    with one chunk it is 0 and every column with any difference alerts (except where the
    reference's own value is NaN, as for a lognormal column with nulls: then it never alerts).
    """
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    import nannyml as nml

    columns = list(train.columns)
    calc = nml.UnivariateDriftCalculator(
        column_names=columns,
        treat_as_categorical=[c for c in columns if not c.startswith("num")],
        chunk_number=chunks,
    )
    calc.fit(train)
    result = calc.calculate(serve).filter(period="analysis").to_df()
    return sorted(
        {str(key[0]) for key in result.columns if key[2] == "alert" and result[key].any()}
    )


def worker(method: str, rows: int, serving: str, repeat: int) -> dict[str, Any]:
    train_path, serve_path = _gen.dataset("training", rows), _gen.dataset(serving, rows)
    info: dict[str, Any] = {}
    if method == "ours, Parquet streamed":
        seconds, cpu = _gen.timed(repeat, lambda: info.update(ours(train_path, serve_path, True)))
    elif method == "lower bound, Parquet streamed":
        from pytest_mltestscore.readers import iter_chunks

        def job() -> None:
            ranges = ranges_of(next(iter_chunks(train_path)))  # from the first training chunk
            for path in (train_path, serve_path):
                lower_bound(iter_chunks(path), ranges)

        seconds, cpu = _gen.timed(repeat, job)
    else:
        train, serve = _gen.read(train_path), _gen.read(serve_path)
        if method == "lower bound, in memory":
            seconds, cpu = _gen.timed(repeat, lambda: lower_bound([train, serve], ranges_of(train)))
        elif method == "ours, in memory":
            seconds, cpu = _gen.timed(repeat, lambda: info.update(ours(train, serve, False)))
        elif method == "scipy KS + chi2 (p<0.05), in memory":
            seconds, cpu = _gen.timed(
                repeat, lambda: info.update(flagged=scipy_flags(train, serve))
            )
        elif method == "Evidently DataDriftPreset, in memory":
            seconds, cpu = _gen.timed(1, lambda: info.update(flagged=evidently_flags(train, serve)))
        elif method.startswith("NannyML univariate"):
            chunks = int(method.split(", ")[1].split()[0])
            seconds, cpu = _gen.timed(
                repeat, lambda: info.update(flagged=nannyml_flags(train, serve, chunks))
            )
        else:
            raise SystemExit(f"unknown method {method!r}")
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": _gen.peak_rss_mb(), **info}


METHODS = (
    "lower bound, in memory",
    "ours, in memory",
    "scipy KS + chi2 (p<0.05), in memory",
    "lower bound, Parquet streamed",
    "ours, Parquet streamed",
)

PEER_METHODS = (
    "Evidently DataDriftPreset, in memory",
    "NannyML univariate, 1 chunk, in memory",
    "NannyML univariate, 10 chunks, in memory",
)


def run(method: str, rows: int, serving: str, repeat: int, python: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    cmd = [python, __file__, "--worker", method, "--rows", str(rows), "--serving", serving]
    proc = subprocess.run(
        [*cmd, "--repeat", str(repeat)], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(flagged: list[str], expected: set[str]) -> str:
    false = sorted(set(flagged) - expected)
    missed = sorted(expected - set(flagged))
    return (
        f"{len(flagged)} flagged, {len(false)} false"
        + (f" ({', '.join(false)})" if false else "")
        + f", {len(missed)} missed"
        + (f" ({', '.join(missed)})" if missed else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--peers", action="store_true", help="also Evidently and NannyML at 1M rows"
    )
    parser.add_argument("--serving", default="drifted", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows[0], args.serving, args.repeat)))
        return
    peers = _gen.ensure_peers() if args.peers else None
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    print(f"best of {args.repeat}; x lower = CPU time / lower bound's CPU time in the same mode")
    print(f"meaningful drift in: {', '.join(_gen.MEANINGFUL)}")
    print(f"nuisance shifts in:  {', '.join(_gen.NUISANCE)}")
    header = (
        f"{'method':38} {'rows':>9} {'serving':>8} {'wall s':>8} {'cpu s':>8} {'x lower':>8} "
        f"{'RSS MB':>7}  columns flagged"
    )
    print(header)
    print("-" * len(header))
    for rows in args.rows:
        for kind in ("training", "serving", "drifted"):
            _gen.dataset(kind, rows)
        methods = list(METHODS)
        if peers is not None and rows == 1_000_000:
            methods += [*PEER_METHODS]
        for serving in ("serving", "drifted"):
            expected = set(_gen.MEANINGFUL) if serving == "drifted" else set()
            label = "same" if serving == "serving" else "drifted"
            bounds: dict[str, float] = {}
            for method in methods:
                python = peers if method in PEER_METHODS and peers else sys.executable
                res = run(method, rows, serving, args.repeat, python)
                if "error" in res:
                    print(f"{method:38} {rows:>9} {label:>8}  error: {res['error']}")
                    continue
                where = "Parquet" if "Parquet" in method else "memory"
                if method.startswith("lower bound"):
                    bounds[where] = res["cpu"]
                ratio = res["cpu"] / bounds[where] if where in bounds else float("nan")
                what = describe(res["flagged"], expected) if "flagged" in res else "-"
                if "schema violations" in res:
                    what += f"; schema violations in {len(res['schema violations'])} columns"
                print(
                    f"{method:38} {rows:>9} {label:>8} {res['seconds']:>8.3f} {res['cpu']:>8.3f} "
                    f"{ratio:>8.2f} {res['peak_rss_mb']:>7.0f}  {what}"
                )


if __name__ == "__main__":
    main()
