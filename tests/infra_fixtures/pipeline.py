"""A small end-to-end penguin pipeline (raw data, feature code, trainer) and broken variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
from palmerpenguins import load_penguins
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "bill_ratio"]
CATEGORICAL = ["island", "sex"]
FEATURES = NUMERIC + CATEGORICAL
TARGET = "species"

ISLAND_AREA_KM2 = {"Biscoe": 4.0, "Dream": 1.6, "Torgersen": 0.03}


def load_raw() -> pd.DataFrame:
    """The raw penguins as published, nulls and all."""
    return load_penguins()


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Training and serving features: a bill shape ratio, unknown sex as its own category."""
    out = raw.copy()
    out["bill_ratio"] = out["bill_length_mm"] / out["bill_depth_mm"]
    out["sex"] = out["sex"].fillna("unknown")
    keep = [c for c in [*FEATURES, TARGET] if c in out.columns]
    return out[keep]


def build_features_without_sex(raw: pd.DataFrame) -> pd.DataFrame:
    """A refactor that forgot a column."""
    return build_features(raw).drop(columns=["sex"])


def build_features_with_bad_join(raw: pd.DataFrame) -> pd.DataFrame:
    """Adds island area from a lookup keyed in lower case: every value misses."""
    out = build_features(raw)
    lookup = {k.lower(): v for k, v in ISLAND_AREA_KM2.items()}
    out["island_area_km2"] = out["island"].map(lookup).astype(float)
    return out


def fit(df: pd.DataFrame, seed: int) -> Pipeline:
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
    )
    model = make_pipeline(pre, RandomForestClassifier(n_estimators=20, random_state=seed))
    return model.fit(df[FEATURES], df[TARGET])


def fit_without_target_check(df: pd.DataFrame, seed: int) -> np.ndarray:
    """A trainer that returns predictions instead of a model."""
    return fit(df, seed).predict(df[FEATURES])
