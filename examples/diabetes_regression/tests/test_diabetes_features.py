"""data-7: unit tests of the feature code (clinical names, ids, checks of a baseline visit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from diabetes_model import features as F
from sklearn.datasets import load_diabetes

pytestmark = pytest.mark.rubric("data-7")


def visit(**changes):
    """The first patient of the study, in clinical names."""
    record = {
        "age": 59.0,
        "sex": 2,
        "bmi": 32.1,
        "bp": 101.0,
        "tc": 157.0,
        "ldl": 93.2,
        "hdl": 38.0,
        "tch": 4.0,
        "ltg": 4.8598,
        "glu": 87.0,
    }
    record.update(changes)
    return record


def test_patient_ids_follow_source_rows():
    assert [F.patient_id(i) for i in (0, 9, 441)] == ["P001", "P010", "P442"]


def test_a_valid_visit_is_typed():
    row = F.check_visit(visit(sex=2.0))
    assert row["sex"] == 2 and isinstance(row["sex"], int)
    assert row["bmi"] == 32.1 and list(row) == F.BASELINE


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sex": 3}, "sex: 3 is not a code 1 or 2"),
        ({"sex": "female"}, "sex: 'female' is not a code"),
        ({"bmi": 321.0}, r"bmi: 321 is outside the plausible range \[10, 80\]"),
        ({"hdl": None}, "hdl: missing"),
        ({"ltg": float("nan")}, "ltg: missing"),
    ],
)
def test_implausible_visits_are_refused_naming_the_field(changes, message):
    with pytest.raises(F.VisitError, match=message):
        F.check_visit(visit(**changes))


def test_a_visit_without_a_field_is_refused():
    record = visit()
    del record["glu"]
    with pytest.raises(F.VisitError, match="glu: missing"):
        F.check_visit(record)


def test_baseline_table_names_ids_and_order():
    source = pd.DataFrame(
        [[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0, 151.0]],
        columns=["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"],
    )
    table = F.baseline_table(source)
    assert list(table.columns) == F.COLUMNS
    assert table.loc[0, "patient_id"] == "P001"
    assert table.loc[0, "hdl"] == 38.0 and table.loc[0, "progression"] == 151.0
    assert table["sex"].dtype.kind == "i"


def test_baseline_table_names_missing_source_columns():
    with pytest.raises(F.VisitError, match="s3"):
        F.baseline_table(pd.DataFrame({"age": [50.0], "sex": [1], "bmi": [25.0], "bp": [90.0]}))


def test_model_input_selects_the_model_columns():
    table = F.baseline_table(load_diabetes(as_frame=True, scaled=False).frame.head(3))
    assert list(F.model_input(table).columns) == F.MODEL_FEATURES
    with pytest.raises(F.VisitError, match="ltg"):
        F.model_input(table.drop(columns=["ltg"]))


def test_renamed_columns_match_the_sources_own_scaled_copy():
    """Oracle: scikit-learn also ships the study standardised; each clinical column, scaled the
    same way (centred, unit sum of squares), must equal the source column it was named from."""
    ours = F.baseline_table(load_diabetes(as_frame=True, scaled=False).frame)
    theirs = load_diabetes(as_frame=True, scaled=True).frame
    assert len(ours) == len(theirs) == 442
    for source, clinical in {"age": "age", "sex": "sex", "bmi": "bmi", **F.RENAME}.items():
        if clinical == "progression":
            np.testing.assert_allclose(ours[clinical], theirs[source])
            continue
        x = ours[clinical].to_numpy(dtype=float)
        centred = x - x.mean()
        np.testing.assert_allclose(
            centred / np.sqrt((centred**2).sum()), theirs[source], atol=1e-6, err_msg=clinical
        )
