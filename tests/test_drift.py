"""Drift on effect sizes: silent on noise and nuisance shifts, loud on shifts that matter."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from pytest_mltestscore.checks.monitor.drift import (
    DriftSettings,
    check_drift,
    compare_profiles,
    numeric_drift_statistics,
)
from pytest_mltestscore.profiles import DatasetProfile, NumericSummary, profile_frame

SEEDS = range(20)

# name -> (shape, parameters, null rate); population SDs are computed from the parameters.
NUMERIC = {
    "n0": ("normal", (0.0, 1.0), 0.0),
    "n1": ("normal", (100.0, 15.0), 0.0),
    "n2": ("normal", (-5.0, 0.2), 0.01),
    "n3": ("normal", (1e6, 3e4), 0.0),
    "n4": ("normal", (3.0, 2.0), 0.0),
    "n5": ("normal", (0.0, 1.0), 0.02),
    "n6": ("normal", (10.0, 3.0), 0.0),
    "l0": ("lognormal", (0.0, 1.0), 0.0),
    "l1": ("lognormal", (1.0, 0.5), 0.0),
    "l2": ("lognormal", (2.0, 0.8), 0.01),
    "l3": ("lognormal", (0.0, 0.3), 0.0),
    "l4": ("lognormal", (0.0, 1.0), 0.05),
    "l5": ("lognormal", (-1.0, 0.7), 0.0),
    "u0": ("uniform", (0.0, 1.0), 0.0),
    "u1": ("uniform", (-10.0, 10.0), 0.0),
    "u2": ("uniform", (5.0, 6.0), 0.01),
    "u3": ("uniform", (0.0, 1000.0), 0.0),
    "u4": ("uniform", (-1.0, 1.0), 0.0),
    "u5": ("uniform", (2.0, 4.0), 0.03),
    "u6": ("uniform", (0.0, 1.0), 0.0),
}
LEVELS = {"c3": 3, "c5": 5, "c10": 10, "c20": 20, "c50": 50}


def population_sd(shape: str, params: tuple[float, float]) -> float:
    a, b = params
    if shape == "normal":
        return b
    if shape == "lognormal":
        return math.sqrt((math.exp(b * b) - 1) * math.exp(2 * a + b * b))
    return (b - a) / math.sqrt(12)


def category_weights(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


def draw(
    n: int, rng: np.random.Generator, changes: dict[str, object] | None = None
) -> pd.DataFrame:
    """One sample of the 25 columns, with ``changes`` applied to some of them."""
    changes = changes or {}
    cols: dict[str, object] = {}
    for name, (shape, (a, b), nulls) in NUMERIC.items():
        x = getattr(rng, shape)(a, b, n)
        change = changes.get(name)
        sd = population_sd(shape, (a, b))
        mean = x.mean()
        if isinstance(change, tuple) and change[0] == "shift":
            x = x + change[1] * sd
        elif isinstance(change, tuple) and change[0] == "spread":
            x = mean + change[1] * (x - mean)
        elif isinstance(change, tuple) and change[0] == "support":
            x = x + change[1] * (b - a if shape == "uniform" else 8 * sd)
        null_rate = change[1] if isinstance(change, tuple) and change[0] == "nulls" else nulls
        x[rng.random(n) < null_rate] = np.nan
        cols[name] = x
    for name, k in LEVELS.items():
        weights = category_weights(k)
        labels = [f"{name}-{i}" for i in range(k)]
        change = changes.get(name)
        if isinstance(change, tuple) and change[0] == "move":
            _, which, points = change
            moved = weights * (1 - weights[which] - points) / (1 - weights[which])
            moved[which] = weights[which] + points
            weights = moved
        if isinstance(change, tuple) and change[0] == "unseen":
            weights = np.append(weights * (1 - change[1]), change[1])
            labels.append("never-seen")
        codes = np.minimum(np.searchsorted(np.cumsum(weights), rng.random(n)), len(labels) - 1)
        cols[name] = pd.Categorical.from_codes(codes, labels)
    return pd.DataFrame(cols)


def flagged(reference: DatasetProfile, current: DatasetProfile) -> set[tuple[str, str]]:
    return {(r.column, r.test) for r in compare_profiles(reference, current) if r.drifted}


@functools.lru_cache(maxsize=64)
def reference_sample(n: int, seed: int) -> tuple[DatasetProfile, dict[str, object]]:
    """The reference profile of a seed, and the generator state right after drawing it."""
    rng = np.random.default_rng(seed)
    return profile_frame(draw(n, rng)), rng.bit_generator.state


def pair(
    n: int, seed: int, changes: dict[str, object] | None = None
) -> tuple[DatasetProfile, DatasetProfile]:
    """A reference sample and a second, independent sample with ``changes`` applied."""
    reference, state = reference_sample(n, seed)
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    return reference, profile_frame(draw(n, rng, changes), reference)


MEANINGFUL = {
    "n0": ("shift", 0.25),
    "n1": ("shift", -0.25),
    "l0": ("shift", 0.25),
    "u0": ("spread", 1.3),
    "l1": ("spread", 0.7),
    "n4": ("spread", 1.3),
    "u1": ("support", 0.1),
    "l3": ("support", 0.1),
    "n2": ("nulls", 0.03),  # 1% -> 3%
    "l2": ("nulls", 0.03),  # 1% -> 3%
    "c3": ("move", 0, 0.05),  # the top category (about 55%) gains 5 points
    "c20": ("move", 5, 0.05),  # a middle category
    "c50": ("unseen", 0.011),
}
EXPECTED = {
    (
        name,
        "nulls" if change[0] == "nulls" else "unseen" if change[0] == "unseen" else "distribution",
    )
    for name, change in MEANINGFUL.items()
}
NUISANCE = {
    "n5": ("shift", 0.009),
    "u6": ("shift", -0.009),
    "l5": ("shift", 0.009),
    "c10": ("move", 0, 0.0045),
    "c5": ("move", 2, -0.0045),
}


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_same_distribution_is_never_flagged(n: int) -> None:
    for seed in SEEDS:
        reference, current = pair(n, seed)
        result = check_drift(reference, current)
        assert result.passed, f"seed {seed}: {result.message()}"


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_meaningful_shifts_are_always_flagged_and_nuisance_never(n: int) -> None:
    for seed in SEEDS:
        reference, current = pair(n, seed, {**MEANINGFUL, **NUISANCE})
        assert flagged(reference, current) == EXPECTED, f"seed {seed}"


def test_nuisance_shifts_stay_silent_at_a_million_rows() -> None:
    rng = np.random.default_rng(11)
    n = 1_000_000
    x = rng.normal(0, 1, n)
    y = rng.normal(0.009, 1, n)
    k = category_weights(10)
    c0 = np.searchsorted(np.cumsum(k), rng.random(n))
    moved = k * (1 - k[0] - 0.0045) / (1 - k[0])
    moved[0] = k[0] + 0.0045
    c1 = np.searchsorted(np.cumsum(moved), rng.random(n))
    reference = profile_frame(
        pd.DataFrame({"x": x, "c": np.minimum(c0, 9)}).astype({"c": "category"})
    )
    current = profile_frame(
        pd.DataFrame({"x": y, "c": np.minimum(c1, 9)}).astype({"c": "category"}), reference
    )
    results = {r.test + ":" + r.column: r for r in compare_profiles(reference, current)}
    assert not any(r.drifted for r in results.values())
    # At this size chance is tiny: the floors, not the standard errors, are what keep it quiet.
    assert 0.005 < results["distribution:x"].statistic < 0.02
    assert "floor 0.05 > 5x no-change expectation" in results["distribution:x"].why
    # ...and the p-value, reported as information, would have cried wolf.
    assert results["distribution:x"].info["KS p"] < 0.01


def test_w1_from_histograms_matches_scipy_on_clipped_raw_values() -> None:
    rng = np.random.default_rng(3)
    for a, b in [
        (rng.normal(0, 1, 50_000), rng.normal(0.3, 1.2, 40_000)),
        (rng.lognormal(0, 1, 50_000), rng.lognormal(0.1, 1, 40_000)),
        (rng.uniform(0, 1, 50_000), rng.uniform(0.05, 1.1, 40_000)),
    ]:
        ref = NumericSummary.from_values(a)
        cur = NumericSummary.from_values(b, grid=ref.grid)
        stats = numeric_drift_statistics(ref, cur, clip_quantile=0.001)
        lo, hi = np.quantile(a, [0.001, 0.999], method="inverted_cdf")
        ca, cb = np.clip(a, lo, hi), np.clip(b, lo, hi)
        exact = wasserstein_distance(ca, cb) / ca.std()
        assert stats["w1_sd"] == pytest.approx(exact, rel=0.01, abs=1e-3)
        assert stats["sd"] == pytest.approx(ca.std(), rel=0.01)
        assert stats["spread_ratio"] == pytest.approx(cb.std() / ca.std(), rel=0.01)


def test_no_change_expectation_matches_the_average_distance() -> None:
    rng = np.random.default_rng(5)
    for draw_one in (lambda: rng.normal(0, 1, 5000), lambda: rng.lognormal(0, 1, 5000)):
        values = []
        expectations = []
        for _ in range(60):
            ref = NumericSummary.from_values(draw_one())
            stats = numeric_drift_statistics(
                ref, NumericSummary.from_values(draw_one(), grid=ref.grid)
            )
            values.append(stats["w1_sd"])
            expectations.append(stats["e0"])
        assert np.mean(values) == pytest.approx(np.mean(expectations), rel=0.15)


def test_result_table_says_method_statistic_threshold_and_why() -> None:
    reference, current = pair(10_000, 0, {"n0": ("shift", 0.5), "c3": ("move", 0, 0.1)})
    result = check_drift(reference, current, rubric_id="monitor-3", check="monitor-3")
    assert result.verdict == "fail"
    assert result.summary.startswith("2 of 25 columns drifted (n0, c3)")
    assert result.table is not None and result.table.columns[:6] == (
        "column",
        "method",
        "statistic",
        "threshold",
        "drift",
        "why",
    )
    first, second = result.table.rows[:2]
    assert first[:2] == ("n0", "W1/sd") and first[4] == "DRIFT"
    assert first[2] == pytest.approx(0.5, abs=0.05) and first[2] > first[3]
    assert "5x no-change expectation" in first[5] and "n=10000, m=10000" in first[5]
    assert second[:2] == ("c3", "max share change") and "'c3-0'" in second[5]
    assert result.metrics["columns_drifted"] == 2
    assert result.metrics["n0:distribution"] == first[2]


def test_structural_problems_are_flagged_or_skipped_with_reasons() -> None:
    rng = np.random.default_rng(9)
    ref_df = pd.DataFrame(
        {
            "x": rng.normal(size=5000),
            "gone": rng.normal(size=5000),
            "when": pd.date_range("2024-01-01", periods=5000, freq="min", tz="UTC"),
            "const": np.full(5000, 7.0),
            "s": rng.choice(["a", "b"], 5000),
        }
    )
    reference = profile_frame(ref_df)
    cur_df = ref_df.drop(columns=["gone"]).assign(
        x=[str(v) for v in rng.normal(size=5000)],
        when=pd.date_range("2024-06-01", periods=5000, freq="min", tz="UTC"),
        const=np.where(rng.random(5000) < 0.05, 8.0, 7.0),
    )
    results = {
        (r.column, r.test): r for r in compare_profiles(reference, profile_frame(cur_df, reference))
    }
    assert results["gone", "column"].drifted and "absent" in results["gone", "column"].why
    assert (
        results["x", "type"].drifted
        and "reference numeric, current categorical" in results["x", "type"].why
    )
    assert results["when", "distribution"].drifted is None
    assert results["const", "distribution"].drifted
    assert results["const", "distribution"].statistic == pytest.approx(0.05, abs=0.01)
    assert not results["s", "distribution"].drifted
    small = profile_frame(ref_df.iloc[:50], reference)
    assert check_drift(reference, small).verdict == "skip"
    empty = check_drift(reference, profile_frame(ref_df.iloc[:0]))
    assert empty.verdict == "fail" and "no rows" in empty.summary


def test_profiles_built_without_the_reference_grid_still_compare() -> None:
    rng = np.random.default_rng(2)
    ref = NumericSummary.from_values(rng.normal(0, 1, 20_000))
    same = NumericSummary.from_values(rng.normal(0, 1, 20_000))  # its own grid
    shifted = NumericSummary.from_values(rng.normal(0.3, 1, 20_000))
    assert numeric_drift_statistics(ref, same)["exact_bins"] == 1.0
    assert numeric_drift_statistics(ref, same)["w1_sd"] < 0.05
    assert numeric_drift_statistics(ref, shifted)["w1_sd"] == pytest.approx(0.3, abs=0.03)


def test_prediction_drift_of_a_real_model() -> None:
    """monitor-7's use: the model's output distribution on training versus serving rows."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    order = np.random.default_rng(0).permutation(len(X))
    train, serve = order[:285], order[285:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        X.iloc[train], y.iloc[train]
    )
    ref = profile_frame(pd.DataFrame({"p": model.predict_proba(X.iloc[train])[:, 1]}))
    same = profile_frame(pd.DataFrame({"p": model.predict_proba(X.iloc[serve])[:, 1]}), ref)
    assert check_drift(ref, same).passed
    broken = X.iloc[serve].copy()
    # A broken upstream join fills three features with zeros: positives go from 64% to 89%.
    broken[["worst texture", "worst smoothness", "worst symmetry"]] = 0.0
    moved = profile_frame(pd.DataFrame({"p": model.predict_proba(broken)[:, 1]}), ref)
    result = check_drift(ref, moved, check="monitor-7 prediction drift")
    assert result.verdict == "fail" and "p" in result.summary


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="w1_floor must be in"):
        DriftSettings(w1_floor=2)
    with pytest.raises(ValueError, match="null_ratio must be > 1"):
        DriftSettings(null_ratio=1)
    reference, current = pair(1000, 0)
    with pytest.raises(ValueError, match="columns not in the reference profile: 'nope'"):
        compare_profiles(reference, current, columns=["nope"])


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 200])
def test_chi2_survival_matches_scipy(dof):
    """The information-only p-value is computed without importing scipy.stats (1-2 s)."""
    from scipy import stats

    from pytest_mltestscore.checks.monitor.drift import chi2_sf

    for x in (0.0, 0.05, 0.5, 1.0, dof - 1.0, dof + 1.0, 3.0 * dof, 10.0 * dof + 50.0):
        expected = stats.chi2.sf(x, dof)
        assert chi2_sf(x, dof) == pytest.approx(expected, rel=1e-9, abs=1e-300), (x, dof)


