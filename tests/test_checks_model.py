"""model-5 (simpler model), model-6 (slices) and model-7 (inclusion) on real data and models."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.feature_selection import f_classif
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from pytest_mltestscore.checks.model.baseline import (
    fit_baselines,
    simpler_model_not_better,
    univariate_scores,
)
from pytest_mltestscore.checks.model.inclusion import inclusion
from pytest_mltestscore.checks.model.slices import slice_quality
from pytest_mltestscore.metrics import Metric
from pytest_mltestscore.options import ML_SCORE
from pytest_mltestscore.result import enforce

MEASURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # BLAS threads fight over the two shared cores and make small sklearn fits 10x slower.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_penguins().dropna().reset_index(drop=True)


def _logistic(C: float = 1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def _split(loader, test_size=0.4):
    X, y = loader(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=test_size, random_state=0, stratify=y)


# ---------------------------------------------------------------- model-5


def test_model5_passes_when_the_model_clearly_beats_both_baselines():
    Xtr, Xho, ytr, yho = _split(load_wine)
    model = _logistic().fit(Xtr, ytr)
    result = simpler_model_not_better(model, Xtr, ytr, Xho, yho)
    assert result.verdict == "pass", result.message()
    majority, linear = result.table.rows
    # Independent values: majority class of the training labels, sklearn's accuracy of the model.
    assert majority[0].startswith("majority class")
    assert majority[1] == pytest.approx(float(np.mean(yho == ytr.mode()[0])))
    assert majority[2] == pytest.approx(accuracy_score(yho, model.predict(Xho)))
    assert linear[0] == "L2 logistic regression on 3 features"
    assert all(row[-1] == "model wins" for row in result.table.rows)
    assert result.metrics["ci_low"] > 0
    assert "accuracy" in result.summary and "margin 0" in result.summary
    assert enforce(result) is result


def test_model5_regression_with_categorical_features(penguins):
    train, hold = train_test_split(penguins, test_size=0.4, random_state=0)
    cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "species", "sex"]
    ct = make_column_transformer(
        (StandardScaler(), cols[:3]), (OneHotEncoder(), ["species", "sex"])
    )
    model = make_pipeline(ct, Ridge()).fit(train[cols], train.body_mass_g)
    result = simpler_model_not_better(model, train, train.body_mass_g, hold, hold.body_mass_g)
    assert result.verdict == "pass", result.message()
    mean_row = result.table.rows[0]
    assert mean_row[0].startswith("training mean")
    expected = np.sqrt(np.mean((hold.body_mass_g - train.body_mass_g.mean()) ** 2))
    assert mean_row[1] == pytest.approx(expected)
    assert result.table.columns[1] == "baseline rmse"
    # The model view drops the target and the unused columns; text columns are reported.
    assert any("species, sex" in n for n in result.notes)


def test_model5_fails_for_a_model_no_better_than_the_majority_class():
    Xtr, Xho, ytr, yho = _split(load_breast_cancer)
    # So strongly regularised that it predicts the majority class for every row.
    model = _logistic(C=1e-6).fit(Xtr, ytr)
    assert len(set(model.predict(Xho))) == 1
    result = simpler_model_not_better(model, Xtr, ytr, Xho, yho)
    assert result.verdict == "fail"
    majority = result.table.rows[0]
    assert majority[3] == pytest.approx(0.0)
    assert "not a win" in majority[-1]
    assert "majority class" in result.summary
    with pytest.raises(AssertionError, match="not clearly better"):
        enforce(result)


def test_model5_fails_a_weak_model_against_the_few_feature_baseline():
    Xtr, Xho, ytr, yho = _split(load_wine)
    model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(Xtr, ytr)
    result = simpler_model_not_better(model, Xtr, ytr, Xho, yho)
    assert result.verdict == "fail"
    linear = result.table.rows[1]
    assert linear[3] < 0  # the baseline is outright better
    assert "not a win" in linear[-1]


def test_model5_a_tie_on_small_data_is_not_a_win():
    Xtr, Xho, ytr, yho = _split(load_breast_cancer)
    model = _logistic().fit(Xtr, ytr)
    result = simpler_model_not_better(model, Xtr, ytr, Xho, yho)
    linear = result.table.rows[1]
    # The point estimate favours the model, but the interval reaches below zero.
    assert linear[3] > 0
    assert result.metrics["linear_ci_low"] <= 0 < result.metrics["linear_ci_high"]
    assert result.verdict == "fail"
    assert "CI lower bound" in linear[-1]


def test_model5_margin_turns_a_narrow_win_into_a_failure():
    Xtr, Xho, ytr, yho = _split(load_wine)
    model = _logistic().fit(Xtr, ytr)
    result = simpler_model_not_better(model, Xtr, ytr, Xho, yho, margin=0.1)
    assert result.verdict == "fail"
    majority, linear = result.table.rows
    assert majority[-1] == "model wins"
    assert "margin 0.1" in linear[-1]


def test_model5_is_deterministic_for_a_seed():
    Xtr, Xho, ytr, yho = _split(load_breast_cancer)
    model = _logistic().fit(Xtr, ytr)
    a = simpler_model_not_better(model, Xtr, ytr, Xho, yho, seed=3)
    b = simpler_model_not_better(model, Xtr, ytr, Xho, yho, seed=3)
    assert a.metrics == b.metrics and a.verdict == b.verdict


def test_model5_skips_with_too_few_or_no_labelled_holdout_rows():
    Xtr, Xho, ytr, yho = _split(load_wine)
    model = _logistic().fit(Xtr, ytr)
    few = simpler_model_not_better(model, Xtr, ytr, Xho.iloc[:10], yho.iloc[:10])
    assert few.verdict == "skip" and "10 labelled held-out rows" in few.summary
    unlabelled = pd.Series([np.nan] * len(yho))
    none = simpler_model_not_better(model, Xtr, ytr, Xho, unlabelled)
    assert none.verdict == "skip" and "0 labelled held-out rows" in none.summary
    assert any("without a label" in n for n in none.notes)


def test_model5_rejects_bad_arguments():
    Xtr, Xho, ytr, yho = _split(load_wine)
    model = _logistic().fit(Xtr, ytr)
    with pytest.raises(ValueError, match="n_bootstrap"):
        simpler_model_not_better(model, Xtr, ytr, Xho, yho, n_bootstrap=10)
    with pytest.raises(ValueError, match="confidence"):
        simpler_model_not_better(model, Xtr, ytr, Xho, yho, confidence=1.5)
    with pytest.raises(ValueError, match="holdout_y has 5 rows"):
        simpler_model_not_better(model, Xtr, ytr, Xho, yho.iloc[:5])
    with pytest.raises(ValueError, match="unknown metric"):
        simpler_model_not_better(model, Xtr, ytr, Xho, yho, metric="acuracy")


def test_baseline_feature_scores_match_sklearn_f_classif():
    X, y = load_wine(return_X_y=True, as_frame=True)
    ours = univariate_scores(X, y.to_numpy(), classification=True)
    theirs, _ = f_classif(X, y)
    assert [ours[c] for c in X.columns] == pytest.approx(list(theirs))


def test_linear_baselines_match_sklearn_on_the_same_features():
    Xtr, Xho, ytr, _ = _split(load_wine)
    (_, ours), _ = fit_baselines(Xtr, ytr.to_numpy(), classification=True)
    scores = univariate_scores(Xtr, ytr.to_numpy(), classification=True)
    cols = sorted(scores, key=lambda c: -scores[c])[:3]
    mean, sd = Xtr[cols].mean(), Xtr[cols].std(ddof=0)
    ref = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit((Xtr[cols] - mean) / sd, ytr)
    np.testing.assert_allclose(
        ours.predict_proba(Xho), ref.predict_proba((Xho[cols] - mean) / sd), atol=1e-3
    )

    X = load_wine(as_frame=True).data
    target = X.pop("alcohol")
    (_, ridge), notes = fit_baselines(X, target.to_numpy(), classification=False)
    chosen = notes[0].split(": ")[1].split(", ")
    cols = [c.split(" (")[0] for c in chosen]
    Z = (X[cols] - X[cols].mean()) / X[cols].std(ddof=0)
    ref_ridge = Ridge(alpha=1.0).fit(Z, target)
    np.testing.assert_allclose(ridge.predict(X), ref_ridge.predict(Z), rtol=1e-8)


# ---------------------------------------------------------------- model-6


def _interval(row: tuple) -> tuple[float, float]:
    lo, hi = row[3].strip("[]").split(", ")
    return float(lo), float(hi)


def _required(row: tuple) -> float:
    return float(row[4].split()[1])


@pytest.fixture(scope="module")
def species_split(penguins):
    train, test = train_test_split(penguins, test_size=0.4, random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def test_model6_passes_for_a_model_good_on_every_slice(species_split):
    train, test = species_split
    model = _logistic().fit(train[MEASURES], train.species)
    slices = ["island", "sex", "body_mass_g", "year", "bill_length_mm > 45"]
    result = slice_quality(model, test, test.species, slices, min_slice_size=20)
    assert result.verdict == "pass", result.message()
    names = [row[0] for row in result.table.rows]
    assert {"island = Biscoe", "island = Dream", "sex = female", "year = 2008"} <= set(names)
    bins = [row for row in result.table.rows if row[0].startswith("body_mass_g in")]
    assert len(bins) == 4
    assert sum(row[1] for row in bins) == len(test)
    assert max(r[1] for r in bins) - min(r[1] for r in bins) <= 3  # quantile bins: equal-ish
    dream = next(row for row in result.table.rows if row[0] == "island = Dream")
    rows = test.island == "Dream"
    assert dream[2] == pytest.approx(
        accuracy_score(test.species[rows], model.predict(test.loc[rows, MEASURES]))
    )
    assert result.metrics["overall"] == pytest.approx(
        accuracy_score(test.species, model.predict(test[MEASURES]))
    )


def test_model6_fails_on_the_slice_the_model_never_saw(penguins):
    # Trained without Dream island: Chinstrap penguins live only there, so Dream is poor.
    seen = penguins[penguins.island != "Dream"]
    features = ["bill_length_mm", "body_mass_g"]
    model = _logistic().fit(seen[features], seen.species)
    result = slice_quality(model, penguins, penguins.species, ["island", "sex"])
    assert result.verdict == "fail"
    first = result.table.rows[0]
    assert first[0] == "island = Dream"
    assert first[-1].startswith("worse than overall")
    dream = penguins.island == "Dream"
    expected = accuracy_score(penguins.species[dream], model.predict(penguins.loc[dream, features]))
    assert first[2] == pytest.approx(expected)
    # 123 rows and a gap of 30 points: far beyond what chance allows at that size
    _, hi = _interval(first)
    assert hi < _required(first) and "interval wholly below" in first[-1]
    assert all(row[-1] == "ok" for row in result.table.rows[1:])
    assert "1 of 5 judged slices" in result.summary
    assert "95% bootstrap interval" in result.summary and "wholly below" in result.summary
    with pytest.raises(AssertionError, match="island = Dream"):
        enforce(result)


def test_model6_absolute_floor_in_the_metric_direction(species_split):
    train, test = species_split
    model = _logistic().fit(train[MEASURES], train.species)
    # log loss: lower is better, so the floor is an upper limit.
    result = slice_quality(
        model,
        test,
        test.species,
        ["sex", "island"],
        metric="log_loss",
        absolute_floor=0.03,
        tolerance=1.0,
        min_slice_size=20,
    )
    worse = [row for row in result.table.rows if "worse than floor 0.03" in row[-1]]
    fine = [row for row in result.table.rows if row[-1] == "ok"]
    assert worse and fine
    assert all(row[2] > 0.03 for row in worse) and all(row[2] <= 0.03 for row in fine)
    required = result.table.columns.index("required")
    assert all(row[required] == "<= 0.03" for row in worse + fine)
    assert result.verdict == "fail"
    assert "floor 0.03" in result.summary


def test_model6_small_slices_are_reported_not_judged(penguins):
    model = _logistic().fit(penguins[MEASURES], penguins.species)
    result = slice_quality(model, penguins, penguins.species, ["island"], min_slice_size=50)
    torgersen = next(row for row in result.table.rows if row[0] == "island = Torgersen")
    assert torgersen[1] == 47 and torgersen[-1].startswith("too small to judge")
    assert result.metrics["slices_judged"] == 2
    skipped = slice_quality(model, penguins, penguins.species, ["island"], min_slice_size=500)
    assert skipped.verdict == "skip"
    assert "no slice has enough labelled rows" in skipped.summary
    assert len(skipped.table.rows) == 3


def test_model6_skips_without_labels_and_when_the_metric_is_undefined(penguins):
    model = _logistic().fit(penguins[MEASURES], penguins.species)
    none = slice_quality(model, penguins, [None] * len(penguins), ["island"])
    assert none.verdict == "skip" and "no labelled rows" in none.summary
    # Slicing by the label itself leaves one class per slice: AUC is undefined everywhere.
    auc = slice_quality(
        model,
        penguins[MEASURES],
        penguins.species,
        ["species"],
        metric="roc_auc",
        attributes=penguins,
    )
    assert auc.verdict == "skip"
    assert all("undefined" in row[-1] for row in auc.table.rows)


def test_model6_attributes_and_missing_values(penguins):
    raw = load_penguins()
    rows = raw.dropna(subset=MEASURES).reset_index(drop=True)
    model = _logistic().fit(rows[MEASURES], rows.species)
    result = slice_quality(
        model, rows[MEASURES], rows.species, ["sex"], attributes=rows[["sex"]], min_slice_size=5
    )
    missing = next(row for row in result.table.rows if row[0] == "sex is missing")
    assert missing[1] == int(rows.sex.isna().sum())


def test_model6_rejects_unknown_columns_with_close_matches(penguins):
    model = _logistic().fit(penguins[MEASURES], penguins.species)
    with pytest.raises(ValueError, match="'islnd' \\(did you mean 'island'\\?\\)"):
        slice_quality(model, penguins, penguins.species, ["islnd"])
    with pytest.raises(ValueError, match="did you mean 'body_mass_g'"):
        slice_quality(model, penguins, penguins.species, ["body_mas_g > 4000"])
    with pytest.raises(ValueError, match="True/False"):
        slice_quality(model, penguins, penguins.species, ["body_mass_g * 2"])
    with pytest.raises(ValueError, match="list of column names"):
        slice_quality(model, penguins, penguins.species, "island")
    with pytest.raises(ValueError, match="DataFrame"):
        slice_quality(model, penguins[MEASURES].to_numpy(), penguins.species, ["island"])


@pytest.fixture(scope="module")
def weak_cancer_model():
    """A deliberately weak model (two texture/shape features, accuracy near 0.77) on breast cancer
    held-out rows, so a 40-row slice carries a standard error of about 7 accuracy points."""
    X_train, X_test, y_train, y_test = _split(load_breast_cancer, test_size=0.5)
    cols = ["mean smoothness", "mean texture"]
    model = _logistic().fit(X_train[cols], y_train)
    return model, X_test.reset_index(drop=True), y_test.to_numpy()


def test_model6_random_slices_that_dip_by_chance_pass_only_with_the_allowance(weak_cancer_model):
    # Seven random groups of ~40 held-out rows: exchangeable by construction, so any group's
    # shortfall against the overall accuracy is sampling noise, not a weak slice.
    model, X, y = weak_cancer_model
    groups = pd.DataFrame({"draw": np.random.default_rng(0).permutation(len(X)) % 7})
    point = slice_quality(model, X, y, ["draw"], attributes=groups, confidence=0)
    assert point.verdict == "fail"
    pred = model.predict(X[model.feature_names_in_])
    overall = accuracy_score(y, pred)
    required = overall * 0.95
    in_group = {f"draw = {g}": (groups.draw == g).to_numpy() for g in range(7)}
    dips = {name for name, m in in_group.items() if accuracy_score(y[m], pred[m]) < required}
    failed = {row[0] for row in point.table.rows if row[-1].startswith("worse")}
    assert dips and failed == dips
    assert all(row[3] == "-" for row in point.table.rows)  # no interval without the allowance
    assert "no allowance for chance" in point.summary

    allowed = slice_quality(model, X, y, ["draw"], attributes=groups)
    assert allowed.verdict == "pass", allowed.message()
    assert allowed.metrics["slices_within_chance"] == len(dips)
    for row in allowed.table.rows:
        if row[0] in dips:
            lo, hi = _interval(row)
            assert lo < required <= hi  # the requirement lies inside the slice's interval
            assert "within chance" in row[-1]
    # the allowance adds to the effect-size gap, it does not replace it
    assert allowed.metrics["required"] == pytest.approx(required)


def test_model6_confidence_zero_is_exactly_the_point_comparison(species_split, weak_cancer_model):
    train, test = species_split
    penguin_model = _logistic().fit(train[MEASURES], train.species)
    cancer_model, X, y = weak_cancer_model
    # 12 random groups of ~24 rows, as text so that they are levels rather than numeric bins
    draws = pd.DataFrame(
        {"draw": [f"g{k:02d}" for k in np.random.default_rng(1).permutation(len(X)) % 12]}
    )
    cases = [
        (cancer_model, X, y, ["draw"], {"attributes": draws, "min_slice_size": 20}),
        (
            penguin_model,
            test,
            test.species,
            ["island", "sex", "body_mass_g"],
            {"metric": "log_loss", "absolute_floor": 0.03, "tolerance": 1.0, "min_slice_size": 20},
        ),
    ]
    for model, data, labels, slices, kwargs in cases:
        result = slice_quality(model, data, labels, slices, confidence=0, **kwargs)
        required = result.metrics["required"]
        greater = kwargs.get("metric") != "log_loss"
        judged = [row for row in result.table.rows if row[2] is not None]
        short = {r[0] for r in judged if (r[2] < required if greater else r[2] > required)}
        failed = {row[0] for row in judged if row[-1] != "ok"}
        assert short and failed == short
        assert result.verdict == "fail"


def test_model6_intervals_contain_the_value_agree_with_theory_and_are_seeded(weak_cancer_model):
    model, X, y = weak_cancer_model
    halves = pd.DataFrame({"half": np.arange(len(X)) % 2})
    result = slice_quality(model, X, y, ["half"], attributes=halves)
    again = slice_quality(model, X, y, ["half"], attributes=halves)
    other = slice_quality(model, X, y, ["half"], attributes=halves, seed=1)
    wider = slice_quality(model, X, y, ["half"], attributes=halves, confidence=0.99)
    assert result.table == again.table
    assert [r[3] for r in other.table.rows] != [r[3] for r in result.table.rows]
    for row, row99 in zip(result.table.rows, wider.table.rows, strict=True):
        lo, hi = _interval(row)
        assert lo <= row[2] <= hi
        # ~142 rows: the percentile interval of an accuracy is close to p +- 1.96 sqrt(p(1-p)/n)
        se = np.sqrt(row[2] * (1 - row[2]) / row[1])
        assert lo == pytest.approx(row[2] - 1.96 * se, abs=0.02)
        assert hi == pytest.approx(row[2] + 1.96 * se, abs=0.02)
        lo99, hi99 = _interval(row99)
        assert lo99 <= lo and hi <= hi99
    assert "(200 resamples of its rows, seed 0)" in result.summary


def test_model6_interval_undefined_falls_back_to_the_point_value():
    # A metric that needs distinct labels (undefined once rows repeat, as they do in resamples).
    def rmse_distinct(y_true, y_pred):
        y_true = np.asarray(y_true, dtype=float)
        if len(np.unique(y_true)) < len(y_true):
            raise ValueError("labels repeat")
        return float(np.sqrt(np.mean((y_true - np.asarray(y_pred)) ** 2)))

    metric = Metric("rmse_distinct", rmse_distinct, "value", False, "regression")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    keep = ~y.duplicated()
    X, y = X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
    model = Ridge(alpha=1.0).fit(X, y)
    result = slice_quality(model, X, y, ["sex"], metric=metric, relative_tolerance=0.0)
    point = slice_quality(model, X, y, ["sex"], metric=metric, relative_tolerance=0.0, confidence=0)
    assert result.metrics["slices_interval_undefined"] == 2
    for row, prow in zip(result.table.rows, point.table.rows, strict=True):
        assert row[3] == "interval undefined"
        assert "judged on the point value" in row[-1]
        assert row[-1].split(";")[0] == prow[-1]
    assert result.verdict == point.verdict == "fail"  # one sex code is above the overall error


def test_model6_rejects_bad_allowance_arguments(penguins):
    model = _logistic().fit(penguins[MEASURES], penguins.species)
    for kwargs, message in (
        ({"confidence": 1.0}, "confidence must be at least 0 and below 1"),
        ({"confidence": -0.1}, "confidence must be at least 0 and below 1"),
        ({"n_bootstrap": 50}, "n_bootstrap must be at least 100"),
        ({"n_bootstrap": 200.0}, "n_bootstrap must be a whole number"),
    ):
        with pytest.raises(ValueError, match=message):
            slice_quality(model, penguins, penguins.species, ["island"], **kwargs)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "confidence = 1.5",
            "*checks.model-6] confidence: expected a number from 0 to 0.999, got 1.5*",
        ),
        (
            "confidence = 'high'",
            "*checks.model-6] confidence: expected a number from 0 to 0.999, got*",
        ),
        (
            "n_bootstrap = 10",
            "*checks.model-6] n_bootstrap: expected a whole number of at least 100, got 10*",
        ),
        (
            "n_bootstrap = 200.5",
            "*checks.model-6] n_bootstrap: expected a whole number of at least 100*",
        ),
    ],
)
def test_model6_allowance_config_errors_are_usage_errors(pytester, body, message):
    pytester.makepyprojecttoml(f"[tool.mltestscore.checks.model-6]\n{body}\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "pyproject.toml" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_model6_allowance_config_is_accepted(pytester):
    pytester.makepyprojecttoml(
        "[tool.mltestscore.checks.model-6]\nconfidence = 0\nn_bootstrap = 500\n"
    )
    pytester.makepyfile("def test_x(): pass")
    assert pytester.runpytest(ML_SCORE).ret == pytest.ExitCode.OK


# ---------------------------------------------------------------- model-7


def _sex_model(data: pd.DataFrame, cols: list[str]):
    numeric = [c for c in cols if c != "species"]
    parts = [(StandardScaler(), numeric)]
    if "species" in cols:
        parts.append((OneHotEncoder(), ["species"]))
    pipe = make_pipeline(make_column_transformer(*parts), LogisticRegression(max_iter=2000))
    return pipe.fit(data[cols], data.sex)


def test_model7_passes_when_groups_are_treated_alike(penguins):
    model = _sex_model(penguins, [*MEASURES, "species"])
    result = inclusion(model, penguins, penguins.sex, "species", positive="female")
    assert result.verdict == "pass", result.message()
    measures = {row[1].split(" (")[0]: row for row in result.table.rows}
    pred = pd.Series(model.predict(penguins[[*MEASURES, "species"]]))
    rates = (pred == "female").groupby(penguins.species).mean()
    dp = measures["demographic parity difference"]
    assert dp[2] == pytest.approx(rates.max() - rates.min())
    assert measures["disparate impact ratio"][2] == pytest.approx(rates.min() / rates.max())
    assert dp[-1] == "ok"
    assert measures["accuracy difference"][-1] == "reported (no threshold)"
    assert "positive class 'female'" in result.summary


def test_model7_fails_a_model_that_selects_by_species(penguins):
    # Body mass alone: heavy Gentoo penguins are almost never predicted female.
    model = _sex_model(penguins, ["body_mass_g"])
    result = inclusion(model, penguins, penguins.sex, "species", positive="female")
    assert result.verdict == "fail"
    failed = {row[1].split(" (")[0]: row for row in result.table.rows if row[-1] == "FAIL"}
    assert {"demographic parity difference", "disparate impact ratio"} <= set(failed)
    assert "species=Gentoo" in failed["demographic parity difference"][4]
    pred = pd.Series(model.predict(penguins[["body_mass_g"]]))
    gentoo = penguins.species == "Gentoo"
    assert (pred[gentoo] == "female").mean() < 0.1
    assert failed["disparate impact ratio"][2] < 0.8
    assert any("species=Gentoo" in n for n in result.notes)  # the per-group table


def test_model7_intersectional_groups(penguins):
    model = _sex_model(penguins, ["body_mass_g"])
    result = inclusion(
        model,
        penguins,
        penguins.sex,
        ["species", "island"],
        positive="female",
        intersectional=True,
    )
    families = {row[0] for row in result.table.rows}
    assert families == {"species", "island", "species & island"}
    assert any("species=Adelie & island=Dream" in n for n in result.notes)


def test_model7_gap_on_small_groups_that_chance_explains_is_not_a_failure(penguins):
    model = _sex_model(penguins, [*MEASURES, "species"])
    sample = penguins.groupby("species").sample(n=25, random_state=0).reset_index(drop=True)
    lenient = inclusion(model, sample, sample.sex, "species", positive="female", min_group_size=20)
    dp = next(r for r in lenient.table.rows if r[1] == "demographic parity difference")
    assert dp[2] > 0.1  # beyond the threshold ...
    assert dp[-1].startswith("within chance")  # ... but within two standard errors
    assert lenient.verdict == "pass"
    strict = inclusion(
        model, sample, sample.sex, "species", positive="female", min_group_size=20, z=0
    )
    assert strict.verdict == "fail"


def test_model7_regression_error_and_bias(penguins):
    adelie = penguins[penguins.species == "Adelie"]
    biased = Ridge().fit(adelie[["flipper_length_mm"]], adelie.body_mass_g)
    result = inclusion(biased, penguins, penguins.body_mass_g, "species")
    assert result.verdict == "fail"
    failed = {row[1]: row for row in result.table.rows if row[-1] == "FAIL"}
    assert set(failed) == {"error ratio (worst / best)", "bias difference"}
    gentoo = penguins.species == "Gentoo"
    resid = biased.predict(penguins[["flipper_length_mm"]]) - penguins.body_mass_g
    chin = penguins.species == "Chinstrap"
    assert failed["bias difference"][2] == pytest.approx(resid[chin].mean() - resid[gentoo].mean())

    cols = ["flipper_length_mm", "bill_depth_mm", "species", "sex"]
    ct = make_column_transformer(
        (StandardScaler(), cols[:2]), (OneHotEncoder(), ["species", "sex"])
    )
    fair = make_pipeline(ct, Ridge()).fit(penguins[cols], penguins.body_mass_g)
    ok = inclusion(fair, penguins, penguins.body_mass_g, ["species", "sex"])
    assert ok.verdict == "pass", ok.message()
    rmse = np.sqrt(
        mean_squared_error(penguins.body_mass_g[gentoo], fair.predict(penguins[cols][gentoo]))
    )
    assert any(f"{rmse:.4g}" in n for n in ok.notes)


def test_model7_small_groups_and_skip(penguins):
    model = _sex_model(penguins, [*MEASURES, "species"])
    partly = inclusion(
        model, penguins, penguins.sex, "island", positive="female", min_group_size=50
    )
    assert "island=Torgersen  47" in partly.notes[0] and "too small (< 50)" in partly.notes[0]
    skipped = inclusion(
        model, penguins, penguins.sex, "island", positive="female", min_group_size=200
    )
    assert skipped.verdict == "skip"
    assert "two groups of at least 200 rows" in skipped.summary
    unlabelled = inclusion(model, penguins, [None] * len(penguins), "island", positive="female")
    assert unlabelled.verdict == "skip"


def test_model7_rejects_bad_arguments(penguins):
    model = _logistic().fit(penguins[MEASURES], penguins.species)
    with pytest.raises(ValueError, match="set positive="):
        inclusion(model, penguins, penguins.species, "island")
    with pytest.raises(ValueError, match="'Emperor' is not among"):
        inclusion(model, penguins, penguins.species, "island", positive="Emperor")
    with pytest.raises(ValueError, match="did you mean 'island'"):
        inclusion(model, penguins, penguins.species, "Island", positive="Adelie")
    with pytest.raises(ValueError, match="attributes have 10 rows"):
        inclusion(model, penguins, penguins.species, "x", attributes=penguins.head(10))


def test_importing_the_checks_stays_light():
    code = (
        "import sys; from pytest_mltestscore.registry import declared; declared();"
        "print(sorted(m for m in ('sklearn', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_numeric_columns_with_few_values_are_levels_not_bins():
    import numpy as np
    import pandas as pd

    from pytest_mltestscore.checks.model.slices import slice_masks

    frame = pd.DataFrame({"rained": [0.0, 1.0] * 50, "x": np.linspace(0.0, 1.0, 100)})
    names = [name for name, _ in slice_masks(frame, ["rained", "x"])]
    assert names[:2] == ["rained = 0.0", "rained = 1.0"]
    assert len([n for n in names if n.startswith("x in [")]) == 4


def test_rows_to_resolve_a_tie_scales_with_the_interval():
    from pytest_mltestscore.checks.model.baseline import rows_to_resolve

    # half-width 0.12 for a lead of 0.10 on 180 rows: (0.12 / 0.10)^2 x 180 = 259.2 rows
    assert rows_to_resolve(0.10, -0.02, 0.0, 180) == 260
    assert rows_to_resolve(0.05, -0.10, 0.08, 180) is None  # the lead is below the margin
    assert rows_to_resolve(0.10, 0.099, 0.0, 180) == 181  # nearly resolved already


def test_a_tie_on_a_small_held_out_set_says_how_many_rows_would_resolve_it():
    """A real lead the held-out rows cannot pin down: the message says how much data would."""
    from sklearn.linear_model import LogisticRegression

    from pytest_mltestscore.checks.model.baseline import rows_to_resolve

    rng = np.random.default_rng(7)
    n = 240
    x = rng.normal(size=(n, 3))
    signal = 0.5 * x[:, 0] + rng.normal(scale=1.6, size=n)
    y = np.where(signal > 0.45, "yes", "no")  # about 62% "no": the majority class
    train = pd.DataFrame(x[:60], columns=["a", "b", "c"])
    hold = pd.DataFrame(x[60:], columns=["a", "b", "c"])
    model = LogisticRegression().fit(train, y[:60])
    result = simpler_model_not_better(
        model, train, y[:60], hold, y[60:], metric="accuracy", n_bootstrap=500, top_k_features=1
    )
    assert result.verdict == "fail"
    lead = result.metrics["constant_difference"]
    low = result.metrics["constant_ci_low"]
    assert lead > 0 > low  # the model leads, but the 180 rows cannot tell it from chance
    needed = rows_to_resolve(lead, low, 0.0, 180)
    assert needed is not None and needed > 180
    message = result.message()
    assert f"about {needed} would resolve it" in message
    assert "180 held-out rows" in message
