"""Feature code for the data-7 test: one function the test calls, two it never calls.

Only tests/test_checks_infra_deps.py imports this module, under coverage measurement.
"""

from __future__ import annotations

import pandas as pd

ISLANDS = ("Biscoe", "Dream", "Torgersen")


def bill_ratio(df: pd.DataFrame) -> pd.Series:
    """Bill length over bill depth."""
    ratio = df["bill_length_mm"] / df["bill_depth_mm"]
    return ratio.rename("bill_ratio")


def body_condition(df: pd.DataFrame) -> pd.Series:
    """Body mass relative to flipper length cubed (never called by the tests)."""
    scale = df["flipper_length_mm"] / 100.0
    condition = df["body_mass_g"] / scale**3
    return condition.rename("body_condition")


def island_code(island: str) -> int:
    """Position of the island in ISLANDS, -1 when unknown (never called by the tests)."""
    if island in ISLANDS:
        return ISLANDS.index(island)
    return -1
