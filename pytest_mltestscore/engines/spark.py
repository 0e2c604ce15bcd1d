"""Dataset profiles computed on Spark: each partition profiled by an executor, merged in a tree.

Two inputs:

* :func:`profile_spark` takes files (a file, a directory or a glob, as the other engines do).
  One Spark task per file (or per Parquet row group) reads it with the ordinary readers, so the
  profile equals the single-process one for every format: counts, nulls, histograms, extremes
  and category counts exactly, the mean and sum of squared deviations up to rounding. The
  executors must see the files at the same paths (a shared or network file system).
* :func:`profile_spark_dataframe` takes a Spark DataFrame (a table, Delta, Parquet on S3 or
  HDFS: whatever Spark reads) and profiles each partition with ``mapInPandas``, on the Arrow
  batches Spark hands to Python. The profile is that of the pandas frames Spark produces:
  Spark's types, not pandas' (integers with nulls arrive as floats, timestamps as naive values
  in the session time zone, pandas categoricals as strings).

Either way each task returns ``DatasetProfile.to_dict()`` (kilobytes), and the profiles are
merged in an order-preserving tree of ``split_every`` neighbours per task on the executors, so
the driver receives one profile whatever the number of partitions and no row leaves an
executor. The reference (training) profile is broadcast once.

Failures: Spark reruns a failed task up to ``spark.task.maxFailures`` times (4 on a cluster; in
local mode give it in the master, ``local[2,3]``), and the result is still exact; past that the
job fails and :class:`~pytest_mltestscore.engines.EngineError` is raised with Spark's reason. A
partial profile is never returned. A bad file is the same ``ReaderError``/``ValueError`` as in
the single-process engine.

Sessions: the active ``SparkSession`` is used when there is one (or pass ``spark=``); otherwise
one is started for ``master`` (default ``local[*]``) with the UI off, bound to loopback for
local masters, and reused by later calls in this process. Executors run the same Python as the
driver locally; on a cluster, pytest-mltestscore must be installed on the executors.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..profiles import DEFAULT_BINS, DEFAULT_MAX_CATEGORIES, DatasetProfile
from ..readers import DEFAULT_CHUNK_ROWS, ReaderError, resolve_paths
from ..sketches import DEFAULT_VOCABULARY_CAP
from ._partitions import (
    Partition,
    Settings,
    check_merge,
    first_line,
    merge_profiles,
    partitions,
    profile_frames,
    profile_partition,
)
from ._partitions import (
    settings as checked_settings,
)
from .errors import EngineError, MissingEngineError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SPLIT_EVERY = 8
"""Profiles merged by one task of the reduction tree."""

DEFAULT_MASTER = "local[*]"
"""The master of the session started when none is active."""

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a ``spark://`` master to accept a connection before giving up."""

_INSTALL_HINT = "pip install pytest-mltestscore[spark] (and Java 17 or newer)"
_APP_NAME = "pytest-mltestscore"
# PySpark warns about pandas >= 3 when its pandas functions are used; our tasks only read the
# frames Arrow produces, which works, and users run with filterwarnings = error.
_PANDAS_WARNING = r"PySpark does not yet fully support pandas"
# The last line of a Python exception in a Spark error text: "module.ErrorClass: message".
_PYTHON_ERROR = re.compile(
    r"^(?:[\w.]+\.)?(ReaderError|ValueError|AssetError): (.+)$", flags=re.MULTILINE
)
_FAILED_TASK = re.compile(r"(Task \d+ in stage [\d.]+ failed \d+ times?)")


def _import_pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise MissingEngineError(f"the Spark engine needs pyspark: {_INSTALL_HINT}") from None
    return pyspark


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
        yield


@contextlib.contextmanager
def _environ(name: str, default: str) -> Iterator[None]:
    """``os.environ[name]`` is ``default`` inside, unless already set; restored after."""
    if name in os.environ or not default:
        yield
        return
    os.environ[name] = default
    try:
        yield
    finally:
        os.environ.pop(name, None)


@contextlib.contextmanager
def _child_output(path: Path) -> Iterator[None]:
    """Processes started inside write their stdout and stderr to ``path``.

    The JVM that PySpark starts inherits this process's file descriptors 1 and 2 and logs to
    them for its whole life (banners, warnings, every failed task's stack trace): under pytest
    that lands in the captured output of whichever test started the session. It goes to a log
    file instead, named in our error messages.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


# --------------------------------------------------------------------------------------------
# Sessions


def _is_session(obj: Any) -> bool:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return False
    return isinstance(obj, SparkSession)


def _check_master(master: str, timeout: float) -> None:
    """A ``spark://host:port`` master must accept a connection: a clear error, not a hang."""
    if not master.startswith("spark://"):
        return
    for address in master[len("spark://") :].split(","):
        parts = urlsplit(f"//{address}")
        host, port = parts.hostname, parts.port or 7077
        try:
            with socket.create_connection((host or "", port), timeout=timeout):
                return
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            last = f"{host}:{port}: {reason}"
    raise EngineError(f"cannot reach the Spark master at {master} within {timeout:g} s ({last})")


