"""Benchmark: profiling a text column in one pass, against a pandas baseline in the same run.

    python benchmarks/text.py                     # 1M texts; streamed runs at 1M and 4M
    python benchmarks/text.py --rows 1000000 --stream-rows 1000000 4000000 --repeat 3

Data: the tweets of ``examples/tweet_source/data`` (2,381 training + 794 validation + 794
serving texts, from ``dslabs/trump_tweets``), resampled with replacement (seeded) to the row
count: short texts of 17 tokens and 106 characters on average. Each resampled tweet's links
(``https://t.co/...``, in a third of them) get a fresh id, as every real tweet's do, so the
vocabulary keeps growing with the rows as a real stream's does (resampling alone would stop it
at the 13,810 distinct tokens of the 3,969 tweets).

Each configuration runs in its own subprocess, which reports its CPU time (best of
``--repeat``) and its peak RSS, so memory figures do not leak between configurations:

* pandas baseline, in memory: ``s.str.len()``, ``s.str.split()`` and the tokens'
  ``value_counts()`` (``explode`` first): the least a text profile does, written the usual way;
* ours, in memory: ``profile_frame(df, kinds={"text": "text"})``: the same measures and more
  (tokens per text, empty texts, non-ASCII characters, the capped vocabulary with its bound,
  the split-half token sample), in one pass;
* ours, streamed: ``profile_chunks`` over chunks of ``--chunk-rows`` texts made on the fly,
  so the whole column never exists at once: peak memory is one chunk plus the vocabulary
  (bounded by ``--cap``), whatever the number of rows; and the pandas baseline streamed the
  same way for its memory (it keeps every token until it counts them).

Targets: ours at most 1.5x the baseline's CPU time; the streamed peak flat in the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
DATA = HERE.parent / "examples" / "tweet_source" / "data"


LINK = re.compile(r"https://t\.co/\w+")


def texts(rows: int, seed: int = 0) -> Any:
    """``rows`` tweets resampled with replacement from the example's data, fresh link ids."""
    import numpy as np
    import pandas as pd

    base = pd.concat(
        pd.read_csv(DATA / f"{name}.csv.gz")["text"]
        for name in ("training", "validation", "serving")
    ).to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    picked = base[rng.integers(0, len(base), rows)]
    ids = iter(rng.integers(0, 36**10, 2 * rows).tolist())
    fresh = [
        LINK.sub(lambda _: "https://t.co/" + np.base_repr(next(ids), 36), t) if "t.co/" in t else t
        for t in picked
    ]
    return pd.Series(fresh, name="text", dtype=object)


def chunks(rows: int, chunk_rows: int) -> Iterator[Any]:
    for i, start in enumerate(range(0, rows, chunk_rows)):
        yield texts(min(chunk_rows, rows - start), seed=i).to_frame()


def baseline(s: Any) -> None:
    s.str.len()
    s.str.split().explode().value_counts()


def timed(repeat: int, fn: Callable[[], Any]) -> tuple[float, float]:
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def worker(config: str, rows: int, chunk_rows: int, cap: int, repeat: int) -> dict[str, Any]:
    from pytest_mltestscore.profiles import profile_chunks, profile_frame

    info: dict[str, Any] = {}
    if config == "pandas baseline, in memory":
        s = texts(rows)
        wall, cpu = timed(repeat, lambda: baseline(s))
    elif config == "ours, in memory":
        df = texts(rows).to_frame()

        def job() -> None:
            col = profile_frame(df, kinds={"text": "text"}, vocabulary_cap=cap)["text"].text
            assert col is not None
            vocab = col.vocabulary
            info["tokens"] = col.token_total
            info["vocabulary kept"] = len(vocab.counts)
            info["error bound (count)"] = round(vocab.error_bound, 1)
            info["error bound (share)"] = f"{vocab.error_bound / col.token_total:.2e}"

        wall, cpu = timed(repeat, job)
    elif config == "ours, streamed":

        def job() -> None:
            profile = profile_chunks(
                chunks(rows, chunk_rows), kinds={"text": "text"}, vocabulary_cap=cap
            )
            info["vocabulary kept"] = len(profile["text"].text.vocabulary.counts)

        wall, cpu = timed(1, job)
    elif config == "pandas baseline, streamed":
        from collections import Counter

        def job() -> None:
            total: Counter[str] = Counter()
            for chunk in chunks(rows, chunk_rows):
                chunk["text"].str.len()
                total.update(chunk["text"].str.split().explode().value_counts().to_dict())
            info["vocabulary kept"] = len(total)

        wall, cpu = timed(1, job)
    else:
        raise SystemExit(f"unknown configuration {config!r}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall, "cpu": cpu, "peak_rss_mb": peak, **info}


def run(config: str, rows: int, args: argparse.Namespace, cap: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        config,
        "--rows",
        str(rows),
        "--chunk-rows",
        str(args.chunk_rows),
        "--cap",
        str(cap),
        "--repeat",
        str(args.repeat),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{config} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream-rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--cap", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows, args.chunk_rows, args.cap, args.repeat)))
        return 0

    print(f"text profiling, {args.rows:,} tweets in memory (CPU s, best of {args.repeat})")
    base = run("pandas baseline, in memory", args.rows, args, args.cap)
    ours = run("ours, in memory", args.rows, args, args.cap)
    print("| configuration | CPU s | x baseline | peak RSS MB | notes |")
    print("|---|---|---|---|---|")
    for name, r in (("pandas baseline, in memory", base), ("ours, in memory", ours)):
        notes = ", ".join(
            f"{k} {v}" for k, v in r.items() if k not in ("wall", "cpu", "peak_rss_mb")
        )
        print(
            f"| {name} | {r['cpu']:.2f} | {r['cpu'] / base['cpu']:.2f} | {r['peak_rss_mb']:.0f} "
            f"| {notes} |"
        )
    ratio = ours["cpu"] / base["cpu"]
    print(
        f"\nours / baseline CPU: {ratio:.2f} (target at most 1.5): {'ok' if ratio <= 1.5 else 'MISSED'}"
    )

    print(
        f"\nstreamed in chunks of {args.chunk_rows:,} texts made on the fly (one run each; "
        "CPU includes making the chunks)"
    )
    print("| rows | configuration | vocabulary cap | CPU s | peak RSS MB | vocabulary kept |")
    print("|---|---|---|---|---|---|")
    peaks = []
    for rows in args.stream_rows:
        for config, cap in (
            ("ours, streamed", args.cap),
            ("ours, streamed", 10 * args.cap),
            ("pandas baseline, streamed", args.cap),
        ):
            r = run(config, rows, args, cap)
            shown_cap = f"{cap:,}" if config.startswith("ours") else "none"
            print(
                f"| {rows:,} | {config} | {shown_cap} | {r['cpu']:.2f} | {r['peak_rss_mb']:.0f} "
                f"| {r['vocabulary kept']:,} |"
            )
            if config == "ours, streamed" and cap == args.cap:
                peaks.append(r["peak_rss_mb"])
    growth = peaks[-1] / peaks[0]
    print(
        f"\nours streamed, peak RSS at {args.stream_rows[-1]:,} rows over {args.stream_rows[0]:,}: "
        f"{growth:.2f}x for {args.stream_rows[-1] / args.stream_rows[0]:.0f}x the rows"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
