"""Engines that compute dataset profiles beyond one process.

The single-process engine is :func:`pytest_mltestscore.profiles.profile_chunks` over
:func:`pytest_mltestscore.readers.iter_chunks`. The engines here profile each partition of a
dataset where it lives and merge the partition profiles, so only profiles (JSON-safe dicts of
kilobytes) travel; the merged profile equals the single-process one (see ``profiles`` on why
merging is exact), hence so do the verdicts of every check that reads it.

* ``dask``: :func:`pytest_mltestscore.engines.dask.profile_dask` (extra ``dask``).
* ``spark``: :func:`pytest_mltestscore.engines.spark.profile_spark` and
  :func:`~pytest_mltestscore.engines.spark.profile_spark_dataframe` (extra ``spark``).

Nothing heavy is imported here: the engine modules import their framework when called.
"""

from __future__ import annotations

from typing import Any

from .errors import EngineError, MissingEngineError

__all__ = [
    "EngineError",
    "MissingEngineError",
    "profile_dask",
    "profile_dask_dataframe",
    "profile_spark",
    "profile_spark_dataframe",
]


def __getattr__(name: str) -> Any:
    if name in ("profile_dask", "profile_dask_dataframe"):
        from . import dask

        return getattr(dask, name)
    if name in ("profile_spark", "profile_spark_dataframe"):
        from . import spark

        return getattr(spark, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
