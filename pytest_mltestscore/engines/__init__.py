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

ENGINES = ("local", "dask", "spark")
"""Engine names a dataset may ask for; ``local`` is the single-process streaming engine."""


class EngineError(Exception):
    """A distributed engine could not produce a profile; the message says where and why.

    Raised when a scheduler cannot be reached (the message names its address), when workers
    died while running a partition more often than the scheduler allows, or when the cluster
    failed otherwise. A partial profile is never returned instead.
    """


class MissingEngineError(ImportError, EngineError):
    """The framework an engine needs is not installed; the message gives the extra to install."""


def __getattr__(name: str) -> Any:
    if name in ("profile_dask", "profile_dask_dataframe"):
        from . import dask

        return getattr(dask, name)
    if name in ("profile_spark", "profile_spark_dataframe"):
        from . import spark

        return getattr(spark, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
