"""Schema inference, the editable JSON file, and validation that holds at any sample size."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.checks.data.schema import Schema, chance_allowance, infer_schema, validate
from pytest_mltestscore.profiles import DatasetProfile, profile_frame
from pytest_mltestscore.result import CheckResult

SEEDS = range(20)
LEVELS = (3, 7, 15, 30, 50)


def make_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """9 numeric columns (normal, lognormal, uniform; some with nulls) and 5 categoricals.

    Category weights fall off as 1/rank; the last level of the larger ones is rare (0.1%).
    """
    cols: dict[str, object] = {
        "normal": rng.normal(50, 10, n),
        "normal_nulls": np.where(rng.random(n) < 0.01, np.nan, rng.normal(-3, 0.1, n)),
        "wide": rng.normal(0, 1e6, n),
        "lognormal": rng.lognormal(1, 0.8, n),
        "lognormal_heavy": rng.lognormal(0, 1.2, n),
        "lognormal_nulls": np.where(rng.random(n) < 0.05, np.nan, rng.lognormal(3, 0.5, n)),
        "uniform": rng.uniform(-5, 5, n),
        "uniform_int": rng.integers(0, 20, n),
        "uniform_nulls": np.where(rng.random(n) < 0.02, np.nan, rng.uniform(0, 1, n)),
    }
    for k in LEVELS:
        weights = 1.0 / np.arange(1, k + 1)
        if k >= 15:
            weights[-1] = 0.001 * weights[:-1].sum() / 0.999
        cum = np.cumsum(weights / weights.sum())
        codes = np.minimum(np.searchsorted(cum, rng.random(n)), k - 1)
        cols[f"cat{k}"] = pd.Categorical.from_codes(codes, [f"level{i}" for i in range(k)])
    return pd.DataFrame(cols)


def findings(result: CheckResult) -> set[tuple[str, str]]:
    assert result.table is not None
    return {(row[0], row[1]) for row in result.table.rows}


@pytest.fixture(scope="module")
def samples() -> dict[tuple[int, int], tuple[DatasetProfile, Schema, pd.DataFrame]]:
    """Training profile, its schema, and a fresh same-distribution serving frame per seed/size."""
    out = {}
    for n in (10_000, 100_000):
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            train = profile_frame(make_frame(n, rng))
            out[n, seed] = (train, infer_schema(train), make_frame(n, rng))
    return out


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_no_false_alarms_on_same_distribution(samples, n: int) -> None:
    for seed in SEEDS:
        train, schema, serve = samples[n, seed]
        assert validate(train, schema).passed, seed  # data-1: training satisfies its schema
        result = validate(profile_frame(serve, train), schema)
        assert result.passed, f"seed {seed}: {result.message()}"
        # Validation must not depend on profiling against the reference grid.
        assert validate(profile_frame(serve), schema).passed, seed


def break_serving(serve: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Five real violations, one per column; every other column stays as it was drawn."""
    df = serve.copy()
    n = len(df)
    beyond = rng.random(n) < 0.10
    df.loc[beyond, "normal"] = rng.uniform(120, 200, int(beyond.sum()))
    below = rng.random(n) < 0.10
    df.loc[below, "uniform"] = rng.uniform(-12, -6, int(below.sum()))
    above = rng.random(n) < 0.10
    df.loc[above, "lognormal_heavy"] = rng.uniform(1e3, 1e4, int(above.sum()))
    unseen = rng.random(n) < 0.02
    df["cat7"] = df["cat7"].cat.add_categories(["brand-new"])
    df.loc[unseen, "cat7"] = "brand-new"
    df.loc[rng.random(n) < 0.02, "normal_nulls"] = np.nan  # 1% -> 3%
    df["uniform_int"] = "#" + df["uniform_int"].astype(str)  # a type change
    return df.drop(columns=["wide"])


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_real_violations_fail_from_10k_rows(samples, n: int) -> None:
    expected = {
        ("normal", "out of range"),
        ("uniform", "out of range"),
        ("lognormal_heavy", "out of range"),
        ("cat7", "unseen categories"),
        ("normal_nulls", "null rate"),
        ("uniform_int", "type change"),
        ("wide", "missing column"),
    }
    for seed in SEEDS:
        train, schema, serve = samples[n, seed]
        broken = break_serving(serve, np.random.default_rng(1000 + seed))
        result = validate(profile_frame(broken, train), schema)
        assert result.verdict == "fail"
        assert findings(result) == expected, f"seed {seed}: {result.message()}"


