"""monitor-7 with delayed labels and SLO windows, on real data (Seattle weather, vega_datasets).

A random forest predicts whether it rains (precipitation > 0) on each day of 2014-2015 from the
temperatures, the wind, the season and yesterday's rain, trained on 2012-2013. Predictions are
logged at 18:00 Seattle time; labels arrive after a seeded random delay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.checks.monitor.slo import (
    SLO,
    LabelDataError,
    check_slo,
    evaluate_slo,
    join_labels,
    parse_window,
    window_metrics,
)

UTC = dt.timezone.utc
AS_OF = pd.Timestamp("2016-01-01T00:00Z")
FEATURES = [
    "temp_max",
    "temp_min",
    "temp_range",
    "wind",
    "precip_yesterday",
    "month_sin",
    "month_cos",
]


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    """The 2014-2015 days with the model's rain probability (trained on 2012-2013)."""
    from sklearn.ensemble import RandomForestClassifier
    from vega_datasets import data

    df = data.seattle_weather()
    df["wet"] = (df["precipitation"] > 0).astype(int)
    df["precip_yesterday"] = df["precipitation"].shift(1, fill_value=0.0)
    df["temp_range"] = df["temp_max"] - df["temp_min"]
    month = df["date"].dt.month
    df["month_sin"] = np.sin(2 * np.pi * month / 12)
    df["month_cos"] = np.cos(2 * np.pi * month / 12)
    train = df[df["date"] < "2014-01-01"]
    test = df[df["date"] >= "2014-01-01"].reset_index(drop=True)
    model = RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=0, n_jobs=1)
    model.fit(train[FEATURES], train["wet"])
    test["proba"] = model.predict_proba(test[FEATURES])[:, 1]
    test["served_at"] = (test["date"] + pd.Timedelta(hours=18)).dt.tz_localize(
        "America/Los_Angeles"
    )
    return test


