"""Training: the model specification, ``fit(df, seed)``, and ``main()`` that rebuilds every file.

``python -m penguins_model.train`` (from examples/penguins) regenerates, deterministically (the
.skops files change bytes, as skops records object ids and zip times, not predictions):

- data/training.csv, data/validation.csv, data/serving.csv: a seeded split of the real Palmer
  records (40% / 30% / 30%, stratified by species); serving rows get a request id and carry
  the species label that the field team confirmed later;
- data/serving_bad_day.csv: the "bad day" batch (see README.md);
- models/model.skops (version 2.0.0, trained on all training rows) and models/previous.skops
  (version 1.0.0, trained on the 2007 and 2008 seasons only), each with a sidecar
  ``<file>.meta.json`` holding a fixed creation date, so that ages are reproducible;
- mltestscore-schema.json, written by ``pytest --ml-score-freeze-schema``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .features import MODEL_FEATURES, TARGET, model_input, training_features

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
MODELS = ROOT / "models"
SEED = 0

#: The shipped hyperparameters (model-3 checks them against a search, see pyproject.toml).
PARAMS: dict[str, Any] = {"C": 10_000.0}
NUMERIC = [f for f in MODEL_FEATURES if f != "island"]

#: Fixed creation dates written next to the artifacts (see README.md, "Dates").
CREATED = {"model": dt.date(2026, 11, 16), "previous": dt.date(2026, 5, 11)}
VERSIONS = {"model": "2.0.0", "previous": "1.0.0"}


def make_pipeline(C: float = PARAMS["C"]) -> Pipeline:
    """The model specification: scaled measurements and one-hot island into a logistic model."""
    columns = ColumnTransformer(
        [
            ("measurements", StandardScaler(), NUMERIC),
            ("island", OneHotEncoder(handle_unknown="ignore"), ["island"]),
        ]
    )
    return Pipeline([("features", columns), ("classifier", LogisticRegression(C=C, max_iter=1000))])


def fit(df: pd.DataFrame, seed: int = SEED) -> Pipeline:
    """Train the shipped model on the labelled rows of a feature table.

    ``seed`` is accepted for the harness (infra-1, infra-3): the lbfgs solver is deterministic,
    so it changes nothing; a model with randomness would pass it on as ``random_state``.
    """
    labelled = df[df[TARGET].notna()]
    return make_pipeline(**PARAMS).fit(model_input(labelled), labelled[TARGET])


def load_records() -> pd.DataFrame:
    """Every measured bird of the three seasons as a feature table (342 rows)."""
    import palmerpenguins

    return training_features(palmerpenguins.load_penguins_raw())


def split(records: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, ...]:
    """Training (40%), validation (30%) and serving (30%) rows, stratified by species."""
    training, rest = train_test_split(
        records, train_size=0.4, stratify=records[TARGET], random_state=seed
    )
    validation, serving = train_test_split(
        rest, train_size=0.5, stratify=rest[TARGET], random_state=seed
    )
    return tuple(
        part.sort_index().reset_index(drop=True) for part in (training, validation, serving)
    )


def serving_log(rows: pd.DataFrame, first_request: int = 1) -> pd.DataFrame:
    """Serving requests: a request id, the bird's features, its sex and the later label."""
    log = rows.drop(columns=["date_egg"]).reset_index(drop=True)
    ids = [f"req-{first_request + i:05d}" for i in range(len(log))]
    log.insert(0, "request_id", ids)
    return log


def bad_day(held_out: pd.DataFrame) -> pd.DataFrame:
    """The bad day's batch, made from the held-out birds (validation and serving rows).

    Drift: no requests from Torgersen (its team is not in the field), so the island mix moves.
    Broken upstream: the body mass field arrives in kilograms, under the same column name.
    """
    batch = serving_log(held_out[held_out["island"] != "Torgersen"], first_request=90001)
    batch["body_mass_g"] = batch["body_mass_g"] / 1000.0
    return batch


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
    training, validation, serving_rows = split(load_records())
    serving = serving_log(serving_rows)
    training.to_csv(DATA / "training.csv", index=False)
    validation.to_csv(DATA / "validation.csv", index=False)
    serving.to_csv(DATA / "serving.csv", index=False)
    held_out = pd.concat([validation, serving_rows]).sort_values("sample_id")
    bad_day(held_out).to_csv(DATA / "serving_bad_day.csv", index=False)

    save(fit(training), "model")
    first_release = training[training["date_egg"] < "2009-01-01"]
    save(fit(first_release), "previous")

    subprocess.run(
        [sys.executable, "-m", "pytest", "--ml-score-freeze-schema", "-p", "no:cacheprovider"],
        cwd=ROOT,
        check=True,
    )
    for name, frame in [("training", training), ("validation", validation), ("serving", serving)]:
        print(f"{name}: {len(frame)} rows")


if __name__ == "__main__":
    main()