def test_violation_rows_say_what_was_expected_seen_and_show_examples(samples) -> None:
    train, schema, serve = samples[10_000, 0]
    broken = break_serving(serve, np.random.default_rng(7))
    result = validate(
        profile_frame(broken, train), schema, check="monitor-2", rubric_id="monitor-2"
    )
    assert result.rubric_id == "monitor-2" and result.metrics["violations"] == 7
    rows = {(r[0], r[1]): r for r in result.table.rows}  # type: ignore[union-attr]
    out_of_range = rows["normal", "out of range"]
    lo, hi = schema["normal"].range  # type: ignore[misc]
    assert f"[{lo:.6g}, {hi:.6g}]" in out_of_range[2]
    n_beyond = int((broken["normal"] > hi).sum() + (broken["normal"] < lo).sum())
    assert out_of_range[4] == n_beyond
    examples = [float(v) for v in out_of_range[5].split(", ")]
    assert len(examples) == 5 and all(v > hi for v in examples)
    assert max(examples) == pytest.approx(broken["normal"].max(), rel=1e-5)
    unseen = rows["cat7", "unseen categories"]
    assert unseen[4] == int((broken["cat7"] == "brand-new").sum())
    assert "brand-new" in unseen[5]
    assert rows["uniform_int", "type change"][2:4] == ("numeric", "categorical")
    assert "'#" in rows["uniform_int", "type change"][5]
    nulls = rows["normal_nulls", "null rate"]
    assert nulls[4] == int(broken["normal_nulls"].isna().sum())
    text = result.message()
    assert text.startswith("monitor-2: FAIL: 7 violations in 7 of 14 columns")
    assert "column" in text and "examples" in text


def test_the_chance_allowance_shrinks_with_n_but_never_below_the_floor() -> None:
    small = chance_allowance(0.002, 10_000, 10_000, 5.0, 0.001)
    large = chance_allowance(0.002, 10_000_000, 10_000_000, 5.0, 0.001)
    assert small > large > 0.002
    assert chance_allowance(0.0, 10**9, 10**9, 5.0, 0.001) == 0.001


def test_bad_serving_data_fails_with_readable_rows(samples) -> None:
    train, schema, serve = samples[10_000, 1]
    df = serve.copy()
    df["normal"] = np.nan  # all null
    df["uniform"] = df["uniform"].astype(object)
    df.loc[df.index[:300], "uniform"] = "n/a"  # mixed types
    df.loc[df.index[:5], "lognormal"] = np.inf  # non-finite
    df["uniform_nulls"] = 0.5  # constant
    df["lognormal_nulls"] = df["lognormal_nulls"].map(lambda v: f"{v:.3f}")  # numbers as text
    df["extra"] = 1
    result = validate(profile_frame(df, train), schema)
    got = findings(result)
    assert got == {
        ("normal", "null rate"),
        ("uniform", "mixed types"),
        ("lognormal", "non-finite values"),
        ("uniform_nulls", "constant column"),
        ("lognormal_nulls", "type change"),
        ("extra", "extra column"),
    }, result.message()
    rows = {(r[0], r[1]): r for r in result.table.rows}  # type: ignore[union-attr]
    assert rows["uniform", "mixed types"][4] == 300 and "'n/a'" in rows["uniform", "mixed types"][5]
    assert rows["lognormal", "non-finite values"][3] == "5 +inf, 0 -inf"
    assert rows["normal", "null rate"][3] == "100%"
    assert (
        validate(profile_frame(df, train), schema, allow_extra_columns=True).metrics["violations"]
        == len(got) - 1
    )


def test_empty_dataset_fails_and_cannot_seed_a_schema(samples) -> None:
    _train, schema, serve = samples[10_000, 2]
    result = validate(profile_frame(serve.iloc[:0]), schema)
    assert result.verdict == "fail" and "no rows" in result.summary
    with pytest.raises(ValueError, match="no rows"):
        infer_schema(profile_frame(serve.iloc[:0]))


def test_inferred_schema_contents(samples) -> None:
    _train, schema, _serve = samples[100_000, 3]
    normal = schema["normal"]
    assert normal.kind == "numeric" and normal.dtype == "float" and not normal.nullable
    lo, hi = normal.range  # type: ignore[misc]
    # The 0.1%/99.9% quantiles of N(50, 10) widened by 5% of their spread.
    assert lo == pytest.approx(50 - 10 * 3.09 * 1.1, abs=1.0)
    assert hi == pytest.approx(50 + 10 * 3.09 * 1.1, abs=1.0)
    assert schema["uniform_int"].dtype == "int"
    assert schema["normal_nulls"].max_null_rate == pytest.approx(0.01, abs=0.002)
    assert schema["cat50"].categories is not None and len(schema["cat50"].categories) == 50
    assert schema["cat3"].frequencies["level0"] == pytest.approx(6 / 11, abs=0.01)  # type: ignore[index]
    ids = pd.DataFrame({"user": [f"u{i}" for i in range(5000)]})
    open_vocab = infer_schema(profile_frame(ids), max_categories=1000)["user"]
    assert open_vocab.categories is None and open_vocab.expected_unseen_share == 1.0
    fresh = pd.DataFrame({"user": [f"v{i}" for i in range(5000)]})
    assert validate(profile_frame(fresh), infer_schema(profile_frame(ids))).passed


