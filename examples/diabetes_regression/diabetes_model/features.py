"""Feature code: the diabetes study's baseline table in clinical names, checked and typed.

The source is scikit-learn's copy of the study of Efron et al. (2004),
``load_diabetes(as_frame=True, scaled=False)``: 442 patients, ten baseline variables in their
original units, and a measure of disease progression one year after the baseline visit. The
source names the six blood serum measurements ``s1`` to ``s6``; the model code uses the
clinical names. Sex is coded 1 or 2; the source does not say which code is which sex, so it
stays a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

#: Source column -> clinical name.
RENAME = {
    "s1": "tc",  # total serum cholesterol
    "s2": "ldl",  # low-density lipoproteins
    "s3": "hdl",  # high-density lipoproteins
    "s4": "tch",  # total cholesterol / HDL
    "s5": "ltg",  # log of serum triglycerides (possibly, says the source)
    "s6": "glu",  # blood sugar level
    "target": "progression",
}
#: The baseline variables the clinical data board approved as model inputs (data-4).
BASELINE = ["age", "sex", "bmi", "bp", "tc", "ldl", "hdl", "tch", "ltg", "glu"]
#: What the model reads: the baseline variables data-2 found beneficial (see README.md).
MODEL_FEATURES = ["sex", "bmi", "bp", "hdl", "ltg"]
TARGET = "progression"
ID = "patient_id"
COLUMNS = [ID, *BASELINE, TARGET]

#: Plausible ranges of a baseline visit: a value outside is a data-entry or unit error.
PLAUSIBLE = {
    "age": (0.0, 120.0),
    "bmi": (10.0, 80.0),
    "bp": (40.0, 200.0),
    "tc": (50.0, 500.0),
    "ldl": (10.0, 400.0),
    "hdl": (5.0, 150.0),
    "tch": (1.0, 15.0),
    "ltg": (2.0, 8.0),
    "glu": (30.0, 400.0),
}


class VisitError(ValueError):
    """A baseline record that cannot be used; the message names the field and the value."""


def patient_id(position: int) -> str:
    """The project's id of the patient in row ``position`` of the source (``P001``...)."""
    return f"P{position + 1:03d}"


def check_visit(visit: Mapping[str, Any]) -> dict[str, Any]:
    """One baseline visit (clinical names) checked and typed, as the scoring service takes it."""
    row: dict[str, Any] = {}
    for name in BASELINE:
        if name not in visit or visit[name] is None or pd.isna(visit[name]):
            raise VisitError(f"{name}: missing")
        value = visit[name]
        if name == "sex":
            if value not in (1, 2):
                raise VisitError(f"sex: {value!r} is not a code 1 or 2")
            row[name] = int(value)
            continue
        number = float(value)
        lo, hi = PLAUSIBLE[name]
        if not lo <= number <= hi:
            raise VisitError(f"{name}: {number:g} is outside the plausible range [{lo:g}, {hi:g}]")
        row[name] = number
    return row


def baseline_table(source: pd.DataFrame) -> pd.DataFrame:
    """The source table with clinical names, patient ids, integer sex codes, checked rows."""
    missing = [c for c in ["age", "sex", "bmi", "bp", *RENAME] if c not in source.columns]
    if missing:
        raise VisitError(f"source table lacks column(s) {', '.join(missing)}")
    table = source.rename(columns=RENAME).reset_index(drop=True)
    rows = [check_visit(visit) for visit in table[BASELINE].to_dict("records")]
    out = pd.DataFrame(rows, columns=BASELINE)
    out.insert(0, ID, [patient_id(i) for i in range(len(table))])
    out[TARGET] = table[TARGET].astype(float)
    return out[COLUMNS]


def model_input(rows: pd.DataFrame) -> pd.DataFrame:
    """Exactly the model's columns, in order (a missing one is an error naming it)."""
    missing = [c for c in MODEL_FEATURES if c not in rows.columns]
    if missing:
        raise VisitError(f"feature column(s) {', '.join(missing)} missing")
    return rows[MODEL_FEATURES]