def spark_session(
    master: str | None = None, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> Any:
    """The active SparkSession, or one started for ``master`` (default ``local[*]``).

    Spark allows one session per process: asking for a ``master`` other than the active
    session's is an :class:`EngineError`, not a silent switch.
    """
    _import_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if master is not None and master.strip() != running:
            raise EngineError(
                f"a Spark session for master {running} is already running in this process; "
                f"Spark allows one per process, so master {master} cannot be used"
            )
        return active
    wanted = (master or DEFAULT_MASTER).strip()
    _check_master(wanted, connect_timeout)
    builder = (
        SparkSession.builder.master(wanted)
        .appName(_APP_NAME)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if wanted.startswith("local"):
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
            "spark.driver.host", "127.0.0.1"
        )
    log = Path(tempfile.gettempdir()) / f"pytest-mltestscore-spark-{os.getpid()}.log"
    local_ip = "127.0.0.1" if wanted.startswith("local") else os.environ.get("SPARK_LOCAL_IP", "")
    try:
        # Executors run this Python (where pytest-mltestscore is installed) unless the user
        # chose one; PySpark reads the variable when the context starts.
        with (
            _quiet(),
            _environ("PYSPARK_PYTHON", sys.executable),
            _environ("SPARK_LOCAL_IP", local_ip),
            _child_output(log),
        ):
            session = builder.getOrCreate()
    except Exception as exc:
        raise EngineError(
            f"cannot start a Spark session for master {wanted}: {type(exc).__name__}: "
            f"{first_line(exc)} (Spark needs Java 17 or newer on PATH or in JAVA_HOME; "
            f"the JVM's output is in {log})"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def _session(spark: Any, master: str | None, connect_timeout: float) -> Any:
    if spark is None:
        return spark_session(master, connect_timeout=connect_timeout)
    if not _is_session(spark):
        raise ValueError(f"spark must be a pyspark.sql.SparkSession or None, got {spark!r}")
    if master is not None:
        raise ValueError("give spark= or master=, not both")
    return spark


# --------------------------------------------------------------------------------------------
# Tasks (run on the executors; module-level so that they pickle by reference)


def _reference(broadcast: Any) -> DatasetProfile | None:
    return None if broadcast is None else DatasetProfile.from_dict(broadcast.value)


def _file_task(
    item: tuple[int, Partition], reference: Any, settings: Settings
) -> tuple[int, dict[str, Any]]:
    index, part = item
    return index, profile_partition(part, _reference(reference), settings)


def _frame_task(
    reference: Any, settings: Settings
) -> Callable[[Iterable[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function: one row (partition index, profile JSON) per partition."""

    def task(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import pandas as pd
        from pyspark import TaskContext

        rows = 0

        def counted() -> Iterator[pd.DataFrame]:
            nonlocal rows
            for batch in batches:
                rows += len(batch)
                yield batch

        profile = profile_frames(counted(), _reference(reference), settings)
        if rows:  # an empty partition adds nothing (and its batches carry no column types)
            context = TaskContext.get()
            index = context.partitionId() if context is not None else 0
            yield pd.DataFrame({"partition": [index], "profile": [json.dumps(profile.to_dict())]})

    return task


def _merge_group(group: tuple[int, Iterable[tuple[int, dict[str, Any]]]]) -> tuple[int, Any]:
    key, members = group
    ordered = [profile for _, profile in sorted(members, key=lambda m: m[0])]
    return key, merge_profiles(*ordered)


def _tree(rdd: Any, count: int, split_every: int) -> dict[str, Any] | None:
    """Merge an RDD of ``(index, profile dict)`` in order, ``split_every`` neighbours a task."""
    while count > 1:
        count = math.ceil(count / split_every)
        rdd = (
            rdd.map(lambda kv, k=split_every: (kv[0] // k, kv))
            .groupByKey(numPartitions=count)
            .map(_merge_group)
        )
    rows = rdd.collect()
    if not rows:
        return None
    if len(rows) != 1:  # cannot happen: the tree ends in one key
        raise EngineError(f"the Spark merge ended in {len(rows)} profiles instead of one")
    result: dict[str, Any] = rows[0][1]
    return result


# --------------------------------------------------------------------------------------------
# Public API


def profile_spark(
    paths: str | Path | Sequence[str | Path],
    *,
    root: str | Path | None = None,
    reference: DatasetProfile | None = None,
    columns: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    spark: Any = None,
    master: str | None = None,
    fmt: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    split_row_groups: bool = False,
    split_every: int = DEFAULT_SPLIT_EVERY,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Sequence[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> DatasetProfile:
    """Profile a partitioned dataset on Spark; equal to ``profile_chunks(iter_chunks(paths))``.

    ``paths``, ``columns``, ``drop``, ``fmt``, ``chunk_rows`` and ``split_row_groups`` mean
    what they mean for :func:`~pytest_mltestscore.engines.dask.profile_dask`. ``spark``: a
    SparkSession to use; ``master``: the master of the session to start when none is active
    (``local[2]``, ``spark://host:7077``, ``yarn``, ...); give at most one of them.
    ``kinds``, ``vocabularies`` and ``vocabulary_cap`` mean what they mean for
    ``profile_chunks``.
    """
    check_merge(reference, split_every)
    settings = checked_settings(
        columns,
        drop,
        bins,
        max_categories,
        fmt,
        chunk_rows,
        kinds=kinds,
        vocabularies=vocabularies,
        vocabulary_cap=vocabulary_cap,
    )
    _import_pyspark()
    files = [f.resolve() for f in resolve_paths(paths, root)]
    parts = partitions(files, fmt, split_row_groups)
    session = _session(spark, master, connect_timeout)
    context = session.sparkContext
    with _quiet():
        ref = None if reference is None else context.broadcast(reference.to_dict())
        try:
            rdd = context.parallelize(list(enumerate(parts)), numSlices=len(parts)).map(
                lambda item: _file_task(item, ref, settings)
            )
            result = _collect(rdd, len(parts), split_every, context)
        finally:
            if ref is not None:
                ref.unpersist()
    if result is None:  # cannot happen: every file gives a profile, even an empty one
        raise EngineError("the Spark job returned no profile")
    return DatasetProfile.from_dict(result)


def profile_spark_dataframe(
    df: Any,
    *,
    reference: DatasetProfile | None = None,
    columns: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    split_every: int = DEFAULT_SPLIT_EVERY,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Sequence[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> DatasetProfile:
    """Profile a Spark DataFrame partition by partition with ``mapInPandas``.

    For data Spark reads and the driver cannot list as files. Columns are selected on the Spark
    DataFrame first, so a Parquet source reads only those; the profile is of the pandas frames
    Spark's Arrow conversion gives (see the module's notes on types).
    """
    check_merge(reference, split_every)
    _import_pyspark()
    from pyspark.sql import DataFrame

    if not isinstance(df, DataFrame):
        raise ValueError(f"df must be a pyspark.sql.DataFrame, got {type(df).__name__}")
    settings = checked_settings(
        columns,
        drop,
        bins,
        max_categories,
        kinds=kinds,
        vocabularies=vocabularies,
        vocabulary_cap=vocabulary_cap,
    )
    if settings.columns is not None:
        missing = [c for c in settings.columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"column(s) {', '.join(missing)} not in the Spark DataFrame "
                f"(columns: {', '.join(df.columns[:20])})"
            )
        df = df.select(*settings.columns)
    if settings.drop:
        df = df.drop(*[c for c in settings.drop if c in df.columns])
    context = df.sparkSession.sparkContext
    with _quiet():
        ref = None if reference is None else context.broadcast(reference.to_dict())
        try:
            rows = df.mapInPandas(_frame_task(ref, settings), "partition long, profile string")
            rdd = rows.rdd.map(lambda row: (row["partition"], json.loads(row["profile"])))
            result = _collect(rdd, df.rdd.getNumPartitions(), split_every, context)
            if result is None:  # every partition empty: the columns and types, no rows
                result = _empty_profile(df, reference, settings)
        finally:
            if ref is not None:
                ref.unpersist()
    return DatasetProfile.from_dict(result)


def _empty_profile(df: Any, reference: DatasetProfile | None, s: Settings) -> dict[str, Any]:
    from ..profiles import profile_chunks

    with warnings.catch_warnings():
        # pyspark's own conversion warns under pandas 3 (deprecated keywords it passes)
        warnings.simplefilter("ignore")
        empty = df.limit(0).toPandas()
    return profile_chunks([empty], reference, **s.profile_options()).to_dict()


def _collect(rdd: Any, count: int, split_every: int, context: Any) -> dict[str, Any] | None:
    """Run the job; a failure is the task's own data error or an :class:`EngineError`."""
    try:
        return _tree(rdd, count, split_every)
    except Exception as exc:
        text = str(exc)
        found = _PYTHON_ERROR.findall(text)
        if found:  # our own task raised: the same error as the single-process engine
            kind, message = found[-1]
            raise (ReaderError if kind == "ReaderError" else ValueError)(message) from None
        failed = _FAILED_TASK.search(text)
        crashed = "Python worker exited unexpectedly" in text
        reason = (
            "a Python worker died (out of memory, or killed)"
            if crashed
            else f"{type(exc).__name__}: {first_line(exc)}"
        )
        raise EngineError(
            f"the Spark job on {context.master} failed"
            f"{': ' + failed.group(1) if failed else ''}; {reason}; no profile was returned"
            " (spark.task.maxFailures sets the attempts per task)"
        ) from None
