"""infra-2: hypothesis strategies from the data-1 schema, and the ready-made model check.

Schemas come from real data (Palmer penguins, the breast cancer data) or are written by hand the
way a team edits its schema file; models are real scikit-learn pipelines fitted on the penguins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.strategies import SearchStrategy
from palmerpenguins import load_penguins
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from pytest_mltestscore.checks.data.schema import Schema, infer_schema, validate
from pytest_mltestscore.checks.infra.strategies import check_model_on_schema, data_frames, rows
from pytest_mltestscore.profiles import profile_frame
from pytest_mltestscore.result import enforce

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
NUMERIC = ["bill_length_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]


def draw(strategy: SearchStrategy[Any], n: int) -> list[Any]:
    """``n`` examples of a strategy, reproducibly (no database, fixed seed)."""
    out: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_penguins()


@pytest.fixture(scope="module")
def penguin_schema(penguins: pd.DataFrame) -> Schema:
    return infer_schema(profile_frame(penguins))


# --------------------------------------------------------------------------------------------
# Strategies produce valid data


def test_frames_satisfy_the_penguin_schema(penguin_schema: Schema) -> None:
    frames = draw(data_frames(penguin_schema, max_rows=20), 200)
    sample = pd.concat(frames, ignore_index=True)
    assert len(sample) > 1000

    # The whole sample passes the same validation the data-1 check applies to training data.
    result = validate(profile_frame(sample), penguin_schema)
    assert result.verdict == "pass", result.message()

    # Dtypes as the penguins frame has them, so a pipeline fitted on it accepts these frames.
    training = load_penguins()
    assert list(sample.columns) == list(training.columns)
    for frame in frames[:20]:
        assert frame.dtypes.to_dict() == training.dtypes.to_dict()

    for name, feature in penguin_schema.features.items():
        col = sample[name]
        if feature.kind == "numeric":
            assert feature.range is not None
            lo, hi = feature.range
            assert col.min() >= lo and col.max() <= hi, name
            assert np.isfinite(col.dropna()).all()
        else:
            assert set(col.dropna()) <= set(feature.categories or ()), name
        if not feature.nullable:
            assert col.notna().all(), name
    assert (sample["year"] == sample["year"].round()).all()
    # Nulls appear where the schema allows them (sex is null in 3% of the penguins).
    assert sample["sex"].isna().any()


def test_edge_values_hit_bounds_zero_quantiles_and_infinities() -> None:
    schema = Schema.from_dict(
        {
            "format": "mltestscore-schema",
            "version": 1,
            "training_rows": 500,
            "features": {
                "balance": {
                    "kind": "numeric",
                    "dtype": "float",
                    "nullable": False,
                    "max_null_rate": 0.0,
                    "values": 500,
                    "range": [-250.0, 1000.0],
                    "allow_inf": True,
                    "quantiles": {"0": -200.0, "0.5": 35.5, "1": 990.0},
                },
                "extreme": {
                    "kind": "numeric",
                    "dtype": "float",
                    "nullable": False,
                    "max_null_rate": 0.0,
                    "values": 500,
                    "range": [-1.5e308, 1.5e308],
                },
                "visits": {
                    "kind": "numeric",
                    "dtype": "int",
                    "nullable": False,
                    "max_null_rate": 0.0,
                    "values": 500,
                    "range": [0, 40],
                },
            },
        }
    )
    edgy = pd.concat(draw(data_frames(schema, max_rows=20), 150), ignore_index=True)
    balance = set(edgy["balance"].tolist())
    for value in (-250.0, 1000.0, 0.0, 35.5, float("inf"), float("-inf")):
        assert value in balance, value
    assert any(0 < abs(v) < 1e-200 for v in balance)  # a tiny magnitude inside the range
    assert {0, 40} <= set(edgy["visits"].tolist())
    # A range near the float limits: no overflow, every value finite and inside.
    assert np.isfinite(edgy["extreme"]).all()
    assert {-1.5e308, 1.5e308, 0.0} <= set(edgy["extreme"].tolist())

    plain = pd.concat(draw(data_frames(schema, edge=False, max_rows=20), 150), ignore_index=True)
    assert np.isfinite(plain["balance"]).all()  # infinities come only from the edge palette
    assert plain["balance"].between(-250.0, 1000.0).all()
    share_at_bounds = lambda df: df["balance"].isin([-250.0, 1000.0]).mean()  # noqa: E731
    assert share_at_bounds(edgy) > 5 * share_at_bounds(plain)


HAND_SCHEMA: dict[str, Any] = {
    "format": "mltestscore-schema",
    "version": 1,
    "training_rows": 1000,
    "features": {
        "age": {
            "kind": "numeric",
            "dtype": "int",
            "nullable": True,
            "max_null_rate": 0.1,
            "values": 900,
            "range": [0, 120],
            "quantiles": {"0": 0, "0.5": 40, "1": 99},
        },
        "count": {
            "kind": "numeric",
            "dtype": "int",
            "nullable": False,
            "max_null_rate": 0.0,
            "values": 1000,
            "range": [1.5, 9.9],
        },
        "member": {
            "kind": "bool",
            "nullable": True,
            "max_null_rate": 0.05,
            "values": 950,
            "categories": ["False", "True"],
            "frequencies": {"True": 0.7, "False": 0.3},
        },
        "flag": {
            "kind": "bool",
            "nullable": False,
            "max_null_rate": 0.0,
            "values": 1000,
            "categories": ["False", "True"],
        },
        "when": {
            "kind": "datetime",
            "nullable": True,
            "max_null_rate": 0.02,
            "values": 980,
            "first": "2024-01-01T00:00:00+00:00",
            "last": "2024-12-31T23:59:59+00:00",
        },
        "comment": {
            "kind": "categorical",
            "nullable": True,
            "max_null_rate": 0.2,
            "values": 800,
            "categories": None,
            "frequencies": {"ok": 0.5, "bad": 0.1},
        },
        "color": {
            "kind": "categorical",
            "nullable": False,
            "max_null_rate": 0.0,
            "values": 1000,
            "categories": ["red", "green", "blue"],
        },
        "unused": {"kind": "empty", "nullable": True, "max_null_rate": 1.0, "values": 0},
    },
}


def test_every_kind_of_feature_is_generated_with_pandas_dtypes() -> None:
    schema = Schema.from_dict(HAND_SCHEMA)
    sample = pd.concat(draw(data_frames(schema, max_rows=20), 200), ignore_index=True)
    assert validate(profile_frame(sample), schema).verdict == "pass"

    text = pd.Series(["a"]).dtype  # pandas' own dtype for text (str from pandas 3)
    assert sample["age"].dtype == np.float64  # an int feature that may be null, as read_csv has it
    assert sample["count"].dtype == np.int64
    assert sample["flag"].dtype == bool
    assert sample["member"].dtype == object
    assert str(sample["when"].dtype) == "datetime64[ns, UTC]"
    assert sample["comment"].dtype == text and sample["color"].dtype == text

    ages = sample["age"].dropna()
    assert (ages == ages.round()).all() and ages.between(0, 120).all()
    assert set(sample["count"]) <= set(range(2, 10))  # integers inside [1.5, 9.9]
    assert set(sample["member"].dropna()) == {True, False}
    when = sample["when"].dropna()
    assert when.min() >= pd.Timestamp("2024-01-01", tz="UTC")
    assert when.max() <= pd.Timestamp("2024-12-31 23:59:59", tz="UTC")
    # An open vocabulary: known frequent values and new text both appear.
    comments = set(sample["comment"].dropna())
    assert {"ok", "bad"} <= comments and any(c.startswith("unseen-") for c in comments)
    assert set(sample["color"]) == {"red", "green", "blue"}
    assert sample["unused"].isna().all()
    for name in ("age", "member", "when", "comment"):
        assert sample[name].isna().any(), name


def within_chance(share: float, expected: float, n: int) -> bool:
    """A share of ``n`` independent draws is within 4 standard errors (plus 1 point)."""
    return abs(share - expected) <= 4 * np.sqrt(expected * (1 - expected) / n) + 0.01


def test_null_rates_follow_the_schema_or_the_caller() -> None:
    schema = Schema.from_dict(HAND_SCHEMA)
    nullable = ["age", "member", "when", "comment"]
    at_schema = pd.DataFrame(draw(rows(schema), 400))
    for name in nullable:
        expected = schema[name].max_null_rate
        assert within_chance(at_schema[name].isna().mean(), expected, 400), name

    heavy = pd.DataFrame(draw(rows(schema, nulls=0.5), 200))
    for name in nullable:
        assert within_chance(heavy[name].isna().mean(), 0.5, 200), name
    for name in ("count", "flag", "color"):
        assert heavy[name].notna().all(), name

    frames = draw(data_frames(schema, nulls=False, max_rows=20), 50)
    for frame in frames:
        assert frame.drop(columns="unused").notna().all().all()
        assert frame["age"].dtype == np.int64  # no nulls possible: the int feature stays int64


def test_categorical_dtype_and_columns_options(penguin_schema: Schema) -> None:
    frames = draw(
        data_frames(penguin_schema, columns=["sex", "island"], categorical_dtype="category"), 30
    )
    # The same draws (same seed) with text as object: the same values, other dtypes.
    objects = draw(
        data_frames(penguin_schema, columns=["sex", "island"], categorical_dtype="object"), 30
    )
    for frame, same in zip(frames, objects, strict=True):
        assert list(frame.columns) == ["sex", "island"]
        assert list(frame["island"].cat.categories) == ["Biscoe", "Dream", "Torgersen"]
        assert list(frame["sex"].cat.categories) == ["female", "male"]
        assert same["island"].dtype == object and same["sex"].dtype == object
        pd.testing.assert_frame_equal(frame.astype(object), same)


@settings(max_examples=100, database=None, derandomize=True, deadline=None)
@given(rows(Schema.from_dict(HAND_SCHEMA)))
def test_rows_are_dicts_of_plain_valid_values(row: dict[str, Any]) -> None:
    assert list(row) == list(HAND_SCHEMA["features"])
    assert row["age"] is None or (isinstance(row["age"], int) and 0 <= row["age"] <= 120)
    assert isinstance(row["count"], int) and 2 <= row["count"] <= 9
    assert row["member"] in (True, False, None)
    assert isinstance(row["flag"], bool)
    assert row["when"] is None or isinstance(row["when"], pd.Timestamp)
    assert row["comment"] is None or isinstance(row["comment"], str)
    assert row["color"] in ("red", "green", "blue")
    assert row["unused"] is None


def test_shrinking_keeps_typical_values_except_where_it_matters(penguin_schema: Schema) -> None:
    feature = penguin_schema["bill_depth_mm"]
    assert feature.range is not None and feature.quantiles is not None
    low = feature.range[0]
    found = find(
        data_frames(penguin_schema),
        lambda df: bool((df["bill_depth_mm"] == low).any()),
        settings=settings(database=None, derandomize=True, max_examples=500),
    )
    # One row; the cell that matters at the range minimum, everything else typical: the
    # schema's median for numbers and the most frequent category.
    assert len(found) == 1
    row = found.iloc[0]
    assert row["bill_depth_mm"] == low
    for name in ("bill_length_mm", "flipper_length_mm", "body_mass_g"):
        assert row[name] == pytest.approx(penguin_schema[name].quantiles["0.5"]), name
    for name in ("species", "island", "sex"):
        frequencies = penguin_schema[name].frequencies
        assert row[name] == max(frequencies, key=frequencies.get), name


def test_200_frames_and_rows_of_25_columns() -> None:
    """The speed case of the issue (timed in benchmarks/strategies.py): it just completes."""
    cancer = load_breast_cancer(as_frame=True).frame
    numeric = cancer.iloc[:, :20]
    binned = {
        f"band_{i}": pd.qcut(cancer.iloc[:, 20 + i], 4 + i, labels=False).map(lambda k: f"q{k}")
        for i in range(5)
    }
    schema = infer_schema(profile_frame(pd.concat([numeric, pd.DataFrame(binned)], axis=1)))
    frames = draw(data_frames(schema), 200)
    assert len(frames) == 200
    assert all(f.shape[1] == 25 for f in frames)
    assert (frames[0].dtypes == np.float64).sum() == 20
    assert len(draw(rows(schema), 200)) == 200


# --------------------------------------------------------------------------------------------
# The ready-made infra-2 check on real pipelines


def log_excess(X: Any, low: float) -> Any:
    """Feature code with a bug: the log of how far a value lies above ``low``."""
    return np.log(X - low)


def log1p_excess(X: Any, low: float) -> Any:
    """The same feature, fixed: log1p is finite at ``low`` itself."""
    return np.log1p(X - low)


def penguin_pipeline(
    depth_feature: Callable[..., Any] | None, low: float = 0.0, impute: bool = True
) -> Pipeline:
    depth: list[Any] = [SimpleImputer(strategy="median")] if impute else []
    if depth_feature is not None:
        depth.append(
            FunctionTransformer(depth_feature, kw_args={"low": low}, feature_names_out="one-to-one")
        )
    depth.append(StandardScaler())
    numeric = [SimpleImputer(strategy="median"), StandardScaler()] if impute else [StandardScaler()]
    categorical = [SimpleImputer(strategy="most_frequent")] if impute else []
    pre = make_column_transformer(
        (make_pipeline(*numeric), NUMERIC),
        (make_pipeline(*depth), ["bill_depth_mm"]),
        (make_pipeline(*categorical, OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=1000))


@pytest.fixture(scope="module")
def feature_schema(penguins: pd.DataFrame) -> Schema:
    return infer_schema(profile_frame(penguins[FEATURES]))


def depth_low(schema: Schema) -> float:
    """The smallest bill depth the schema allows (below every training value: the inferred
    range is widened beyond the 0.1% quantile), so the buggy feature trains fine."""
    rng = schema["bill_depth_mm"].range
    assert rng is not None
    return rng[0]


@pytest.fixture(scope="module")
def buggy_model(penguins: pd.DataFrame, feature_schema: Schema) -> Pipeline:
    low = depth_low(feature_schema)
    assert penguins["bill_depth_mm"].min() > low
    model = penguin_pipeline(log_excess, low)
    return model.fit(penguins[FEATURES], penguins["species"])


def test_check_finds_the_edge_input_that_breaks_feature_code(
    buggy_model: Pipeline, feature_schema: Schema, tmp_path: Any
) -> None:
    result = check_model_on_schema(buggy_model, feature_schema)
    assert result.verdict == "fail"
    assert result.summary.startswith("predicts failed on a 1-row frame")
    assert result.rubric_id == "infra-2"
    assert result.metrics["failing_rows"] == 1.0
    message = result.message()
    assert "Input X contains infinity" in message
    assert "RuntimeWarning: divide by zero encountered in log" in message  # recorded, not raised

    # The minimal frame: bill_depth_mm at the range minimum, the other cells typical.
    assert result.table is not None
    by_column = {r[0]: r for r in result.table.rows}
    assert result.table.columns[:4] == ("column", "generated as", "typical", "row 0")
    assert by_column["bill_depth_mm"][3] == repr(depth_low(feature_schema))
    for name in FEATURES:
        if name != "bill_depth_mm":
            assert by_column[name][3] == by_column[name][2], name

    # The frame shown reproduces the failure outside hypothesis.
    literal = next(n for n in result.notes if n.startswith("to reproduce: X = "))
    frame = eval(literal.removeprefix("to reproduce: X = "), {"pd": pd})
    with pytest.raises(ValueError, match="infinity"), np.errstate(divide="ignore"):
        buggy_model.predict(frame)

    with pytest.raises(AssertionError, match="predicts failed"):
        enforce(result)

    # Reproducible: the same seed gives the same result, from a schema file too.
    path = tmp_path / "schema.json"
    feature_schema.dump(path)
    again = check_model_on_schema(buggy_model, path)
    assert again.message() == message


def test_check_passes_the_fixed_pipeline(penguins: pd.DataFrame, feature_schema: Schema) -> None:
    model = penguin_pipeline(log1p_excess, depth_low(feature_schema))
    model.fit(penguins[FEATURES], penguins["species"])
    result = enforce(check_model_on_schema(model, feature_schema, max_examples=40))
    assert result.metrics["examples"] == 40.0
    for prop in ("predicts", "output", "deterministic", "column_order", "round_trip"):
        assert prop in result.summary


def test_check_finds_nulls_the_model_cannot_take(
    penguins: pd.DataFrame, feature_schema: Schema
) -> None:
    complete = penguins.dropna(subset=FEATURES)
    model = penguin_pipeline(None, impute=False).fit(complete[FEATURES], complete["species"])
    result = check_model_on_schema(model, feature_schema)
    assert result.verdict == "fail"
    assert "Input X contains NaN" in result.message()
    assert result.table is not None
    # The shrunk frame holds a null in a column the schema says may be null.
    null_columns = [r[0] for r in result.table.rows if "null" in r[3:]]
    assert null_columns and all(feature_schema[c].nullable for c in null_columns)


def test_pooled_properties_catch_a_model_that_is_not_deterministic(
    penguins: pd.DataFrame, feature_schema: Schema
) -> None:
    model = DummyClassifier(strategy="uniform").fit(penguins[FEATURES], penguins["species"])
    result = check_model_on_schema(model, feature_schema, max_examples=30)
    assert result.verdict == "fail"
    # A model that guesses also fails column order and round trip: both compare two calls.
    assert result.summary.startswith("deterministic, column_order, round_trip failed on the")
    assert "generated rows taken together" in result.summary
    assert result.table is not None and result.table.columns[3].startswith("row ")

    only_outputs = check_model_on_schema(
        model, feature_schema, max_examples=30, pooled_properties=()
    )
    assert only_outputs.verdict == "pass"


def test_invalid_arguments_are_value_errors(
    buggy_model: Pipeline, feature_schema: Schema, penguin_schema: Schema
) -> None:
    with pytest.raises(ValueError, match="columns not in the schema: 'wingspan'"):
        data_frames(feature_schema, columns=["wingspan"])
    with pytest.raises(ValueError, match="min_rows <= max_rows"):
        data_frames(feature_schema, min_rows=5, max_rows=2)
    with pytest.raises(ValueError, match="nulls must be"):
        rows(feature_schema, nulls=1.5)
    with pytest.raises(ValueError, match="categorical_dtype"):
        rows(feature_schema, categorical_dtype="arrow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="properties must be some of"):
        check_model_on_schema(buggy_model, feature_schema, properties=["fast"])
    with pytest.raises(ValueError, match="has no predict method"):
        check_model_on_schema(object(), feature_schema)
    narrow = infer_schema(profile_frame(load_penguins()[["island", "sex"]]))
    with pytest.raises(ValueError, match="does not describe: 'bill_length_mm'"):
        check_model_on_schema(buggy_model, narrow)
