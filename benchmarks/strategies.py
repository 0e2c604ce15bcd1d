"""Benchmark: hypothesis strategies from a 25-column schema (20 numeric, 5 categorical).

    python benchmarks/strategies.py                # ours only
    python benchmarks/strategies.py --peers        # + pandera's strategies (own venv)

The schema is inferred from the generated benchmark data (``benchmarks/_gen.py``: normal,
lognormal and uniform columns, some with nulls; categoricals of 3 to 50 levels). Timed: a
hypothesis run of ``--examples`` (200) examples, generate phase only, no database, fixed seed,
for frames of ``--rows`` (10) rows and for single rows; each the best of ``--repeat`` runs, so
the figure includes hypothesis' own per-example cost, as a property test pays it.

* ours: ``pytest_mltestscore.checks.infra.strategies.data_frames`` / ``rows``;
* pandera (``--peers``): ``DataFrameSchema.strategy(size=...)`` for the equivalent pandera
  schema (``in_range`` and ``isin`` checks, ``nullable`` where the schema allows nulls), run in
  ``benchmarks/_venv_peers`` (created on first use with ``pip install pandera hypothesis pandas
  numpy``; never a dependency). Ours is timed there too, so the ratio compares the two with the
  same hypothesis and pandas versions. There, each of our frames is also validated with the
  pandera schema, as an independent check that the frames are valid.

Target: 200 frames in a few seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS = HERE / "_venv_peers"
PEER_PACKAGES = ["pandera", "hypothesis", "pandas", "numpy"]


# --------------------------------------------------------------------------------------------
# The schema, and its plain description for the peers process


def our_schema() -> Any:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    import _gen

    from pytest_mltestscore.checks.data.schema import infer_schema
    from pytest_mltestscore.profiles import profile_frame

    return infer_schema(profile_frame(_gen.frame(20_000, seed=0)))


def spec_of(schema: Any) -> list[dict[str, Any]]:
    """What a pandera schema needs: kind, range or categories, nullability."""
    out = []
    for name, f in schema.features.items():
        item: dict[str, Any] = {"name": name, "kind": f.kind, "nullable": f.nullable}
        if f.kind == "numeric":
            item.update(dtype=f.dtype, range=list(f.range))
        else:
            item.update(categories=list(f.categories))
        out.append(item)
    return out


# --------------------------------------------------------------------------------------------
# Timing (runs in this venv or in the peers venv)


def time_strategy(strategy: Any, examples: int, repeat: int) -> dict[str, Any]:
    from hypothesis import HealthCheck, Phase, given, settings

    best = float("inf")
    count = 0
    seen: list[Any] = []
    for _ in range(repeat):
        seen.clear()

        @settings(
            max_examples=examples,
            database=None,
            derandomize=True,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
                HealthCheck.large_base_example,
            ],
        )
        @given(strategy)
        def run(value: Any) -> None:
            seen.append(value)

        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
        count = len(seen)
    return {"seconds": best, "examples": count, "last": seen}


def measure_ours(
    schema: Any, examples: int, rows: int, repeat: int, pandera_schema: Any = None
) -> dict[str, Any]:
    from pytest_mltestscore.checks.infra.strategies import data_frames
    from pytest_mltestscore.checks.infra.strategies import rows as row_strategy

    frames = time_strategy(data_frames(schema, min_rows=rows, max_rows=rows), examples, repeat)
    single = time_strategy(row_strategy(schema), examples, repeat)
    out = {
        "frames_s": frames["seconds"],
        "frames_n": frames["examples"],
        "rows_s": single["seconds"],
        "rows_n": single["examples"],
    }
    if pandera_schema is not None:
        out["valid_under_pandera"] = sum(_pandera_valid(pandera_schema, f) for f in frames["last"])
    return out


def _pandera_valid(pandera_schema: Any, frame: Any) -> bool:
    try:
        pandera_schema.validate(frame, lazy=True)
    except Exception:
        return False
    return True


def pandera_schema_of(spec: list[dict[str, Any]]) -> Any:
    import pandera.pandas as pa

    columns = {}
    for item in spec:
        if item["kind"] == "numeric":
            lo, hi = item["range"]
            dtype = int if item["dtype"] == "int" and not item["nullable"] else float
            checks = [pa.Check.in_range(lo, hi)]
        else:
            dtype, checks = str, [pa.Check.isin(item["categories"])]
        columns[item["name"]] = pa.Column(dtype, checks=checks, nullable=item["nullable"])
    return pa.DataFrameSchema(columns)


def measure_pandera(spec: list[dict[str, Any]], examples: int, rows: int, repeat: int) -> dict:
    pandera_schema = pandera_schema_of(spec)
    frames = time_strategy(pandera_schema.strategy(size=rows), examples, repeat)
    single = time_strategy(pandera_schema.strategy(size=1), examples, repeat)
    return {
        "frames_s": frames["seconds"],
        "frames_n": frames["examples"],
        "rows_s": single["seconds"],
        "rows_n": single["examples"],
        "valid_under_pandera": sum(_pandera_valid(pandera_schema, f) for f in frames["last"]),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("hypothesis", "pandas", "numpy", "pandera"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def worker(args: argparse.Namespace) -> None:
    """Measure in this process and print one JSON line (used in the peers venv)."""
    from pytest_mltestscore.checks.data.schema import Schema

    schema = Schema.load(args.schema)
    spec = spec_of(schema)
    result: dict[str, Any] = {"versions": versions()}
    try:
        pandera_schema = pandera_schema_of(spec)
    except Exception as exc:
        pandera_schema = None
        result["pandera_error"] = f"{type(exc).__name__}: {exc}"
    result["ours"] = measure_ours(schema, args.examples, args.rows, args.repeat, pandera_schema)
    if pandera_schema is not None:
        try:
            result["pandera"] = measure_pandera(spec, args.examples, args.rows, args.repeat)
        except Exception as exc:
            result["pandera_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    print(json.dumps(result))


# --------------------------------------------------------------------------------------------
# The peers venv


def ensure_peers(timeout: float) -> str:
    """The peers venv's python, created (and pandera installed) on first use."""
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import pandera, hypothesis, pandas, numpy"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        start = time.perf_counter()
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
            check=True,
            timeout=timeout,
        )
        print(
            f"installed {' '.join(PEER_PACKAGES)} in {PEERS} ({time.perf_counter() - start:.0f} s)"
        )
    return str(python)


