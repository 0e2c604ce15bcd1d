"""monitor-6: computing performance has not regressed (latency, throughput, memory, training time).

Two verdicts over a metric's recorded history (oldest first, e.g. from
``HistoryStore.metric_series``):

- :func:`dramatic_regression`: this run against the median of the last N runs. Positive metrics
  (latency, throughput, memory) vary by factors, so they are judged on a log scale: flagged
  beyond ``median x max(1 + rel_tolerance, exp(noise_k * noise))`` (below ``median x
  min(1 - rel_tolerance, exp(-noise_k * noise))`` when lower is worse), where ``noise`` is the
  robust run-to-run spread of the history's logs (see ``_robust_sd``) or, when repeated
  measurements of this run are given, the standard error of their median if larger. Metrics
  that can be zero or negative use the same rule on differences. The relative floor keeps a
  quiet history from flagging jitter; the noise term keeps a noisy metric from flagging itself.
- :func:`slow_leak`: a Theil-Sen line through the last N runs (robust to outliers). Flagged when
  the fitted change over the window exceeds ``rel_tolerance`` of the fitted starting level AND
  the slope's confidence interval excludes zero (so noise alone does not flag; a leak hidden in
  noise flags once the window is long enough for its trend to show).

"Worse" is configurable: ``"higher"`` for latency, memory and training time, ``"lower"`` for
throughput. :func:`measure_prediction_performance` produces the measurements.

Defaults, from seeded simulations (1500 series per cell, log-normal noise): the dramatic check
flags pure noise in 0.3% of runs with 10 runs of history and 10-20% run-to-run noise (0.6-0.9%
with 5 runs, 0.07% with 20), a doubling in 85% of runs and a tripling in nearly all at 10% noise;
the leak check (99% interval) flags pure noise in at most 1% of 10-40 run windows, and a leak of
1.5% per run under 15% noise in 31% of 20-run and 100% of 40-run windows.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ...builtin import BuiltinCheck, CheckContext, Param, model, needs_history, needs_some_data
from ...result import (
    CheckResult,
    Figure,
    Table,
    Verdict,
    figure_line,
    figure_series,
    library_check,
)

Worse = Literal["higher", "lower"]
# Keys of the measurement dicts that count calls and rows rather than measure performance.
BOOKKEEPING = frozenset({"batch_size", "row_calls", "batch_calls", "training_runs"})
RUBRIC_ID = "monitor-6"
MAD_TO_SD = 1.4826  # MAD of normal noise times this is its standard deviation
TRIMMED_AD_TO_SD = 1.790  # normal noise: sd / mean of the smallest 80% of absolute deviations
MEDIAN_SE = 1.2533  # standard error of a median = this * sd / sqrt(n) for normal noise

__all__ = [
    "BOOKKEEPING",
    "RUBRIC_ID",
    "Clock",
    "Worse",
    "check_performance_history",
    "dramatic_regression",
    "measure_prediction_performance",
    "measure_training_time",
    "slow_leak",
    "worse_direction",
]


def worse_direction(metric: str) -> Worse:
    """Which way a metric gets worse, from its name: throughput falls, everything else rises."""
    lowered = metric.lower()
    if any(word in lowered for word in ("throughput", "per_second", "rows_per_s", "qps", "rps")):
        return "lower"
    return "higher"


def _check_worse(worse: str) -> Worse:
    if worse not in ("higher", "lower"):
        raise ValueError(f"worse must be 'higher' or 'lower', got {worse!r}")
    return worse  # type: ignore[return-value]


def _positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def _points(series: Sequence[Any], what: str) -> tuple[list[float], list[Any]]:
    """Values and run ids (None when not given) of a series of floats or (run_id, _, value)."""
    if isinstance(series, (str, bytes)) or not isinstance(series, Sequence):
        raise ValueError(f"{what} must be a sequence of numbers or (run_id, created, value)")
    values: list[float] = []
    runs: list[Any] = []
    for point in series:
        if isinstance(point, tuple):
            if len(point) != 3:
                raise ValueError(f"{what}: expected (run_id, created, value) tuples, got {point!r}")
            run, value = point[0], point[2]
        else:
            run, value = None, point
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: {value!r} is not a number") from None
        values.append(number)
        runs.append(run)
    return values, runs


def _span(runs: Sequence[Any]) -> str:
    """Name the runs compared: 'runs 12..21' when ids are known, else 'the last 10 runs'."""
    n = len(runs)
    if n and all(r is not None for r in runs):
        return f"run {runs[0]}" if n == 1 else f"runs {runs[0]}..{runs[-1]} ({n})"
    return f"the last {n} run{'s' if n != 1 else ''}"


def _robust_sd(values: np.ndarray) -> float:
    """Noise as a standard deviation, steady on a handful of runs and robust to one outlier.

    The larger of two estimates: the MAD (often far too small on a few runs: 3 equal values give
    0) and the mean absolute deviation after dropping the largest fifth of the deviations (at
    least one), scaled to a normal standard deviation.
    """
    if values.size < 2:
        return 0.0
    deviations = np.sort(np.abs(values - np.median(values)))
    kept = deviations[: values.size - max(1, values.size // 5)]
    return float(max(MAD_TO_SD * np.median(deviations), TRIMMED_AD_TO_SD * np.mean(kept)))


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value * 100:+.1f}%"


def _as_repeats(current: float | Sequence[float], metric: str) -> np.ndarray:
    if isinstance(current, (bool, str, bytes)):
        raise ValueError(f"{metric}: this run's value must be a number or numbers, got {current!r}")
    try:
        return np.atleast_1d(np.asarray(current, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise ValueError(
            f"{metric}: this run's value must be a number or numbers, got {current!r}"
        ) from None


@library_check
def dramatic_regression(
    current: float | Sequence[float],
    history: Sequence[Any],
    *,
    metric: str = "metric",
    worse: Worse = "higher",
    window: int = 10,
    min_history: int = 5,
    rel_tolerance: float = 0.2,
    noise_k: float = 5.0,
    abs_tolerance: float = 0.0,
) -> CheckResult:
    """This run against the median of the last ``window`` runs, with a noise-aware tolerance.

    ``current`` is this run's value or its repeated measurements (their median is compared and
    their spread joins the noise estimate). ``history`` holds earlier runs, oldest first, as
    numbers or ``(run_id, created, value)`` points. Fewer than ``min_history`` runs: skip.
    """
    worse = _check_worse(worse)
    window = _positive_int(window, "window")
    min_history = _positive_int(min_history, "min_history")
    rel_tolerance = _non_negative(rel_tolerance, "rel_tolerance")
    noise_k = _non_negative(noise_k, "noise_k")
    abs_tolerance = _non_negative(abs_tolerance, "abs_tolerance")
    check = f"dramatic regression of {metric}"

    repeats = _as_repeats(current, metric)
    if repeats.size == 0 or not np.all(np.isfinite(repeats)):
        return CheckResult(
            check,
            "fail",
            f"{metric}: this run's measurement is missing or not finite ({repeats.tolist()})",
            rubric_id=RUBRIC_ID,
        )
    values, runs = _points(history, f"{metric} history")
    notes: list[str] = []
    finite = [(v, r) for v, r in zip(values, runs, strict=True) if math.isfinite(v)]
    if len(finite) < len(values):
        notes.append(f"ignored {len(values) - len(finite)} non-finite value(s) in the history")
    finite = finite[-window:]
    if len(finite) < min_history:
        return CheckResult(
            check,
            "skip",
            f"{metric}: needs at least {min_history} earlier run(s) to compare with,"
            f" the history has {len(finite)}",
            rubric_id=RUBRIC_ID,
            notes=tuple(notes),
        )
    hist = np.array([v for v, _ in finite])
    span = _span([r for _, r in finite])
    judge = _dramatic_ratio if np.all(hist > 0) and np.all(repeats > 0) else _dramatic_difference
    baseline, value, threshold, how, regressed, noise = judge(
        hist, repeats, worse, rel_tolerance, noise_k, abs_tolerance
    )
    return _verdict_result(
        check,
        metric,
        span,
        baseline,
        value,
        threshold,
        how,
        worse,
        regressed,
        noise,
        hist.size,
        notes,
    )


def _verdict_result(
    check: str,
    metric: str,
    span: str,
    baseline: float,
    value: float,
    threshold: float,
    how: str,
    worse: Worse,
    regressed: bool,
    noise: float,
    n_history: int,
    notes: list[str],
) -> CheckResult:
    change = value - baseline
    relative = change / abs(baseline) if baseline else (math.inf if change else 0.0)
    side = "above" if worse == "higher" else "below"
    summary = (
        f"{metric} = {value:.4g} against the median {baseline:.4g} of {span}: change"
        f" {change:+.4g} ({_pct(relative)}); {worse} is worse, flagged {side} {threshold:.4g}"
        f" ({how})" + (" -> dramatic regression" if regressed else "")
    )
    table = Table(
        ("metric", "runs compared", "median before", "this run", "change", "relative", "limit"),
        ((metric, span, baseline, value, change, _pct(relative), threshold),),
    )
    return CheckResult(
        check,
        "fail" if regressed else "pass",
        summary,
        table=table,
        rubric_id=RUBRIC_ID,
        metrics={
            "baseline": baseline,
            "current": value,
            "change": change,
            "relative_change": relative if math.isfinite(relative) else 0.0,
            "threshold": threshold,
            "noise": noise,
            "n_history": float(n_history),
        },
        notes=tuple(notes),
    )


# What a dramatic-regression rule decides: baseline, this run's value, the limit, how the limit
# was set, whether it regressed, and the noise measured.
_Judged = tuple[float, float, float, str, bool, float]


def _dramatic_ratio(
    hist: np.ndarray,
    repeats: np.ndarray,
    worse: Worse,
    rel_tolerance: float,
    noise_k: float,
    abs_tolerance: float,
) -> _Judged:
    """Positive metrics (latency, throughput, memory) vary by factors: judge on a log scale."""
    log_hist, log_now = np.log(hist), np.log(repeats)
    center = float(np.median(log_hist))
    baseline, value = math.exp(center), math.exp(float(np.median(log_now)))
    noise = max(
        _robust_sd(log_hist), MEDIAN_SE * _robust_sd(log_now) / math.sqrt(log_now.size)
    )  # a relative noise: 0.1 means about +-10% from run to run
    if worse == "higher":
        floor = math.log1p(rel_tolerance)
    else:
        floor = -math.log1p(-rel_tolerance) if rel_tolerance < 1 else math.inf
    rule = (
        f"the {rel_tolerance:.0%} floor"
        if floor >= noise_k * noise
        else (f"{noise_k:g} x the run-to-run noise of {noise:.1%}")
    )
    width = max(floor, noise_k * noise)
    threshold = math.exp(center + width) if worse == "higher" else math.exp(center - width)
    beyond = value > threshold if worse == "higher" else value < threshold
    regressed = beyond and abs(value - baseline) > abs_tolerance
    how = f"median x {threshold / baseline:.3g}, set by {rule}"
    if abs_tolerance:
        how += f"; and at least {abs_tolerance:g} away"
    return baseline, value, threshold, how, regressed, noise


def _dramatic_difference(
    hist: np.ndarray,
    repeats: np.ndarray,
    worse: Worse,
    rel_tolerance: float,
    noise_k: float,
    abs_tolerance: float,
) -> _Judged:
    """Metrics that can be zero or negative: judge differences on the original scale."""
    baseline, value = float(np.median(hist)), float(np.median(repeats))
    noise = max(_robust_sd(hist), MEDIAN_SE * _robust_sd(repeats) / math.sqrt(repeats.size))
    floors = {
        f"the {rel_tolerance:.0%} floor": rel_tolerance * abs(baseline),
        f"{noise_k:g} x the run-to-run noise of {noise:.4g}": noise_k * noise,
        "the absolute floor": abs_tolerance,
    }
    rule, width = max(floors.items(), key=lambda kv: kv[1])
    threshold = baseline + width if worse == "higher" else baseline - width
    regressed = value > threshold if worse == "higher" else value < threshold
    how = f"median {'+' if worse == 'higher' else '-'} {width:.4g}, set by {rule}"
    return baseline, value, threshold, how, regressed, noise


@library_check
def slow_leak(
    series: Sequence[Any],
    *,
    metric: str = "metric",
    worse: Worse = "higher",
    window: int = 20,
    min_runs: int = 10,
    rel_tolerance: float = 0.2,
    confidence: float = 0.99,
) -> CheckResult:
    """A Theil-Sen trend over the last ``window`` runs (this run last) adding up to a leak.

    Flags when the fitted change across the window exceeds ``rel_tolerance`` of the fitted
    starting level in the worse direction and the slope's ``confidence`` interval excludes zero.
    Fewer than ``min_runs`` runs: skip.
    """
    worse = _check_worse(worse)
    window = _positive_int(window, "window", 3)
    min_runs = _positive_int(min_runs, "min_runs", 3)
    rel_tolerance = _non_negative(rel_tolerance, "rel_tolerance")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    check = f"slow leak of {metric}"
    values, runs = _points(series, f"{metric} series")
    points = [(v, r) for v, r in zip(values, runs, strict=True) if math.isfinite(v)][-window:]
    notes: tuple[str, ...] = ()
    if len(points) < len(values[-window:]):
        notes = ("ignored non-finite value(s) in the series",)
    if len(points) < min_runs:
        return CheckResult(
            check,
            "skip",
            f"{metric}: a trend needs at least {min_runs} runs, the history has {len(points)}",
            rubric_id=RUBRIC_ID,
            notes=notes,
        )
    from scipy.stats import theilslopes

    y = np.array([v for v, _ in points])
    span = _span([r for _, r in points])
    n = y.size
    fit = theilslopes(y, np.arange(n, dtype=float), alpha=confidence)
    slope, low, high = float(fit.slope), float(fit.low_slope), float(fit.high_slope)
    start = float(fit.intercept)
    level = abs(start) if start != 0 else float(np.median(np.abs(y)))
    total = slope * (n - 1)
    relative = total / level if level else (math.inf if total else 0.0)
    worse_relative = relative if worse == "higher" else -relative
    significant = low > 0 if worse == "higher" else high < 0
    leaking = worse_relative > rel_tolerance and significant
    figure = _history_figure(
        metric,
        [v for v, _ in points],
        [r for _, r in points],
        trend=[start + slope * i for i in range(n)],
        flagged=leaking,
    )
    summary = (
        f"{metric}: Theil-Sen trend over {span}: {slope:+.4g} per run, {total:+.4g} in all"
        f" ({_pct(relative)} of the starting level {start:.4g}); {worse} is worse; flagged above"
        f" {rel_tolerance:.0%} when the {confidence:.0%} interval of the slope"
        f" [{low:+.4g}, {high:+.4g}] excludes 0" + (" -> slow leak" if leaking else "")
    )
    table = Table(
        ("metric", "runs", "slope per run", "slope interval", "total change", "relative", "limit"),
        (
            (
                metric,
                span,
                slope,
                f"[{low:.4g}, {high:.4g}]",
                total,
                _pct(relative),
                f"{rel_tolerance:.0%}",
            ),
        ),
    )
    return CheckResult(
        check,
        "fail" if leaking else "pass",
        summary,
        table=table,
        rubric_id=RUBRIC_ID,
        metrics={
            "slope": slope,
            "slope_low": low,
            "slope_high": high,
            "total_change": total,
            "relative_change": relative if math.isfinite(relative) else 0.0,
            "n_runs": float(n),
        },
        notes=notes,
        figures=(figure,),
    )


def _history_figure(
    metric: str,
    values: Sequence[float],
    runs: Sequence[Any],
    *,
    trend: Sequence[float] | None = None,
    baseline: float | None = None,
    flagged: bool = False,
) -> Figure:
    """A metric over runs (this run last), with the leak's Theil-Sen line and the median the
    last run is compared with, when known."""
    labels = [
        r if isinstance(r, str) else f"run {r}" if r is not None else str(i + 1)
        for i, r in enumerate(runs)
    ]
    drawn = [figure_series(metric, list(values))]
    if trend is not None:
        drawn.append(figure_series("Theil-Sen trend", list(trend)))
    return Figure(
        "series",
        f"{metric} over runs",
        {
            "x": labels,
            "x_label": "run",
            "y_label": metric,
            "series": drawn,
            "lines": [figure_line("median of earlier runs", baseline)] if baseline else [],
        },
        flagged,
    )


def check_performance_history(
    current: Mapping[str, float | Sequence[float]],
    history: Mapping[str, Sequence[Any]],
    *,
    worse: Mapping[str, Worse] | None = None,
    regression_window: int = 10,
    min_history: int = 5,
    rel_tolerance: float = 0.2,
    noise_k: float = 5.0,
    leak_window: int = 20,
    leak_min_runs: int = 10,
    leak_tolerance: float = 0.2,
) -> CheckResult:
    """Both verdicts for every metric of this run against its history, as one result.

    ``history[name]`` holds earlier runs only (oldest first); the slow-leak series is that
    history plus this run. Fails when any verdict fails; skips when none could be reached.
    The bookkeeping counts of the measurements (:data:`BOOKKEEPING`) are not judged.
    """
    if not current:
        raise ValueError("no performance metrics measured in this run")
    rows: list[tuple[Any, ...]] = []
    failed: list[str] = []
    skipped: list[str] = []
    figures: list[Figure] = []
    judged = 0
    for name, value in current.items():
        if name in BOOKKEEPING:
            continue  # counts of calls and rows, not performance
        direction = (worse or {}).get(name) or worse_direction(name)
        past = list(history.get(name, ()))
        jump = dramatic_regression(
            value,
            past,
            metric=name,
            worse=direction,
            window=regression_window,
            min_history=min_history,
            rel_tolerance=rel_tolerance,
            noise_k=noise_k,
        )
        now = float(np.median(_as_repeats(value, name)))
        leak = slow_leak(
            [*past, now],
            metric=name,
            worse=direction,
            window=leak_window,
            min_runs=leak_min_runs,
            rel_tolerance=leak_tolerance,
        )
        past_values, past_runs = _points(past, f"{name} history")
        trend = leak.figures[0].data["series"][1]["values"] if leak.figures else None
        shown = len(trend) if trend is not None else len(past_values) + 1
        figures.append(
            _history_figure(
                name,
                [*past_values, now][-shown:],
                [*past_runs, "this run"][-shown:],
                trend=trend,
                baseline=jump.metrics.get("baseline"),
                flagged=jump.verdict == "fail" or leak.verdict == "fail",
            )
        )
        for kind, res in (("dramatic regression", jump), ("slow leak", leak)):
            rows.append((name, kind, res.verdict, res.summary))
            if res.verdict == "fail":
                failed.append(f"{name} ({kind})")
            elif res.verdict == "skip":
                skipped.append(f"{name} ({kind})")
            else:
                judged += 1
    table = Table(("metric", "verdict kind", "verdict", "details"), tuple(rows))
    verdict: Verdict
    if failed:
        verdict, summary = "fail", f"performance regressed: {', '.join(failed)}"
    elif judged == 0:
        verdict = "skip"
        summary = f"not enough history for any verdict ({len(skipped)} skipped)"
    else:
        verdict = "pass"
        summary = f"{judged} verdict(s) reached, no regression" + (
            f"; {len(skipped)} skipped for lack of history" if skipped else ""
        )
    return CheckResult(
        "computing performance has not regressed",
        verdict,
        summary,
        table=table,
        rubric_id=RUBRIC_ID,
        figures=tuple(figures),
    )


# --------------------------------------------------------------------------------------------
# Measurements


def _n_rows(X: Any) -> int:
    if hasattr(X, "shape"):
        return int(X.shape[0])
    return len(X)


def _take(X: Any, index: np.ndarray) -> Any:
    """Rows of a DataFrame, array or list by position, keeping the container type."""
    if hasattr(X, "iloc"):
        return X.iloc[index]
    if isinstance(X, np.ndarray) or (hasattr(X, "__array__") and hasattr(X, "shape")):
        return X[index]
    return [X[int(i)] for i in index]


Clock = Literal["wall", "cpu"]
_CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def _clock(clock: str) -> Callable[[], float]:
    if clock not in _CLOCKS:
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    return _CLOCKS[clock]


def _timed(
    fn: Callable[[Any], Any],
    inputs: Sequence[Any],
    budget: float,
    minimum: int,
    timer: Callable[[], float],
    call_seconds: Callable[[Any], float] | None = None,
) -> list[float]:
    """Time ``fn`` on each input; stop early past ``budget`` wall seconds once ``minimum`` ran.

    With ``call_seconds``, each call is made by it and takes the seconds it returns."""
    times: list[float] = []
    start = time.perf_counter()
    for item in inputs:
        if call_seconds is not None:
            times.append(call_seconds(item))
        else:
            t0 = timer()
            fn(item)
            times.append(timer() - t0)
        if len(times) >= minimum and time.perf_counter() - start > budget:
            break
    return times


def measure_prediction_performance(
    predict_fn: Callable[[Any], Any],
    X: Any,
    *,
    row_calls: int = 200,
    batch_size: int = 256,
    batch_calls: int = 20,
    warmup: int = 5,
    min_calls: int = 10,
    max_seconds: float = 20.0,
    memory: bool = True,
    seed: int = 0,
    clock: Clock = "wall",
    call_seconds: Callable[[Any], float] | None = None,
) -> dict[str, float]:
    """Serving latency per row and per batch (p50/p95/p99), throughput and peak memory.

    Rows are sampled with a seeded generator. Each phase starts with ``warmup`` untimed calls
    and runs with the garbage collector paused; a phase stops early once ``max_seconds / 2``
    are spent and ``min_calls`` calls are timed (the counts are returned). Peak memory is the
    tracemalloc peak of one batch call, measured apart from the timings.

    ``clock="wall"`` measures what a caller waits (names ``latency_*``, ``throughput_*``);
    ``clock="cpu"`` measures this process's CPU time (names prefixed ``cpu_``), which barely
    moves when a shared CI machine is busy but misses sleeping and waiting on I/O.
    ``call_seconds``, when given, makes each timed call and returns the seconds it took, in
    place of the clock around ``predict_fn``: a caller that imposes waits of its own (an
    endpoint's rate limit) leaves them out.
    """
    timer = _clock(clock)
    row_calls = _positive_int(row_calls, "row_calls")
    batch_size = _positive_int(batch_size, "batch_size")
    batch_calls = _positive_int(batch_calls, "batch_calls")
    warmup = _positive_int(warmup, "warmup", 0)
    min_calls = _positive_int(min_calls, "min_calls")
    max_seconds = _non_negative(max_seconds, "max_seconds")
    n = _n_rows(X)
    if n == 0:
        raise ValueError("cannot measure prediction performance on an empty dataset")
    rng = np.random.default_rng(seed)
    size = min(batch_size, n)
    rows = [_take(X, rng.integers(0, n, size=1)) for _ in range(warmup + row_calls)]
    batches = [
        _take(X, np.sort(rng.choice(n, size=size, replace=False)))
        for _ in range(warmup + batch_calls)
    ]
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for item in rows[:warmup]:
            predict_fn(item)
        row_times = _timed(
            predict_fn,
            rows[warmup:],
            max_seconds / 2,
            min(min_calls, row_calls),
            timer,
            call_seconds,
        )
        for item in batches[:warmup]:
            predict_fn(item)
        batch_times = _timed(
            predict_fn,
            batches[warmup:],
            max_seconds / 2,
            min(min_calls, batch_calls),
            timer,
            call_seconds,
        )
    finally:
        if was_enabled:
            gc.enable()
    row_p = np.percentile(row_times, [50, 95, 99])
    batch_p = np.percentile(batch_times, [50, 95, 99])
    batch_median = max(float(batch_p[0]), 1e-9)  # a clock tick, so throughput stays finite
    pre = "cpu_" if clock == "cpu" else ""
    out = {
        f"{pre}latency_row_p50_seconds": float(row_p[0]),
        f"{pre}latency_row_p95_seconds": float(row_p[1]),
        f"{pre}latency_row_p99_seconds": float(row_p[2]),
        f"{pre}latency_batch_p50_seconds": float(batch_p[0]),
        f"{pre}latency_batch_p95_seconds": float(batch_p[1]),
        f"{pre}latency_batch_p99_seconds": float(batch_p[2]),
        f"{pre}throughput_rows_per_second": size / batch_median,
        "batch_size": float(size),
        "row_calls": float(len(row_times)),
        "batch_calls": float(len(batch_times)),
    }
    if memory:
        out["peak_memory_bytes"] = float(_peak_memory(predict_fn, batches[-1]))
    return out


def _peak_memory(fn: Callable[[Any], Any], item: Any) -> int:
    """Peak bytes allocated (as seen by tracemalloc) while ``fn(item)`` runs, above the start."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn(item)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if started:
            tracemalloc.stop()
    return max(0, peak - before)


def measure_training_time(
    train_fn: Callable[[], Any], *, repeats: int = 3, warmup: int = 0, clock: Clock = "wall"
) -> dict[str, float]:
    """Median and maximum time of ``train_fn()`` over ``repeats`` runs (``cpu_`` names for CPU)."""
    timer = _clock(clock)
    repeats = _positive_int(repeats, "repeats")
    warmup = _positive_int(warmup, "warmup", 0)
    for _ in range(warmup):
        train_fn()
    times = []
    for _ in range(repeats):
        t0 = timer()
        train_fn()
        times.append(timer() - t0)
    pre = "cpu_" if clock == "cpu" else ""
    return {
        f"{pre}training_time_seconds": float(np.median(times)),
        f"{pre}training_time_max_seconds": float(max(times)),
        "training_runs": float(repeats),
    }


# -- built-in check: computing performance against the history -----------------------------------
PERF_LABELS = {"check": "monitor-6:performance"}  # as the plugin labels a check's metrics


def run_performance(ctx: CheckContext) -> CheckResult:
    ds = "serving" if "serving" in ctx.assets.datasets else ctx.holdout_name()
    X = ctx.model_inputs("default", ds)
    if len(X) > ctx.params["sample"]:
        X = X.sample(n=ctx.params["sample"], random_state=0)
    model_ = ctx.model("default")
    current = measure_prediction_performance(model_.predict, X, seed=0, clock=ctx.params["clock"])
    return judge_against_history(ctx, current, PERF_LABELS)


def judge_against_history(
    ctx: CheckContext, current: Mapping[str, float], labels: Mapping[str, str]
) -> CheckResult:
    """This run's measurements against the stored runs of the check labelled ``labels``; the
    measurements go into the result's metrics (so into the history) whatever the verdict."""
    store = ctx.history()
    history: dict[str, list[Any]] = {}
    since = ctx.params["baseline_since"]
    dropped = 0
    if store is not None:
        for name in current:
            series = store.metric_series(name, labels, limit=ctx.params["leak_window"])
            kept = [p for p in series if since is None or p.created >= since]
            dropped = max(dropped, len(series) - len(kept))
            history[name] = kept
    result = check_performance_history(
        current,
        history,
        regression_window=ctx.params["regression_window"],
        min_history=ctx.params["min_history"],
        rel_tolerance=ctx.params["rel_tolerance"],
        leak_window=ctx.params["leak_window"],
        leak_min_runs=ctx.params["leak_min_runs"],
        leak_tolerance=ctx.params["leak_tolerance"],
    )
    # this run's measurements go into the history whatever the verdict
    return CheckResult(
        result.check,
        result.verdict,
        result.summary,
        result.table,
        "monitor-6",
        {**result.metrics, **{k: float(v) for k, v in current.items()}},
        result.notes
        + (
            (f"baseline_since {since:%Y-%m-%d %H:%M} UTC: {dropped} earlier run(s) not compared",)
            if since is not None
            else ()
        ),
        result.figures,
    )


PERFORMANCE = BuiltinCheck(
    "monitor-6",
    "performance",
    "serving latency, throughput and memory show no jump and no slow leak against history",
    (model("default"), needs_some_data, needs_history),
    run_performance,
    (
        Param("sample", "integer", 2000, "serving rows used for the measurement", 10),
        Param(
            "clock",
            "string",
            "wall",
            "wall (catches waits too) or cpu (steadier on shared CI runners)",
            choices=("wall", "cpu"),
        ),
        Param("min_history", "integer", 5, "earlier runs needed for a verdict", 2),
        Param("regression_window", "integer", 10, "runs whose median this run is compared to", 2),
        Param("rel_tolerance", "number", 0.2, "allowed relative worsening beyond the noise"),
        Param("leak_window", "integer", 20, "runs the slow-leak trend is fitted on", 3),
        Param("leak_min_runs", "integer", 10, "runs needed for a slow-leak verdict", 3),
        Param("leak_tolerance", "number", 0.2, "allowed relative drift over the leak window"),
        Param(
            "baseline_since",
            "datetime",
            None,
            "compare only with runs from this date on (after an accepted change in speed)",
        ),
    ),
    declines="fewer than `min_history` earlier whole runs (the first runs only record)",
)
