"""Real scikit-learn models with deliberate flaws, for the infra-2/-5 tests.

Functions used inside pipelines live here (module level) so the models can be pickled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .penguins import NUMERIC, penguins

MASS_FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


def safe_sqrt(z: np.ndarray) -> np.ndarray:
    """Square root that returns NaN (silently) for negative input."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(z)


def safe_log(x: np.ndarray) -> np.ndarray:
    """Log that returns NaN/-inf (silently) outside the positive reals."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.asarray(x, dtype=float))


def to_numpy(X: pd.DataFrame) -> np.ndarray:
    """Drop the column names: downstream steps then read columns by position."""
    return np.asarray(X, dtype=float)


DIABETES_FEATURES = ["s1", "s2", "s4"]


def diabetes() -> pd.DataFrame:
    """scikit-learn's diabetes data (442 patients) as one frame with a ``target`` column."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    return frame[[*DIABETES_FEATURES, "target"]]


def progression_sqrt_target() -> TransformedTargetRegressor:
    """Progression regressed as sqrt(linear(y^2)) on three correlated serum measures.

    Every real patient gets a finite prediction, but the serum values are strongly correlated,
    so a combination each within its observed range (an edge of the training box) can drive the
    linear part negative, and the square root then returns NaN.
    """
    df = diabetes()
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), LinearRegression()),
        func=np.square,
        inverse_func=safe_sqrt,
        check_inverse=False,
    )
    return model.fit(df[DIABETES_FEATURES], df["target"])


def mass_model_plain() -> Pipeline:
    df = penguins()
    return make_pipeline(StandardScaler(), LinearRegression()).fit(
        df[MASS_FEATURES], df["body_mass_g"]
    )


def species_positional() -> Pipeline:
    """A classifier that reads columns by position (names are dropped in its first step)."""
    df = penguins()
    model = make_pipeline(
        FunctionTransformer(to_numpy), StandardScaler(), LogisticRegression(max_iter=1000)
    )
    return model.fit(df[NUMERIC], df["species"])


def mass_model_log_features() -> Pipeline:
    """Log-features into a tree model that tolerates NaN: a negative input becomes NaN inside."""
    df = penguins()
    model = make_pipeline(
        FunctionTransformer(safe_log, feature_names_out="one-to-one"),
        StandardScaler(),
        HistGradientBoostingRegressor(max_iter=30, random_state=0),
    )
    return model.fit(df[MASS_FEATURES], df["body_mass_g"])


class SlowPredictor:
    """Wraps a regressor and sleeps before each prediction: a latency regression on purpose."""

    def __init__(self, model: object, delay_s: float) -> None:
        self.model = model
        self.delay_s = delay_s

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        import time

        time.sleep(self.delay_s)
        return self.model.predict(X)  # type: ignore[attr-defined, no-any-return]