def run_peers(python: str, schema_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    cmd = [python, __file__, "--worker", "--schema", str(schema_path)]
    cmd += ["--examples", str(args.examples), "--rows", str(args.rows)]
    cmd += ["--repeat", str(args.repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Report


def line(label: str, m: dict[str, Any], base: dict[str, Any] | None, examples: int) -> str:
    f_s, r_s = m["frames_s"], m["rows_s"]
    ratio_f = f"{f_s / base['frames_s']:.1f}x" if base else "-"
    ratio_r = f"{r_s / base['rows_s']:.1f}x" if base else "-"
    valid = m.get("valid_under_pandera")
    valid_text = f"{valid}/{m['frames_n']}" if valid is not None else "-"
    return (
        f"{label:38s} {f_s:9.2f} {1000 * f_s / examples:8.1f} {ratio_f:>7s}  "
        f"{r_s:9.2f} {1000 * r_s / examples:8.1f} {ratio_r:>7s}  {valid_text:>9s}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10, help="rows per generated frame")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", action="store_true", help="also pandera, in its own venv")
    parser.add_argument("--install-timeout", type=float, default=900.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    import tempfile

    schema = our_schema()
    kinds = [f.kind for f in schema.features.values()]
    nullable = sum(f.nullable for f in schema.features.values())
    here = measure_ours(schema, args.examples, args.rows, args.repeat)
    here_versions = versions()
    peers: dict[str, Any] | None = None
    if args.peers:
        try:
            python = ensure_peers(args.install_timeout)
        except (subprocess.SubprocessError, OSError) as exc:
            peers = {"error": f"could not set up {PEERS}: {exc}"}
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "schema.json"
                schema.dump(path)
                peers = run_peers(python, path, args)

    print(
        f"{len(kinds)} columns ({kinds.count('numeric')} numeric, "
        f"{kinds.count('categorical')} categorical; {nullable} nullable), "
        f"{args.examples} examples per run, frames of {args.rows} rows, best of {args.repeat}"
    )
    header = (
        f"{'strategy':38s} {'frames s':>9s} {'ms/ex':>8s} {'ratio':>7s}  "
        f"{'rows s':>9s} {'ms/ex':>8s} {'ratio':>7s}  {'valid*':>9s}"
    )
    print(header)
    print(
        line(
            f"ours (main venv: hypothesis {here_versions['hypothesis']})", here, None, args.examples
        )
    )
    if peers is not None:
        if "error" in peers:
            print(f"pandera: not measured ({peers['error']})")
        else:
            v = peers["versions"]
            ours_peer = peers["ours"]
            print(
                line(
                    f"ours (peers venv: hypothesis {v['hypothesis']})",
                    ours_peer,
                    ours_peer,
                    args.examples,
                )
            )
            if "pandera" in peers:
                print(
                    line(
                        f"pandera {v.get('pandera', '?')} .strategy()",
                        peers["pandera"],
                        ours_peer,
                        args.examples,
                    )
                )
            if "pandera_error" in peers:
                print(f"pandera: {peers['pandera_error']}")
            print(f"peers venv versions: {json.dumps(v)}")
        print("* valid: frames of the last run that the equivalent pandera schema accepts")
    print(f"main venv versions: {json.dumps(here_versions)}")


if __name__ == "__main__":
    main()
