"""data-4 feature policy, data-5 PII scan and deletion log, on real data with planted PII."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import palmerpenguins
import pandas as pd
import pytest
import vega_datasets
from hypothesis import given
from hypothesis import strategies as st
from sklearn import datasets as skdata
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pytest_mltestscore.checks.data import privacy
from pytest_mltestscore.checks.data.policy import feature_policy
from pytest_mltestscore.checks.data.privacy import (
    deletion_log_check,
    iban_valid,
    luhn_valid,
    mask_value,
    pii_scan,
)
from pytest_mltestscore.modeling import feature_names
from pytest_mltestscore.result import enforce

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return palmerpenguins.load_penguins().dropna().reset_index(drop=True)


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    return pd.read_csv(Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv")


def _species_model(df: pd.DataFrame, categorical: list[str]):
    pre = make_column_transformer(
        (StandardScaler(), NUMERIC), (OneHotEncoder(handle_unknown="ignore"), categorical)
    )
    return make_pipeline(pre, LogisticRegression()).fit(df[NUMERIC + categorical], df["species"])


# data-4: feature policy


def test_a_protected_attribute_in_the_model_fails(penguins):
    model = _species_model(penguins, ["island", "sex"])
    names = feature_names(model)
    result = feature_policy(names, forbidden=["SEX", "ethnicity", "*_race"])
    assert result.verdict == "fail"
    assert result.table.columns == ("feature", "rule", "pattern")
    assert result.table.rows == (("sex", "forbidden", "SEX"),)
    with pytest.raises(AssertionError, match="sex"):
        enforce(result)


def test_a_model_without_protected_attributes_passes(penguins):
    model = _species_model(penguins, ["island"])
    result = feature_policy(feature_names(model), forbidden=["sex", "gender*"])
    assert result.verdict == "pass"
    assert result.metrics["features"] == 5


def test_allow_list_and_glob_patterns(penguins):
    names = feature_names(_species_model(penguins, ["island"]))
    result = feature_policy(names, allowed=["bill_*", "flipper_*", "island"])
    assert result.verdict == "fail"
    assert [r[0] for r in result.table.rows] == ["body_mass_g"]
    assert result.table.rows[0][1] == "not in allowed list"
    both = feature_policy(names, forbidden=["*_MM"], allowed=["*"])
    assert [r[0] for r in both.table.rows] == [n for n in names if n.endswith("_mm")]


def test_policy_skips_without_features_or_rules_and_validates(penguins):
    numpy_model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        penguins[NUMERIC].to_numpy(), penguins["species"]
    )
    assert feature_names(numpy_model) is None
    assert feature_policy(feature_names(numpy_model), forbidden=["sex"]).verdict == "skip"
    assert feature_policy(["a", "b"]).verdict == "skip"
    with pytest.raises(ValueError, match="single string"):
        feature_policy(["sex"], forbidden="sex")
    # With the configured feature list as fallback the check runs.
    fallback = feature_names(numpy_model, [*NUMERIC, "Sex"])
    assert feature_policy(fallback, forbidden=["sex"]).verdict == "fail"


# data-5: PII scan


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype(str)


def test_no_false_alarm_on_real_datasets_cast_to_text(penguins, weather):
    frames = {
        "penguins": _as_text(penguins),
        "penguins_raw": _as_text(palmerpenguins.load_penguins_raw()),
        "weather": _as_text(weather),
        "diabetes": _as_text(skdata.load_diabetes(as_frame=True).frame),
        "cancer": _as_text(skdata.load_breast_cancer(as_frame=True).frame),
        "digits": _as_text(skdata.load_digits(as_frame=True).frame),
    }
    result = pii_scan(frames)
    assert result.verdict == "pass", result.message()
    assert result.metrics["columns_scanned"] == sum(f.shape[1] for f in frames.values())


def test_no_false_alarm_on_id_like_numbers_as_text(engine):
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame(
        {
            # 16-digit ids that look like card numbers: one in ten passes Luhn by chance.
            "account_id": rng.integers(4 * 10**15, 5 * 10**15, size=n).astype(str),
            "event_ms": (1_700_000_000_000 + rng.integers(0, 10**10, size=n)).astype(str),
            "amount": rng.normal(100, 30, size=n).round(2).astype(str),
            "ratio": rng.random(n).astype(str),
            "order_no": rng.integers(10**9, 10**10, size=n).astype(str),
            "version": [f"{a}.{b}.{c}" for a, b, c in rng.integers(0, 30, size=(n, 3))],
            "when": pd.date_range("2024-01-01", periods=n, freq="min").strftime("%d/%m/%Y %H:%M"),
        }
    )
    result = pii_scan({"events": frame})
    assert result.verdict == "pass", result.message()
    assert any("account_id" in n and "Luhn" in n for n in result.notes)


@pytest.fixture(params=["re2", "re"])
def engine(request, monkeypatch):
    """Run a test with pyarrow's RE2 prefilter and with the pure-``re`` fallback."""
    if request.param == "re":
        monkeypatch.setattr(privacy, "_arrow_strings", lambda values: None)
    return request.param


