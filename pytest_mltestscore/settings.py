"""``[tool.mltestscore]`` from pyproject.toml, read once into frozen settings.

A leaf: it imports nothing of this package but the rubric (attestation ids and the highest
possible score are rubric facts). Every problem is a :class:`ConfigError` whose message names the
file, the key and what was expected (with a did-you-mean for typos); the plugin turns it into a
pytest usage error. The tables of built-in checks (``checks.ID``, ``slo.NAME``) are kept as
:class:`TableReader` objects: the check registry validates them against the checks' declared
parameters once the settings are read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rubric import DEFAULT_RUBRIC, Rubric, suggest, tomllib

SECTION = "tool.mltestscore"


class ConfigError(ValueError):
    """Invalid configuration; the message is meant for the user as it is."""


@dataclass(frozen=True)
class Attestation:
    """A test done by hand, with where its results are written down."""

    item: str
    evidence: str
    date: dt.date
    by: str | None = None


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one session (CLI > pyproject > defaults)."""

    file: Path | None
    root: Path
    min_score: float | None = None
    rubric: str = DEFAULT_RUBRIC
    manual_max_age_days: int = 365
    manual: Mapping[str, Attestation] = field(default_factory=dict)
    models: Mapping[str, ModelSpec] = field(default_factory=dict)
    datasets: Mapping[str, DatasetSpec] = field(default_factory=dict)
    checks: TableReader | None = None  # [tool.mltestscore.checks], validated by the registry
    schema_path: Path | None = None
    slices: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    training_fit: str | None = None
    training_seed: int = 0
    feature_modules: tuple[str, ...] = ()
    history: str | None = None
    push_url: str | None = None
    slo: TableReader | None = None  # [tool.mltestscore.slo], validated by the registry
    table: Mapping[str, Any] = field(default_factory=dict)


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{value!r}"


class TableReader:
    """Type-checked access to one TOML table, producing messages that name file and key."""

    def __init__(self, file: Path | None, prefix: str, table: Mapping[str, Any]):
        self.file, self.prefix, self.table = file, prefix, table

    def where(self, key: str) -> str:
        name = str(self.file) if self.file else "pyproject.toml"
        return f"{name}: [{self.prefix}] {key}"

    def fail(self, key: str, expected: str, value: object) -> ConfigError:
        return ConfigError(f"{self.where(key)}: expected {expected}, got {_type_name(value)}")

    def check_keys(self, allowed: list[str]) -> None:
        for key in self.table:
            if key not in allowed:
                raise ConfigError(
                    f"{self.where(key)}: unknown key{suggest(key, allowed)} "
                    f"(valid keys: {', '.join(allowed)})"
                )

    def number(self, key: str, lo: float, hi: float | None = None) -> float | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if hi is not None:
            rng = f"from {lo:g} to {hi:g}"
        else:
            rng = f"of at least {lo:g}" if math.isfinite(lo) else "(finite)"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"a number {rng}", value)
        if not math.isfinite(value) or value < lo or (hi is not None and value > hi):
            raise self.fail(key, f"a number {rng}", value)
        return float(value)

    def integer(self, key: str, lo: int) -> int | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise self.fail(key, f"a whole number of at least {lo}", value)
        return value

    def string(self, key: str) -> str | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string", value)
        return value

    def boolean(self, key: str) -> bool | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def strings(self, key: str) -> tuple[str, ...] | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "an array of non-empty strings", value)
        return tuple(value)

    def when(self, key: str) -> dt.datetime | None:
        """A TOML date or datetime, as an aware UTC datetime (a date means midnight UTC)."""
        if key not in self.table:
            return None
        value = self.table[key]
        if isinstance(value, dt.datetime):
            return (
                value.astimezone(dt.timezone.utc)
                if value.tzinfo
                else value.replace(tzinfo=dt.timezone.utc)
            )
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
        hint = " (write it unquoted)" if isinstance(value, str) else ""
        raise self.fail(key, f"a TOML date or datetime such as 2026-10-01{hint}", value)

    def tables(self) -> dict[str, TableReader]:
        """Each entry of this table as a sub-table reader (``[x.NAME]`` entries)."""
        return {name: self.sub(name) for name in self.table}

    def sub(self, key: str) -> TableReader:
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        return TableReader(self.file, f"{self.prefix}.{key}", value)