def test_json_file_is_stable_readable_and_round_trips(samples, tmp_path: Path) -> None:
    _, schema, _ = samples[10_000, 4]
    text = schema.to_json()
    assert text == Schema.from_json(text).to_json()
    data = json.loads(text)
    assert list(data) == ["format", "version", "training_rows", "features"]
    assert list(data["features"]) == list(schema.features)
    # One block per feature, one line per key.
    assert re.search(r'^    "normal": \{\n      "kind": "numeric",\n', text, re.M)
    assert re.search(r'^      "range": \[[^\n]+\],$', text, re.M)
    path = tmp_path / "schema.json"
    schema.dump(path)
    assert Schema.load(path).to_json() == text


def test_hand_edits_take_effect(samples) -> None:
    train, schema, serve = samples[10_000, 5]
    data = json.loads(schema.to_json())
    data["features"]["normal"]["range"] = [45, 55]  # tightened: most values now fall outside
    data["features"]["cat7"]["categories"].remove("level0")  # a category no longer allowed
    edited = Schema.from_json(json.dumps(data))
    result = validate(profile_frame(serve, train), edited)
    assert findings(result) == {("normal", "out of range"), ("cat7", "unseen categories")}
    broken = serve.copy()
    broken["cat7"] = broken["cat7"].cat.add_categories(["brand-new"])
    broken.loc[broken.index[:500], "cat7"] = "brand-new"
    data = json.loads(schema.to_json())
    data["features"]["cat7"]["categories"].append("brand-new")  # allowing a new category
    assert validate(profile_frame(broken, train), Schema.from_json(json.dumps(data))).passed


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["features"]["normal"].update(range=[5, 1]),
            "feature 'normal': key 'range': expected [low, high]",
        ),
        (
            lambda d: d["features"]["normal"].update(rnage=[1, 5]),
            "feature 'normal': unknown key 'rnage'; did you mean 'range'?",
        ),
        (
            lambda d: d["features"]["cat3"].update(kind="free text"),
            "feature 'cat3': key 'kind': expected one of",
        ),
        (
            lambda d: d["features"]["cat3"].update(max_null_rate=1.5),
            "feature 'cat3': key 'max_null_rate': expected a number between 0 and 1",
        ),
        (
            lambda d: d["features"]["cat3"].update(categories="level0"),
            "feature 'cat3': key 'categories': expected a list of strings or null",
        ),
        (
            lambda d: d["features"]["cat3"].update(categories=["a", "a"]),
            "feature 'cat3': key 'categories': duplicate values ['a']",
        ),
        (
            lambda d: d["features"]["cat3"].pop("categories"),
            "feature 'cat3': missing required key 'categories'",
        ),
        (
            lambda d: d["features"]["normal"].pop("values"),
            "feature 'normal': missing required key 'values'",
        ),
        (
            lambda d: d["features"]["normal"].update(nullable=False, max_null_rate=0.1),
            "key 'nullable' is false but 'max_null_rate' is 0.1",
        ),
        (lambda d: d.update(format="other"), "key 'format': expected 'mltestscore-schema'"),
        (lambda d: d.update(featurs={}), "unknown key 'featurs'; did you mean 'features'?"),
    ],
)
def test_hand_edit_mistakes_name_the_feature_and_key(samples, edit, message: str) -> None:
    _, schema, _ = samples[10_000, 6]
    data = json.loads(schema.to_json())
    edit(data)
    with pytest.raises(ValueError, match=re.escape("my-schema.json: ") + ".*" + re.escape(message)):
        Schema.from_json(json.dumps(data), source="my-schema.json")


def test_unreadable_schema_files(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('{"format": "mltestscore-schema",\n  "version": 1,,}')
    with pytest.raises(ValueError, match=r"s\.json: not valid JSON: .* line 2"):
        Schema.load(bad)
    with pytest.raises(ValueError, match="cannot read schema file"):
        Schema.load(tmp_path / "absent.json")


def test_mismatched_training_and_serving_dtypes() -> None:
    train = pd.DataFrame({"age": np.arange(1000) % 90, "code": np.array(["A1", "B2"] * 500)})
    schema = infer_schema(profile_frame(train))
    serve = pd.DataFrame(
        {"age": [str(v) for v in np.arange(1000) % 90], "code": np.arange(1000) % 2}
    )
    result = validate(profile_frame(serve), schema)
    assert findings(result) == {("age", "type change"), ("code", "type change")}
    # Integers arriving as floats (as pandas does once a column holds nulls) are not a change.
    serve_float = pd.DataFrame({"age": (np.arange(1000) % 90).astype(float), "code": train["code"]})
    assert validate(profile_frame(serve_float), schema).passed
