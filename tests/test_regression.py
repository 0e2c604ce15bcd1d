"""monitor-6 verdicts on recorded series (steady, noisy, jump, slow leak) and one real model.

Series are generated with fixed seeds so that each test is a fixed recording; verdicts are
asserted, never wall-clock durations.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.checks.monitor.performance import (
    check_performance_history,
    dramatic_regression,
    measure_prediction_performance,
    slow_leak,
    worse_direction,
)
from pytest_mltestscore.history import SeriesPoint

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def noisy(n: int, level: float, cv: float, seed: int, leak_per_run: float = 0.0) -> list[float]:
    """``n`` runs around ``level`` with relative noise ``cv`` and a relative drift per run."""
    rng = np.random.default_rng(seed)
    trend = 1 + leak_per_run * np.arange(n)
    return list(level * (trend + cv * rng.standard_normal(n)))


def as_points(values: list[float], first_id: int = 1) -> list[SeriesPoint]:
    return [SeriesPoint(first_id + i, T0 + dt.timedelta(days=i), v) for i, v in enumerate(values)]


# ---------------------------------------------------------------------------------------------
# Dramatic regression


def test_steady_history_flags_a_jump_and_not_jitter() -> None:
    history = as_points(noisy(12, 10.0, 0.002, seed=1), first_id=3)
    ok = dramatic_regression(10.05, history, metric="latency_p95_seconds")
    assert ok.verdict == "pass"
    bad = dramatic_regression(13.0, history, metric="latency_p95_seconds")
    assert bad.verdict == "fail"
    # names the metric, the runs compared (the last 10 of 12: ids 5..14) and the size
    assert "latency_p95_seconds" in bad.summary and "runs 5..14 (10)" in bad.summary
    assert bad.metrics["relative_change"] == pytest.approx(0.3, abs=0.01)
    assert bad.metrics["n_history"] == 10
    assert "set by the 20% floor" in bad.summary  # the history is quiet: the floor decides
    assert bad.metrics["threshold"] == pytest.approx(1.2 * bad.metrics["baseline"])


def test_noisy_history_widens_the_tolerance() -> None:
    """The same +35% is noise for a metric with 15% run-to-run noise, a regression otherwise."""
    quiet = noisy(10, 100.0, 0.01, seed=2)
    loud = noisy(10, 100.0, 0.15, seed=2)
    current_quiet = float(np.median(quiet)) * 1.35
    current_loud = float(np.median(loud)) * 1.35
    assert dramatic_regression(current_quiet, quiet).verdict == "fail"
    result = dramatic_regression(current_loud, loud)
    assert result.verdict == "pass"
    assert "noise" in result.summary.split("set by")[1]
    assert result.metrics["threshold"] > 1.35 * result.metrics["baseline"]
    # a real jump by a large factor still stands out from that noise
    assert dramatic_regression(float(np.median(loud)) * 3.0, loud).verdict == "fail"


def test_direction_throughput_falls_latency_rises() -> None:
    throughput = noisy(10, 5000.0, 0.02, seed=3)
    assert dramatic_regression(2500.0, throughput, worse="lower").verdict == "fail"
    assert dramatic_regression(7500.0, throughput, worse="lower").verdict == "pass"  # faster
    latency = noisy(10, 0.02, 0.02, seed=3)
    assert dramatic_regression(0.01, latency, worse="higher").verdict == "pass"  # faster
    assert dramatic_regression(0.04, latency, worse="higher").verdict == "fail"
    assert worse_direction("throughput_rows_per_second") == "lower"
    assert worse_direction("latency_row_p95_seconds") == "higher"
    assert worse_direction("peak_memory_bytes") == "higher"


def test_repeats_of_this_run() -> None:
    history = noisy(10, 1.0, 0.01, seed=4)
    # The median of the repeats is compared: one wild repeat does not make a regression.
    assert dramatic_regression([1.0, 1.01, 0.99, 5.0, 1.0], history).verdict == "pass"
    # Repeats that scatter widely raise the noise estimate (standard error of their median).
    scattered = list(np.exp(np.random.default_rng(0).normal(np.log(1.3), 1.0, size=9)))
    wide = dramatic_regression(scattered, history)
    assert wide.metrics["noise"] > 0.2
    tight = dramatic_regression([1.3] * 9, history)
    assert tight.verdict == "fail" and tight.metrics["noise"] < 0.05
    assert wide.metrics["threshold"] > tight.metrics["threshold"]


def test_metrics_around_zero_are_judged_on_differences() -> None:
    """A metric that can be zero or negative (e.g. a score delta) has no ratio scale."""
    history = [0.0, 0.01, -0.01, 0.0, 0.02, -0.02]
    jump = dramatic_regression(0.5, history, metric="delta", abs_tolerance=0.1)
    assert jump.verdict == "fail" and "the absolute floor" in jump.summary
    assert dramatic_regression(0.05, history, abs_tolerance=0.1).verdict == "pass"
    assert dramatic_regression(-0.5, history, abs_tolerance=0.1, worse="lower").verdict == "fail"


def test_too_little_history_is_a_skip_and_bad_values_fail() -> None:
    result = dramatic_regression(1.0, [1.0, 1.1], metric="m", min_history=5)
    assert result.verdict == "skip" and "at least 5" in result.summary and "has 2" in result.summary
    nan_history = [1.0, float("nan"), 1.0, 1.0, 1.0, 1.0]
    with_nan = dramatic_regression(1.0, nan_history)
    assert with_nan.verdict == "pass" and "non-finite" in with_nan.notes[0]
    assert dramatic_regression(float("nan"), [1.0] * 5).verdict == "fail"
    with pytest.raises(ValueError, match="worse"):
        dramatic_regression(1.0, [1.0] * 5, worse="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window"):
        dramatic_regression(1.0, [1.0] * 5, window=0)
    with pytest.raises(ValueError, match="not a number"):
        dramatic_regression(1.0, ["fast"] * 5)


# ---------------------------------------------------------------------------------------------
# Slow leak


def test_steady_series_has_no_leak_and_a_leak_is_flagged() -> None:
    steady = as_points(noisy(20, 50.0, 0.01, seed=5))
    assert slow_leak(steady, metric="peak_memory_bytes").verdict == "pass"
    leaking = as_points(noisy(20, 50.0, 0.01, seed=5, leak_per_run=0.02), first_id=101)
    result = slow_leak(leaking, metric="peak_memory_bytes")
    assert result.verdict == "fail"
    assert "peak_memory_bytes" in result.summary and "runs 101..120 (20)" in result.summary
    # 2% of the start per run over 19 steps: about +38% in all
    assert result.metrics["relative_change"] == pytest.approx(0.38, abs=0.05)
    # each step is far below the dramatic-regression floor: only the trend reveals it
    values = [p.value for p in leaking]
    assert dramatic_regression(values[-1], values[:-1]).verdict == "pass"


def test_noisy_series_without_leak_is_not_flagged() -> None:
    for seed in range(5):
        series = noisy(40, 100.0, 0.15, seed=seed)
        assert slow_leak(series, window=40).verdict == "pass", seed


def test_leak_hidden_in_noise_flags_once_the_window_is_long_enough() -> None:
    series = noisy(40, 100.0, 0.15, seed=6, leak_per_run=0.015)
    assert slow_leak(series, window=10).verdict == "pass"  # 13% over 10 runs: not yet visible
    assert slow_leak(series, window=40).verdict == "fail"


def test_leak_detection_and_false_alarms_over_many_recordings() -> None:
    """Rates, not luck: 200 seeded noise-only series and 200 leaking ones (15% noise, 40 runs)."""
    false_alarms = sum(
        slow_leak(noisy(40, 100.0, 0.15, seed=s), window=40).verdict == "fail" for s in range(200)
    )
    detected = sum(
        slow_leak(noisy(40, 100.0, 0.15, seed=s, leak_per_run=0.015), window=40).verdict == "fail"
        for s in range(200)
    )
    assert false_alarms <= 4  # at most 2%
    assert detected >= 190  # at least 95%


def test_leak_direction() -> None:
    falling = noisy(20, 1000.0, 0.01, seed=7, leak_per_run=-0.015)
    assert slow_leak(falling, worse="lower", metric="throughput").verdict == "fail"
    assert slow_leak(falling, worse="higher").verdict == "pass"  # falling latency is good news
    rising = noisy(20, 1000.0, 0.01, seed=7, leak_per_run=0.015)
    assert slow_leak(rising, worse="lower").verdict == "pass"


def test_a_single_outlier_is_not_a_trend() -> None:
    series = noisy(20, 10.0, 0.01, seed=8)
    series[-1] = 40.0  # one spike (the dramatic check's job), not a slow leak
    assert slow_leak(series).verdict == "pass"
    assert dramatic_regression(series[-1], series[:-1]).verdict == "fail"


def test_leak_needs_enough_runs() -> None:
    result = slow_leak([1.0, 1.1, 1.2, 1.3], min_runs=10, metric="m")
    assert result.verdict == "skip"
    assert "at least 10 runs" in result.summary and "has 4" in result.summary
    with pytest.raises(ValueError, match="confidence"):
        slow_leak([1.0] * 10, confidence=1.5)


def test_combined_check_over_several_metrics() -> None:
    history = {
        "latency_row_p95_seconds": noisy(12, 0.002, 0.02, seed=9),
        "throughput_rows_per_second": noisy(12, 9000.0, 0.02, seed=9),
    }
    fine = check_performance_history(
        {"latency_row_p95_seconds": 0.002, "throughput_rows_per_second": 9100.0}, history
    )
    assert fine.verdict == "pass" and fine.rubric_id == "monitor-6"
    slower = check_performance_history(
        {"latency_row_p95_seconds": 0.002, "throughput_rows_per_second": 3000.0}, history
    )
    assert slower.verdict == "fail"
    assert "throughput_rows_per_second (dramatic regression)" in slower.summary
    assert "latency" not in slower.summary
    fresh = check_performance_history({"latency_row_p95_seconds": 0.002}, {})
    assert fresh.verdict == "skip"
    # bookkeeping counts (a larger batch this time) are not performance
    counts = check_performance_history(
        {"latency_row_p95_seconds": 0.002, "batch_size": 1000.0},
        {**history, "batch_size": [128.0] * 12},
    )
    assert counts.verdict == "pass"
    assert counts.table is not None and {row[0] for row in counts.table.rows} == {
        "latency_row_p95_seconds"
    }


# ---------------------------------------------------------------------------------------------
# Measurements and the end-to-end case


@pytest.fixture(scope="module")
def cancer_model():  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)  # arrays: predict costs ~0.1 ms, not pandas' 1 ms
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    return model, X


SMALL = {"row_calls": 30, "batch_size": 128, "batch_calls": 5, "warmup": 2, "min_calls": 5}


def test_measurements_are_consistent(cancer_model) -> None:  # type: ignore[no-untyped-def]
    model, X = cancer_model
    m = measure_prediction_performance(model.predict, X, **SMALL)
    assert 0 < m["latency_row_p50_seconds"] <= m["latency_row_p95_seconds"]
    assert m["latency_row_p95_seconds"] <= m["latency_row_p99_seconds"]
    assert 0 < m["latency_batch_p50_seconds"] <= m["latency_batch_p99_seconds"]
    assert m["throughput_rows_per_second"] == pytest.approx(128 / m["latency_batch_p50_seconds"])
    assert (m["row_calls"], m["batch_calls"], m["batch_size"]) == (30, 5, 128)
    assert m["peak_memory_bytes"] > 0


def test_sampling_is_seeded_and_memory_peak_is_seen() -> None:
    X = np.arange(1000, dtype=float).reshape(-1, 1)
    seen: list[list[float]] = []

    def record(rows: np.ndarray) -> np.ndarray:
        seen.append(rows[:, 0].tolist())
        return rows[:, 0]

    measure_prediction_performance(record, X, memory=False, seed=3, **SMALL)
    first = list(seen)
    seen.clear()
    measure_prediction_performance(record, X, memory=False, seed=3, **SMALL)
    assert seen == first
    seen.clear()
    measure_prediction_performance(record, X, memory=False, seed=4, **SMALL)
    assert seen != first

    def hungry(rows: np.ndarray) -> np.ndarray:
        scratch = np.ones((len(rows), 10_000))  # 8 bytes x 10k x rows, freed on return
        return scratch.sum(axis=1)

    frames: list[type] = []
    table = pd.DataFrame({"x": X[:, 0]})
    measure_prediction_performance(lambda rows: frames.append(type(rows)), table, **SMALL)
    assert set(frames) == {pd.DataFrame}  # a DataFrame is sampled as a DataFrame

    m = measure_prediction_performance(hungry, X, **SMALL)
    assert m["peak_memory_bytes"] >= 128 * 10_000 * 8
    with pytest.raises(ValueError, match="empty"):
        measure_prediction_performance(hungry, X[:0])


def test_a_model_slowed_on_purpose_is_flagged(cancer_model) -> None:  # type: ignore[no-untyped-def]
    """History from the real model; the same model doing its work 100 times over is flagged.

    CPU time, not wall time: on a busy shared CI machine wall-clock latency swings by a factor
    of ten between measurements, which the noise-aware tolerance rightly refuses to judge. CPU
    time still varies up to 2x under contention, so the tolerance widens to about 10x: the
    slowdown must be larger than that.
    """
    model, X = cancer_model

    def slowed(rows):  # type: ignore[no-untyped-def]
        for _ in range(99):
            model.predict(rows)
        return model.predict(rows)

    cpu = dict(SMALL, clock="cpu")
    history = [measure_prediction_performance(model.predict, X, seed=s, **cpu) for s in range(5)]
    normal = measure_prediction_performance(model.predict, X, seed=5, **cpu)
    fewer = dict(cpu, row_calls=10, batch_calls=3, warmup=1, min_calls=3)  # each call is slow
    slow = measure_prediction_performance(slowed, X, seed=5, **fewer)
    names = (
        "cpu_latency_row_p50_seconds",
        "cpu_latency_batch_p50_seconds",
        "cpu_throughput_rows_per_second",
    )
    for name in names:
        past = [h[name] for h in history]
        worse = worse_direction(name)
        # at least 2x either way, more when the history is noisy; far below the 100x slowdown
        tolerance = 1.0 if worse == "higher" else 0.5
        opts: dict[str, Any] = {"metric": name, "worse": worse, "rel_tolerance": tolerance}
        assert dramatic_regression(slow[name], past, **opts).verdict == "fail", name
        assert dramatic_regression(normal[name], past, **opts).verdict == "pass", name


def test_cpu_clock_ignores_waiting() -> None:
    """A call that sleeps 10 ms costs ~no CPU: the two clocks measure different things."""
    X = np.zeros((50, 2))

    def sleepy(rows: np.ndarray) -> np.ndarray:
        time.sleep(0.01)
        return rows[:, 0]

    opts = dict(SMALL, row_calls=5, batch_calls=3, memory=False)
    wall = measure_prediction_performance(sleepy, X, **opts)
    cpu = measure_prediction_performance(sleepy, X, clock="cpu", **opts)
    assert wall["latency_row_p50_seconds"] >= 0.01  # sleep never returns early
    assert cpu["cpu_latency_row_p50_seconds"] < 0.005
    with pytest.raises(ValueError, match="clock"):
        measure_prediction_performance(sleepy, X, clock="gpu", **opts)  # type: ignore[arg-type]