def _planted(penguins: pd.DataFrame, column: str, values: list[str]) -> pd.DataFrame:
    frame = _as_text(penguins)
    frame[column] = "n/a"
    frame.loc[frame.index[: len(values)], column] = values
    return frame


@pytest.mark.parametrize(
    "kind, values",
    [
        ("email", ["jane.doe@example.com", "contact: j.smith+ml@mail.example.org"]),
        ("card", ["4111111111111111", "5555 5555 5555 4444", "paid with 378282246310005"]),
        ("iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"]),
        ("ip", ["192.168.10.24", "client 2001:db8:85a3::8a2e:370:7334"]),
        ("phone", ["+44 20 7946 0958", "(415) 555-2671", "call 020 7946 0958"]),
        ("national_id", ["123-45-6789", "AB 12 34 56 C"]),
    ],
)
def test_planted_pii_is_found_and_masked(penguins, kind, values, engine):
    frame = _planted(penguins, "note", values)
    result = pii_scan({"training": frame})
    assert result.verdict == "fail", result.message()
    (row,) = result.table.rows
    assert row[0] == "training.note" and row[2] == f"rows with {kind}"
    assert row[6] == len(values)
    assert row[4] == f"{len(values)} of {len(frame)} rows ({len(values) / len(frame):.2%})"
    message = result.message()
    for value in values:
        assert value not in message  # never a full value in a failure message
    assert "*" in row[7]


def test_invalid_lookalikes_are_not_reported(penguins, engine):
    lookalikes = [
        "4111111111111112",  # fails Luhn
        "GB82 WEST 1234 5698 7654 33",  # fails mod-97
        "000-12-3456",  # SSN area 000 is never issued
        "078-05-1120",  # the Woolworth wallet SSN
        "127.0.0.1",  # loopback
        "5552345678",  # a bare run of digits is not a phone number
        "12:30:45",  # a time, not an IPv6 address
        "std::vector",
    ]
    result = pii_scan({"training": _planted(penguins, "note", lookalikes)})
    assert result.verdict == "pass", result.message()


def test_allow_lists_for_columns_and_values(penguins):
    emails = ["support@penguins.example", "jane.doe@example.com"]
    frame = _planted(penguins, "contact", emails)
    assert pii_scan({"training": frame}).verdict == "fail"
    only_jane = pii_scan({"training": frame}, allow_values=["*@PENGUINS.example"])
    assert only_jane.verdict == "fail" and only_jane.table.rows[0][6] == 1
    assert pii_scan({"training": frame}, allow_values=["*@*example*"]).verdict == "pass"
    exempt = pii_scan({"training": frame}, allow_columns=["training.contact"])
    assert exempt.verdict == "pass"
    assert any("exempt" in n for n in exempt.notes)
    assert pii_scan({"training": frame}, allow_columns=["CONTACT*"]).verdict == "pass"


