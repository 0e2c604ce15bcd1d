"""Driver wall time and peak memory: single-process streaming profiles versus the Dask engine.

Generates partitioned Parquet datasets of 1M, 5M and 10M rows x 25 columns (20 numeric of
normal, lognormal and uniform shapes with 1% nulls, 5 categorical of 5 to 2,000 values) under
``benchmarks/_data/`` (reused when present), then profiles each with

* (a) ``local``: ``profile_chunks(iter_chunks(dir))``, the single-process streaming engine;
* (b) ``dask-1w``: ``profile_dask(dir, scheduler=address)`` on a LocalCluster of 1 worker;
* (c) ``dask-2w``: the same with 2 workers (1 thread each);
* (d) ``dask-threads``: ``profile_dask(dir)`` on Dask's threaded scheduler, in the driver;
* (e) ``spark-local2``: ``profile_spark(dir)`` on a ``local[2]`` Spark session (needs the
  ``spark`` extra and Java 17+). The session is started before the clock runs; the JVM and its
  Python workers are separate processes, reported as "worker" (the JVM's peak RSS; the CPU of
  the JVM's whole process tree, Python workers included, is added to ``cpu s``).

Wall time covers the profile call only (imports done before); ``cpu s`` adds the driver's CPU
time in that call and the workers' (fairer than wall time on a shared machine, whose load
average is printed per row). Each measurement runs in a fresh driver subprocess, so
``ru_maxrss`` is that configuration's peak. The clusters run in their own process (scheduler
and worker processes, started afresh per measurement and warmed up with the imports a
long-lived cluster would have done), so the driver's memory is the client's alone; the workers'
peak RSS is reported beside it. Every profile is checked equal to (a)'s (exact parts).

    python benchmarks/distributed.py [--sizes 1000000,5000000,10000000] [--rows-per-file 250000]
                                     [--configs local,dask-1w,dask-2w,dask-threads,spark-local2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This file is named like the ``distributed`` package: keep its folder off the import path so
# that ``import distributed`` (here, in the engine and in spawned workers) finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

DATA = HERE / "_data"
CONFIGS = ("local", "dask-1w", "dask-2w", "dask-threads", "spark-local2")
N_NUMERIC = 20
CATEGORIES = (5, 20, 100, 500, 2000)
SEED = 0


# --------------------------------------------------------------------------------------------
# Data


def dataset_dir(rows: int, rows_per_file: int) -> Path:
    return DATA / f"distributed-{rows}-rows-{rows_per_file}-per-file"


def generate(rows: int, rows_per_file: int) -> Path:
    """Write the dataset file by file (bounded memory); reuse it when complete."""
    import numpy as np
    import pandas as pd

    folder = dataset_dir(rows, rows_per_file)
    done = folder / "_COMPLETE"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    vocab = [np.array([f"c{k}_{i}" for i in range(k)], dtype=object) for k in CATEGORIES]
    start = time.perf_counter()
    for f, first in enumerate(range(0, rows, rows_per_file)):
        n = min(rows_per_file, rows - first)
        cols: dict[str, Any] = {}
        for j in range(N_NUMERIC):
            shape = j % 3
            if shape == 0:
                x = rng.normal(j, 1 + j / 10, n)
            elif shape == 1:
                x = rng.lognormal(0, 0.5 + j / 40, n)
            else:
                x = rng.uniform(-j, j + 1, n)
            x[rng.random(n) < 0.01] = np.nan
            cols[f"num_{j:02d}"] = x
        for j, values in enumerate(vocab):
            weights = 1.0 / np.arange(1, len(values) + 1)  # Zipf-like shares
            cols[f"cat_{j}"] = rng.choice(values, n, p=weights / weights.sum())
        pd.DataFrame(cols).to_parquet(folder / f"part-{f:05d}.parquet", index=False)
    done.write_text(f"{rows} rows written in {time.perf_counter() - start:.1f} s\n")
    return folder


# --------------------------------------------------------------------------------------------
# Children: a data generator, a cluster host and a driver


def peak_kb() -> dict[str, int]:
    """This process's peak RSS: ``ru_maxrss`` and, on Linux, ``VmHWM``.

    ``ru_maxrss`` survives ``exec``: a child starts from its parent's high-water mark, which is
    why the orchestrator stays small (no numpy; data generated in a child). ``VmHWM`` belongs to
    the process image and is the cross-check (and the measure for worker processes, whose
    parent, the nanny, is larger than a fresh interpreter).
    """
    out = {"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["hwm_kb"] = int(line.split()[1])
    except OSError:
        pass
    return out


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def warm_up() -> None:
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import pytest_mltestscore.profiles
    import pytest_mltestscore.readers  # noqa: F401


def cluster_host(workers: int) -> None:
    """Run a LocalCluster; print its address; on stdin EOF print the workers' peak RSS and CPU."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with Client(cluster) as client:
        client.run(warm_up)  # a long-lived cluster has its libraries imported already
        cpu_before = client.run(cpu_seconds)
        print(json.dumps({"address": cluster.scheduler_address}), flush=True)
        sys.stdin.read()
        cpu_after = client.run(cpu_seconds)
        peaks = client.run(peak_kb)
    cluster.close()
    worker_kb = sorted(p.get("hwm_kb", p["maxrss_kb"]) for p in peaks.values())
    cpu = sum(cpu_after[w] - cpu_before[w] for w in cpu_after)
    print(json.dumps({"worker_peak_kb": worker_kb, "worker_cpu": cpu}), flush=True)