MODEL_KEYS = [
    "load",
    "path",
    "trusted",
    "predict",
    "version",
    "created",
    "transform",
    "transform_path",
    "inputs",
]
DATASET_KEYS = [
    "path",
    "load",
    "format",
    "target",
    "prediction",
    "id",
    "timestamp",
    "features",
    "sample",
    "seed",
    "chunk_rows",
    "engine",
    "scheduler",
    "master",
    "kinds",
    "vocabulary_cap",
]
ENGINES = ("local", "dask", "spark")  # "local": the single-process streaming engine
COLUMN_KINDS = ("categorical", "text", "identifier")  # kinds a dataset's config may declare
FORMATS = ("csv", "parquet", "jsonl")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    key: str
    load: str | None = None
    path: Path | None = None
    trusted: bool = False
    predict: str | None = None
    version: str | None = None
    created: dt.datetime | None = None
    transform: str | None = None  # "pkg.module:callable": raw frame in, model inputs out
    transform_path: Path | None = None  # a fitted transformer file
    inputs: tuple[str, ...] | None = None  # the raw columns the transform reads

    @property
    def prepared(self) -> bool:
        """Whether the model's inputs are prepared by a transform kept apart from it."""
        return self.transform is not None or self.transform_path is not None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    key: str
    path: str | None = None
    load: str | None = None
    format: str | None = None
    target: str | None = None
    prediction: str | None = None
    id: str | None = None
    timestamp: str | None = None
    features: tuple[str, ...] | None = None
    sample: int | None = None
    seed: int = 0
    chunk_rows: int = 1_000_000
    engine: str = "local"
    scheduler: str | None = None
    master: str | None = None
    kinds: Mapping[str, str] = field(default_factory=dict)
    vocabulary_cap: int = 10_000

    @property
    def role_columns(self) -> tuple[str, ...]:
        """The non-feature columns this spec names (target, prediction, id, timestamp)."""
        return tuple(c for c in (self.id, self.timestamp, self.target, self.prediction) if c)


def _check_import_path(sub: TableReader, key: str, value: str | None) -> None:
    if value is not None and (
        value.count(":") != 1 or value.startswith(":") or value.endswith(":")
    ):
        raise sub.fail(key, "an import path 'package.module:callable'", value)


def parse_models(reader: TableReader, root: Path) -> dict[str, ModelSpec]:
    models = {}
    for name, sub in reader.tables().items():
        sub.check_keys(MODEL_KEYS)
        load, path = sub.string("load"), sub.string("path")
        if (load is None) == (path is None):
            raise ConfigError(
                f"{sub.where('load')}: give exactly one of 'load' (an import path such as "
                "'mypkg.model:build') or 'path' (a model file such as 'models/model.skops')"
            )
        _check_import_path(sub, "load", load)
        transform, transform_path = sub.string("transform"), sub.string("transform_path")
        if transform is not None and transform_path is not None:
            raise ConfigError(
                f"{sub.where('transform')}: give at most one of 'transform' (an import path of "
                "the serving preprocessing) or 'transform_path' (a fitted transformer file)"
            )
        _check_import_path(sub, "transform", transform)
        inputs = sub.strings("inputs")
        if inputs is not None and transform is None and transform_path is None:
            raise ConfigError(
                f"{sub.where('inputs')}: names the raw columns a transform reads; give "
                "'transform' or 'transform_path' too"
            )
        models[name] = ModelSpec(
            name=name,
            key=sub.prefix,
            load=load,
            path=None if path is None else root / path,
            trusted=bool(sub.boolean("trusted")),
            predict=sub.string("predict"),
            version=sub.string("version"),
            created=sub.when("created"),
            transform=transform,
            transform_path=None if transform_path is None else root / transform_path,
            inputs=inputs,
        )
    return models


def _kinds(sub: TableReader) -> dict[str, str]:
    """``kinds = { column = "text" }``: column kinds that override inference."""
    raw = sub.table.get("kinds", {})
    if not isinstance(raw, dict):
        raise sub.fail("kinds", 'a table such as { review = "text" }', raw)
    for column, kind in raw.items():
        if kind not in COLUMN_KINDS:
            raise ConfigError(
                f"{sub.where('kinds')}: column {column!r}: expected one of "
                f"{', '.join(COLUMN_KINDS)}, got {_type_name(kind)}"
            )
    return {str(k): str(v) for k, v in raw.items()}