def make_frames(
    weather: pd.DataFrame, threshold: float, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions (id, timestamp, prediction, score) and labels arriving 1 + Exp(7) days later."""
    rng = np.random.default_rng(seed)
    ids = [f"day-{i}" for i in range(len(weather))]
    predictions = pd.DataFrame(
        {
            "id": ids,
            "timestamp": weather["served_at"],
            "prediction": (weather["proba"] >= threshold).astype(int),
            "score": weather["proba"],
        }
    )
    delay = pd.to_timedelta(1 + rng.exponential(7.0, len(weather)), unit="D")
    labels = pd.DataFrame(
        {"id": ids, "target": weather["wet"], "timestamp": weather["served_at"] + delay}
    )
    return predictions, labels


def labelled_in(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Independent reference: rows predicted in [start, end) whose label arrived by as_of."""
    merged = predictions.merge(labels, on="id", suffixes=("", "_label"))
    t = merged["timestamp"].dt.tz_convert("UTC")
    arrived = merged["timestamp_label"].dt.tz_convert("UTC") <= as_of
    return merged[(t >= start) & (t < end) & arrived]


# ---------------------------------------------------------------------------------------------
# SLO verdicts in both directions


def test_a_model_meeting_recall_090_passes(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.15)
    joined = join_labels(predictions, labels, score_column="score")
    result = evaluate_slo(joined, "recall", min=0.9, window="365d", min_labels=200, as_of=AS_OF)
    assert result.verdict == "pass", result.message()
    assert result.metrics["windows_judged"] == 2 and result.rubric_id == "monitor-7"


def test_a_model_missing_recall_090_fails_naming_the_window(weather: pd.DataFrame) -> None:
    from sklearn.metrics import recall_score

    predictions, labels = make_frames(weather, threshold=0.5)
    joined = join_labels(predictions, labels, score_column="score")
    result = evaluate_slo(joined, "recall", min=0.9, window="365d", min_labels=200, as_of=AS_OF)
    assert result.verdict == "fail"
    assert result.table is not None
    violated = [row for row in result.table.rows if row[6] == "violated"]
    assert len(violated) == 2
    window_2015 = next(r for r in violated if r[0].startswith("2015-01-01"))
    assert window_2015[0] == "2015-01-01T00:00:00Z .. 2016-01-01T00:00:00Z"
    ref = labelled_in(predictions, labels, pd.Timestamp("2015-01-01T00:00Z"), AS_OF, AS_OF)
    assert window_2015[2] == len(ref) < 365  # late-December labels had not arrived yet
    assert window_2015[4] == pytest.approx(recall_score(ref["target"], ref["prediction"]))
    assert window_2015[5] == "recall >= 0.9"
    # the summary names the worst window, its value, its labelled rows and the SLO
    assert "recall >= 0.9" in result.summary and "labelled rows" in result.summary
    assert "violated" in result.summary


def test_max_bound_on_an_error_metric(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    joined = join_labels(predictions, labels)
    strict = evaluate_slo(joined, "accuracy", min=0.95, window="365d", min_labels=200, as_of=AS_OF)
    loose = evaluate_slo(joined, "accuracy", min=0.5, window="365d", min_labels=200, as_of=AS_OF)
    assert (strict.verdict, loose.verdict) == ("fail", "pass")
    bias = evaluate_slo(
        join_labels(predictions, labels, score_column="score"),
        "bias",
        min=-0.1,
        max=0.1,
        window="365d",
        min_labels=200,
        as_of=AS_OF,
    )
    assert bias.verdict == "pass"  # the forest's probabilities are roughly calibrated


# ---------------------------------------------------------------------------------------------
# Delayed labels, duplicates, orphans


def test_late_labels_count_only_once_arrived(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.15)
    joined = join_labels(predictions, labels)
    as_of = pd.Timestamp("2015-01-20T00:00Z")
    table = window_metrics(joined, "recall", window="7d", as_of=as_of)
    last = table.iloc[-1]
    ref = labelled_in(predictions, labels, last["start"], last["end"], as_of)
    assert last["n_predictions"] == 7
    assert last["n_labelled"] == len(ref) < 7  # a week's labels are still on their way
    assert last["coverage"] == pytest.approx(len(ref) / 7)
    # the same week judged a month later has all its labels
    later = window_metrics(joined, "recall", window="7d", as_of=as_of + pd.Timedelta(days=63))
    same_week = later[later["end"] == last["end"]].iloc[0]
    assert same_week["n_labelled"] == 7

    # A week holds at most 7 rainy days, far below the default min_support; this test is about
    # labels on their way, so the support floor is switched off (min_support=1).
    result = evaluate_slo(
        joined, "recall", min=0.5, window="7d", min_labels=5, as_of=as_of, min_support=1
    )
    assert result.table is not None
    latest = next(row for row in result.table.rows if row[0].endswith("2015-01-20T00:00:00Z"))
    assert latest[6] == "unknown" and latest[7] == f"{len(ref)} < 5 labels"
    assert result.metrics["windows_unknown"] >= 1 and result.metrics["windows_judged"] > 30
    assert "unknown" in result.summary  # listed, not passed


def test_no_judgeable_window_is_a_skip(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.15)
    joined = join_labels(predictions, labels)
    result = evaluate_slo(joined, "recall", min=0.9, window="30d", min_labels=1000, as_of=AS_OF)
    assert result.verdict == "skip"
    assert "no window could be judged" in result.summary
    # labels that have not arrived yet: nothing can be judged either
    early = evaluate_slo(
        joined, "recall", min=0.9, window="30d", min_labels=5, as_of="2014-01-02T00:00Z"
    )
    assert early.verdict == "skip"


def test_duplicate_label_ids_keep_the_latest_arrival(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    clean = window_metrics(join_labels(predictions, labels), "recall", window="90d", as_of=AS_OF)
    chosen = labels.sample(50, random_state=0)
    # an early, wrong label for 50 ids, superseded by the real one that arrives later
    early_wrong = chosen.assign(
        target=1 - chosen["target"], timestamp=chosen["timestamp"] - pd.Timedelta(hours=1)
    )
    joined = join_labels(predictions, pd.concat([labels, early_wrong], ignore_index=True))
    assert joined.duplicate_label_rows == 50
    assert "50 duplicate label row(s)" in joined.problems()[0]
    same = window_metrics(joined, "recall", window="90d", as_of=AS_OF)
    pd.testing.assert_frame_equal(same, clean)
    # a correction that arrives later wins
    late_fix = chosen.assign(
        target=1 - chosen["target"], timestamp=chosen["timestamp"] + pd.Timedelta(hours=1)
    )
    fixed_labels = labels.set_index("id")
    fixed_labels.loc[chosen["id"], "target"] = 1 - chosen["target"].to_numpy()
    expected = window_metrics(
        join_labels(predictions, fixed_labels.reset_index()), "recall", window="90d", as_of=AS_OF
    )
    corrected = join_labels(predictions, pd.concat([labels, late_fix], ignore_index=True))
    got = window_metrics(corrected, "recall", window="90d", as_of=AS_OF)
    assert not got["value"].equals(clean["value"])
    pd.testing.assert_frame_equal(
        got.drop(columns="n_labelled"), expected.drop(columns="n_labelled")
    )


def test_labels_without_a_prediction_are_reported(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    ghosts = pd.DataFrame(
        {
            "id": [f"ghost-{i}" for i in range(30)],
            "target": 1,
            "timestamp": pd.Timestamp("2015-06-01T00:00Z"),
        }
    )
    joined = join_labels(predictions, pd.concat([labels, ghosts], ignore_index=True))
    assert joined.orphan_labels == 30
    assert joined.orphan_label_ids[0] == "ghost-0"
    result = evaluate_slo(joined, "recall", min=0.5, window="365d", min_labels=200, as_of=AS_OF)
    assert any("30 label(s) for ids with no prediction" in note for note in result.notes)
    baseline = evaluate_slo(
        join_labels(predictions, labels), "recall", min=0.5, window="365d", as_of=AS_OF
    )
    assert result.metrics == baseline.metrics


def test_predictions_without_labels_lower_coverage(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    kept = labels.sample(frac=0.6, random_state=1)
    joined = join_labels(predictions, kept)
    assert joined.n_labelled == len(kept)
    assert joined.coverage == pytest.approx(0.6, abs=0.001)
    table = window_metrics(joined, "recall", window="365d", as_of=AS_OF + pd.Timedelta(days=90))
    assert table["coverage"].between(0.5, 0.7).all()


# ---------------------------------------------------------------------------------------------
# Time zones


def _iso_with_offsets(stamps: pd.Series) -> pd.Series:
    """The same instants written with mixed offsets: local Seattle, UTC 'Z', +00:00, +05:30."""
    out = []
    for i, ts in enumerate(stamps):
        if i % 4 == 0:
            out.append(ts.isoformat())  # -08:00 or -07:00 (DST)
        elif i % 4 == 1:
            out.append(ts.tz_convert("UTC").isoformat().replace("+00:00", "Z"))
        elif i % 4 == 2:
            out.append(ts.tz_convert("UTC").isoformat())
        else:
            out.append(ts.tz_convert("Asia/Kolkata").isoformat())
    return pd.Series(out, index=stamps.index, dtype=object)


def test_mixed_offsets_are_normalised_to_utc(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    reference = join_labels(predictions, labels)
    mixed = predictions.assign(timestamp=_iso_with_offsets(predictions["timestamp"]))
    mixed_labels = labels.assign(timestamp=_iso_with_offsets(labels["timestamp"]))
    joined = join_labels(mixed, mixed_labels)
    assert str(joined.frame["prediction_time"].dt.tz) == "UTC"
    assert (joined.frame["prediction_time"] == reference.frame["prediction_time"]).all()
    assert (joined.frame["label_time"] == reference.frame["label_time"]).all()
    pd.testing.assert_frame_equal(
        window_metrics(joined, "recall", window="30d", as_of=AS_OF),
        window_metrics(reference, "recall", window="30d", as_of=AS_OF),
    )


def test_naive_timestamps_need_a_timezone(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    naive = predictions.assign(
        timestamp=predictions["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
    )
    naive_labels = labels.assign(timestamp=labels["timestamp"].dt.tz_localize(None))
    with pytest.raises(LabelDataError) as info:
        join_labels(naive, naive_labels)
    message = str(info.value)
    assert "column 'timestamp' of the predictions" in message
    assert "without a time zone" in message and "timezone=" in message and "row 0" in message
    local = join_labels(naive, naive_labels, timezone="America/Los_Angeles")
    reference = join_labels(predictions, labels)
    assert (local.frame["prediction_time"] == reference.frame["prediction_time"]).all()
    assert (local.frame["label_time"] == reference.frame["label_time"]).all()
    # one naive string among aware ones is named
    mixed = predictions.assign(timestamp=_iso_with_offsets(predictions["timestamp"]))
    mixed.loc[5, "timestamp"] = "2014-01-06 18:00:00"
    with pytest.raises(LabelDataError, match=r"1 timestamp\(s\) without a time zone \(row 5"):
        join_labels(mixed, labels)


def test_unusable_timestamps_are_named() -> None:
    preds = pd.DataFrame(
        {"id": [1, 2], "timestamp": ["2024-01-01T00:00Z", "yesterday"], "prediction": [1, 0]}
    )
    labels = pd.DataFrame({"id": [1], "target": [1], "timestamp": ["2024-01-02T00:00Z"]})
    with pytest.raises(LabelDataError, match=r"not ISO 8601.*row 1: 'yesterday'"):
        join_labels(preds, labels)
    numeric = preds.assign(timestamp=[1.7e9, 1.7e9])
    with pytest.raises(LabelDataError, match="numbers"):
        join_labels(numeric, labels)
    gap = pd.DataFrame({"id": [1], "timestamp": ["2024-03-10 02:30"], "prediction": [1]})
    with pytest.raises(LabelDataError, match="America/Los_Angeles"):  # does not exist (DST)
        join_labels(gap, labels, timezone="America/Los_Angeles")


# ---------------------------------------------------------------------------------------------
# Windows


def test_sliding_and_tumbling_windows(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    joined = join_labels(predictions, labels)
    tumbling = window_metrics(joined, "recall", window="90d", as_of=AS_OF)
    sliding = window_metrics(joined, "recall", window="90d", step="30d", as_of=AS_OF)
    # tumbling windows tile time: consecutive, no overlap, every prediction counted once
    assert (tumbling["end"].iloc[:-1].to_numpy() == tumbling["start"].iloc[1:].to_numpy()).all()
    served = predictions["timestamp"].dt.tz_convert("UTC")
    assert tumbling["n_predictions"].sum() == (served < AS_OF).sum()  # the last is after AS_OF
    # sliding windows overlap: a new one every 30 days, three times as many
    assert (sliding["end"].diff().dropna() == pd.Timedelta(days=30)).all()
    assert len(sliding) in (3 * len(tumbling) - 2, 3 * len(tumbling) - 1, 3 * len(tumbling))
    assert sliding["n_predictions"].sum() > 2.5 * len(predictions)
    for row in sliding.sample(5, random_state=0).itertuples():
        ref = labelled_in(predictions, labels, row.start, row.end, AS_OF)
        assert row.n_labelled == len(ref)
    assert (sliding["end"].iloc[-1], tumbling["end"].iloc[-1]) == (AS_OF, AS_OF)
    recent = window_metrics(joined, "recall", window="30d", as_of=AS_OF, lookback="90d")
    assert len(recent) == 3 and recent["start"].iloc[0] == AS_OF - pd.Timedelta(days=90)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", dt.timedelta(days=30)),
        ("7D", dt.timedelta(days=7)),
        (" 1h ", dt.timedelta(hours=1)),
        ("90m", dt.timedelta(minutes=90)),
        ("2w", dt.timedelta(weeks=2)),
        ("45s", dt.timedelta(seconds=45)),
        (dt.timedelta(days=3), dt.timedelta(days=3)),
    ],
)
def test_parse_window(text: Any, expected: dt.timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "30x", "-1d", "1.5d", "thirty days", "0d", ""])
def test_bad_window_strings(text: str) -> None:
    with pytest.raises(ValueError, match=r"window|longer than zero"):
        parse_window(text)


# ---------------------------------------------------------------------------------------------
# Metrics against scikit-learn


def test_window_metrics_match_sklearn(weather: pd.DataFrame) -> None:
    from sklearn import metrics as skm

    predictions, labels = make_frames(weather, threshold=0.3)
    joined = join_labels(predictions, labels, score_column="score")
    start, end = pd.Timestamp("2014-07-01T00:00Z"), pd.Timestamp("2014-10-29T00:00Z")
    ref = labelled_in(predictions, labels, start, end, as_of=end)
    assert 0 < len(ref) < 120  # the last labels of the window arrive after its end
    y, p, s = ref["target"], ref["prediction"], ref["score"]
    expected = {
        "recall": skm.recall_score(y, p),
        "precision": skm.precision_score(y, p),
        "f1": skm.f1_score(y, p),
        "accuracy": skm.accuracy_score(y, p),
        "auc": skm.roc_auc_score(y, s),
        "bias": float(s.mean() - y.mean()),
    }
    for metric, value in expected.items():
        table = window_metrics(joined, metric, window="120d", as_of=end)
        assert table["value"].iloc[-1] == pytest.approx(value), metric
    # the negative class as positive
    table = window_metrics(joined, "recall", window="120d", as_of=end, positive=0)
    assert table["value"].iloc[-1] == pytest.approx(skm.recall_score(y, p, pos_label=0))


def test_regression_metrics_match_sklearn(weather: pd.DataFrame) -> None:
    from sklearn import metrics as skm
    from sklearn.linear_model import LinearRegression

    X = weather[["temp_min", "month_sin", "month_cos"]]
    model = LinearRegression().fit(X, weather["temp_max"])
    ids = np.arange(len(weather))
    preds = pd.DataFrame(
        {"id": ids, "timestamp": weather["served_at"], "prediction": model.predict(X)}
    )
    labels = pd.DataFrame(
        {"id": ids, "target": weather["temp_max"], "timestamp": weather["served_at"]}
    )
    joined = join_labels(preds, labels)
    y, p = weather["temp_max"], preds["prediction"]
    for metric, value in {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, p))),
        "mae": skm.mean_absolute_error(y, p),
        "bias": float(np.mean(p - y)),
    }.items():
        table = window_metrics(joined, metric, window="3650d", as_of=AS_OF + pd.Timedelta(days=1))
        assert len(table) == 1 and table["value"].iloc[0] == pytest.approx(value, abs=1e-9)
    over = evaluate_slo(joined, "rmse", max=0.5, window="365d", min_labels=200, as_of=AS_OF)
    under = evaluate_slo(joined, "rmse", max=10.0, window="365d", min_labels=200, as_of=AS_OF)
    assert (over.verdict, under.verdict) == ("fail", "pass")


def test_string_classes_need_the_positive_class(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    words = {0: "dry", 1: "rain"}
    predictions = predictions.assign(prediction=predictions["prediction"].map(words))
    labels = labels.assign(target=labels["target"].map(words))
    joined = join_labels(predictions, labels)
    result = evaluate_slo(joined, "recall", min=0.9, window="365d", as_of=AS_OF)
    assert result.verdict == "fail" and "give positive=" in result.summary
    named = evaluate_slo(joined, "recall", min=0.9, window="365d", as_of=AS_OF, positive="rain")
    numeric = evaluate_slo(
        join_labels(*make_frames(weather, threshold=0.5)),
        "recall",
        min=0.9,
        window="365d",
        as_of=AS_OF,
    )
    assert named.verdict == numeric.verdict == "fail"
    assert named.metrics == numeric.metrics


# ---------------------------------------------------------------------------------------------
# Arguments and the one-call form


def test_invalid_arguments(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    joined = join_labels(predictions, labels)
    with pytest.raises(ValueError, match="give min=, max= or both"):
        evaluate_slo(joined, "recall")
    with pytest.raises(ValueError, match="above max"):
        evaluate_slo(joined, "recall", min=0.9, max=0.1)
    with pytest.raises(ValueError, match="unknown metric 'recal'"):
        evaluate_slo(joined, "recal", min=0.9)
    with pytest.raises(ValueError, match="needs scores"):
        window_metrics(joined, "auc")
    with pytest.raises(ValueError, match="timezone-aware"):
        window_metrics(joined, "recall", as_of=dt.datetime(2016, 1, 1))
    with pytest.raises(ValueError, match="step"):
        window_metrics(joined, "recall", window="7d", step="8d")
    with pytest.raises(ValueError, match="give min, max or both"):
        SLO("recall", "recall")


def test_check_slo_turns_bad_data_into_a_failed_check(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.15)
    slo = SLO("recall", "recall", min=0.9, window="365d", min_labels=200)
    assert check_slo(predictions, labels, slo, as_of=AS_OF).verdict == "pass"
    broken = labels.rename(columns={"target": "label"})
    result = check_slo(predictions, broken, slo, as_of=AS_OF)
    assert result.verdict == "fail"
    assert "the labels have no target column 'target'" in result.summary
    assert "'label'" in result.summary


# ---------------------------------------------------------------------------------------------
# Support: the cases in the metric's own denominator (min_support), and the Wilson interval


def heavy_rain_frames(weather: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A rare positive class: days with at least 20 mm of rain (14 in 2014, 18 in 2015),
    forecast when the rain model is at least 80% sure it rains at all."""
    predictions, labels = make_frames(weather, threshold=0.8)
    labels = labels.assign(target=(weather["precipitation"] >= 20).astype(int))
    return predictions, labels


def test_many_labels_few_positives_unknown_for_recall_judged_for_accuracy(
    weather: pd.DataFrame,
) -> None:
    from sklearn.metrics import accuracy_score

    predictions, labels = heavy_rain_frames(weather)
    joined = join_labels(predictions, labels)
    recall = evaluate_slo(joined, "recall", min=0.5, window="365d", min_labels=200, as_of=AS_OF)
    accuracy = evaluate_slo(
        joined, "accuracy", min=0.85, window="365d", min_labels=200, as_of=AS_OF
    )
    assert recall.table is not None and accuracy.table is not None
    assert len(recall.table.rows) == len(accuracy.table.rows) == 2
    by_window = {row[0]: row for row in accuracy.table.rows}
    for row in recall.table.rows:
        start, end = (pd.Timestamp(t) for t in row[0].split(" .. "))
        ref = labelled_in(predictions, labels, start, end, AS_OF)
        positives = int((ref["target"] == 1).sum())
        # hundreds of labels, but recall rests on the heavy-rain days among them
        assert row[2] == len(ref) >= 200 and 0 < positives < 30
        assert row[6] == "unknown" and row[4] is not None  # computable, but not judged
        assert row[7] == f"{positives} positives < min_support 30"
        assert row[8] == positives
        # accuracy divides by every labelled row: the same window is judged
        acc_row = by_window[row[0]]
        assert acc_row[8] == len(ref)
        expected = "ok" if accuracy_score(ref["target"], ref["prediction"]) >= 0.85 else "violated"
        assert acc_row[6] == expected
    assert recall.verdict == "skip" and "30 positives" in recall.summary
    assert recall.metrics["windows_unknown_low_support"] == 2
    assert recall.metrics["windows_unknown_few_labels"] == 0
    assert accuracy.verdict in ("pass", "fail") and accuracy.metrics["windows_judged"] == 2
    # the unknown came from the support alone: a lower floor judges the same windows
    lowered = evaluate_slo(
        joined, "recall", min=0.5, window="365d", min_labels=200, as_of=AS_OF, min_support=5
    )
    assert lowered.verdict != "skip" and lowered.metrics["windows_judged"] == 2


def test_support_counts_match_numpy(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.3)
    joined = join_labels(predictions, labels, score_column="score")
    as_of = pd.Timestamp("2015-12-20T00:00Z")  # recent labels still on their way
    expected_of = {
        "recall": "positives",
        "precision": "predicted positives",
        "f1": "rows labelled or predicted positive",
        "accuracy": "labelled rows",
        "rmse": "labelled rows",
        "bias": "labelled rows",
    }
    tables = {
        metric: window_metrics(joined, metric, window="60d", as_of=as_of)
        for metric in [*expected_of, "auc"]
    }
    for i, row in tables["recall"].iterrows():
        ref = labelled_in(predictions, labels, row["start"], row["end"], as_of)
        y = ref["target"].to_numpy() == 1
        p = ref["prediction"].to_numpy() == 1
        counts = {
            "recall": int(np.count_nonzero(y)),
            "precision": int(np.count_nonzero(p)),
            "f1": int(np.count_nonzero(y | p)),
            "accuracy": len(ref),
            "rmse": len(ref),
            "bias": len(ref),
        }
        for metric, count in counts.items():
            assert tables[metric]["support"].iloc[i] == count, (metric, row["start"])
            assert tables[metric]["support_of"].iloc[i] == expected_of[metric]
        smaller = min(np.count_nonzero(y), np.count_nonzero(~y))
        assert tables["auc"]["support"].iloc[i] == smaller
        assert tables["auc"]["support_of"].iloc[i] == (
            "positives" if np.count_nonzero(y) <= np.count_nonzero(~y) else "negatives"
        )
    # the findings table carries the same counts, window by window
    result = evaluate_slo(joined, "precision", min=0.5, window="60d", min_labels=1, as_of=as_of)
    assert result.table is not None
    support = {r[0]: r[8] for r in result.table.rows}
    for _, row in tables["precision"].iterrows():
        start = row["start"].isoformat().replace("+00:00", "Z")
        end = row["end"].isoformat().replace("+00:00", "Z")
        assert support[f"{start} .. {end}"] == row["support"]


def test_wilson_interval_is_information_only(weather: pd.DataFrame) -> None:
    from scipy.stats import binomtest

    predictions, labels = make_frames(weather, threshold=0.5)
    joined = join_labels(predictions, labels, score_column="score")
    table = window_metrics(joined, "recall", window="60d", as_of=AS_OF)
    for _, row in table.iterrows():
        ref = labelled_in(predictions, labels, row["start"], row["end"], AS_OF)
        hits = int(((ref["target"] == 1) & (ref["prediction"] == 1)).sum())
        ci = binomtest(hits, int(row["support"])).proportion_ci(method="wilson")
        assert (row["interval_low"], row["interval_high"]) == pytest.approx((ci.low, ci.high))
        assert row["interval_low"] <= row["value"] <= row["interval_high"]
    # f1 is 2J/(1+J) of the share J of true positives among rows labelled or predicted positive
    f1 = window_metrics(joined, "f1", window="365d", as_of=AS_OF).iloc[-1]
    ref = labelled_in(predictions, labels, f1["start"], f1["end"], AS_OF)
    union = (ref["target"] == 1) | (ref["prediction"] == 1)
    hits = int(((ref["target"] == 1) & (ref["prediction"] == 1)).sum())
    ci = binomtest(hits, int(union.sum())).proportion_ci(method="wilson")
    assert f1["interval_low"] == pytest.approx(2 * ci.low / (1 + ci.low))
    assert f1["interval_low"] <= f1["value"] <= f1["interval_high"]
    # not proportions: no interval
    for metric in ("auc", "bias"):
        other = window_metrics(joined, metric, window="365d", as_of=AS_OF)
        assert other["interval_low"].isna().all() and other["interval_high"].isna().all()
    # the verdict compares the value with the SLO, whatever the interval says: judged windows
    # whose interval holds the bound 0.9 are violated or met by their value alone
    result = evaluate_slo(joined, "recall", min=0.9, window="60d", min_labels=20, as_of=AS_OF)
    assert result.table is not None and result.verdict == "fail"
    straddling = set()
    for r in result.table.rows:
        low, high = (float(x) for x in r[9].strip("[]").split(", "))
        assert low <= r[4] <= high
        if r[6] in ("ok", "violated"):
            assert r[6] == ("violated" if r[4] < 0.9 else "ok")
            if low < 0.9 <= high:
                straddling.add(r[6])
    assert straddling == {"ok", "violated"}


def test_min_support_must_be_a_positive_integer(weather: pd.DataFrame) -> None:
    predictions, labels = make_frames(weather, threshold=0.5)
    joined = join_labels(predictions, labels)
    for bad in (0, -3, 2.5, True, "30"):
        with pytest.raises(ValueError, match="min_support must be a positive integer"):
            evaluate_slo(joined, "recall", min=0.9, window="365d", as_of=AS_OF, min_support=bad)
    slo = SLO("recall", "recall", min=0.9, window="365d")
    assert slo.min_support == 30  # the documented default


def test_a_correction_arriving_after_as_of_does_not_erase_the_label_it_corrects() -> None:
    """Judged as of a day between a label and its correction, the first label counts."""
    day = pd.Timestamp("2024-03-01T00:00Z")
    predictions = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(40)],
            "timestamp": [day + pd.Timedelta(hours=i) for i in range(40)],
            "prediction": [1] * 20 + [0] * 20,
        }
    )
    labels = pd.DataFrame(
        {
            "id": predictions["id"],
            "target": [1] * 20 + [0] * 20,  # every prediction right: accuracy 1.0
            "timestamp": day + pd.Timedelta(days=3),
        }
    )
    # ten labels corrected (to wrong-for-the-model targets) on day 10
    fixes = labels.iloc[:10].assign(target=0, timestamp=day + pd.Timedelta(days=10))
    joined = join_labels(predictions, pd.concat([labels, fixes], ignore_index=True))
    assert joined.duplicate_label_rows == 10

    def accuracy(as_of: pd.Timestamp) -> tuple[int, float]:
        row = window_metrics(joined, "accuracy", window="30d", as_of=as_of).iloc[-1]
        return int(row["n_labelled"]), float(row["value"])

    assert accuracy(day + pd.Timedelta(days=2))[0] == 0  # no label has arrived yet
    assert accuracy(day + pd.Timedelta(days=5)) == (40, 1.0)  # before the fixes: all 40 labels
    assert accuracy(day + pd.Timedelta(days=11)) == (40, 0.75)  # after: 10 of 40 now wrong
