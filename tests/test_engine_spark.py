"""The Spark engine: profiles computed by Spark executors equal the single-process ones, and
failures are loud.

Runs on a real ``local[2,2]`` Spark session (two executor threads, each task allowed two
attempts) with real Python workers, on the partitioned Parquet datasets of ``_partitioned``
(1, 7 and 64 files of uneven sizes, empty files among them). Skipped, with the reason, where
pyspark or Java is missing (``python -m pip install -e ".[spark]"``); CI installs the extra and
fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _partitioned import (
    FEATURES,
    ROWS,
    TEXT_KINDS,
    assert_same_profile,
    make_frame,
    split_moments,
    tweet_frame,
    uneven_sizes,
    write_partitions,
    write_tweet_partitions,
)
from _servers import require_spark

from pytest_mltestscore.checks.data.schema import infer_schema, validate
from pytest_mltestscore.checks.monitor.drift import check_drift
from pytest_mltestscore.engines import EngineError
from pytest_mltestscore.engines.spark import (
    profile_spark,
    profile_spark_dataframe,
    spark_session,
)
from pytest_mltestscore.profiles import DatasetProfile, profile_chunks, profile_frame
from pytest_mltestscore.readers import ReaderError, iter_chunks

require_spark()  # skips with the install command; fails under MLTESTSCORE_REQUIRE_EXTRAS=1

MASTER = "local[2,2]"

# The tests call pyspark's own pandas conversion (createDataFrame), which warns about pandas 3;
# the engine silences that warning around its own calls.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session(MASTER)
    try:
        yield session
    finally:
        session.stop()


# --------------------------------------------------------------------------------------------
# Exactness


@pytest.mark.parametrize("parts", [1, 7, 64])
def test_profile_equals_single_process(
    parts: int, spark: Any, datasets: dict[int, Path], single: DatasetProfile
) -> None:
    got = profile_spark(datasets[parts], split_every=4)
    assert_same_profile(got, single)
    assert got.n_rows == ROWS


def test_split_row_groups_and_columns(
    spark: Any, datasets: dict[int, Path], single: DatasetProfile
) -> None:
    # The one-file dataset has 15 row groups of 4000 rows: one Spark task each.
    got = profile_spark(datasets[1], split_row_groups=True, split_every=2, spark=spark)
    assert_same_profile(got, single)
    picked = profile_spark(datasets[7], columns=["city", "normal"])
    assert list(picked.columns) == ["city", "normal"]
    assert_same_profile(
        picked, DatasetProfile(single.n_rows, {c: single[c] for c in picked.columns})
    )
    dropped = profile_spark(datasets[7], drop=["label", "not-there"])
    assert list(dropped.columns) == FEATURES


def test_verdicts_and_statistics_identical(
    spark: Any, datasets: dict[int, Path], tmp_path: Path
) -> None:
    """Schema validation and drift read Spark profiles exactly as single-process ones."""
    train = profile_spark(datasets[64], drop=["label"])
    train_single = profile_chunks(
        c.drop(columns=["label"]) for c in iter_chunks(datasets[1], chunk_rows=7_000)
    )
    serving = make_frame(20_000, seed=5, shift=0.8)
    serving.loc[serving.index[:600], "city"] = "atlantis"  # unseen category, 3%
    serving.loc[serving.index[:50], "uniform"] = 40.0  # beyond the training range
    serving_dir = write_partitions(
        serving, tmp_path / "serving", uneven_sizes(len(serving), 7, empty=1, seed=3)
    )
    current = profile_spark(serving_dir, reference=train, drop=["label"])
    current_single = profile_chunks(
        (c.drop(columns=["label"]) for c in iter_chunks(serving_dir, chunk_rows=3_000)),
        reference=train_single,
    )
    assert_same_profile(current, current_single)

    checked = validate(current, infer_schema(train))
    assert checked == validate(current_single, infer_schema(train_single))
    assert {(row[0], row[1]) for row in checked.table.rows} == {
        ("city", "unseen categories"),
        ("uniform", "out of range"),
    }
    drift = check_drift(train, current)
    assert drift == check_drift(train_single, current_single)
    assert {row[0] for row in drift.table.rows if row[4] == "DRIFT"} == {"normal", "city"}


def test_csv_partitions(spark: Any, tmp_path: Path, frame: pd.DataFrame) -> None:
    small = frame.iloc[:3_000].drop(columns=["grade", "seen"])
    folder = tmp_path / "csv"
    folder.mkdir()
    for i, (start, size) in enumerate([(0, 1_000), (1_000, 0), (1_000, 1_700), (2_700, 300)]):
        small.iloc[start : start + size].to_csv(folder / f"part-{i}.csv", index=False)
    got = profile_spark(str(folder / "*.csv"))
    assert_same_profile(got, profile_chunks(iter_chunks(folder)))
    assert got.n_rows == 3_000


# --------------------------------------------------------------------------------------------
# Spark DataFrames through mapInPandas


def _comparable(profile: DatasetProfile, columns: list[str]) -> dict[str, Any]:
    exact, _ = split_moments(DatasetProfile(profile.n_rows, {c: profile[c] for c in columns}))
    return exact


def test_spark_dataframe_equals_single_process(
    spark: Any, datasets: dict[int, Path], single: DatasetProfile
) -> None:
    sdf = spark.read.parquet(str(datasets[7])).repartition(5)
    assert sdf.rdd.getNumPartitions() == 5
    got = profile_spark_dataframe(sdf, drop=["label"], split_every=2)
    assert got.n_rows == ROWS
    assert list(got.columns) == FEATURES
    # Spark hands Python its own types: the pandas categorical arrives as plain strings and
    # the UTC timestamps as naive values, so those two columns are compared on their counts.
    same = ["normal", "lognormal", "uniform", "count", "city", "flag"]
    assert _comparable(got, same) == _comparable(single, same)
    for name in ("grade", "seen"):
        assert (got[name].count, got[name].nulls) == (single[name].count, single[name].nulls)
    assert got["grade"].categorical is not None and single["grade"].categorical is not None
    assert dict(got["grade"].categorical.counts) == dict(single["grade"].categorical.counts)


def test_spark_dataframe_with_empty_partitions(spark: Any, frame: pd.DataFrame) -> None:
    small = frame[["normal", "count", "city"]].iloc[:3]
    sdf = spark.createDataFrame(small).repartition(8)  # at least five partitions are empty
    got = profile_spark_dataframe(sdf)
    want = profile_chunks([small])
    assert got.n_rows == 3
    assert _comparable(got, ["normal", "count", "city"]) == _comparable(
        want, ["normal", "count", "city"]
    )
    nothing = profile_spark_dataframe(sdf.limit(0))
    assert nothing.n_rows == 0
    assert list(nothing.columns) == ["normal", "count", "city"]


def test_spark_dataframe_column_selection(spark: Any, frame: pd.DataFrame) -> None:
    sdf = spark.createDataFrame(frame[["normal", "city", "label"]].iloc[:500])
    got = profile_spark_dataframe(sdf, columns=["city"])
    assert list(got.columns) == ["city"]
    with pytest.raises(ValueError, match=r"column\(s\) nope not in the Spark DataFrame"):
        profile_spark_dataframe(sdf, columns=["nope"])


# --------------------------------------------------------------------------------------------
# Faults


def _crashing(spark: Any, frame: pd.DataFrame, marker: Path | None) -> Any:
    """A DataFrame whose partition 2 kills its Python worker (once, with ``marker``)."""
    from pyspark.sql.functions import col, udf

    path = str(marker) if marker is not None else None

    @udf("boolean")
    def keep(value):  # no type hints: pyspark would try to read a pandas UDF from them
        from pyspark import TaskContext

        context = TaskContext.get()
        if context is not None and context.partitionId() == 2:
            if path is None:
                os._exit(17)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return True
            os._exit(17)
        return True

    sdf = spark.createDataFrame(frame[["normal", "count", "city"]].iloc[:4_000]).repartition(4)
    # Nondeterministic: Spark must not push the filter below the repartition.
    return sdf.filter(keep.asNondeterministic()(col("count")))


def test_worker_killed_once_is_retried_and_exact(
    spark: Any, frame: pd.DataFrame, tmp_path: Path
) -> None:
    marker = tmp_path / "killed-once"
    got = profile_spark_dataframe(_crashing(spark, frame, marker))
    assert marker.exists(), "the Python worker of partition 2 was not killed"
    want = profile_chunks([frame[["normal", "count", "city"]].iloc[:4_000]])
    assert _comparable(got, ["normal", "count", "city"]) == _comparable(
        want, ["normal", "count", "city"]
    )


def test_worker_killed_every_time_fails_loudly(spark: Any, frame: pd.DataFrame) -> None:
    with pytest.raises(EngineError) as info:
        profile_spark_dataframe(_crashing(spark, frame, None))
    message = str(info.value)
    assert "the Spark job on local[2,2] failed" in message
    assert "failed 2 times" in message  # both attempts of local[2,2]
    assert "no profile was returned" in message


def test_bad_file_is_the_same_error_as_local(
    spark: Any, datasets: dict[int, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(datasets[7], folder)
    (folder / "part-003.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ReaderError) as local:
        profile_chunks(iter_chunks(folder))
    with pytest.raises(ReaderError) as distributed:
        profile_spark(folder)
    assert "part-003.parquet" in str(distributed.value)
    assert str(distributed.value) == str(local.value)


def test_bad_arguments(spark: Any, datasets: dict[int, Path]) -> None:
    with pytest.raises(ValueError, match="give spark= or master=, not both"):
        profile_spark(datasets[1], spark=spark, master="local[1]")
    with pytest.raises(ValueError, match=r"spark must be a pyspark\.sql\.SparkSession"):
        profile_spark(datasets[1], spark="local[1]")
    with pytest.raises(ValueError, match=r"split_every must be an integer >= 2"):
        profile_spark(datasets[1], split_every=1)
    with pytest.raises(ValueError, match=r"df must be a pyspark\.sql\.DataFrame, got DataFrame"):
        profile_spark_dataframe(pd.DataFrame({"x": [1]}))
    with pytest.raises(EngineError, match=r"already running .* master local\[1\] cannot be used"):
        profile_spark(datasets[1], master="local[1]")


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    return subprocess.run(
        [sys.executable, "-W", "error::FutureWarning", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_unreachable_master_names_the_address(datasets: dict[int, Path]) -> None:
    """In a process of its own: a session is already active in this one."""
    proc = _fresh_python(
        "from pytest_mltestscore.engines import EngineError\n"
        "from pytest_mltestscore.engines.spark import profile_spark\n"
        "try:\n"
        f"    profile_spark({str(datasets[1])!r}, master='spark://127.0.0.1:9', connect_timeout=2)\n"
        "except EngineError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR cannot reach the Spark master at spark://127.0.0.1:9 within 2 s" in proc.stdout
    assert "127.0.0.1:9: Connection refused" in proc.stdout


def test_missing_pyspark_gives_the_install_hint(datasets: dict[int, Path]) -> None:
    proc = _fresh_python(
        "import sys\n"
        "sys.modules['pyspark'] = None\n"
        "from pytest_mltestscore.engines import MissingEngineError\n"
        "from pytest_mltestscore.engines.spark import profile_spark\n"
        "try:\n"
        f"    profile_spark({str(datasets[1])!r})\n"
        "except MissingEngineError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "ERROR the Spark engine needs pyspark: pip install pytest-mltestscore[spark]" in proc.stdout
    )


def test_importing_the_engines_does_not_import_pyspark() -> None:
    proc = _fresh_python(
        "import sys\n"
        "import pytest_mltestscore.engines.spark, pytest_mltestscore.assets\n"
        "print('pyspark' in sys.modules)\n"
    )
    assert proc.stdout.strip() == "False", proc.stderr


def test_quantiles_within_their_bound(
    spark: Any, datasets: dict[int, Path], frame: pd.DataFrame
) -> None:
    """Independent of the profile code: counts from pandas, quantiles within the grid width."""
    got = profile_spark(datasets[64])
    for name in ("normal", "lognormal", "uniform", "count"):
        num = got[name].numeric
        assert num is not None
        values = frame[name].dropna().to_numpy(dtype=float)
        assert got[name].nulls == int(frame[name].isna().sum())
        levels = [0.01, 0.5, 0.99]
        lo, hi = num.quantile_bounds(levels)
        exact = np.quantile(values, levels, method="inverted_cdf")
        assert np.all(lo <= exact) and np.all(exact <= hi), name


# --------------------------------------------------------------------------------------------
# Text and identifier columns


def test_text_profiles_equal_single_process(spark: Any, tmp_path: Path) -> None:
    parts = write_tweet_partitions(tmp_path / "tweets")
    options = {"kinds": TEXT_KINDS, "vocabulary_cap": 100_000, "max_categories": 50_000}
    single = profile_chunks(iter_chunks(parts, chunk_rows=4_000), **options)
    got = profile_spark(parts, split_every=2, spark=spark, **options)
    assert_same_profile(got, single)
    assert got["text"].kind == "text" and got["tweet_id"].kind == "identifier"
    assert got["text"].text.vocabulary.exact
    # and from a Spark DataFrame, batch by batch (against the frame it was made from, as the
    # strings Arrow gives back: the files above hold an empty partition, read as object)
    tweets = tweet_frame()
    frame = spark.createDataFrame(tweets).repartition(3)
    assert_same_profile(
        profile_spark_dataframe(frame, **options), profile_frame(tweets.astype(str), **options)
    )