def parse_datasets(reader: TableReader) -> dict[str, DatasetSpec]:
    datasets = {}
    for name, sub in reader.tables().items():
        sub.check_keys(DATASET_KEYS)
        path, load = sub.string("path"), sub.string("load")
        if (load is None) == (path is None):
            raise ConfigError(
                f"{sub.where('path')}: give exactly one of 'path' (a CSV, Parquet or JSON Lines "
                "file, or a glob of them) or 'load' (an import path returning a DataFrame)"
            )
        fmt = sub.string("format")
        if fmt is not None and fmt not in FORMATS:
            raise sub.fail("format", f"one of {', '.join(FORMATS)}", fmt)
        features = sub.strings("features")
        engine = sub.string("engine") or "local"
        if engine not in ENGINES:
            raise sub.fail("engine", f"one of {', '.join(ENGINES)}", engine)
        if engine in ("dask", "spark") and path is None:
            raise ConfigError(
                f"{sub.where('engine')}: the {engine} engine reads files: give a path"
            )
        scheduler = sub.string("scheduler")
        if scheduler is not None and engine != "dask":
            raise ConfigError(
                f"{sub.where('scheduler')}: only the dask engine takes a scheduler"
                + (" (Spark's is called master)" if engine == "spark" else "")
            )
        master = sub.string("master")
        if master is not None and engine != "spark":
            raise ConfigError(f"{sub.where('master')}: only the spark engine takes a master")
        spec = DatasetSpec(
            name=name,
            key=sub.prefix,
            path=path,
            load=load,
            format=fmt,
            target=sub.string("target"),
            prediction=sub.string("prediction"),
            id=sub.string("id"),
            timestamp=sub.string("timestamp"),
            features=features,
            sample=sub.integer("sample", 1),
            seed=sub.integer("seed", 0) or 0,
            chunk_rows=sub.integer("chunk_rows", 1000) or 1_000_000,
            engine=engine,
            scheduler=scheduler,
            master=master,
            kinds=_kinds(sub),
            vocabulary_cap=sub.integer("vocabulary_cap", 100) or 10_000,
        )
        overlap = set(features or ()) & set(spec.role_columns)
        if overlap:
            raise ConfigError(
                f"{sub.where('features')}: {', '.join(sorted(overlap))} is also named as target, "
                "prediction, id or timestamp"
            )
        datasets[name] = spec
    return datasets


CORE_KEYS = ["min_score", "rubric", "manual_max_age_days", "manual"]
ASSET_KEYS = [
    "models",
    "datasets",
    "checks",
    "schema",
    "slices",
    "protected",
    "training",
    "feature_modules",
]
_TRAINING_KEYS = ["fit", "seed"]
STATE_KEYS = ["history", "history_url", "push_url", "slo"]
DEFAULT_HISTORY = ".mltestscore/history.sqlite"
DEFAULT_SCHEMA_FILE = "mltestscore-schema.json"
_MANUAL_KEYS = ["evidence", "date", "by"]


def find_pyproject(rootpath: Path, inipath: Path | None) -> Path | None:
    """The pyproject.toml that holds our table: pytest's ini file if it is one, else rootdir's."""
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    candidate = rootpath / "pyproject.toml"
    return candidate if candidate.is_file() else None


