"""Feature code: from the Palmer LTER field records to the model's input columns.

The upstream source is the raw table of the Palmer Station LTER penguin study
(``palmerpenguins.load_penguins_raw()``): one row per sampled bird, with column names, units
and codes as the field team writes them. Two code paths turn such records into features:

- :func:`training_features`, vectorised over a whole table (training, validation, batch
  scoring);
- :func:`serving_features`, one record at a time (what the serving endpoint runs per request).

They must compute the same values; ``tests/test_penguin_model.py`` checks that on every real
record (monitor-3), and ``tests/test_penguin_features.py`` unit tests both (data-7).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

#: Raw column -> our column, for the measurements (units are in the names and do not change).
MEASUREMENTS = {
    "Culmen Length (mm)": "bill_length_mm",
    "Culmen Depth (mm)": "bill_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
}
SPECIES = {
    "Adelie Penguin (Pygoscelis adeliae)": "Adelie",
    "Chinstrap penguin (Pygoscelis antarctica)": "Chinstrap",
    "Gentoo penguin (Pygoscelis papua)": "Gentoo",
}
ISLANDS = ("Biscoe", "Dream", "Torgersen")
SEXES = {"MALE": "male", "FEMALE": "female"}

#: The columns the model reads. ``sex`` is recorded but deliberately not a feature (see
#: docs/model-review.md); data-4 enforces that.
MODEL_FEATURES = [
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "bill_ratio",
]
TARGET = "species"
#: Every column :func:`training_features` returns, in order.
COLUMNS = ["sample_id", "date_egg", *MODEL_FEATURES, "sex", TARGET]


class RecordError(ValueError):
    """A raw record that cannot become a feature row; the message names the field."""


def sample_id(study: str, individual: str) -> str:
    """The sample's id, unique in the study: ``PAL0708-N1A1`` (season, nest and adult).

    The raw ``Sample Number`` is not an id: it restarts for each species.
    """
    return f"{study}-{individual}"


def bill_ratio(length_mm: float, depth_mm: float) -> float:
    """Bill length over bill depth: long, shallow bills (Gentoo) score high, Adelie low."""
    if not depth_mm > 0:  # also catches NaN
        return math.nan
    return length_mm / depth_mm


def _species(raw: Any) -> str | None:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if raw not in SPECIES:
        raise RecordError(f"Species: unknown value {raw!r}; expected one of {sorted(SPECIES)}")
    return SPECIES[raw]


def _sex(raw: Any) -> str | None:
    """MALE/FEMALE as lower case; the field sheets' '.' and blanks mean "not determined"."""
    if isinstance(raw, str) and raw.strip().upper() in SEXES:
        return SEXES[raw.strip().upper()]
    return None


def training_features(raw: pd.DataFrame) -> pd.DataFrame:
    """The feature table of a raw field table; birds without measurements are left out."""
    missing = [c for c in ("studyName", "Individual ID", "Island", *MEASUREMENTS) if c not in raw]
    if missing:
        raise RecordError(f"raw table lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame(index=raw.index)
    out["sample_id"] = [
        sample_id(s, i) for s, i in zip(raw["studyName"], raw["Individual ID"], strict=True)
    ]
    out["date_egg"] = pd.to_datetime(raw["Date Egg"]).dt.strftime("%Y-%m-%d")
    out["island"] = raw["Island"].astype(str)
    for source, column in MEASUREMENTS.items():
        out[column] = pd.to_numeric(raw[source]).astype(float)
    depth = out["bill_depth_mm"].where(out["bill_depth_mm"] > 0)
    out["bill_ratio"] = out["bill_length_mm"] / depth
    out["sex"] = pd.Series([_sex(v) for v in raw["Sex"]], index=raw.index, dtype="str")
    species = raw["Species"] if "Species" in raw else pd.Series(None, index=raw.index)
    out[TARGET] = pd.Series([_species(v) for v in species], index=raw.index, dtype="str")
    measured = out[list(MEASUREMENTS.values())].notna().all(axis=1)
    return out.loc[measured, COLUMNS].reset_index(drop=True)


def serving_features(record: Mapping[str, Any]) -> dict[str, Any]:
    """The feature row of one raw record, as the serving endpoint computes it per request."""
    for key in ("studyName", "Individual ID", "Island", *MEASUREMENTS):
        if key not in record:
            raise RecordError(f"request lacks field {key!r}")
    values = {}
    for source, column in MEASUREMENTS.items():
        value = record[source]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise RecordError(f"request field {source!r} is missing")
        values[column] = float(value)
    row: dict[str, Any] = {
        "sample_id": sample_id(record["studyName"], record["Individual ID"]),
        "date_egg": str(record.get("Date Egg", ""))[:10] or None,
        "island": str(record["Island"]),
        **values,
        "bill_ratio": bill_ratio(values["bill_length_mm"], values["bill_depth_mm"]),
        "sex": _sex(record.get("Sex")),
        TARGET: _species(record.get("Species")),
    }
    return {c: row[c] for c in COLUMNS}


def model_input(rows: pd.DataFrame) -> pd.DataFrame:
    """Exactly the model's columns, in order (a missing one is an error naming it)."""
    missing = [c for c in MODEL_FEATURES if c not in rows.columns]
    if missing:
        raise RecordError(f"feature column(s) {', '.join(missing)} missing")
    return rows[MODEL_FEATURES]
