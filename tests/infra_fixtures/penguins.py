"""Real data and real scikit-learn pipelines on the Palmer penguins, for the infra tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from palmerpenguins import load_penguins
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]
FEATURES = NUMERIC + CATEGORICAL
TARGET = "species"


def penguins() -> pd.DataFrame:
    """The penguins with a complete sex column, features and target only."""
    df = load_penguins()
    df = df.dropna(subset=["sex", *NUMERIC]).reset_index(drop=True)
    return df[[*FEATURES, TARGET]]


def preprocessor() -> object:
    return make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
    )


def logistic_pipeline(C: float = 1.0) -> Pipeline:
    return make_pipeline(preprocessor(), LogisticRegression(C=C, max_iter=1000))


def fit_forest(df: pd.DataFrame, seed: int) -> Pipeline:
    """A reproducible trainer: every random choice follows the seed."""
    model = make_pipeline(
        preprocessor(), RandomForestClassifier(n_estimators=15, max_depth=4, random_state=seed)
    )
    return model.fit(df[FEATURES], df[TARGET])


def fit_forest_unseeded(df: pd.DataFrame, seed: int) -> Pipeline:
    """A trainer that ignores the seed: bootstrap samples and feature draws change every run."""
    model = make_pipeline(
        preprocessor(), RandomForestClassifier(n_estimators=15, max_depth=4, random_state=None)
    )
    return model.fit(df[FEATURES], df[TARGET])


def fit_logistic(df: pd.DataFrame, seed: int) -> Pipeline:
    """A deterministic trainer (lbfgs has no randomness)."""
    return logistic_pipeline().fit(df[FEATURES], df[TARGET])


def shuffled_labels(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The same rows with the target permuted: a model trained on it has learnt nothing."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    out[TARGET] = rng.permutation(out[TARGET].to_numpy())
    return out


def fit_forest_set_ordered(df: pd.DataFrame, seed: int) -> Pipeline:
    """Seeded, but the column order comes from a set: it changes with the string-hash seed."""
    numeric = list(set(NUMERIC))
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
    )
    model = make_pipeline(
        pre, RandomForestClassifier(n_estimators=15, max_depth=4, random_state=seed)
    )
    return model.fit(df[FEATURES], df[TARGET])


def fit_needs_missing_column(df: pd.DataFrame, seed: int) -> Pipeline:
    """A trainer that expects a column the dataset does not have."""
    return fit_forest(df.assign(colony=df["colony_id"]), seed)
