"""Dataset profiles computed on Dask: each partition profiled where it lives, merged in a tree.

A partition is one data file of a partitioned dataset (or one Parquet row group with
``split_row_groups=True``, or one partition of a ``dask.dataframe``). A task reads its partition
in chunks of at most ``chunk_rows`` rows with the ordinary readers, profiles it with
:func:`~pytest_mltestscore.profiles.profile_chunks` and returns ``DatasetProfile.to_dict()``;
merge tasks combine up to ``split_every`` of those dicts at a time, so the driver receives one
profile whatever the number of partitions, and no row ever leaves a worker.

Profiles merge exactly (histogram grids nest, counts add), so the result equals the
single-process profile of the same rows: counts, nulls, histograms, extremes and category
counts exactly, and hence every quantile and every drift or schema statistic read from them;
the mean and sum of squared deviations up to floating-point rounding. One exception, as in the
single-process engine: once a column holds more than ``max_categories`` distinct values, which
values are kept before the "other" bucket depends on how the rows were chunked.

Tasks are named ``mltestscore-partition-<run>-<i>`` (partition ``i`` in the sorted file order)
and ``mltestscore-merge-<run>-<level>-<j>``, as the Dask dashboard shows them.

The reference (training) profile is sent to the cluster once: scattered to the workers of a
distributed cluster, one shared node of the task graph otherwise.

Worker failures: the distributed scheduler reruns the tasks of a worker that dies (up to
``distributed.scheduler.allowed-failures`` times per task) and the result is still exact; past
that, or when the cluster fails otherwise, :class:`~pytest_mltestscore.engines.EngineError` is
raised naming the partition or the scheduler. A partial profile is never returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..profiles import DEFAULT_BINS, DEFAULT_MAX_CATEGORIES, DatasetProfile
from ..readers import DEFAULT_CHUNK_ROWS, resolve_paths
from ..sketches import DEFAULT_VOCABULARY_CAP
from ._partitions import (
    Settings,
    check_merge,
    first_line,
    merge_profiles,
    partitions,
    profile_frame_partition,
    profile_partition,
)
from ._partitions import (
    settings as checked_settings,
)
from .errors import EngineError, MissingEngineError

DEFAULT_SPLIT_EVERY = 8
"""Profiles merged by one task of the reduction tree."""

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a scheduler given by address before giving up."""

LOCAL_SCHEDULERS = ("threads", "sync", "synchronous", "processes")
"""Scheduler names that run on this machine without a distributed cluster."""

_INSTALL_HINT = "pip install pytest-mltestscore[dask]"
_KEY_PREFIX = "mltestscore"


def _import_dask() -> Any:
    try:
        import dask
    except ImportError:
        raise MissingEngineError(
            f"the Dask engine needs dask: {_INSTALL_HINT} (or: pip install 'dask[distributed]')"
        ) from None
    return dask


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingEngineError(
            "connecting to a Dask scheduler needs dask.distributed: " + _INSTALL_HINT
        ) from None
    return distributed


# --------------------------------------------------------------------------------------------
# Building the graph (what one task does is in ._partitions)


def _tree(nodes: list[Any], split_every: int, token: str) -> Any:
    """Merge delayed profile dicts level by level, ``split_every`` neighbours per task."""
    from dask import delayed

    merge = delayed(merge_profiles, pure=True)
    level = 0
    while len(nodes) > 1:
        nodes = [
            merge(
                *nodes[i : i + split_every],
                dask_key_name=f"{_KEY_PREFIX}-merge-{token}-{level}-{i // split_every}",
            )
            for i in range(0, len(nodes), split_every)
        ]
        level += 1
    return nodes[0]


