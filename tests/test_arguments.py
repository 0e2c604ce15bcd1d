"""The shared argument checks: typo hints, frame and column refusals that name what to fix."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins

from pytest_mltestscore.arguments import (
    close_names,
    did_you_mean,
    missing_columns_error,
    require_columns,
    require_frame,
)


@pytest.fixture(scope="module")
def penguins():
    return load_penguins()


def test_close_names_finds_typos_and_case_variants_best_first(penguins):
    cols = list(penguins.columns)
    assert close_names("islnd", cols) == ["island"]
    # A case-only difference is the most likely intent; difflib alone would not even find "id".
    assert close_names("ID", ["IDX", "id"]) == ["id", "IDX"]
    assert close_names("bill_length", cols)[0] == "bill_length_mm"
    assert close_names("zzz", cols) == []
    assert len(close_names("bill_mm", cols, n=1)) == 1
    # Non-string column labels are compared as text.
    assert close_names("1", [0, 1, 10])[0] == "1"


def test_did_you_mean_suffix(penguins):
    assert did_you_mean("specie", penguins.columns) == " (did you mean 'species'?)"
    two = did_you_mean("bill_mm", ["bill_length_mm", "bill_depth_mm", "sex"])
    assert re.fullmatch(r" \(did you mean '\w+' or '\w+'\?\)", two)
    assert "'bill_length_mm'" in two and "'bill_depth_mm'" in two
    assert did_you_mean("zzz", penguins.columns) == ""


def test_require_frame_names_argument_and_type(penguins):
    assert require_frame(penguins, "X") is penguins
    with pytest.raises(
        ValueError, match=r"^training_df: expected a pandas DataFrame, got ndarray$"
    ):
        require_frame(penguins.to_numpy(), "training_df")
    with pytest.raises(ValueError, match="got Series"):
        require_frame(penguins["island"], "X")
    with pytest.raises(ValueError, match="got NoneType"):
        require_frame(None, "attributes")


def test_require_columns_names_argument_missing_hints_and_available(penguins):
    require_columns(penguins, ["island", "sex"], arg="slices", what="X")  # all present: no error
    with pytest.raises(ValueError) as info:
        require_columns(penguins, ["islnd", "sex", "zzz"], arg="slices", what="the slice data")
    msg = str(info.value)
    assert msg.startswith("slices: columns 'islnd' (did you mean 'island'?), 'zzz' not found in")
    assert "the slice data" in msg
    assert "'sex'" not in msg.split(";")[0]  # present columns are not reported as missing
    available = msg.split("available columns: ")[1]
    assert available.split(", ") == list(penguins.columns)


def test_one_missing_column_is_singular_and_long_listings_are_cut():
    wide = list(range(30))
    err = missing_columns_error(["x"], [f"c{i}" for i in wide], arg="id_column", what="data")
    msg = str(err)
    assert msg.startswith("id_column: column 'x' not found in data")
    assert msg.endswith(", c19, ...")
    assert "c20" not in msg
    empty = missing_columns_error(["x"], [], arg="features", what="X")
    assert str(empty).endswith("available columns: (none)")


def test_non_string_labels_in_a_frame(penguins):
    numbered = pd.DataFrame(penguins.head(5).to_numpy())
    with pytest.raises(ValueError, match=r"column 9 not found in X; available columns: 0, 1"):
        require_columns(numbered, [9], arg="features", what="X")
    require_columns(numbered, [np.int64(3)], arg="features", what="X")