def read_table(file: Path | None) -> dict[str, Any]:
    """The raw ``[tool.mltestscore]`` table of ``file`` ({} when absent)."""
    if file is None:
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    table = data.get("tool", {}).get("mltestscore", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [{SECTION}] must be a table, got {_type_name(table)}")
    return table


def _attestation(reader: TableReader, item: str, today: dt.date) -> Attestation:
    reader.check_keys(_MANUAL_KEYS)
    if "evidence" not in reader.table:
        raise ConfigError(
            f"{reader.where('evidence')}: missing; an attestation needs the link or path where "
            "the results are written down"
        )
    evidence = reader.string("evidence")
    assert evidence is not None
    if "date" not in reader.table:
        raise ConfigError(
            f"{reader.where('date')}: missing; an attestation needs the date the test was done, "
            "as a TOML date such as 2026-10-01"
        )
    raw_date = reader.table["date"]
    if isinstance(raw_date, dt.datetime):
        date = (raw_date.astimezone(dt.timezone.utc) if raw_date.tzinfo else raw_date).date()
    elif isinstance(raw_date, dt.date):
        date = raw_date
    else:
        hint = " (write it unquoted)" if isinstance(raw_date, str) else ""
        raise reader.fail("date", f"a TOML date such as 2026-10-01{hint}", raw_date)
    if date > today:
        raise ConfigError(f"{reader.where('date')}: {date} is in the future (today is {today} UTC)")
    by = reader.string("by")
    return Attestation(item=item, evidence=evidence, date=date, by=by)


def _history_target(reader: TableReader, root: Path) -> str | None:
    """Where run history goes: ``history_url``, else the ``history`` file (False: nowhere)."""
    url = reader.string("history_url")
    if url is not None:
        if not url.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise reader.fail("history_url", "a postgresql:// or sqlite:/// URL", url)
        return url
    raw = reader.table.get("history", DEFAULT_HISTORY)
    if raw is False:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise reader.fail("history", "a file path, or false to keep no history", raw)
    return str(root / raw)


def load_settings(
    file: Path | None,
    root: Path,
    *,
    today: dt.date,
    rubric_override: str | None = None,
    min_score_override: float | None = None,
    load_rubric: Callable[[str, Path], Rubric],
) -> tuple[Settings, Rubric]:
    """Read, validate and resolve the config; CLI values override the file's."""
    table = read_table(file)
    reader = TableReader(file, SECTION, table)
    reader.check_keys(CORE_KEYS + ASSET_KEYS + STATE_KEYS)

    rubric_name = rubric_override or reader.string("rubric") or DEFAULT_RUBRIC
    rubric_base = root if rubric_override is None else Path.cwd()
    rubric = load_rubric(rubric_name, rubric_base)

    min_score = reader.number("min_score", 0.0, rubric.max_score)
    if min_score_override is not None:
        min_score = min_score_override
    if min_score is not None and min_score > rubric.max_score:
        raise ConfigError(
            f"--ml-score-min={min_score:g}: the highest possible score of rubric {rubric.id!r} "
            f"is {rubric.max_score:g}"
        )
    max_age = reader.integer("manual_max_age_days", 1)

    manual_reader = reader.sub("manual")
    manual: dict[str, Attestation] = {}
    for raw_id, body in manual_reader.table.items():
        item = rubric.normalize(raw_id)
        if item is None:
            close = ", ".join(rubric.closest(raw_id))
            raise ConfigError(
                f"{manual_reader.where(raw_id)}: unknown rubric id {raw_id!r}; closest valid ids: "
                f"{close}"
            )
        if item in manual:
            raise ConfigError(f"{manual_reader.where(raw_id)}: a second attestation for {item}")
        if not isinstance(body, dict):
            raise manual_reader.fail(raw_id, "a table with evidence and date", body)
        manual[item] = _attestation(manual_reader.sub(raw_id), item, today)

    models = parse_models(reader.sub("models"), root)
    datasets = parse_datasets(reader.sub("datasets"))
    schema_path = root / (reader.string("schema") or DEFAULT_SCHEMA_FILE)
    training = reader.sub("training")
    training.check_keys(_TRAINING_KEYS)
    fit = training.string("fit")
    if fit is not None and fit.count(":") != 1:
        raise training.fail("fit", "an import path 'package.module:callable'", fit)

    settings = Settings(
        file=file,
        root=root,
        min_score=min_score,
        rubric=rubric_name,
        manual_max_age_days=365 if max_age is None else max_age,
        manual=manual,
        models=models,
        datasets=datasets,
        checks=reader.sub("checks"),
        schema_path=schema_path,
        slices=reader.strings("slices") or (),
        protected=reader.strings("protected") or (),
        training_fit=fit,
        training_seed=training.integer("seed", 0) or 0,
        feature_modules=reader.strings("feature_modules") or (),
        history=_history_target(reader, root),
        push_url=reader.string("push_url"),
        slo=reader.sub("slo"),
        table=table,
    )
    return settings, rubric