def _check_common(
    reference: DatasetProfile | None,
    scheduler: Any,
    split_every: int,
    connect_timeout: float,
    timeout: float | None,
) -> None:
    check_merge(reference, split_every)
    if scheduler is not None and not isinstance(scheduler, str) and not _is_client(scheduler):
        raise ValueError(
            "scheduler must be None, a scheduler address such as 'tcp://host:8786', one of "
            f"{', '.join(LOCAL_SCHEDULERS)}, or a distributed.Client; got {scheduler!r}"
        )
    if isinstance(scheduler, str) and not scheduler.strip():
        raise ValueError("scheduler must not be an empty string (use None for the default)")
    if not connect_timeout > 0:
        raise ValueError(f"connect_timeout must be > 0 seconds, got {connect_timeout!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be None or > 0 seconds, got {timeout!r}")


# --------------------------------------------------------------------------------------------
# Public API


def profile_dask(
    paths: str | Path | Sequence[str | Path],
    *,
    root: str | Path | None = None,
    reference: DatasetProfile | None = None,
    columns: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    scheduler: str | Any | None = None,
    fmt: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    split_row_groups: bool = False,
    split_every: int = DEFAULT_SPLIT_EVERY,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    timeout: float | None = None,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Sequence[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> DatasetProfile:
    """Profile a partitioned dataset on Dask; equal to ``profile_chunks(iter_chunks(paths))``.

    ``paths``: a file, a directory (every data file under it) or a glob, as for
    :func:`~pytest_mltestscore.readers.resolve_paths`; the files are listed here and read by
    the workers, which must see them at the same paths. ``columns`` profiles only those columns
    (and reads only them from Parquet); ``drop`` leaves out columns such as the target.
    ``scheduler``: None for Dask's current scheduler (the active ``distributed.Client`` if there
    is one, else threads), a name in :data:`LOCAL_SCHEDULERS`, a ``distributed.Client``, or a
    scheduler address (``tcp://host:8786``) to connect to for this call.
    ``reference``, ``bins``, ``max_categories``, ``kinds``, ``vocabularies`` and
    ``vocabulary_cap`` mean what they mean for ``profile_chunks``.
    """
    _check_common(reference, scheduler, split_every, connect_timeout, timeout)
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
    _import_dask()
    files = [f.resolve() for f in resolve_paths(paths, root)]
    parts = partitions(files, fmt, split_row_groups)
    return _compute(
        profile_partition,
        parts,
        [part.label for part in parts],
        settings,
        reference,
        split_every,
        _Target(scheduler, connect_timeout, timeout),
    )


def profile_dask_dataframe(
    df: Any,
    *,
    reference: DatasetProfile | None = None,
    columns: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    scheduler: str | Any | None = None,
    split_every: int = DEFAULT_SPLIT_EVERY,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    timeout: float | None = None,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Sequence[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> DatasetProfile:
    """Profile a ``dask.dataframe.DataFrame`` partition by partition (data on any storage).

    For data the driver cannot list as files (``dd.read_parquet("s3://...")``). Columns are
    selected on the dask frame first, so a Parquet source reads only those. Note that dask
    converts text to ``string[pyarrow]`` by default, which the profile records as the dtype.
    """
    _check_common(reference, scheduler, split_every, connect_timeout, timeout)
    _import_dask()
    import dask.dataframe as dd

    if not isinstance(df, dd.DataFrame):
        raise ValueError(f"df must be a dask.dataframe.DataFrame, got {type(df).__name__}")
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
        df = df[[c for c in settings.columns if c in df.columns]]
    if settings.drop:
        df = df.drop(columns=[c for c in settings.drop if c in df.columns])
    frames = df.to_delayed()
    return _compute(
        profile_frame_partition,
        frames,
        [f"partition {i} of the dask DataFrame" for i in range(len(frames))],
        settings,
        reference,
        split_every,
        _Target(scheduler, connect_timeout, timeout),
    )


# --------------------------------------------------------------------------------------------
# Running the graph


def _is_client(obj: Any) -> bool:
    try:
        from distributed import Client
    except ImportError:
        return False
    return isinstance(obj, Client)


def _current_client() -> Any:
    """The distributed Client Dask would use now, or None (threads, or a configured scheduler)."""
    import dask

    if dask.config.get("scheduler", None) is not None:
        return None
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _connect(address: str, timeout: float) -> Any:
    distributed = _import_distributed()
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:
        raise EngineError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s: "
            f"{type(exc).__name__}: {first_line(exc)}"
        ) from None


def _compute(
    task: Callable[..., dict[str, Any]],
    inputs: Sequence[Any],
    labels: Sequence[str],
    settings: Settings,
    reference: DatasetProfile | None,
    split_every: int,
    target: _Target,
) -> DatasetProfile:
    """``task(input, reference, settings)`` per partition, merged in a tree, computed."""
    token = uuid.uuid4().hex[:12]
    keys = [f"{_KEY_PREFIX}-partition-{token}-{i}" for i in range(len(inputs))]

    def build(ref: Any) -> Any:
        from dask import delayed

        run = delayed(task, pure=True)
        nodes = [run(x, ref, settings, dask_key_name=k) for k, x in zip(keys, inputs, strict=True)]
        return _tree(nodes, split_every, token)

    return _run(build, reference, target, dict(zip(keys, labels, strict=True)), token)


@dataclass(frozen=True)
class _Target:
    """Where to compute: the ``scheduler`` argument and its time limits."""

    scheduler: Any
    connect_timeout: float
    timeout: float | None


def _run(
    build: Any,
    reference: DatasetProfile | None,
    target: _Target,
    labels: Mapping[str, str],
    token: str,
) -> DatasetProfile:
    """Compute the graph ``build(reference_node)`` on the chosen scheduler."""
    import dask

    scheduler = target.scheduler
    name = scheduler.strip().lower() if isinstance(scheduler, str) else None
    client: Any = None
    owned = False
    if isinstance(scheduler, str) and name not in LOCAL_SCHEDULERS:
        client, owned = _connect(scheduler.strip(), target.connect_timeout), True
    elif scheduler is not None and name is None:
        client = scheduler
    elif scheduler is None:
        client = _current_client()
    if client is None:
        # One graph node holds the reference; every partition task depends on that key.
        ref = dask.delayed(reference, name=f"{_KEY_PREFIX}-reference-{token}", traverse=False)
        (result,) = dask.compute(build(ref), scheduler=name)
        return DatasetProfile.from_dict(result)
    try:
        return DatasetProfile.from_dict(
            _run_distributed(client, build, reference, labels, target.timeout)
        )
    finally:
        if owned:
            client.close()


def _run_distributed(
    client: Any,
    build: Any,
    reference: DatasetProfile | None,
    labels: Mapping[str, str],
    timeout: float | None,
) -> dict[str, Any]:
    from distributed import KilledWorker
    from distributed import TimeoutError as DistributedTimeout  # asyncio's before Python 3.11

    address = getattr(client.scheduler, "address", None) or "the Dask scheduler"
    futures: list[Any] = []
    try:
        ref: Any = None
        if reference is not None:
            ref = client.scatter(reference, broadcast=True, hash=False, timeout=timeout)
            futures.append(ref)
        future = client.compute(build(ref))
        futures.append(future)
        result: dict[str, Any] = future.result(timeout=timeout)
        return result
    except (TimeoutError, DistributedTimeout):
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        raise EngineError(
            f"the profile did not finish within {timeout:g} s on {address} ({workers} workers "
            "connected); no profile was returned"
        ) from None
    except KilledWorker as exc:
        key = str(exc.task)
        where = labels.get(key, f"task {key}")
        raise EngineError(
            f"Dask workers died while profiling {where} ({exc.allowed_failures + 1} attempts, "
            f"distributed.scheduler.allowed-failures = {exc.allowed_failures}); no profile was "
            f"returned. Check the worker logs on {address} (out of memory?)"
        ) from None
    except (ValueError, MemoryError):
        raise  # bad data or arguments: the same error as the single-process engine
    except Exception as exc:
        raise EngineError(
            f"the Dask computation on {address} failed: {type(exc).__name__}: "
            f"{first_line(exc)}; no profile was returned"
        ) from exc
    finally:
        for f in futures:
            f.release()  # unfinished tasks of a failed run are cancelled with their result