def test_chi2_pvalue_of_two_count_vectors_matches_scipy():
    from scipy import stats

    from pytest_mltestscore.checks.monitor.drift import _chi2_pvalue

    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(0, 200, 6).astype(float)
        b = rng.integers(0, 200, 6).astype(float)
        table = np.vstack([a, b])
        table = table[:, table.sum(axis=0) > 0]
        expected = stats.chi2_contingency(table, correction=False)[1]
        assert _chi2_pvalue(a, b) == pytest.approx(expected, rel=1e-9)


def test_a_config_only_run_does_not_import_scipy(pytester):
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=3000) for i in range(3)})
    frame["c"] = rng.choice(list("abc"), 3000)
    frame.to_parquet(pytester.path / "training.parquet")
    frame.sample(frac=0.5, random_state=1).to_parquet(pytester.path / "serving.parquet")
    pytester.makepyprojecttoml(
        "[tool.mltestscore]\nhistory = false\n"
        '[tool.mltestscore.datasets.training]\npath = "training.parquet"\n'
        '[tool.mltestscore.datasets.serving]\npath = "serving.parquet"\n'
    )
    pytester.makeconftest(
        "import sys\n"
        "def pytest_unconfigure(config):\n"
        "    print('scipy.stats imported:', 'scipy.stats' in sys.modules)\n"
    )
    assert pytester.runpytest_subprocess("--ml-score-freeze-schema").ret == 0
    result = pytester.runpytest_subprocess("--ml-score", "-k", "data-1 or monitor-2 or monitor-3")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*3 passed*", "scipy.stats imported: False"])
