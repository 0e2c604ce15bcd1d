"""The Dask engine: distributed profiles equal the single-process ones, and failures are loud.

Data: one generated frame (normal, lognormal, uniform, Poisson counts, strings, a pandas
categorical, booleans, UTC timestamps; nulls in several columns) written as partitioned Parquet
datasets of 1, 7 and 64 files of uneven sizes, with empty (zero-row) files among them. Runs on
Dask's threaded scheduler and on a real ``distributed.LocalCluster`` of two worker processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask", reason="the Dask engine needs the 'dask' extra")
distributed = pytest.importorskip("distributed", reason="the Dask engine needs the 'dask' extra")

from _partitioned import (  # noqa: E402
    FEATURES,
    ROWS,
    TEXT_KINDS,
    assert_same_profile,
    make_frame,
    split_moments,
    uneven_sizes,
    write_partitions,
    write_tweet_partitions,
)

from pytest_mltestscore.checks.data.schema import infer_schema, validate  # noqa: E402
from pytest_mltestscore.checks.monitor.drift import check_drift  # noqa: E402
from pytest_mltestscore.engines import EngineError, MissingEngineError  # noqa: E402
from pytest_mltestscore.engines.dask import profile_dask, profile_dask_dataframe  # noqa: E402
from pytest_mltestscore.profiles import DatasetProfile, profile_chunks  # noqa: E402
from pytest_mltestscore.readers import ReaderError, iter_chunks  # noqa: E402

# The clusters bind any free port, so distributed warns about no busy port. Their nannies run
# in this process and warn when creating their scratch directories is slow, which happens on a
# loaded machine and says nothing about our code: only that warning is tolerated.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Creating scratch directories is taking a surprisingly long time:UserWarning"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import dask

    # One retry per task: a worker killed once is survived, a task that kills every worker it
    # runs on fails on its second death instead of the default fourth (a quicker test).
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cl = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
            worker_dashboard_address=None,
        )
    try:
        yield cl
    finally:
        cl.close()


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(params=["threads", "cluster"])
def scheduler(request: pytest.FixtureRequest) -> Any:
    """None (Dask's default: threads) or the LocalCluster's client."""
    if request.param == "threads":
        return None
    return request.getfixturevalue("client")


# --------------------------------------------------------------------------------------------
# Exactness


@pytest.mark.parametrize("parts", [1, 7, 64])
def test_profile_equals_single_process(
    parts: int, scheduler: Any, datasets: dict[int, Path], single: DatasetProfile
) -> None:
    got = profile_dask(datasets[parts], scheduler=scheduler, split_every=4)
    assert_same_profile(got, single)


def test_counts_match_the_data_itself(
    datasets: dict[int, Path], frame: pd.DataFrame, single: DatasetProfile
) -> None:
    """Independent of the profile code: counts from pandas, quantiles within their bound."""
    got = profile_dask(datasets[64])
    assert got.n_rows == ROWS == single.n_rows
    for name in frame.columns:
        col = got[name]
        assert col.count == ROWS
        assert col.nulls == int(frame[name].isna().sum()), name
    for name in ("city", "grade", "flag"):
        cat = got[name].categorical
        assert cat is not None
        expected = frame[name].astype(str)[frame[name].notna()].value_counts()
        assert dict(cat.counts) == {k: int(v) for k, v in expected.items()}, name
    for name in ("normal", "lognormal", "uniform", "count"):
        num = got[name].numeric
        assert num is not None
        values = frame[name].dropna().to_numpy(dtype=float)
        assert (num.min, num.max) == (values.min(), values.max())
        assert num.mean == pytest.approx(values.mean(), rel=1e-12)
        assert num.std == pytest.approx(values.std(ddof=1), rel=1e-9)
        levels = [0.001, 0.01, 0.25, 0.5, 0.75, 0.99, 0.999]
        lo, hi = num.quantile_bounds(levels)
        exact = np.quantile(values, levels, method="inverted_cdf")
        assert np.all(lo <= exact) and np.all(exact <= hi), name
        assert np.all(hi - lo <= num.grid.width)


def test_split_row_groups_and_columns(datasets: dict[int, Path], single: DatasetProfile) -> None:
    # The one-file dataset has 15 row groups of 4000 rows: one task each.
    got = profile_dask(datasets[1], split_row_groups=True, split_every=2)
    assert_same_profile(got, single)
    picked = profile_dask(datasets[7], columns=["city", "normal"], split_row_groups=True)
    assert list(picked.columns) == ["city", "normal"]
    assert_same_profile(
        picked, DatasetProfile(single.n_rows, {c: single[c] for c in picked.columns})
    )
    dropped = profile_dask(datasets[7], drop=["label", "not-there"])
    assert list(dropped.columns) == FEATURES


def test_verdicts_and_statistics_identical(
    scheduler: Any, datasets: dict[int, Path], frame: pd.DataFrame, tmp_path: Path
) -> None:
    """Schema validation and drift read distributed profiles exactly as single-process ones."""
    train = profile_dask(datasets[64], scheduler=scheduler, drop=["label"])
    serving = make_frame(20_000, seed=5, shift=0.8)
    serving.loc[serving.index[:600], "city"] = "atlantis"  # unseen category, 3%
    serving.loc[serving.index[:1_500], "lognormal"] = np.nan  # nulls up from 1% to ~8%
    serving.loc[serving.index[:50], "uniform"] = 40.0  # beyond the training range
    serving_dir = write_partitions(
        serving, tmp_path / "serving", uneven_sizes(len(serving), 7, empty=1, seed=3)
    )
    train_single = profile_chunks(
        c.drop(columns=["label"]) for c in iter_chunks(datasets[1], chunk_rows=7_000)
    )
    assert_same_profile(train, train_single)
    current = profile_dask(serving_dir, reference=train, scheduler=scheduler, drop=["label"])
    current_single = profile_chunks(
        (c.drop(columns=["label"]) for c in iter_chunks(serving_dir, chunk_rows=3_000)),
        reference=train_single,
    )
    assert_same_profile(current, current_single)

    schema = infer_schema(train)
    assert schema == infer_schema(train_single)
    checked = validate(current, schema)
    assert checked == validate(current_single, infer_schema(train_single))
    assert checked.verdict == "fail"
    # The three faults injected above, and nothing else.
    assert {(row[0], row[1]) for row in checked.table.rows} == {
        ("city", "unseen categories"),
        ("lognormal", "null rate"),
        ("uniform", "out of range"),
    }

    drift = check_drift(train, current)
    assert drift == check_drift(train_single, current_single)
    assert drift.verdict == "fail"
    assert {row[0] for row in drift.table.rows if row[4] == "DRIFT"} == {
        "normal",
        "lognormal",
        "city",
    }
    assert drift.metrics["rows"] == 20_000.0


# dask's own Parquet reader (2026.8) calls reset_index(inplace=True), deprecated in pandas 3.1.
@pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index:pandas.errors.Pandas4Warning"
)
def test_dask_dataframe_input(datasets: dict[int, Path], single: DatasetProfile) -> None:
    import dask.dataframe as dd

    ddf = dd.read_parquet(str(datasets[7]))
    got = profile_dask_dataframe(ddf, drop=["label"])
    want = DatasetProfile(single.n_rows, {c: single[c] for c in FEATURES})
    got_exact, _ = split_moments(got)
    want_exact, _ = split_moments(want)
    for data in (got_exact, want_exact):  # dask reads text as string[pyarrow]: dtypes differ
        for col in data["columns"].values():
            col.pop("dtypes")
    assert got_exact == want_exact


def test_csv_partitions(tmp_path: Path, frame: pd.DataFrame) -> None:
    small = frame.iloc[:3_000].drop(columns=["grade", "seen"])
    folder = tmp_path / "csv"
    folder.mkdir()
    for i, size in enumerate([1_000, 0, 1_700, 300]):
        start = [0, 1_000, 1_000, 2_700][i]
        small.iloc[start : start + size].to_csv(folder / f"part-{i}.csv", index=False)
    got = profile_dask(str(folder / "*.csv"), scheduler="sync")
    assert_same_profile(got, profile_chunks(iter_chunks(folder)))
    assert got.n_rows == 3_000


# --------------------------------------------------------------------------------------------
# Shipping the reference once


def test_reference_is_one_graph_node_on_local_schedulers(
    datasets: dict[int, Path], single: DatasetProfile
) -> None:
    from dask.callbacks import Callback

    seen: dict[str, Any] = {}

    def start_state(dsk: Any, state: Any) -> None:
        seen["graph"] = dict(dsk)
        seen["dependencies"] = {k: set(v) for k, v in state["dependencies"].items()}

    with Callback(start_state=start_state):
        got = profile_dask(datasets[7], reference=single, scheduler="threads")
    assert got.n_rows == ROWS
    graph, deps = seen["graph"], seen["dependencies"]
    ref_keys = [k for k in graph if str(k).startswith("mltestscore-reference-")]
    partition_keys = [k for k in graph if str(k).startswith("mltestscore-partition-")]
    assert len(ref_keys) == 1 and len(partition_keys) == 7
    assert all(ref_keys[0] in deps[k] for k in partition_keys)


def test_reference_is_scattered_once_to_the_cluster(
    client: Any, datasets: dict[int, Path], single: DatasetProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    submitted: list[Any] = []
    scatter, compute = client.scatter, client.compute

    def spy_scatter(data: Any, **kwargs: Any) -> Any:
        calls.append((data, kwargs))
        return scatter(data, **kwargs)

    def spy_compute(collection: Any, **kwargs: Any) -> Any:
        submitted.append(collection)
        return compute(collection, **kwargs)

    monkeypatch.setattr(client, "scatter", spy_scatter)
    monkeypatch.setattr(client, "compute", spy_compute)
    got = profile_dask(datasets[64], reference=single, scheduler=client)
    assert_same_profile(got, profile_chunks(iter_chunks(datasets[64]), reference=single))
    assert len(calls) == 1 and calls[0][0] is single and calls[0][1].get("broadcast") is True
    (graph,) = (dict(c.__dask_graph__()) for c in submitted)
    # No task carries its own copy of the reference: they all name the scattered key.
    assert not any(isinstance(v, DatasetProfile) for v in graph.values())


# --------------------------------------------------------------------------------------------
# Schedulers, connection and failures


def test_scheduler_by_address_and_active_client(
    cluster: Any, client: Any, datasets: dict[int, Path], single: DatasetProfile
) -> None:
    by_address = profile_dask(datasets[7], scheduler=cluster.scheduler_address)
    assert_same_profile(by_address, single)
    with client.as_current():
        assert_same_profile(profile_dask(datasets[7]), single)
    # The address path closed its own client; the shared one still works.
    assert client.status == "running"


def test_unreachable_scheduler_names_the_address(datasets: dict[int, Path]) -> None:
    with pytest.raises(EngineError, match=r"tcp://127\.0\.0\.1:1\b.*within 0\.5 s"):
        profile_dask(datasets[1], scheduler="tcp://127.0.0.1:1", connect_timeout=0.5)


def test_cluster_without_workers_times_out_clearly(datasets: dict[int, Path]) -> None:
    """No silent hang: with ``timeout`` a stuck cluster is an EngineError, not a wait forever."""
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        for reference in (None, DatasetProfile(0, {})):  # without and with a scatter
            with pytest.raises(EngineError, match=r"within 0\.5 s on tcp://.*\(0 workers"):
                profile_dask(
                    datasets[1], scheduler=empty.scheduler_address, timeout=0.5, reference=reference
                )


def test_bad_arguments_and_bad_files(
    scheduler: Any, datasets: dict[int, Path], tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="split_every"):
        profile_dask(datasets[1], split_every=1)
    with pytest.raises(ValueError, match="timeout"):
        profile_dask(datasets[1], timeout=0)
    with pytest.raises(ValueError, match="scheduler must be"):
        profile_dask(datasets[1], scheduler=42)
    with pytest.raises(ValueError, match="columns must be a sequence"):
        profile_dask(datasets[1], columns="city")
    with pytest.raises(ReaderError, match="no file matches"):
        profile_dask("nothing-*.parquet", root=tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in sorted(datasets[7].iterdir())[:3]:
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "part-zzz.parquet").write_bytes(b"PAR1 this is not parquet")
    # A worker's ReaderError reaches the caller as itself (a ValueError), not as an EngineError.
    with pytest.raises(ReaderError, match=r"part-zzz\.parquet"):
        profile_dask(broken, scheduler=scheduler)
    with pytest.raises(ReaderError, match=r"p1/part-000\.parquet.*no-such-column"):
        profile_dask(datasets[1], columns=["no-such-column"], scheduler=scheduler)


def test_missing_dask_gives_the_install_hint(
    datasets: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(MissingEngineError, match=r"pip install pytest-mltestscore\[dask\]"):
        profile_dask(datasets[1])
    assert issubclass(MissingEngineError, ImportError)


def test_importing_the_engines_does_not_import_dask() -> None:
    code = (
        "import sys, pytest_mltestscore.engines, pytest_mltestscore.engines.dask\n"
        "assert 'dask' not in sys.modules and 'distributed' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _killer(suffix: str, marker: Path | None) -> Any:
    """A worker plugin that kills its worker process when it starts partition task ``suffix``.

    With ``marker``, only the first time (the marker file is created atomically before dying).
    Defined in a function so that it is pickled by value to the worker processes.
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class Killer(WorkerPlugin):
        name = "mltestscore-test-killer"

        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            text = str(key)
            if finish != "executing" or not text.startswith("mltestscore-partition-"):
                return
            if not text.endswith(suffix):
                return
            if marker is not None:
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return
            os._exit(17)

    return Killer()


@pytest.fixture
def killing(client: Any) -> Iterator[Any]:
    """Register a killer plugin; always remove it and wait for both workers to be back."""
    registered: list[str] = []

    def register(plugin: Any) -> None:
        client.register_plugin(plugin)
        registered.append(plugin.name)

    yield register
    for name in registered:
        client.unregister_worker_plugin(name)
    client.wait_for_workers(2, timeout=120)


def test_worker_killed_once_is_retried_and_exact(
    client: Any, killing: Any, datasets: dict[int, Path], single: DatasetProfile, tmp_path: Path
) -> None:
    client.wait_for_workers(2, timeout=120)
    before = set(client.run(os.getpid).values())
    marker = tmp_path / "killed-once"
    killing(_killer("-5", marker))
    got = profile_dask(datasets[64], reference=single, scheduler=client)
    assert marker.exists(), "the worker running partition 5 was not killed"
    client.wait_for_workers(2, timeout=120)
    assert set(client.run(os.getpid).values()) != before  # a worker process was replaced
    assert_same_profile(got, profile_chunks(iter_chunks(datasets[64]), reference=single))


def test_worker_killed_every_time_fails_loudly(
    client: Any, killing: Any, datasets: dict[int, Path]
) -> None:
    client.wait_for_workers(2, timeout=120)
    killing(_killer("-2", None))
    # which of the partitions in flight is reported depends on scheduling: any file is named
    with pytest.raises(EngineError, match=r"workers died while profiling .*part-\d+\.parquet"):
        profile_dask(datasets[7], scheduler=client)


# --------------------------------------------------------------------------------------------
# Text and identifier columns


@pytest.fixture(scope="module")
def tweet_parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tweet_partitions(tmp_path_factory.mktemp("tweets") / "parts")


def test_text_profiles_equal_single_process_under_the_cap(
    tweet_parts: Path, scheduler: Any
) -> None:
    options = {"kinds": TEXT_KINDS, "vocabulary_cap": 100_000, "max_categories": 50_000}
    single = profile_chunks(iter_chunks(tweet_parts, chunk_rows=3_000), **options)
    got = profile_dask(tweet_parts, scheduler=scheduler, split_every=2, **options)
    assert_same_profile(got, single)
    text = got["text"].text
    assert text is not None and text.vocabulary.exact and not text.sample.truncated
    assert got["tweet_id"].identifier is not None and not got["tweet_id"].identifier.truncated
    # served data profiled against it: out-of-vocabulary counts travel and merge too
    serving = profile_dask(tweet_parts, reference=got, scheduler=scheduler, **options)
    assert_same_profile(
        serving, profile_chunks(iter_chunks(tweet_parts, chunk_rows=5_000), got, **options)
    )
    assert serving["text"].text.oov == 0


def test_text_profiles_over_the_cap_stay_within_the_bound(tweet_parts: Path) -> None:
    from collections import Counter

    real = Counter(t for text in pd.read_parquet(tweet_parts)["text"] for t in text.split())
    got = profile_dask(tweet_parts, kinds=TEXT_KINDS, vocabulary_cap=1_000, split_every=2)
    vocab = got["text"].text.vocabulary
    assert not vocab.exact and vocab.total == sum(real.values())
    for token, count in real.items():
        held = vocab.counts.get(token, 0)
        assert held <= count <= held + vocab.error_bound
    # the hash samples merge exactly in any order, capped or not
    single = profile_chunks(iter_chunks(tweet_parts), kinds=TEXT_KINDS, vocabulary_cap=1_000)
    assert got["text"].text.sample.counts == single["text"].text.sample.counts
    assert got["tweet_id"].identifier.counts == single["tweet_id"].identifier.counts
