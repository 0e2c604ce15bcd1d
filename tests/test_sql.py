"""Datasets read from a database: the time window (bounds, time zones, parameters), streaming
in chunks, no rows, credentials from the environment and masked, and the probe's errors.

SQLite runs everywhere; PostgreSQL (both ways in: ADBC and SQLAlchemy) against the real server
``.ci/start_servers.sh`` starts, skipped with the reason when it is not running.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from _servers import postgres_url

from pytest_mltestscore.assets import AssetError, Assets
from pytest_mltestscore.settings import ConfigError, TableReader, parse_datasets
from pytest_mltestscore.sql import EmptyResult, SQLError, SQLSource, iter_sql_chunks, probe

pytest.importorskip("sqlalchemy")

UTC = dt.timezone.utc
DAY = dt.date(2026, 11, 20)  # the pinned "today" of these tests


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTESTSCORE_TODAY", DAY.isoformat())


def _read(src: SQLSource) -> pd.DataFrame:
    return pd.concat(list(iter_sql_chunks(src)), ignore_index=True)


# -- the window ---------------------------------------------------------------------------------
def test_window_of_a_pinned_day_ends_at_its_midnight() -> None:
    from pytest_mltestscore.sql import window_bounds

    start, end = window_bounds(dt.timedelta(days=1))
    assert (start, end) == (
        dt.datetime(2026, 11, 20, tzinfo=UTC),
        dt.datetime(2026, 11, 21, tzinfo=UTC),
    )


def test_window_without_a_pinned_day_ends_now(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_mltestscore.sql import window_bounds

    monkeypatch.delenv("MLTESTSCORE_TODAY")
    before = dt.datetime.now(UTC)
    start, end = window_bounds(dt.timedelta(hours=6))
    assert before <= end <= dt.datetime.now(UTC)
    assert end - start == dt.timedelta(hours=6)


@pytest.fixture
def sqlite_log(tmp_path: Path) -> str:
    """A serving log in SQLite with times written as a service would: ISO text with offsets
    (Seattle's -08:00 and UTC's Z), naive ISO text (UTC), and unix seconds."""
    path = tmp_path / "log.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE served (id TEXT, served_at, x REAL, label INTEGER)")
        rows = [
            # 2026-11-19T16:30-08:00 is 2026-11-20 00:30 UTC: inside the pinned day
            ("tz-inside", "2026-11-19T16:30:00-08:00", 1.0, 1),
            # 2026-11-20T15:59:59-08:00 is 23:59:59 UTC: the last second inside
            ("tz-last", "2026-11-20T15:59:59-08:00", 2.0, 0),
            # 16:00-08:00 is midnight UTC of the next day: the window is open on the right
            ("tz-after", "2026-11-20T16:00:00-08:00", 3.0, 1),
            ("z-start", "2026-11-20T00:00:00Z", 4.0, 0),  # the first instant: included
            ("z-before", "2026-11-19T23:59:59Z", 5.0, 1),
            ("naive-inside", "2026-11-20 12:00:00", 6.0, 0),
            ("epoch-inside", dt.datetime(2026, 11, 20, 6, tzinfo=UTC).timestamp(), 7.0, 1),
            ("epoch-before", dt.datetime(2026, 11, 19, 6, tzinfo=UTC).timestamp(), 8.0, 0),
        ]
        db.executemany("INSERT INTO served VALUES (?, ?, ?, ?)", rows)
    return f"sqlite:///{path}"


def test_sqlite_window_compares_instants_whatever_the_offset(sqlite_log: str) -> None:
    src = SQLSource(sqlite_log, table="served", timestamp="served_at", window=dt.timedelta(days=1))
    got = set(_read(src)["id"])
    assert got == {"tz-inside", "tz-last", "z-start", "naive-inside", "epoch-inside"}


def test_query_and_table_read_the_same_rows(sqlite_log: str) -> None:
    by_query = SQLSource(
        sqlite_log,
        query="SELECT id, served_at, x FROM served WHERE label = 1",
        timestamp="served_at",
        window=dt.timedelta(days=2),
    )
    assert set(_read(by_query)["id"]) == {"tz-inside", "epoch-inside", "z-before"}
    assert list(_read(by_query).columns) == ["id", "served_at", "x"]


def test_rows_stream_in_chunks_of_at_most_chunk_rows(sqlite_log: str) -> None:
    chunks = list(iter_sql_chunks(SQLSource(sqlite_log, table="served", chunk_rows=3)))
    assert [len(c) for c in chunks] == [3, 3, 2]


def test_a_window_with_no_rows_is_an_error_naming_the_window(sqlite_log: str) -> None:
    src = SQLSource(
        sqlite_log,
        query="SELECT * FROM served WHERE label = 2",
        timestamp="served_at",
        window=dt.timedelta(days=1),
    )
    with pytest.raises(EmptyResult, match=r"the query in the window 2026-11-20 00:00 \.\. "
                       r"2026-11-21 00:00 UTC on served_at returned no rows"):  # fmt: skip
        list(iter_sql_chunks(src))


def test_window_bounds_are_parameters_not_sql(sqlite_log: str) -> None:
    """A timestamp column name is quoted and the bounds never appear in the SQL text."""
    import sqlalchemy as sa

    from pytest_mltestscore.sql import _sqlalchemy_statement

    src = SQLSource(sqlite_log, table="served", timestamp="served_at", window=dt.timedelta(days=1))
    dialect = sa.create_engine(sqlite_log).dialect
    stmt, params = _sqlalchemy_statement(src, sa, dialect, probe=False)
    assert "2026" not in str(stmt)
    assert params == {
        "mltestscore_window_start": "2026-11-20 00:00:00.000000+00:00",
        "mltestscore_window_end": "2026-11-21 00:00:00.000000+00:00",
    }


def test_probe_names_a_missing_table_and_a_missing_column(sqlite_log: str) -> None:
    with pytest.raises(SQLError, match=r"sqlite:///.*: reading table nope failed: .*no such table"):
        probe(SQLSource(sqlite_log, table="nope"))
    with pytest.raises(SQLError, match=r"column\(s\) rain named in the config are not in"):
        probe(SQLSource(sqlite_log, table="served"), ["rain"])
    assert "label" in probe(SQLSource(sqlite_log, table="served"), ["label"])


def test_a_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLTS_NO_SUCH_PASSWORD", raising=False)
    src = SQLSource("postgresql://u:${MLTS_NO_SUCH_PASSWORD}@127.0.0.1/db", table="t")
    with pytest.raises(SQLError, match=r"environment variable MLTS_NO_SUCH_PASSWORD .* not set"):
        probe(src)


# -- configuration ------------------------------------------------------------------------------
def _parse(table: dict) -> dict:
    return parse_datasets(TableReader(Path("pyproject.toml"), "tool.mltestscore.datasets", table))


def test_config_keys_of_a_database_dataset() -> None:
    spec = _parse(
        {
            "serving": {
                "url": "sqlite:///x.db",
                "query": "SELECT 1",
                "timestamp": "t",
                "window": "1d",
            }
        }
    )["serving"]
    assert (spec.url, spec.query, spec.window) == ("sqlite:///x.db", "SELECT 1", dt.timedelta(1))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "sqlite:///x.db"}, "exactly one of 'query' .* or 'table'"),
        ({"url": "sqlite:///x.db", "query": "q", "table": "t"}, "exactly one of 'query'"),
        ({"path": "x.csv", "url": "sqlite:///x.db", "table": "t"}, "exactly one of 'path'"),
        ({"path": "x.csv", "window": "1d"}, "only a dataset read from a database .* window"),
        ({"url": "sqlite:///x.db", "table": "t", "window": "1d"}, "a window needs the timestamp"),
        ({"url": "sqlite:///x.db", "table": "t", "timestamp": "t", "window": "yesterday"},
         "expected a duration such as '1d'"),
        ({"url": "x.db", "table": "t"}, "expected a SQLAlchemy URL"),
        ({"url": "sqlite:///x.db", "table": "t", "engine": "dask"}, "the dask engine reads files"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"\[tool\.mltestscore\.datasets\.serving\] .*" + message):
        _parse({"serving": entry})


# -- PostgreSQL: both ways in, time zones, masking -------------------------------------------------
@pytest.fixture(scope="module")
def pg_table() -> Iterator[tuple[str, str]]:
    """A table with a timestamptz and a naive timestamp column (read as UTC)."""
    import psycopg

    url = postgres_url()
    table = f"mlts_served_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'America/Los_Angeles'")  # the writer's zone must not matter
        conn.execute(
            f"CREATE TABLE {table} (id text, at timestamptz, at_naive timestamp, "
            "x double precision, price numeric(8, 2))"
        )
        rows = [
            ("inside", "2026-11-19 16:30:00-08", "2026-11-20 00:30:00", 1.0, 9.99),
            ("last", "2026-11-20 23:59:59.999+00", "2026-11-20 23:59:59.999", 2.0, 1.5),
            ("after", "2026-11-21 00:00:00+00", "2026-11-21 00:00:00", 3.0, 2.0),
            ("before", "2026-11-19 23:59:59+00", "2026-11-19 23:59:59", 4.0, 3.0),
        ]
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)", rows)
    try:
        yield url, table
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


ENGINES = ["adbc", "sqlalchemy"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("column", ["at", "at_naive"])
def test_postgres_window_by_instant(pg_table: tuple[str, str], engine: str, column: str) -> None:
    url, table = pg_table
    src = SQLSource(url, table=table, timestamp=column, window=dt.timedelta(days=1), engine=engine)
    frame = _read(src)
    assert sorted(frame["id"]) == ["inside", "last"]
    assert frame["price"].dtype == float  # NUMERIC profiles as a number
    assert str(frame["at"].dt.tz) == "UTC"


@pytest.mark.parametrize("engine", ENGINES)
def test_postgres_errors_mask_the_password(
    pg_table: tuple[str, str], engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, table = pg_table
    host = url.rsplit("@", 1)[1]
    monkeypatch.setenv("MLTS_TEST_PG_PASSWORD", "s3cret-Not-mlts")
    wrong = SQLSource(
        f"postgresql://mlts:${{MLTS_TEST_PG_PASSWORD}}@{host}", table=table, engine=engine
    )
    with pytest.raises(SQLError) as caught:
        probe(wrong)
    text = str(caught.value)
    assert "s3cret-Not-mlts" not in text
    assert "password authentication failed" in text
    assert text.startswith(f"postgresql://mlts:***@{host}")
    literal = SQLSource(f"postgresql://mlts:s3cret-Not-mlts@{host}", table=table, engine=engine)
    with pytest.raises(SQLError) as caught:
        list(iter_sql_chunks(literal))
    assert "s3cret-Not-mlts" not in str(caught.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_postgres_unreachable_and_missing_table(pg_table: tuple[str, str], engine: str) -> None:
    from _model_servers import free_port

    url, table = pg_table
    down = SQLSource(
        f"postgresql://mlts:mlts@127.0.0.1:{free_port()}/mlts", table=table, engine=engine
    )
    with pytest.raises(
        SQLError, match=r"postgresql://mlts:\*\*\*@127.0.0.1:\d+/mlts: cannot connect: .*refused"
    ):
        probe(down)
    with pytest.raises(SQLError, match=r"reading table no_such_table failed: .*does not exist"):
        probe(SQLSource(url, table="no_such_table", engine=engine))


def test_assets_name_the_dataset_key(sqlite_log: str, tmp_path: Path) -> None:
    specs = _parse(
        {
            "serving": {"url": sqlite_log, "query": "SELECT * FROM served WHERE label = 2",
                        "timestamp": "served_at", "window": "1h", "id": "id"},
            "broken": {"url": sqlite_log, "table": "served", "target": "rain"},
        }
    )  # fmt: skip
    assets = Assets({}, specs, tmp_path)
    with pytest.raises(
        AssetError,
        match=r"^\[tool\.mltestscore\.datasets\.serving\]: sqlite:///.* returned no rows",
    ):
        assets.profile("serving")
    with pytest.raises(
        AssetError, match=r"^\[tool\.mltestscore\.datasets\.broken\]: .*column\(s\) rain"
    ):
        assets.probe_dataset("broken")
    assets.probe_dataset("serving")  # reachable, table and columns there: no error


def test_profile_of_a_database_dataset_matches_the_frame(sqlite_log: str, tmp_path: Path) -> None:
    from pytest_mltestscore.profiles import profile_frame

    specs = _parse({"serving": {"url": sqlite_log, "table": "served", "id": "id",
                                "timestamp": "served_at", "chunk_rows": 1000}})  # fmt: skip
    assets = Assets({}, specs, tmp_path)
    frame = assets.frame("serving")
    assert len(frame) == 8
    expected = profile_frame(frame[["x", "label"]])
    got = assets.profile("serving")
    assert list(got.columns) == ["x", "label"]
    assert got.columns["x"].count == expected.columns["x"].count == 8


def test_bad_database_config_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.mltestscore.datasets.serving]\nurl = "sqlite:///log.db"\ntable = "t"\n'
        'window = "1d"\n'
    )
    result = pytester.runpytest("--ml-score")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*[[]tool.mltestscore.datasets.serving[]] window: a window needs the timestamp column*"]
    )
