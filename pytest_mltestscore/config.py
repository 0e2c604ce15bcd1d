"""``[tool.mltestscore]`` from pyproject.toml, validated once into frozen settings.

Every problem is a :class:`ConfigError` whose message names the file, the key and what was
expected (with a did-you-mean for typos); the plugin turns it into a pytest usage error.
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
    models: Mapping[str, Any] = field(default_factory=dict)
    datasets: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    schema_path: Path | None = None
    slices: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    training_fit: str | None = None
    training_seed: int = 0
    feature_modules: tuple[str, ...] = ()
    history: str | None = None
    push_url: str | None = None
    slos: tuple[Any, ...] = ()
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
_SLO_KEYS = [
    "metric",
    "min",
    "max",
    "window",
    "min_labels",
    "min_support",
    "step",
    "positive",
    "lookback",
    "predictions",
    "labels",
    "timezone",
]
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


@dataclass(frozen=True)
class SloSpec:
    """A service-level objective on a metric over time windows of joined predictions and labels."""

    slo: Any  # labels.SLO
    predictions: str
    labels: str
    timezone: str | None


def _slo(reader: TableReader, name: str) -> SloSpec:
    from .labels import DEFAULT_MIN_LABELS, DEFAULT_MIN_SUPPORT, SLO

    reader.check_keys(_SLO_KEYS)
    metric = reader.string("metric")
    if metric is None:
        raise ConfigError(f'{reader.where("metric")}: missing; e.g. metric = "recall"')
    try:
        slo = SLO(
            name=name,
            metric=metric,
            min=reader.number("min", -math.inf),
            max=reader.number("max", -math.inf),
            window=reader.string("window") or "30d",
            min_labels=reader.integer("min_labels", 1) or DEFAULT_MIN_LABELS,
            min_support=reader.integer("min_support", 1) or DEFAULT_MIN_SUPPORT,
            step=reader.string("step"),
            positive=reader.table.get("positive"),
            lookback=reader.string("lookback"),
        )
    except ValueError as exc:
        raise ConfigError(f"{reader.where('')[:-1].rstrip()}: {exc}") from None
    return SloSpec(
        slo,
        reader.string("predictions") or "predictions",
        reader.string("labels") or "labels",
        reader.string("timezone"),
    )


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

    from .assets import parse_datasets, parse_models
    from .builtin import DEFAULT_SCHEMA_FILE, parse_check_params

    models = parse_models(reader.sub("models"), root)
    datasets = parse_datasets(reader.sub("datasets"))
    checks = parse_check_params(reader.sub("checks"), rubric.normalize)
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
        checks=checks,
        schema_path=schema_path,
        slices=reader.strings("slices") or (),
        protected=reader.strings("protected") or (),
        training_fit=fit,
        training_seed=training.integer("seed", 0) or 0,
        feature_modules=reader.strings("feature_modules") or (),
        history=_history_target(reader, root),
        push_url=reader.string("push_url"),
        slos=tuple(_slo(sub, name) for name, sub in reader.sub("slo").tables().items()),
        table=table,
    )
    return settings, rubric
