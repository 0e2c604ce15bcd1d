"""data-7: unit tests of the feature code, in its training (table) and serving (record) paths."""

from __future__ import annotations

import math

import palmerpenguins
import pandas as pd
import pytest
from penguins_model import features as F

pytestmark = pytest.mark.rubric("data-7")


def raw_record(**changes):
    """One field record as the Palmer LTER table writes it (the first bird of 2007)."""
    record = {
        "studyName": "PAL0708",
        "Sample Number": 1,
        "Individual ID": "N1A1",
        "Species": "Adelie Penguin (Pygoscelis adeliae)",
        "Island": "Torgersen",
        "Date Egg": "2007-11-11",
        "Culmen Length (mm)": 39.1,
        "Culmen Depth (mm)": 18.7,
        "Flipper Length (mm)": 181.0,
        "Body Mass (g)": 3750.0,
        "Sex": "MALE",
    }
    record.update(changes)
    return record


def test_sample_id_joins_study_and_individual():
    assert F.sample_id("PAL0910", "N38A2") == "PAL0910-N38A2"


def test_bill_ratio_is_length_over_depth_and_nan_without_a_depth():
    assert F.bill_ratio(39.1, 18.7) == pytest.approx(2.0909, abs=1e-4)
    assert math.isnan(F.bill_ratio(39.1, 0.0))
    assert math.isnan(F.bill_ratio(39.1, math.nan))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("MALE", "male"), ("FEMALE", "female"), (" female ", "female"), (".", None), (None, None)],
)
def test_sex_codes(raw, expected):
    assert F.serving_features(raw_record(Sex=raw))["sex"] == expected


def test_serving_features_of_one_record():
    row = F.serving_features(raw_record())
    assert list(row) == F.COLUMNS
    assert row["sample_id"] == "PAL0708-N1A1"
    assert row["date_egg"] == "2007-11-11"
    assert row["species"] == "Adelie"
    assert row["body_mass_g"] == 3750.0
    assert row["bill_ratio"] == pytest.approx(39.1 / 18.7)


def test_serving_features_refuse_incomplete_requests():
    with pytest.raises(F.RecordError, match="Body Mass"):
        F.serving_features(raw_record(**{"Body Mass (g)": math.nan}))
    record = raw_record()
    del record["Island"]
    with pytest.raises(F.RecordError, match="Island"):
        F.serving_features(record)


def test_unknown_species_is_an_error_naming_the_value():
    with pytest.raises(F.RecordError, match="Emperor"):
        F.serving_features(raw_record(Species="Emperor penguin"))
    assert F.serving_features(raw_record(Species=None))["species"] is None


def test_training_features_drop_unmeasured_birds_and_keep_column_order():
    raw = pd.DataFrame(
        [
            raw_record(),
            raw_record(**{"Individual ID": "N1A2", "Culmen Length (mm)": math.nan, "Sex": "."}),
            raw_record(**{"Individual ID": "N2A1", "Island": "Dream", "Sex": math.nan}),
        ]
    )
    out = F.training_features(raw)
    assert list(out.columns) == F.COLUMNS
    assert out["sample_id"].tolist() == ["PAL0708-N1A1", "PAL0708-N2A1"]
    assert out["island"].tolist() == ["Torgersen", "Dream"]
    assert out["sex"].tolist()[0] == "male" and pd.isna(out["sex"].iloc[1])


def test_training_features_name_missing_raw_columns():
    raw = pd.DataFrame([raw_record()]).drop(columns=["Flipper Length (mm)"])
    with pytest.raises(F.RecordError, match="Flipper Length"):
        F.training_features(raw)


def test_model_input_selects_the_model_columns_in_order():
    table = F.training_features(pd.DataFrame([raw_record()]))
    assert list(F.model_input(table).columns) == F.MODEL_FEATURES
    with pytest.raises(F.RecordError, match="bill_ratio"):
        F.model_input(table.drop(columns=["bill_ratio"]))


def test_training_features_agree_with_the_package_authors_cleaned_table():
    """An independent oracle: palmerpenguins ships its own cleaned version of the raw table."""
    ours = F.training_features(palmerpenguins.load_penguins_raw())
    theirs = palmerpenguins.load_penguins().dropna(subset=["bill_length_mm"])
    theirs = theirs.reset_index(drop=True)
    assert len(ours) == len(theirs) == 342
    for column in ["species", "island", "bill_length_mm", "flipper_length_mm", "body_mass_g"]:
        assert ours[column].tolist() == theirs[column].tolist(), column
    assert ours["sample_id"].is_unique
    assert ours["sex"].isna().tolist() == theirs["sex"].isna().tolist()
    assert (ours["sex"].dropna() == theirs["sex"].dropna()).all()