def driver(config: str, folder: str, address: str | None, out: str) -> None:
    """Profile ``folder`` one way; print wall and CPU time and this process's peak RSS."""
    # Imports are not what is measured: each configuration loads what it uses beforehand.
    from pytest_mltestscore.engines.dask import profile_dask
    from pytest_mltestscore.profiles import profile_chunks
    from pytest_mltestscore.readers import iter_chunks

    jvm: int | None = None
    if config == "local":
        warm_up()
    elif config == "spark-local2":
        from pytest_mltestscore.engines.spark import profile_spark, spark_session

        warm_up()
        session = spark_session("local[2]")
        jvm = session.sparkContext._gateway.proc.pid
        # a long-lived session has its Python workers started: one small job first
        session.sparkContext.parallelize(range(2), 2).map(lambda x: x).collect()
    else:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    start, cpu = time.perf_counter(), cpu_seconds()
    jvm_cpu = process_cpu(jvm) if jvm else 0.0
    if config == "local":
        profile = profile_chunks(iter_chunks(folder))
    elif config == "spark-local2":
        profile = profile_spark(folder)
    else:
        profile = profile_dask(folder, scheduler=address)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    extra: dict[str, Any] = {}
    if jvm:
        extra = {"worker_peak_kb": [process_hwm_kb(jvm)], "worker_cpu": process_cpu(jvm) - jvm_cpu}
    Path(out).write_text(json.dumps(profile.to_dict()))
    result = {"wall": wall, "cpu": cpu, "rows": profile.n_rows, **peak_kb(), **extra}
    print(json.dumps(result), flush=True)


