"""Reading logged rows from PostgreSQL into profiles, against ``COPY ... TO STDOUT`` into numpy.

A serving log of ``--rows`` rows (an id, a timestamptz, 10 float columns and a text column, in
a table this script creates in the database at ``--url`` and drops at the end) is read:

* baseline: ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` through psycopg into memory, parsed by
  pyarrow's CSV reader with the column types given, each column to a numpy array: the rows out
  of PostgreSQL into numpy, with no profile (and, for reference, the same COPY with nothing
  parsed: the transfer alone);
* ours, ADBC: ``iter_sql_chunks`` (Arrow batches through ADBC's binary COPY) into
  ``profile_chunks``, the one-pass profiles every data check reads; once for the whole table and
  once with a time window (the window bound as parameters into a temporary table, then COPY);
* ours, SQLAlchemy (the path of every other database, and of PostgreSQL without ADBC), unless
  ``--no-sqlalchemy``.

Each is run ``--repeat`` times in this process, best time kept; ratios are of seconds per row
against the baseline's.

    python benchmarks/sql.py [--rows 1000000] [--repeat 3] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import time
import uuid

import numpy as np
import pandas as pd

DEFAULT_URL = os.environ.get(
    "MLTESTSCORE_TEST_POSTGRES_URL", "postgresql://mlts:mlts@127.0.0.1:5432/mlts"
)
FLOATS = [f"f{i}" for i in range(10)]
DAY = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)


def create(url: str, table: str, rows: int) -> None:
    import psycopg

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            # two days of traffic; the window below keeps the second
            "served_at": DAY
            - dt.timedelta(days=1)
            + pd.to_timedelta(rng.integers(0, 2 * 86400, rows), unit="s"),
        }
    )
    for name in FLOATS:
        frame[name] = rng.normal(size=rows)
    frame["kind"] = rng.choice(["a", "b", "c", "d"], rows)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    columns = ", ".join(f"{c} double precision" for c in FLOATS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (id bigint, served_at timestamptz, {columns}, kind text)"
        )
        with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        conn.execute(f"ANALYZE {table}")


def baseline(url: str, table: str) -> int:
    """COPY TO STDOUT into memory, then pyarrow's CSV parser into numpy arrays."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    statement = f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT csv)"
    with psycopg.connect(url) as conn, conn.cursor().copy(statement) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    names = ["id", "served_at", *FLOATS, "kind"]
    types = {"id": pa.int64(), "served_at": pa.timestamp("us", tz="UTC"), "kind": pa.string()}
    types.update({c: pa.float64() for c in FLOATS})
    parsed = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(column_types=types),
    )
    arrays = [parsed.column(i).to_numpy() for i in range(parsed.num_columns)]
    return len(arrays[0])


def transfer(url: str, table: str) -> int:
    """The floor: COPY's CSV bytes into memory, nothing parsed (rows counted by newlines)."""
    import psycopg

    lines = 0
    statement = f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT csv)"
    with psycopg.connect(url) as conn, conn.cursor().copy(statement) as copy:
        for block in copy:
            lines += bytes(block).count(b"\n")
    return lines


def ours(url: str, table: str, engine: str, window: dt.timedelta | None) -> int:
    from pytest_mltestscore.profiles import profile_chunks
    from pytest_mltestscore.sql import SQLSource, iter_sql_chunks

    src = SQLSource(
        url,
        table=table,
        timestamp="served_at" if window else None,
        window=window,
        chunk_rows=250_000,
        engine=engine,
    )
    chunks = (c.drop(columns=["id", "served_at"]) for c in iter_sql_chunks(src))
    return profile_chunks(chunks).n_rows


def best(fn, repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t0)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--no-sqlalchemy", action="store_true")
    opts = parser.parse_args()
    os.environ["MLTESTSCORE_TODAY"] = DAY.date().isoformat()  # the window: the pinned day

    table = f"mlts_bench_{uuid.uuid4().hex[:8]}"
    create(opts.url, table, opts.rows)
    try:
        runs = [
            ("COPY TO STDOUT -> numpy (baseline)", lambda: baseline(opts.url, table)),
            ("COPY TO STDOUT, bytes only", lambda: transfer(opts.url, table)),
            ("ADBC -> profiles", lambda: ours(opts.url, table, "adbc", None)),
            (
                "ADBC, 1-day window -> profiles",
                lambda: ours(opts.url, table, "adbc", dt.timedelta(days=1)),
            ),
        ]
        if not opts.no_sqlalchemy:
            runs.append(
                ("SQLAlchemy -> profiles", lambda: ours(opts.url, table, "sqlalchemy", None))
            )
        print(f"{opts.rows:,} logged rows (13 columns), best of {opts.repeat}")
        print(f"{'path':<36} {'rows':>10} {'seconds':>8} {'rows/s':>12} {'x baseline':>10}")
        base = None  # the baseline's seconds per row: a window reads fewer rows
        for label, fn in runs:
            seconds, rows = best(fn, opts.repeat)
            base = base or seconds / rows
            print(
                f"{label:<36} {rows:>10,} {seconds:>8.2f} {rows / seconds:>12,.0f} "
                f"{seconds / rows / base:>10.2f}"
            )
    finally:
        import psycopg

        with psycopg.connect(opts.url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


if __name__ == "__main__":
    main()
