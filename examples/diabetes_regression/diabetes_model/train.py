"""Training: the model specification, ``fit(df, seed)``, and ``main()`` that rebuilds every file.

``python -m diabetes_model.train`` (from examples/diabetes_regression) regenerates:

- data/training.csv, data/validation.csv, data/serving.csv: a seeded split of the 442 patients
  (50% / 25% / 25%, stratified by quintile of progression); the serving rows are patients
  scored at their baseline visit, with the progression measured a year later;
- models/model.skops (version 2.0.0, all training rows) and models/previous.skops (version
  1.0.0, the training patients P001 to P299, the data of its time), each with a
  sidecar ``<file>.meta.json`` holding a fixed creation date, so that ages are reproducible;
- mltestscore-schema.json, written by ``pytest --ml-score-freeze-schema``.

A rerun gives the same data and predictions (the .skops bytes differ: skops records object ids).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .features import ID, TARGET, baseline_table, model_input

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
MODELS = ROOT / "models"
SEED = 0

#: The shipped hyperparameters (model-3 checks them against a search, see pyproject.toml).
PARAMS: dict[str, Any] = {"alpha": 10.0}

#: Version 1.0.0 was trained on the training patients P001 to P299 (the data of its time).
FIRST_RELEASE_BEFORE = "P300"
CREATED = {"model": dt.date(2026, 10, 5), "previous": dt.date(2026, 4, 6)}
VERSIONS = {"model": "2.0.0", "previous": "1.0.0"}


def make_pipeline(alpha: float = PARAMS["alpha"]) -> Pipeline:
    """The model specification: standardised baseline variables into a ridge regression."""
    return Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=alpha))])


def fit(df: pd.DataFrame, seed: int = SEED) -> Pipeline:
    """Train the shipped model on the rows of a baseline table that have a progression value.

    ``seed`` is accepted for the harness (infra-1, infra-3); ridge regression has no
    randomness to seed.
    """
    labelled = df[df[TARGET].notna()]
    return make_pipeline(**PARAMS).fit(model_input(labelled), labelled[TARGET])


def load_patients() -> pd.DataFrame:
    """The 442 patients of the study as a baseline table."""
    from sklearn.datasets import load_diabetes

    return baseline_table(load_diabetes(as_frame=True, scaled=False).frame)


def split(patients: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, ...]:
    """Training (50%), validation (25%) and serving (25%), stratified by progression quintile."""
    quintile = pd.qcut(patients[TARGET], 5, labels=False)
    training, rest = train_test_split(
        patients, train_size=0.5, stratify=quintile, random_state=seed
    )
    validation, serving = train_test_split(
        rest, train_size=0.5, stratify=quintile[rest.index], random_state=seed
    )
    return tuple(
        part.sort_index().reset_index(drop=True) for part in (training, validation, serving)
    )


def save(model: Pipeline, name: str) -> Path:
    """Write ``models/<name>.skops`` (a safe format) and its dated sidecar metadata."""
    import skops.io as sio

    from pytest_mltestscore.loading import write_artifact_metadata

    path = MODELS / f"{name}.skops"
    sio.dump(model, path)
    write_artifact_metadata(path, CREATED[name], version=VERSIONS[name])
    return path


def main() -> None:
    """Regenerate the data, both models and the schema."""
    DATA.mkdir(exist_ok=True)
    MODELS.mkdir(exist_ok=True)
    training, validation, serving = split(load_patients())
    training.to_csv(DATA / "training.csv", index=False)
    validation.to_csv(DATA / "validation.csv", index=False)
    serving.to_csv(DATA / "serving.csv", index=False)

    save(fit(training), "model")
    save(fit(training[training[ID] < FIRST_RELEASE_BEFORE]), "previous")

    subprocess.run(
        [sys.executable, "-m", "pytest", "--ml-score-freeze-schema", "-p", "no:cacheprovider"],
        cwd=ROOT,
        check=True,
    )
    for name, frame in [("training", training), ("validation", validation), ("serving", serving)]:
        print(f"{name}: {len(frame)} rows")


if __name__ == "__main__":
    main()
