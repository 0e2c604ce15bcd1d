"""The vectorized resampling and stacked predictions give what the per-resample and per-copy
loops gave: the same resamples, the same values, in the same order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mltestscore.cost import PREDICT, metering
from pytest_mltestscore.evaluation import (
    bootstrap_indices,
    bootstrap_scores,
    outputs,
    stacked_outputs,
    try_score,
)
from pytest_mltestscore.metrics import get_metric


def _loop(metric, y, out, classes, n_bootstrap, seed):
    values = np.full(n_bootstrap, np.nan)
    for b, idx in enumerate(bootstrap_indices(len(y), n_bootstrap, seed)):
        v = try_score(metric, y[idx], out[idx], classes)
        if v is not None:
            values[b] = v
    return values


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**16), n_bootstrap=st.integers(100, 1200))
def test_vectorized_bootstrap_equals_the_loop(n, seed, n_bootstrap):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    labels = rng.integers(0, 3, n)
    proba = rng.dirichlet([1, 1, 1], n)
    value = rng.normal(size=n)
    guess = value + rng.normal(size=n)
    classes = np.array([0, 1, 2])
    for name, yy, out in (
        ("accuracy", y, labels),
        ("log_loss", y, proba),
        ("mae", value, guess),
        ("rmse", value, guess),
    ):
        metric = get_metric(name)
        fast = bootstrap_scores(metric, yy, out, classes, None, n_bootstrap, seed)
        slow = _loop(metric, yy, out, classes, n_bootstrap, seed)
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12, err_msg=name)


class _RowWise:
    """Predicts each row from its own values, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        return (X["a"] * 2 + X["b"]).to_numpy()


@pytest.mark.parametrize("max_rows", [10, 35, 10_000])
def test_stacked_outputs_equal_one_call_per_variant(max_rows):
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"a": rng.normal(size=12), "b": rng.normal(size=12)})
    variants = [base.sample(frac=1.0, random_state=k).reset_index(drop=True) for k in range(7)]
    metric = get_metric("rmse")
    model = _RowWise()
    with metering() as meter:
        stacked = list(stacked_outputs(model, iter(variants), metric, max_rows=max_rows))
    assert len(stacked) == len(variants)
    for got, variant in zip(stacked, variants, strict=True):
        np.testing.assert_array_equal(got, outputs(_RowWise(), variant, metric))
    # as few calls as fit max_rows rows (a variant larger than max_rows still goes alone)
    per_call = max(1, max_rows // 12)
    assert model.calls == meter.kinds[PREDICT].calls == -(-7 // per_call)
    assert meter.kinds[PREDICT].rows == 7 * 12