def process_cpu(pid: int) -> float:
    """CPU seconds of a process tree (Linux ``/proc``): each live process's own time plus that
    of the children it has reaped. PySpark's Python workers are forked by a daemon under the
    JVM, so they are counted here (live, or reaped by the daemon), not in the JVM's time."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
    parent = {p: int(fields[1]) for p, fields in stats.items()}

    def in_tree(p: int) -> bool:
        while p > 1:
            if p == pid:
                return True
            p = parent.get(p, 0)
        return False

    # utime, stime, cutime, cstime
    ticks = sum(sum(map(int, fields[11:15])) for p, fields in stats.items() if in_tree(p))
    return ticks / os.sysconf("SC_CLK_TCK")


def process_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    raise RuntimeError(f"no result in child output:\n{text[-3000:]}")


def measure(config: str, folder: Path, out: Path) -> dict[str, Any]:
    me = [sys.executable, str(Path(__file__).resolve())]
    host = None
    address = None
    load = os.getloadavg()[0]
    try:
        if config in ("dask-1w", "dask-2w"):
            workers = 1 if config == "dask-1w" else 2
            host = subprocess.Popen(
                [*me, "--cluster-host", str(workers)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert host.stdout is not None
            address = json.loads(host.stdout.readline())["address"]
        cmd = [*me, "--driver", config, str(folder), "--out", str(out)]
        if address:
            cmd += ["--address", address]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"{config} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
        result = _last_json(proc.stdout)
        result["cpu"] += result.pop("worker_cpu", 0.0)
        if host is not None:
            tail, _ = host.communicate(timeout=120)
            cluster = _last_json(tail)
            result["worker_peak_kb"] = cluster["worker_peak_kb"]
            result["cpu"] += cluster["worker_cpu"]
            host = None
    finally:
        if host is not None:
            host.kill()
    result["load"] = (load + os.getloadavg()[0]) / 2
    return result


def exact_part(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    for col in data["columns"].values():
        if "numeric" in col:
            col["numeric"].pop("mean")
            col["numeric"].pop("m2")
    return data


# --------------------------------------------------------------------------------------------
# Orchestration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000,10000000")
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cluster-host", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--driver", nargs=2, metavar=("CONFIG", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.generate:
        generate(opts.generate, opts.rows_per_file)
        return
    if opts.cluster_host:
        cluster_host(opts.cluster_host)
        return
    if opts.driver:
        driver(opts.driver[0], opts.driver[1], opts.address, opts.out)
        return
    sizes = [int(s) for s in opts.sizes.split(",")]
    configs = [c for c in opts.configs.split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or "local" not in configs:
        raise SystemExit(f"--configs: choose among {', '.join(CONFIGS)}, including local")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
        f"{N_NUMERIC} numeric + {len(CATEGORIES)} categorical columns, "
        f"{opts.rows_per_file:,} rows per file",
        flush=True,
    )
    rows_out: list[tuple[Any, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            t = time.perf_counter()
            folder = dataset_dir(size, opts.rows_per_file)
            if not (folder / "_COMPLETE").exists():
                me = [sys.executable, str(Path(__file__).resolve())]
                gen = ["--generate", str(size), "--rows-per-file", str(opts.rows_per_file)]
                subprocess.run([*me, *gen], check=True)
            files = len(list(folder.glob("*.parquet")))
            print(
                f"{size:,} rows: {files} files ready ({time.perf_counter() - t:.0f} s)", flush=True
            )
            base: dict[str, Any] | None = None
            for config in configs:
                out = Path(tmp, f"{size}-{config}.json")
                r = measure(config, folder, out)
                if r["rows"] != size:
                    raise SystemExit(f"{config}: profiled {r['rows']} rows, expected {size}")
                same = "-"
                if config == "local":
                    base = r
                    base["profile"] = exact_part(out)
                else:
                    assert base is not None
                    same = "yes" if exact_part(out) == base["profile"] else "NO"
                workers = r.get("worker_peak_kb")
                if abs(r["maxrss_kb"] - r.get("hwm_kb", r["maxrss_kb"])) > 0.1 * r["maxrss_kb"]:
                    print(f"  note: ru_maxrss {r['maxrss_kb']} kB but VmHWM {r['hwm_kb']} kB")
                rows_out.append(
                    (
                        f"{size:,}",
                        config,
                        r["wall"],
                        r["wall"] / base["wall"],
                        r["cpu"],
                        r["maxrss_kb"] / 1024,
                        r["maxrss_kb"] / base["maxrss_kb"],
                        "/".join(f"{w / 1024:.0f}" for w in workers) if workers else "-",
                        same,
                        r["load"],
                    )
                )
                print(
                    f"  {config:<13} {r['wall']:7.1f} s  driver {r['maxrss_kb'] / 1024:7.0f} MB",
                    flush=True,
                )
    header = (
        "rows",
        "engine",
        "wall s",
        "x local",
        "cpu s",
        "driver peak MB",
        "x local",
        "worker peak MB",
        "same profile",
        "load",
    )
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows_out:
        size, config, wall, wr, cpu, mem, mr, workers, same, load = row
        print(
            f"| {size} | {config} | {wall:.1f} | {wr:.2f} | {cpu:.1f} | {mem:.0f} | {mr:.2f} "
            f"| {workers} "
            f"| {same} | {load:.1f} |"
        )
    print()
    for config in configs:
        mems = [r[5] for r in rows_out if r[1] == config]
        if len(mems) > 1:
            print(
                f"{config}: driver peak {min(mems):.0f}-{max(mems):.0f} MB over "
                f"{', '.join(r[0] for r in rows_out if r[1] == config)} rows "
                f"(largest/smallest {max(mems) / min(mems):.2f})"
            )


if __name__ == "__main__":
    main()