def test_kinds_columns_and_min_share(penguins):
    frame = _planted(penguins, "contact", ["jane.doe@example.com"])
    assert pii_scan({"training": frame}, kinds=["card", "iban"]).verdict == "pass"
    assert pii_scan({"training": frame}, columns=["island"]).verdict == "pass"
    low = pii_scan({"training": frame}, min_share=0.01)
    assert low.verdict == "pass"
    assert any("below min_share" in n for n in low.notes)
    with pytest.raises(ValueError, match="did you mean 'email'"):
        pii_scan({"training": frame}, kinds=["emails"])
    with pytest.raises(ValueError, match="did you mean 'contact'"):
        pii_scan({"training": frame}, columns=["contacts"])
    with pytest.raises(ValueError, match="min_share"):
        pii_scan({"training": frame}, min_share=2)


def test_sampling_is_seeded_and_finds_frequent_pii(weather):
    frame = _as_text(weather)
    frame["user"] = [f"user{i}@example.com" if i % 2 else "anonymous" for i in range(len(frame))]
    first = pii_scan({"serving": frame}, sample_rows=500)
    again = pii_scan({"serving": frame}, sample_rows=500)
    assert first.verdict == "fail"
    assert first.table.rows == again.table.rows
    share = first.metrics["serving.user:email"]
    assert abs(share - 0.5) < 0.1  # about half of the sampled rows
    assert any("sample of 500" in n for n in first.notes)


def test_scan_skips_when_there_is_no_text(penguins):
    numbers = penguins[NUMERIC]
    result = pii_scan({"training": numbers})
    assert result.verdict == "skip"
    assert "numeric columns are not scanned" in result.summary


def test_pii_in_categorical_and_mixed_object_columns(penguins):
    frame = penguins.copy()
    frame["email"] = pd.Categorical(["a.b@example.com"] * 3 + ["-"] * (len(frame) - 3))
    frame["mixed"] = pd.Series([1, 2.5, None, "10.0.0.7"] + [3] * (len(frame) - 4), dtype=object)
    result = pii_scan({"training": frame})
    assert result.verdict == "fail"
    found = {(r[0], r[2]): r[6] for r in result.table.rows}
    assert found == {
        ("training.email", "rows with email"): 3,
        ("training.mixed", "rows with ip"): 1,
    }


def _luhn_reference(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def test_digits_outside_ascii_are_ignored_not_a_crash():
    # Arabic-Indic digits are digits to Python but not card numbers.
    arabic = "".join(chr(0x0660 + int(c)) for c in "4111111111111111")
    assert luhn_valid(pd.Series([arabic, "4111111111111111"], dtype=object)).tolist() == [
        False,
        True,
    ]
    frame = pd.DataFrame({"note": [arabic] * 3})
    assert pii_scan({"t": frame}).verdict == "pass"


@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=19), min_size=1, max_size=30))
def test_vectorised_luhn_matches_the_textbook_algorithm(numbers):
    got = luhn_valid(pd.Series(numbers, dtype=object))
    assert got.tolist() == [_luhn_reference(n) for n in numbers]


def test_iban_check_matches_integer_arithmetic():
    def reference(iban: str) -> bool:
        s = iban.replace(" ", "")
        rotated = s[4:] + s[:4]
        return int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1

    samples = [
        "GB82 WEST 1234 5698 7654 32",
        "DE89 3704 0044 0532 0130 00",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91 ABNA 0417 1643 00",
        "GB82 WEST 1234 5698 7654 33",
        "NL91 ABNA 0417 1643 01",
    ]
    got = iban_valid(pd.Series(samples, dtype=object))
    assert got.tolist() == [reference(s) for s in samples] == [True] * 4 + [False] * 2


@given(st.text(min_size=1, max_size=40))
def test_masking_never_returns_the_value(text):
    masked = mask_value(text)
    assert len(masked) == len(text)
    assert masked != text or set(text) == {"*"}
    if len(text) >= 8:
        assert masked[0] == text[0] and masked[-1] == text[-1]


# data-5: deletion log


@pytest.fixture(scope="module")
def users(penguins) -> pd.DataFrame:
    return penguins.reset_index(names="user_id")


def test_deleted_ids_still_present_fail(users):
    deleted = [3, 17, 250, 10_000]  # the last one was never in the data
    result = deletion_log_check(users, "user_id", deleted)
    assert result.verdict == "fail"
    (row,) = result.table.rows
    assert row[0] == "user_id" and row[4] == "3 of 4 deleted ids" and row[6] == 3
    assert row[7] == "3, 17, 250"
    assert result.metrics["remaining_ids"] == 3


