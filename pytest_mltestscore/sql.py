"""Datasets read from the database a service logs to: a SQLAlchemy URL and a query or a table.

Rows stream in chunks of at most ``chunk_rows`` (bounded memory) into the same profiles as files.
Two ways in:

* PostgreSQL with ``adbc-driver-postgresql`` installed: Arrow-native. The query is read through
  ADBC, which uses ``COPY ... TO STDOUT (FORMAT binary)`` and yields Arrow batches. A time window
  is bound as query parameters into a temporary table first (``CREATE TEMP TABLE ... AS SELECT
  ... WHERE ts >= $1 AND ts < $2``, dropped with the transaction), since PostgreSQL cannot
  ``COPY`` a query with parameters; the rows then stream out of it. ``benchmarks/sql.py``
  measures both ways.
* Any other database SQLAlchemy has a dialect and a driver for (``sqlite:///``, ``mysql+...``),
  or PostgreSQL without ADBC: SQLAlchemy with ``stream_results``, rows fetched in partitions.

The time window is ``[end - window, end)`` on the ``timestamp`` column, where ``end`` is the run's
clock (:func:`window_bounds`): now, or when "today" is pinned (``MLTESTSCORE_TODAY``) the end of
that day, midnight UTC. The bounds are always bound as query parameters, never formatted into the
SQL. Credentials come from ``${VAR}`` in the URL (or the driver's own environment, such as
``PGPASSWORD``) and are masked (:mod:`pytest_mltestscore.masking`) in every message.

Every failure is a :class:`SQLError` whose message names the server (password masked) and what
went wrong; the caller adds the dataset key.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import clock
from .masking import MissingVariable, expand, mask, mask_url, url_secrets

if TYPE_CHECKING:
    import pandas as pd

WINDOW_START = "mltestscore_window_start"
WINDOW_END = "mltestscore_window_end"
CONNECT_TIMEOUT = 10
_TEMP_TABLE = "mltestscore_window"
INSTALL_HINT = "pip install 'pytest-mltestscore[sql]'"


class SQLError(ValueError):
    """The database cannot be read; the message names the server (password masked)."""


class EmptyResult(SQLError):
    """The query (in its window) returned no rows."""


@dataclass(frozen=True)
class SQLSource:
    """What to read: ``url`` as configured (``${VAR}`` unexpanded), and a query or a table."""

    url: str
    query: str | None = None
    table: str | None = None
    timestamp: str | None = None
    window: dt.timedelta | None = None
    chunk_rows: int = 1_000_000
    engine: str = "auto"  # auto | adbc | sqlalchemy (benchmarks compare the two)
    root: Path | None = None  # a relative SQLite path is taken from here (pyproject's folder)

    @property
    def shown(self) -> str:
        """The URL fit to print (password and credential query values masked)."""
        return mask_url(self.url)

    def connect_url(self) -> tuple[str, list[str]]:
        """The URL with ``${VAR}`` expanded, and every secret to mask in messages."""
        try:
            url, secrets = expand(self.url)
        except MissingVariable as exc:
            raise SQLError(
                f"{self.shown}: environment variable {exc.name} (named in url) is not set"
            ) from None
        scheme, sep, path = url.partition(":///")
        relative = path and not path.startswith(("/", ":memory:"))
        if scheme.startswith("sqlite") and sep and relative and self.root is not None:
            url = f"{scheme}:///{self.root / path}"
        return url, secrets + url_secrets(url)


def window_bounds(window: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """``[end - window, end)`` in UTC: ``end`` is now, or the end of the pinned day.

    A pinned day (``MLTESTSCORE_TODAY=D``) is scored as a run made once that day is over: it
    sees everything logged on D (a replay of D runs after D's logs are written).
    """
    if os.environ.get(clock.TODAY_ENV, "").strip():
        end = clock.now() + dt.timedelta(days=1)
    else:
        end = clock.now()
    return end - window, end


def _driver_url(url: str) -> str:
    """``postgresql://`` names psycopg2 in SQLAlchemy; use psycopg 3 when only it is there."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            try:
                import psycopg  # noqa: F401
            except ImportError:
                return url
            return f"postgresql+psycopg{sep}{rest}"
    return url


def _is_postgres(url: str) -> bool:
    scheme = url.partition("://")[0]
    return scheme.split("+")[0] in ("postgresql", "postgres")


def _libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it (no ``+driver``)."""
    _, sep, rest = url.partition("://")
    return f"postgresql{sep}{rest}"


def _use_adbc(src: SQLSource, url: str) -> bool:
    if src.engine == "sqlalchemy" or not _is_postgres(url):
        return False
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        if src.engine == "adbc":
            raise SQLError(
                f"{src.shown}: the adbc engine needs adbc-driver-postgresql: {INSTALL_HINT}"
            ) from None
        return False
    return True


def _reason(exc: BaseException, secrets: Sequence[str]) -> str:
    """The first meaningful line of a driver error, secrets masked."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    # libpq and SQLAlchemy put the detail after a prefix; keep one line, short
    for extra in lines[1:3]:
        if extra.upper().startswith(("DETAIL", "HINT", "LINE")):
            text += f" ({extra})"
    return mask(" ".join(text.split()), secrets)


def _failed(src: SQLSource, exc: BaseException, secrets: Sequence[str]) -> SQLError:
    return SQLError(f"{src.shown}: reading {_describe(src)} failed: {_reason(exc, secrets)}")


# -- the statement --------------------------------------------------------------------------------
def _quote(name: str, quote: Any) -> str:
    """A possibly schema-qualified table name, each part quoted by the dialect."""
    return ".".join(quote(part) for part in name.split("."))


def _base_sql(src: SQLSource, quote: Any) -> str:
    if src.table is not None:
        return f"SELECT * FROM {_quote(src.table, quote)}"
    assert src.query is not None
    return src.query.strip().rstrip(";")


def _window_condition(dialect: str, column: str, start: str, end: str) -> str:
    """``column`` in ``[start, end)`` for a dialect; ``start``/``end`` are placeholders."""
    if dialect == "sqlite":
        # SQLite has no timestamp type: ISO 8601 text (an offset is honoured, none means UTC)
        # or unix seconds; julianday() compares both as instants.
        value = (
            f"(CASE WHEN typeof({column}) IN ('integer', 'real') "
            f"THEN julianday({column}, 'unixepoch') ELSE julianday({column}) END)"
        )
        return f"{value} >= julianday({start}) AND {value} < julianday({end})"
    return f"{column} >= {start} AND {column} < {end}"


def _bound_values(dialect: str, start: dt.datetime, end: dt.datetime) -> tuple[Any, Any]:
    if dialect == "postgresql":
        return start, end  # aware: compared as timestamptz (naive columns are read as UTC)
    if dialect == "sqlite":
        return (
            start.isoformat(sep=" ", timespec="microseconds"),
            end.isoformat(sep=" ", timespec="microseconds"),
        )
    naive = (start.replace(tzinfo=None), end.replace(tzinfo=None))
    return naive  # other dialects: naive UTC, as most DATETIME columns hold


# -- reading ------------------------------------------------------------------------------------
def iter_sql_chunks(src: SQLSource) -> Iterator[pd.DataFrame]:
    """The rows of the query (in its window) as DataFrames of at most ``chunk_rows`` rows.

    Raises :class:`EmptyResult` when no row comes back, :class:`SQLError` on any other failure.
    """
    url, secrets = src.connect_url()
    if _use_adbc(src, url):
        chunks = _adbc_chunks(src, _libpq_url(url), secrets)
    else:
        chunks = _sqlalchemy_chunks(src, _driver_url(url), secrets)
    rows = 0
    for chunk in chunks:
        rows += len(chunk)
        if len(chunk):
            yield chunk
    if rows == 0:
        raise EmptyResult(f"{src.shown}: {_describe(src)} returned no rows")


def probe(src: SQLSource, columns: Sequence[str] = ()) -> list[str]:
    """Connect and run the statement with ``WHERE 1 = 0``: the server is reachable, the login
    works, the table and the columns exist. Returns the column names; raises :class:`SQLError`.

    Reads no rows, so it is cheap on any table.
    """
    url, secrets = src.connect_url()
    if _use_adbc(src, url):
        names = _adbc_columns(src, _libpq_url(url), secrets)
    else:
        names = _sqlalchemy_columns(src, _driver_url(url), secrets)
    wanted = [c for c in (src.timestamp, *columns) if c]
    missing = [c for c in wanted if c not in names]
    if missing:
        raise SQLError(
            f"{src.shown}: column(s) {', '.join(missing)} named in the config are not in what "
            f"{_describe(src)} returns (columns: {', '.join(names[:20])})"
        )
    return names


def _describe(src: SQLSource) -> str:
    what = f"table {src.table}" if src.table is not None else "the query"
    if src.window is not None and src.timestamp is not None:
        start, end = window_bounds(src.window)
        what += (
            f" in the window {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC on {src.timestamp}"
        )
    return what


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise SQLError(
            f"reading a dataset from a database needs SQLAlchemy: {INSTALL_HINT}"
        ) from None
    return sqlalchemy


def _sqlalchemy_statement(src: SQLSource, sa: Any, dialect: Any, probe: bool) -> tuple[Any, dict]:
    quote = dialect.identifier_preparer.quote
    sql = _base_sql(src, quote)
    params: dict[str, Any] = {}
    conditions = []
    if src.window is not None and src.timestamp is not None:
        start, end = window_bounds(src.window)
        column = f"mltestscore_rows.{quote(src.timestamp)}"
        conditions.append(
            _window_condition(dialect.name, column, f":{WINDOW_START}", f":{WINDOW_END}")
        )
        params[WINDOW_START], params[WINDOW_END] = _bound_values(dialect.name, start, end)
    if probe:
        conditions.append("1 = 0")
    if conditions:
        sql = f"SELECT * FROM ({sql}) AS mltestscore_rows WHERE {' AND '.join(conditions)}"
    return sa.text(sql), params


def _sqlalchemy_engine(sa: Any, url: str, src: SQLSource, secrets: Sequence[str]) -> Any:
    try:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    except ImportError as exc:
        raise SQLError(
            f"{src.shown}: the database driver is not installed ({exc}); install the driver "
            "SQLAlchemy names for this URL"
        ) from None
    except Exception as exc:  # ArgumentError, NoSuchModuleError: a URL SQLAlchemy cannot use
        raise SQLError(f"{src.shown}: {_reason(exc, secrets)}") from None
    return engine


def _sqlalchemy_connect(sa: Any, engine: Any, src: SQLSource, secrets: Sequence[str]) -> Any:
    try:
        conn = engine.connect()
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TIME ZONE 'UTC'")
    except sa.exc.SQLAlchemyError as exc:
        raise SQLError(
            f"{src.shown}: cannot connect: {_reason(exc.orig or exc, secrets)}"
        ) from None
    return conn


@contextmanager
def _sqlalchemy_session(src: SQLSource, url: str, secrets: Sequence[str]) -> Iterator[Any]:
    """A connection (session time zone UTC on PostgreSQL); driver errors become SQLError."""
    sa = _sqlalchemy()
    engine = _sqlalchemy_engine(sa, url, src, secrets)
    try:
        with _sqlalchemy_connect(sa, engine, src, secrets) as conn:
            try:
                yield conn
            except sa.exc.SQLAlchemyError as exc:
                raise _failed(src, exc.orig or exc, secrets) from None
    finally:
        engine.dispose()


def _sqlalchemy_chunks(src: SQLSource, url: str, secrets: Sequence[str]) -> Iterator[pd.DataFrame]:
    import pandas as pd

    with _sqlalchemy_session(src, url, secrets) as conn:
        stmt, params = _sqlalchemy_statement(src, _sqlalchemy(), conn.dialect, probe=False)
        result = conn.execution_options(yield_per=src.chunk_rows).execute(stmt, params)
        keys = [str(k) for k in result.keys()]  # noqa: SIM118
        empty = True
        for part in result.partitions(src.chunk_rows):
            empty = False
            yield _numeric_decimals(pd.DataFrame.from_records(part, columns=keys))
        if empty:
            yield pd.DataFrame(columns=keys)


def _sqlalchemy_columns(src: SQLSource, url: str, secrets: Sequence[str]) -> list[str]:
    with _sqlalchemy_session(src, url, secrets) as conn:
        stmt, params = _sqlalchemy_statement(src, _sqlalchemy(), conn.dialect, probe=True)
        return [str(k) for k in conn.execute(stmt, params).keys()]  # noqa: SIM118


def _numeric_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns (SQL NUMERIC) as floats, so that they profile as numbers."""
    import decimal

    import pandas as pd

    for column in frame.columns:
        series = frame[column]
        if series.dtype == object:
            first = series.dropna()
            if len(first) and isinstance(first.iloc[0], decimal.Decimal):
                frame[column] = pd.to_numeric(series, errors="coerce").astype(float)
    return frame


# -- PostgreSQL through ADBC (Arrow-native) ------------------------------------------------------
def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _adbc_connect(url: str, src: SQLSource, secrets: Sequence[str]) -> Any:
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc

    try:
        conn = adbc.connect(url)
        with conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
    except adbc_driver_manager.Error as exc:
        raise SQLError(f"{src.shown}: cannot connect: {_reason(exc, secrets)}") from None
    return conn


def _adbc_statement(src: SQLSource, probe: bool) -> tuple[str, tuple[Any, ...] | None]:
    sql = _base_sql(src, _pg_quote)
    conditions = []
    params: tuple[Any, ...] | None = None
    if src.window is not None and src.timestamp is not None:
        conditions.append(
            _window_condition(
                "postgresql", f"mltestscore_rows.{_pg_quote(src.timestamp)}", "$1", "$2"
            )
        )
        params = window_bounds(src.window)
    if probe:
        conditions.append("1 = 0")
    if conditions:
        sql = f"SELECT * FROM ({sql}) AS mltestscore_rows WHERE {' AND '.join(conditions)}"
    return sql, params


@contextmanager
def _adbc_session(src: SQLSource, url: str, secrets: Sequence[str]) -> Iterator[Any]:
    """A cursor in a transaction rolled back at the end; driver errors become SQLError."""
    import adbc_driver_manager

    conn = _adbc_connect(url, src, secrets)
    try:
        with conn.cursor() as cur:
            try:
                yield cur
            except adbc_driver_manager.Error as exc:
                raise _failed(src, exc, secrets) from None
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


def _adbc_chunks(src: SQLSource, url: str, secrets: Sequence[str]) -> Iterator[pd.DataFrame]:
    with _adbc_session(src, url, secrets) as cur:
        sql, params = _adbc_statement(src, probe=False)
        if params is not None:
            # COPY cannot take parameters: bind the window into a temporary table (dropped
            # with the transaction), then stream it out with COPY.
            cur.execute(
                f"CREATE TEMP TABLE {_TEMP_TABLE} ON COMMIT DROP AS {sql}", parameters=params
            )
            sql = f"SELECT * FROM {_TEMP_TABLE}"
        cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(1 << 24)})
        cur.execute(sql)
        yield from _arrow_chunks(cur.fetch_record_batch(), src.chunk_rows)


def _arrow_chunks(reader: Any, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """DataFrames of at most ``chunk_rows`` rows from an Arrow batch reader (decimals as floats)."""
    import pyarrow as pa

    schema = reader.schema
    # NUMERIC arrives as decimals, or (ADBC's PostgreSQL driver) as text typed "numeric"
    numeric = {
        i
        for i, f in enumerate(schema)
        if pa.types.is_decimal(f.type) or (f.metadata or {}).get(b"POSTGRESQL:type") == b"numeric"
    }
    empty = True
    for batch in reader:
        if numeric:
            arrays = [_as_float(batch.column(i)) if i in numeric else batch.column(i)
                      for i in range(batch.num_columns)]  # fmt: skip
            batch = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
        for offset in range(0, batch.num_rows, chunk_rows):
            empty = False
            yield batch.slice(offset, chunk_rows).to_pandas()
    if empty:
        import pandas as pd

        yield pd.DataFrame(columns=list(schema.names))


def _as_float(array: Any) -> Any:
    import pyarrow as pa

    storage = array.storage if isinstance(array, pa.ExtensionArray) else array
    return storage.cast(pa.float64())


def _adbc_columns(src: SQLSource, url: str, secrets: Sequence[str]) -> list[str]:
    with _adbc_session(src, url, secrets) as cur:
        sql, params = _adbc_statement(src, probe=True)
        cur.execute(sql, parameters=params)
        reader = cur.fetch_record_batch()
        names = list(reader.schema.names)
        reader.read_all()
        return names
