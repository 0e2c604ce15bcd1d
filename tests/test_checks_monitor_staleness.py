"""monitor-4: model age from config, artifact metadata or mtime; age of the newest serving row."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import joblib
import pandas as pd
import pytest
import skops.io as sio
import vega_datasets
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from pytest_mltestscore.checks.monitor.staleness import model_staleness
from pytest_mltestscore.clock import TODAY_ENV
from pytest_mltestscore.loading import artifact_created, sidecar_path, write_artifact_metadata

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def weather_dates() -> pd.Series:
    path = Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv"
    return pd.read_csv(path)["date"]  # "2012/01/01" ... "2015/12/31", as text


@pytest.fixture(scope="module")
def model():
    X, y = load_iris(return_X_y=True)
    return make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0)).fit(X, y)


def test_model_older_than_the_limit_fails(monkeypatch):
    monkeypatch.setenv(TODAY_ENV, "2026-06-30")
    created = dt.date(2026, 1, 1)
    age = (dt.date(2026, 6, 30) - created).days  # 180
    result = model_staleness(created, 90, "config")
    assert result.verdict == "fail"
    assert result.metrics["model_age_days"] == pytest.approx(age)
    row = result.table.rows[0]
    assert row[0] == "model" and "config `created`" in row[1] and row[3] == "<= 90"
    assert model_staleness(created, 365, "config").verdict == "pass"


def test_timezones_are_normalised_to_utc(monkeypatch):
    monkeypatch.setenv(TODAY_ENV, "2026-06-30")
    # 22:00 at UTC+02:00 on June 28th is 20:00 UTC: 1 day and 4 hours before midnight.
    created = dt.datetime(2026, 6, 28, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    result = model_staleness(created, 30, "config")
    assert result.metrics["model_age_days"] == pytest.approx(1 + 4 / 24)
    naive = model_staleness(dt.datetime(2026, 6, 29, 12), 30, "config")  # naive means UTC
    assert naive.metrics["model_age_days"] == pytest.approx(0.5)


def test_creation_date_in_the_future_fails(monkeypatch):
    monkeypatch.setenv(TODAY_ENV, "2026-01-01")
    result = model_staleness(dt.date(2026, 3, 1), 365, "config")
    assert result.verdict == "fail"
    assert result.table.rows[0][5] == "created in the past"


def test_mtime_source_is_flagged_as_a_last_resort(monkeypatch):
    monkeypatch.setenv(TODAY_ENV, "2026-01-10")
    result = model_staleness(dt.date(2026, 1, 9), 30, "mtime:models/model.joblib")
    assert result.verdict == "pass"
    assert any("checkout time" in note for note in result.notes)
    assert "file modification time (models/model.joblib)" in result.table.rows[0][1]
    config = model_staleness(dt.date(2026, 1, 9), 30, "config")
    assert not any("checkout" in note for note in config.notes)


def test_unknown_creation_date_skips_unless_the_data_is_stale(monkeypatch, weather_dates):
    monkeypatch.setenv(TODAY_ENV, "2016-01-05")
    unknown = model_staleness(None, 30, "config")
    assert unknown.verdict == "skip" and "creation date is unknown" in unknown.summary
    stale_data = model_staleness(None, 30, "config", weather_dates, max_data_age_days=2)
    assert stale_data.verdict == "fail"


def test_age_of_the_newest_serving_row(monkeypatch, weather_dates):
    monkeypatch.setenv(TODAY_ENV, "2016-01-10")
    newest = pd.to_datetime(weather_dates, format="%Y/%m/%d").max()
    expected_age = (pd.Timestamp("2016-01-10") - newest).days  # 10
    stale = model_staleness(dt.date(2016, 1, 1), 365, "config", weather_dates, 7)
    assert stale.verdict == "fail"
    assert stale.metrics["data_age_days"] == pytest.approx(expected_age)
    data_row = stale.table.rows[1]
    assert data_row[0] == "date" and data_row[3] == "<= 7" and data_row[6] == len(weather_dates)
    fresh = model_staleness(dt.date(2016, 1, 1), 365, "config", weather_dates, 14)
    assert fresh.verdict == "pass"
    as_datetimes = pd.to_datetime(weather_dates, format="%Y/%m/%d")
    assert model_staleness(None, None, "config", as_datetimes, 14).verdict == "pass"


def test_unparseable_or_empty_timestamps_fail_with_examples(monkeypatch, weather_dates):
    monkeypatch.setenv(TODAY_ENV, "2016-01-10")
    broken = weather_dates.copy()
    broken.iloc[[3, 8]] = "yesterday-ish"
    result = model_staleness(None, None, "config", broken, 30)
    assert result.verdict == "fail"
    row = result.table.rows[0]
    assert row[1] == "parse timestamps" and row[6] == 2 and "yesterday-ish" in row[7]
    missing = pd.Series([None, None], dtype=object, name="ts")
    assert model_staleness(None, None, "config", missing, 30).verdict == "fail"
    epoch = pd.Series([1.7e9, 1.8e9], name="ts")
    numeric = model_staleness(None, None, "config", epoch, 30)
    assert numeric.verdict == "fail" and "epoch" in numeric.table.rows[0][5]


def test_staleness_arguments_are_validated():
    with pytest.raises(ValueError, match="source"):
        model_staleness(dt.date(2026, 1, 1), 30, "guess")
    with pytest.raises(ValueError, match="max_age_days"):
        model_staleness(dt.date(2026, 1, 1), -1, "config")
    with pytest.raises(ValueError, match="max_data_age_days or both"):
        model_staleness(dt.date(2026, 1, 1), None, "config")
    with pytest.raises(ValueError, match="created"):
        model_staleness("2026-01-01", 30, "config")  # type: ignore[arg-type]


def test_sidecar_metadata_wins_over_mtime(tmp_path, model):
    artifact = tmp_path / "model.joblib"
    joblib.dump(model, artifact)
    created = dt.datetime(2025, 11, 3, 8, 30, tzinfo=UTC)
    written = write_artifact_metadata(artifact, created, version="1.4.0")
    assert written == sidecar_path(artifact) == tmp_path / "model.joblib.meta.json"
    assert json.loads(written.read_text())["version"] == "1.4.0"
    when, source = artifact_created(artifact)
    assert when == created
    assert source == f"metadata:{written}"


def test_sidecar_accepts_plain_dates_and_z_suffix(tmp_path):
    artifact = tmp_path / "m.bin"
    artifact.write_bytes(b"x")
    sidecar_path(artifact).write_text('{"created": "2025-02-03"}')
    assert artifact_created(artifact)[0] == dt.datetime(2025, 2, 3, tzinfo=UTC)
    sidecar_path(artifact).write_text('{"created": "2025-02-03T10:00:00Z"}')
    assert artifact_created(artifact)[0] == dt.datetime(2025, 2, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not readable as JSON"), ('{"version": 1}', '"created"'),
     ('{"created": "last tuesday"}', "ISO 8601")],
)  # fmt: skip
def test_a_broken_sidecar_is_a_clear_error(tmp_path, content, message):
    artifact = tmp_path / "m.bin"
    artifact.write_bytes(b"x")
    sidecar_path(artifact).write_text(content)
    with pytest.raises(ValueError, match=message):
        artifact_created(artifact)


def test_skops_archive_records_its_save_time(tmp_path, model):
    artifact = tmp_path / "model.skops"
    before = dt.datetime.now(UTC)
    sio.dump(model, artifact)
    os.utime(artifact, (0, 0))  # a checkout would reset this; the archive keeps its own time
    when, source = artifact_created(artifact)
    assert source == f"metadata:skops archive {artifact}"
    # Zip times are local wall-clock times read as UTC: within a day of the real save time.
    assert abs((when - before).total_seconds()) < 86400 + 60


def test_mtime_is_the_last_resort(tmp_path, model):
    artifact = tmp_path / "model.joblib"
    joblib.dump(model, artifact)
    stamp = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    os.utime(artifact, (stamp.timestamp(), stamp.timestamp()))
    when, source = artifact_created(artifact)
    assert when == stamp and source == f"mtime:{artifact}"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        artifact_created(tmp_path / "missing.skops")


def test_artifact_created_feeds_model_staleness(tmp_path, model, monkeypatch):
    monkeypatch.setenv(TODAY_ENV, "2026-01-31")
    artifact = tmp_path / "model.joblib"
    joblib.dump(model, artifact)
    write_artifact_metadata(artifact, dt.date(2025, 1, 1))
    created, source = artifact_created(artifact)
    result = model_staleness(created, 180, source)
    assert result.verdict == "fail"
    assert "artifact metadata" in result.table.rows[0][1]
    assert result.metrics["model_age_days"] == pytest.approx(395)