def test_after_deletion_the_check_passes(users):
    deleted = [3, 17, 250]
    cleaned = users[~users["user_id"].isin(deleted)]
    assert deletion_log_check(cleaned, "user_id", deleted).verdict == "pass"


def test_ids_match_across_text_and_numbers(users):
    as_text = deletion_log_check(users, "user_id", ["3", " 17 "])
    assert as_text.verdict == "fail" and as_text.metrics["remaining_ids"] == 2
    # Ids read from a CSV column with gaps become floats: 17.0 must still match 17.
    floats = users.assign(user_id=users["user_id"].astype(float))
    floats.loc[0, "user_id"] = np.nan
    assert deletion_log_check(floats, "user_id", ["17"]).verdict == "fail"
    text_ids = users.assign(user_id="u" + users["user_id"].astype(str))
    assert deletion_log_check(text_ids, "user_id", ["u5", "u999"]).metrics["remaining_ids"] == 1


def test_empty_log_skips_and_arguments_are_checked(users):
    assert deletion_log_check(users, "user_id", []).verdict == "skip"
    with pytest.raises(ValueError, match="did you mean 'user_id'"):
        deletion_log_check(users, "userid", [1])
    with pytest.raises(ValueError, match="single string"):
        deletion_log_check(users, "user_id", "17")


# data-5: the scan fed chunk by chunk, riding the profile pass
def _chunks(frame: pd.DataFrame, rows: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + rows] for i in range(0, len(frame), rows)]


