"""The model: a tf-idf vectorizer saved apart from a logistic regression, as it is served.

The serving code vectorizes the raw text with ``models/vectorizer.skops`` and passes the
result to ``models/classifier.skops``; pytest-mltestscore does the same, composed from the
config (``transform_path`` and ``inputs`` in pyproject.toml). Both files are skops archives
(they load without running code) with a dated ``.meta.json`` sidecar.

``python -m tweet_source.train`` (in the example's directory) retrains both from
``data/training.csv.gz`` and writes them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from pytest_mltestscore.loading import write_artifact_metadata

MODELS = Path(__file__).resolve().parent.parent / "models"
DATA = Path(__file__).resolve().parent.parent / "data"
TRAINED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.timezone.utc)
VERSION = "1.0.0"


def make_vectorizer() -> Any:
    """Words and word pairs, lower-cased, seen in at least two training tweets."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True)


def make_classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=5.0, max_iter=2000)


def fit(train: pd.DataFrame) -> tuple[Any, Any]:
    """The fitted vectorizer and classifier (deterministic: no randomness in either)."""
    vectorizer = make_vectorizer().fit(train["text"])
    # The terms min_df left out, kept for introspection only: most of the file, never used.
    vectorizer.stop_words_ = None
    classifier = make_classifier().fit(vectorizer.transform(train["text"]), train["source"])
    return vectorizer, classifier


def main() -> None:
    import zipfile

    import skops.io as sio

    train = pd.read_csv(DATA / "training.csv.gz")
    vectorizer, classifier = fit(train)
    MODELS.mkdir(exist_ok=True)
    for name, obj in (("vectorizer", vectorizer), ("classifier", classifier)):
        path = MODELS / f"{name}.skops"
        # compressed: skops writes a vocabulary as verbose JSON (3 MB stored, 0.2 MB deflated)
        sio.dump(obj, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        write_artifact_metadata(path, created=TRAINED, version=VERSION)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
