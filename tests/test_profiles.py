"""Streaming profiles: exact merges, the quantile bound, references, odd columns, JSON."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pytest_mltestscore.profiles import (
    DatasetProfile,
    Grid,
    NumericSummary,
    profile_chunks,
    profile_frame,
    profile_series,
)


def mixed_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(3, 2, n)
    x[rng.random(n) < 0.05] = np.nan
    x[rng.random(n) < 0.002] = np.inf
    levels = np.array(["red", "green", "blue", "teal"])
    return pd.DataFrame(
        {
            "normal": x,
            "heavy": rng.lognormal(0, 1.5, n),
            "count": rng.poisson(4, n),
            "colour": pd.Series(levels[rng.integers(0, 4, n)]).where(rng.random(n) > 0.1),
            "flag": rng.random(n) < 0.3,
            "when": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
        }
    )


def assert_same_profile(a: DatasetProfile, b: DatasetProfile) -> None:
    """Equal except for floating-point rounding of the moments."""
    assert a.n_rows == b.n_rows
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        ca, cb = a[name], b[name]
        assert (ca.count, ca.nulls, dict(ca.types)) == (cb.count, cb.nulls, dict(cb.types)), name
        assert (ca.numeric is None) == (cb.numeric is None), name
        if ca.numeric is not None and cb.numeric is not None:
            na, nb = ca.numeric, cb.numeric
            assert na.grid == nb.grid, name
            assert np.array_equal(na.counts, nb.counts), name
            assert (na.n, na.min, na.max, na.pos_inf, na.neg_inf) == (
                nb.n,
                nb.min,
                nb.max,
                nb.pos_inf,
                nb.neg_inf,
            ), name
            assert (na.lowest, na.highest) == (nb.lowest, nb.highest), name
            assert na.mean == pytest.approx(nb.mean, rel=1e-12, abs=1e-12), name
            assert na.m2 == pytest.approx(nb.m2, rel=1e-10), name
        assert (ca.categorical is None) == (cb.categorical is None), name
        if ca.categorical is not None and cb.categorical is not None:
            assert dict(ca.categorical.counts) == dict(cb.categorical.counts), name
            assert ca.categorical.other_rows == cb.categorical.other_rows, name


@pytest.mark.parametrize("cuts", [[1], [500], [1, 2, 3], [250, 900, 1999]])
def test_merging_chunk_profiles_equals_profiling_the_whole(cuts: list[int]) -> None:
    df = mixed_frame(2000)
    whole = profile_frame(df)
    bounds = [0, *cuts, len(df)]
    chunks = [df.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    assert_same_profile(profile_chunks(chunks), whole)


def test_moments_and_counts_match_numpy() -> None:
    df = mixed_frame(5000, seed=3)
    prof = profile_frame(df)
    x = df["normal"].to_numpy()
    finite = x[np.isfinite(x)]
    num = prof["normal"].numeric
    assert num is not None
    assert prof["normal"].nulls == int(np.isnan(x).sum())
    assert num.pos_inf == int(np.isposinf(x).sum()) and num.pos_inf > 0
    assert num.n == finite.size == int(num.counts.sum())
    assert (num.min, num.max) == (finite.min(), finite.max())
    assert num.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert num.variance == pytest.approx(finite.var(ddof=1), rel=1e-10)
    assert num.lowest == tuple(np.sort(finite)[:5])
    assert num.highest == tuple(np.sort(finite)[::-1][:5])
    colour = prof["colour"].categorical
    assert colour is not None
    assert dict(colour.counts) == df["colour"].value_counts().to_dict()
    assert prof["colour"].nulls == int(df["colour"].isna().sum())
    assert prof["flag"].kind == "bool"
    assert prof["count"].integral and prof["count"].kind == "numeric"


def test_variance_is_stable_for_a_large_offset() -> None:
    rng = np.random.default_rng(1)
    x = 1.7e9 + rng.normal(0, 0.5, 100_000)
    halves = [NumericSummary.from_values(x[:30_000]), NumericSummary.from_values(x[30_000:])]
    for summary in (NumericSummary.from_values(x), halves[0].merge(halves[1])):
        assert summary.variance == pytest.approx(np.var(x, ddof=1), rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(2, 300),
        elements=st.floats(-1e12, 1e12, width=64, allow_subnormal=False),
    ),
    st.integers(1, 299),
    st.sampled_from([16, 64, 8192]),
)
def test_merge_is_exact_for_any_values(values: np.ndarray, cut: int, bins: int) -> None:
    cut = min(cut, values.size - 1)
    a = NumericSummary.from_values(values[:cut], bins=bins)
    b = NumericSummary.from_values(values[cut:], bins=bins)
    whole = NumericSummary.from_values(values, bins=bins)
    merged = a.merge(b)
    assert merged.grid == whole.grid
    assert np.array_equal(merged.counts, whole.counts)
    assert (merged.min, merged.max, merged.n) == (whole.min, whole.max, whole.n)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e15, 1e15), st.floats(0, 1e6), st.floats(0, 1e6), st.integers(4, 14))
def test_grid_is_monotone_in_the_range(
    lo: float, widen_lo: float, widen_hi: float, log_bins: int
) -> None:
    bins = 1 << log_bins
    hi = lo + widen_hi
    inner = Grid.covering(lo, hi, bins)
    outer = Grid.covering(lo - widen_lo, hi + widen_hi, bins)
    assert inner.exponent <= outer.exponent
    assert inner.lo <= lo and hi < inner.hi
    assert outer.lo <= lo - widen_lo and hi + widen_hi < outer.hi


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).normal(0, 1, 20_000),
        np.random.default_rng(1).lognormal(0, 2, 20_000),
        np.random.default_rng(2).integers(0, 5, 20_000).astype(float),
        np.concatenate([np.zeros(10_000), np.random.default_rng(3).uniform(1e6, 2e6, 50)]),
    ],
    ids=["normal", "lognormal", "discrete", "atom-and-outliers"],
)
def test_quantile_estimate_lies_within_the_stated_bound(values: np.ndarray) -> None:
    levels = np.array([0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1])
    summary = NumericSummary.from_values(values)
    exact = np.quantile(values, levels, method="inverted_cdf")
    left, right = summary.quantile_bounds(levels)
    estimate = summary.quantile(levels)
    assert np.all(left <= exact) and np.all(exact <= right)
    assert np.all(left <= estimate) and np.all(estimate <= right)
    # The stated bound: at most one bin width on the profile's own grid.
    assert np.all(right - left <= summary.grid.width)
    # Merging chunks changes nothing: the quantiles of the merge are those of the whole.
    merged = NumericSummary.from_values(values[:7000]).merge(
        NumericSummary.from_values(values[7000:])
    )
    assert np.array_equal(merged.quantile(levels), estimate)


@settings(max_examples=80, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(1, 400),
        elements=st.floats(-1e9, 1e9, width=64, allow_subnormal=False),
    ),
    st.floats(0, 1),
    st.booleans(),
)
def test_quantile_bound_holds_for_any_values(
    values: np.ndarray, p: float, on_reference: bool
) -> None:
    grid = (
        NumericSummary.from_values(values[: max(1, values.size // 3)]).grid
        if on_reference
        else None
    )
    summary = NumericSummary.from_values(values, grid=grid, bins=64)
    left, right = summary.quantile_bounds(p)
    exact = np.quantile(values, p, method="inverted_cdf")
    assert left[0] <= exact <= right[0]
    assert left[0] <= summary.quantile(p)[0] <= right[0]


def test_profile_against_a_reference_shares_bins_and_counts_values_beyond() -> None:
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"x": rng.uniform(0, 10, 10_000), "c": rng.choice(["a", "b"], 10_000)})
    serve = pd.DataFrame({"x": np.concatenate([rng.uniform(0, 10, 900), [-5.0] * 30, [25.0] * 70])})
    serve["c"] = ["a"] * 500 + ["b"] * 400 + ["new"] * 100
    ref = profile_frame(train)
    cur = profile_frame(serve, ref)
    ref_x, cur_x = ref["x"].numeric, cur["x"].numeric
    assert ref_x is not None and cur_x is not None
    assert cur_x.grid == ref_x.grid
    x = serve["x"].to_numpy()
    assert cur_x.underflow == int((x < ref_x.grid.lo).sum()) == 30
    assert cur_x.overflow == int((x >= ref_x.grid.hi).sum()) == 70
    assert cur_x.highest[0] == 25.0 and cur_x.lowest[0] == -5.0
    # Beyond the reference grid the quantile bound runs to the observed extreme.
    left, right = cur_x.quantile_bounds([0.995])
    assert left[0] == ref_x.grid.hi and right[0] == 25.0
    # Two chunks profiled against the same reference merge exactly.
    parts = profile_frame(serve.iloc[:400], ref).merge(profile_frame(serve.iloc[400:], ref))
    assert_same_profile(parts, cur)
    # A chunk profiled on its own grid cannot be merged exactly with one beyond a reference.
    with pytest.raises(ValueError, match="different reference grids"):
        cur_x.merge(NumericSummary.from_values(np.array([1e9, 2e9])))


def test_category_cap_bounds_memory_and_keeps_reference_categories() -> None:
    n = 1_000_000
    words = pd.Series(np.char.add("id", np.arange(n).astype(str)), dtype="str")
    col = profile_series(words, max_categories=10_000)
    cat = col.categorical
    assert cat is not None
    assert len(cat.counts) == 10_000
    assert sum(cat.counts.values()) + cat.other_rows == n
    assert cat.distinct == n and cat.singletons == n
    # Categories of the reference survive the cap even when rarer than the new ones.
    ref = profile_series(pd.Series(["keep-me", "and-me"], dtype="str"))
    mixed = pd.Series(["keep-me"] + [f"new{i % 50}" for i in range(1000)], dtype="str")
    pinned = profile_series(mixed, reference=ref, max_categories=10)
    assert pinned.categorical is not None
    assert pinned.categorical.counts["keep-me"] == 1
    assert pinned.categorical.other_rows == 1000 - 10 * 20


def test_mixed_types_are_split_and_reported_not_crashing() -> None:
    values = pd.Series([1, 2.5, "abc", None, "abc", True, b"raw", 7], dtype=object)
    col = profile_series(values, name="m")
    assert col.kind == "mixed"
    # bytes fit no kind: counted by type name, never turned into a category
    assert dict(col.types) == {"number": 3, "string": 2, "bool": 1, "nested": 1}
    assert dict(col.nested) == {"bytes": 1}
    assert col.nulls == 1
    assert col.numeric is not None and (col.numeric.min, col.numeric.max) == (1.0, 7.0)
    assert col.categorical is not None and dict(col.categorical.counts) == {"abc": 2, "True": 1}
    assert col.majority_kind == "numeric"


def test_odd_columns() -> None:
    df = pd.DataFrame(
        {
            "all_null": [None, None, None],
            "all_nan": [np.nan, np.nan, np.nan],
            "infs": [np.inf, -np.inf, 1.0],
            "numbers_as_objects": pd.Series([1, 2, None], dtype=object),
            "nullable_int": pd.array([1, None, 3], dtype="Int64"),
            "category": pd.Categorical(["a", "b", "a"], categories=["a", "b", "unused"]),
        }
    )
    prof = profile_frame(df)
    assert prof["all_null"].kind == "empty" and prof["all_null"].nulls == 3
    assert prof["all_nan"].kind == "empty" and prof["all_nan"].nulls == 3
    infs = prof["infs"].numeric
    assert infs is not None and (infs.pos_inf, infs.neg_inf, infs.n) == (1, 1, 1)
    assert prof["numbers_as_objects"].kind == "numeric" and prof["numbers_as_objects"].nulls == 1
    assert prof["nullable_int"].integral and prof["nullable_int"].nulls == 1
    cat = prof["category"].categorical
    assert cat is not None and dict(cat.counts) == {"a": 2, "b": 1}
    empty = profile_frame(df.iloc[:0])
    assert empty.n_rows == 0 and all(c.kind == "empty" for c in empty.columns.values())
    assert profile_chunks([]).n_rows == 0


def test_datetimes_are_profiled_as_utc_seconds() -> None:
    stamps = pd.Series(
        pd.to_datetime(["2024-01-01T00:00:00+01:00", None, "2024-01-02T00:00:00Z"], utc=True)
    ).dt.tz_convert("Europe/Paris")
    col = profile_series(stamps, name="t")
    assert col.kind == "datetime" and col.nulls == 1
    assert col.numeric is not None
    assert col.numeric.min == pd.Timestamp("2023-12-31T23:00:00Z").timestamp()
    assert col.numeric.max == pd.Timestamp("2024-01-02T00:00:00Z").timestamp()


def test_a_column_missing_from_a_chunk_counts_as_nulls() -> None:
    a = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    b = pd.DataFrame({"x": [3.0]})
    merged = profile_frame(a).merge(profile_frame(b))
    assert merged.n_rows == 3
    assert (merged["y"].count, merged["y"].nulls) == (3, 1)
    assert_same_profile(merged, profile_frame(pd.concat([a, b], ignore_index=True)))


def test_json_round_trip() -> None:
    prof = profile_frame(mixed_frame(3000, seed=7))
    data = json.loads(json.dumps(prof.to_dict(), allow_nan=False))
    back = DatasetProfile.from_dict(data)
    assert back.to_dict() == prof.to_dict()
    assert_same_profile(back, prof)
    with pytest.raises(ValueError, match="not a profile"):
        DatasetProfile.from_dict({"format": "something-else"})
    del data["columns"]["normal"]["numeric"]["grid"]
    with pytest.raises(ValueError, match="malformed profile: KeyError: 'grid'"):
        DatasetProfile.from_dict(data)


def test_invalid_arguments_are_value_errors() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValueError, match="duplicate column names: 'a'"):
        profile_frame(df)
    with pytest.raises(ValueError, match="bins must be"):
        profile_frame(pd.DataFrame({"a": [1.0]}), bins=3)
    with pytest.raises(ValueError, match="quantile levels"):
        NumericSummary.from_values(np.array([1.0, 2.0])).quantile(1.5)
    assert math.isnan(NumericSummary.from_values(np.array([])).quantile(0.5)[0])