@pytest.mark.parametrize("rows", [1, 7, 100])
def test_the_scan_fed_in_chunks_equals_the_scan_of_the_whole(penguins, rows, engine, monkeypatch):
    frame = _as_text(penguins)
    n = len(frame)
    frame["contact"] = "n/a"
    frame.loc[[0, n // 2, n - 1], "contact"] = [
        "a.b@example.com",
        "c.d@example.org",
        "a.b@example.com",
    ]
    frame["card"] = "-"
    frame.loc[[3, n - 2], "card"] = ["4111111111111111", "4111111111111112"]  # one passes Luhn
    frame["ids"] = [str(4 * 10**15 + 7919 * i) for i in range(n)]  # card-shaped, 10% Luhn
    frame["mixed"] = pd.Series(["10.0.0.7" if i == n - 3 else i for i in range(n)], dtype=object)
    monkeypatch.setattr(privacy, "MEMO_VALUES", 5)  # values beyond the memo are matched again
    whole = pii_scan({"training": frame}, sample_rows=None, allow_values=["c.d@*"])
    scan = privacy.PiiScan(allow_values=["c.d@*"])
    for chunk in _chunks(frame, rows):
        scan.feed("training", chunk)
    chunked = scan.result()
    assert chunked.verdict == whole.verdict == "fail"
    assert chunked.summary == whole.summary
    assert chunked.notes == whole.notes
    assert chunked.metrics == whole.metrics
    assert [r[:7] for r in chunked.table.rows] == [r[:7] for r in whole.table.rows]
    assert [set(r[7].split(", ")) for r in chunked.table.rows] == [
        set(r[7].split(", ")) for r in whole.table.rows
    ]
    found = {(r[0], r[2]): r[6] for r in chunked.table.rows}
    assert found == {
        ("training.contact", "rows with email"): 2,  # c.d@ is allowed
        ("training.card", "rows with card"): 1,
        ("training.mixed", "rows with ip"): 1,
    }
    assert any("training.ids" in note and "Luhn" in note for note in chunked.notes)


def test_the_built_in_scan_rides_the_profile_pass(tmp_path, penguins):
    """Registered before the profile is made, the scan sees every chunk of that one pass (the
    file can be gone afterwards) including the role columns the profile leaves out; registered
    after, it reads the chunks by itself."""
    from pytest_mltestscore.assets import Assets
    from pytest_mltestscore.settings import DatasetSpec

    frame = _as_text(penguins)
    frame.loc[frame.index[-1], "species"] = "jane.doe@example.com"  # in the target, last chunk
    frame.to_csv(tmp_path / "training.csv", index=False)
    spec = DatasetSpec(
        "training",
        "tool.mltestscore.datasets.training",
        path="training.csv",
        target="species",
        chunk_rows=50,
    )
    assets = Assets({}, {"training": spec}, tmp_path)

    def make() -> privacy._ChunkScan:
        return privacy._ChunkScan("training", privacy.PiiScan())

    assets.watch("training", "pii", make)
    profile = assets.profile("training")
    assert "species" not in profile.columns and profile.n_rows == len(frame)
    (tmp_path / "training.csv").rename(tmp_path / "moved.csv")  # no second read possible
    watcher = assets.watched("training", "pii")
    assert isinstance(watcher, privacy._ChunkScan)
    result = watcher.scan.result()
    assert result.verdict == "fail", result.message()
    (row,) = result.table.rows
    assert row[0] == "training.species" and row[4].startswith(f"1 of {len(frame)} rows")

    (tmp_path / "moved.csv").rename(tmp_path / "training.csv")
    assets.watch("training", "late", make)  # the profile is made: a pass of its own
    assert assets.watched("training", "late").scan.result().table.rows == result.table.rows
    with pytest.raises(KeyError, match="no watcher 'other'"):
        assets.watched("training", "other")


def test_built_in_privacy_scans_every_row_of_chunked_files(pytester, penguins):
    frame = _as_text(penguins)
    frame["note"] = "-"
    frame.loc[frame.index[-1], "note"] = "call (415) 555-2671"
    frame.to_csv(pytester.path / "training.csv", index=False)
    serving = _as_text(penguins).head(40)
    serving.loc[serving.index[5], "island"] = "10.1.2.3"
    serving.to_csv(pytester.path / "serving.csv", index=False)
    pytester.makepyprojecttoml(
        """
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.training]
path = "training.csv"
target = "species"
chunk_rows = 1000
[tool.mltestscore.datasets.serving]
path = "serving.csv"
"""
    )
    result = pytester.runpytest("--ml-score", "-k", "data-1 or data-5 or monitor-2", "-rA")
    out = result.stdout.str()
    assert "internal error" not in out
    result.stdout.fnmatch_lines(
        [
            "*raw PII found in 2 column/kinds: training.note (phone), serving.island (ip)*",
            f"*training.note*1 of {len(frame)} rows*",
            "*serving.island*1 of 40 rows*",
        ]
    )


def test_many_distinct_values_go_through_one_combined_prefilter_first(engine):
    """Above 1,000 distinct values RE2 first picks the values any detector could match: the
    result is the one the pure-``re`` path gives."""
    n = 3000
    values = [f"order {i:06d} shipped" for i in range(n)]
    values[10] = "mail jane.doe@example.com"
    values[2000] = "from 192.168.10.24"
    values[2999] = "card 4111 1111 1111 1111"
    result = pii_scan({"events": pd.DataFrame({"note": values})})
    found = {(r[0], r[2]): r[6] for r in result.table.rows}
    assert found == {
        ("events.note", "rows with email"): 1,
        ("events.note", "rows with card"): 1,
        ("events.note", "rows with ip"): 1,
    }


def test_a_watcher_that_fails_leaves_the_profile_alone(tmp_path, penguins):
    """A watcher's error is not the profile's: the pass goes on without it, and the check that
    wants the watcher gets the error from a pass of its own."""
    from pytest_mltestscore.assets import Assets
    from pytest_mltestscore.settings import DatasetSpec

    _as_text(penguins).to_csv(tmp_path / "training.csv", index=False)
    spec = DatasetSpec("training", "tool.mltestscore.datasets.training", path="training.csv")
    assets = Assets({}, {"training": spec}, tmp_path)

    class Broken:
        def feed(self, chunk: pd.DataFrame) -> None:
            raise RuntimeError("the watcher broke")

    assets.watch("training", "broken", Broken)
    assert assets.profile("training").n_rows == len(penguins)
    with pytest.raises(RuntimeError, match="the watcher broke"):
        assets.watched("training", "broken")
