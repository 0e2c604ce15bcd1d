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
import fnmatch
import math
import re
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
class MapRule:
    """``[tool.mltestscore.map]`` entry: tests whose node id matches ``pattern`` earn ``ids``."""

    pattern: str
    ids: tuple[str, ...]

    def matches(self, nodeid: str) -> bool:
        """A file glob matches the test's file; with ``::``, the pattern matches the node id
        (``file::test_name*``, ``file::Class``, ``file::Class::test*``), a class or a test
        standing for everything under it (parametrized cases included)."""
        path = nodeid.partition("::")[0]
        if "::" not in self.pattern:
            return fnmatch.fnmatchcase(path, self.pattern) or fnmatch.fnmatchcase(
                path, f"*/{self.pattern}"
            )
        base = nodeid.split("[", 1)[0]
        parts = base.split("::")
        for end in range(2, len(parts) + 1):
            prefix = "::".join(parts[:end])
            if fnmatch.fnmatchcase(prefix, self.pattern) or fnmatch.fnmatchcase(
                prefix, f"*/{self.pattern}"
            ):
                return True
        return False


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
    blocking: bool = False  # every failing built-in check fails the run, whatever the gate
    map: tuple[MapRule, ...] = ()  # node-id patterns -> rubric ids, for unmarked suites
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
    "optional",
    "transform",
    "transform_path",
    "inputs",
]
# A model behind an HTTP endpoint (pytest_mltestscore.endpoints): url + protocol, and the
# client's manners towards a production service.
ENDPOINT_KEYS = [
    "url",
    "protocol",
    "headers",
    "timeout",
    "batch_size",
    "max_requests_per_second",
    "retries",
    "verify",
    "features",
    "proba",
    "request_key",
    "response_key",
]
PROTOCOLS = ("mlflow", "kserve-v2", "json")
DATASET_KEYS = [
    "path",
    "load",
    "url",
    "query",
    "table",
    "window",
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
    "optional",
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
    optional: bool = False  # may be absent: its checks are then not judged, with the reason
    endpoint: EndpointSpec | None = None  # a model called where it is deployed (url = ...)
    transform: str | None = None  # "pkg.module:callable": raw frame in, model inputs out
    transform_path: Path | None = None  # a fitted transformer file
    inputs: tuple[str, ...] | None = None  # the raw columns the transform reads

    @property
    def prepared(self) -> bool:
        """Whether the model's inputs are prepared by a transform kept apart from it."""
        return self.transform is not None or self.transform_path is not None


@dataclass(frozen=True)
class EndpointSpec:
    """How to call a deployed model: ``[tool.mltestscore.models.NAME] url = ...``.

    ``url`` and ``headers`` may hold ``${VAR}``: read from the environment when the model is
    first called, never stored expanded, never printed.
    """

    url: str
    protocol: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    batch_size: int = 100
    max_requests_per_second: float = 10.0
    retries: int = 3
    verify: bool | str = True
    features: tuple[str, ...] | None = None
    proba: str | None = None
    request_key: str = "instances"
    response_key: str = "predictions"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    key: str
    path: str | None = None
    load: str | None = None
    url: str | None = None  # a SQLAlchemy URL; ${VAR} read from the environment
    query: str | None = None
    table: str | None = None
    window: dt.timedelta | None = None
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
    optional: bool = False  # may be absent (serving data not yet arrived): checks not judged
    kinds: Mapping[str, str] = field(default_factory=dict)
    vocabulary_cap: int = 10_000

    @property
    def role_columns(self) -> tuple[str, ...]:
        """The non-feature columns this spec names (target, prediction, id, timestamp)."""
        return tuple(c for c in (self.id, self.timestamp, self.target, self.prediction) if c)


_WINDOW = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_window(text: str | dt.timedelta, what: str = "window") -> dt.timedelta:
    """Parse ``"30d"``, ``"7d"``, ``"12h"``, ``"90m"``, ``"2w"`` or ``"45s"`` to a timedelta."""
    if isinstance(text, dt.timedelta):
        delta = text
    else:
        match = _WINDOW.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"{what} {text!r}: expected a whole number followed by s, m, h, d or w"
                " (seconds, minutes, hours, days, weeks), e.g. '30d' or '1h'"
            )
        delta = dt.timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
    if delta <= dt.timedelta(0):
        raise ValueError(f"{what} {text!r}: must be longer than zero")
    return delta


def _endpoint(sub: TableReader, url: str) -> EndpointSpec:
    """The endpoint keys of a model table that gives ``url``."""
    protocol = sub.string("protocol")
    if protocol is None:
        raise ConfigError(
            f"{sub.where('protocol')}: missing; a model given by url needs its protocol: "
            f"one of {', '.join(PROTOCOLS)}"
        )
    if protocol not in PROTOCOLS:
        raise ConfigError(
            f"{sub.where('protocol')}: unknown protocol {protocol!r}"
            f"{suggest(protocol, list(PROTOCOLS))} (known: {', '.join(PROTOCOLS)})"
        )
    from_env = url.startswith("${")  # checked once expanded, when the model is called
    if not from_env and not url.startswith(("http://", "https://")):
        raise sub.fail("url", "an http:// or https:// URL", url)
    if protocol == "kserve-v2" and not from_env and "/v2/models/" not in url:
        raise sub.fail(
            "url", "the model's Open Inference Protocol URL, http://host:port/v2/models/NAME", url
        )
    raw_headers = sub.table.get("headers", {})
    if not isinstance(raw_headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_headers.items()
    ):
        raise sub.fail(
            "headers", 'a table of strings, e.g. { Authorization = "Bearer ${TOKEN}" }', raw_headers
        )
    verify: bool | str = True
    if "verify" in sub.table:
        raw = sub.table["verify"]
        if not isinstance(raw, (bool, str)) or (isinstance(raw, str) and not raw.strip()):
            raise sub.fail("verify", "true, false or the path of a CA bundle", raw)
        verify = raw
    proba = sub.string("proba")
    if proba is not None and protocol == "mlflow":
        raise ConfigError(
            f"{sub.where('proba')}: the mlflow protocol returns one output per row (what the "
            "model's pyfunc predicts); probabilities need kserve-v2 or json"
        )
    for key in ("request_key", "response_key"):
        if key in sub.table and protocol != "json":
            raise ConfigError(f"{sub.where(key)}: only the json protocol takes {key}")
    timeout = sub.number("timeout", 0.001)
    rate = sub.number("max_requests_per_second", 0.001)
    return EndpointSpec(
        url=url,
        protocol=protocol,
        headers=dict(raw_headers),
        timeout=10.0 if timeout is None else timeout,
        batch_size=sub.integer("batch_size", 1) or 100,
        max_requests_per_second=10.0 if rate is None else rate,
        retries=3 if "retries" not in sub.table else (sub.integer("retries", 0) or 0),
        verify=verify,
        features=sub.strings("features"),
        proba=proba,
        request_key=sub.string("request_key") or "instances",
        response_key=sub.string("response_key") or "predictions",
    )


def _check_import_path(sub: TableReader, key: str, value: str | None) -> None:
    if value is not None and (
        value.count(":") != 1 or value.startswith(":") or value.endswith(":")
    ):
        raise sub.fail(key, "an import path 'package.module:callable'", value)


def parse_models(reader: TableReader, root: Path) -> dict[str, ModelSpec]:
    models = {}
    for name, sub in reader.tables().items():
        sub.check_keys(MODEL_KEYS + ENDPOINT_KEYS)
        load, path, url = sub.string("load"), sub.string("path"), sub.string("url")
        if sum(v is not None for v in (load, path, url)) != 1:
            raise ConfigError(
                f"{sub.where('load')}: give exactly one of 'load' (an import path such as "
                "'mypkg.model:build'), 'path' (a model file such as 'models/model.skops') or "
                "'url' (a deployed model, with its protocol)"
            )
        endpoint = None
        if url is not None:
            endpoint = _endpoint(sub, url)
        else:
            extra = [k for k in ENDPOINT_KEYS if k in sub.table]
            if extra:
                raise ConfigError(
                    f"{sub.where(extra[0])}: only a model given by url (a deployed model) "
                    f"takes {extra[0]}"
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
            optional=bool(sub.boolean("optional")),
            endpoint=endpoint,
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
        path, load, url = sub.string("path"), sub.string("load"), sub.string("url")
        if sum(v is not None for v in (path, load, url)) != 1:
            raise ConfigError(
                f"{sub.where('path')}: give exactly one of 'path' (a CSV, Parquet or JSON Lines "
                "file, or a glob of them), 'load' (an import path returning a DataFrame) or "
                "'url' (a database, with a query or a table)"
            )
        query, table, window = _sql_source(sub, url)
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
            url=url,
            query=query,
            table=table,
            window=window,
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
            optional=bool(sub.boolean("optional")),
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


def _sql_source(
    sub: TableReader, url: str | None
) -> tuple[str | None, str | None, dt.timedelta | None]:
    """``query`` or ``table`` and the optional ``window`` of a dataset read from a database."""
    query, table = sub.string("query"), sub.string("table")
    if url is None:
        for key in ("query", "table", "window"):
            if key in sub.table:
                raise ConfigError(
                    f"{sub.where(key)}: only a dataset read from a database (url = ...) takes {key}"
                )
        return None, None, None
    if "://" not in url:
        raise sub.fail("url", "a SQLAlchemy URL such as 'postgresql://user@host/db'", url)
    if (query is None) == (table is None):
        raise ConfigError(
            f"{sub.where('query')}: a dataset read from a database needs exactly one of "
            "'query' (a SELECT) or 'table' (a table name)"
        )
    window = None
    if "window" in sub.table:
        raw = sub.table["window"]
        try:
            window = parse_window(raw if isinstance(raw, str) else str(raw))
        except ValueError:
            raise sub.fail("window", "a duration such as '1d', '12h' or '7d'", raw) from None
        if sub.string("timestamp") is None:
            raise ConfigError(
                f"{sub.where('window')}: a window needs the timestamp column it applies to "
                "(timestamp = ...)"
            )
    return query, table, window


CORE_KEYS = ["min_score", "rubric", "manual_max_age_days", "manual", "map", "blocking"]
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


def push_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a Pushgateway address, or None when it can."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected an http:// or https:// URL with a host, such as http://pushgateway:9091"
    return None


def _push_url(reader: TableReader) -> str | None:
    url = reader.string("push_url")
    if url is not None and (problem := push_url_problem(url)) is not None:
        raise ConfigError(f"{reader.where('push_url')}: {problem}, got {url!r}")
    return url


def _map(reader: TableReader, rubric: Rubric) -> tuple[MapRule, ...]:
    """``[tool.mltestscore.map]``: ``"pattern" = "id"`` or ``["id", ...]``."""
    rules = []
    for pattern, value in reader.table.items():
        ids = [value] if isinstance(value, str) else value
        if not pattern.strip() or not isinstance(ids, list) or not ids:
            raise reader.fail(pattern, "a rubric id or a non-empty array of rubric ids", value)
        normalized: list[str] = []
        for raw in ids:
            item = rubric.normalize(raw) if isinstance(raw, str) else None
            if item is None:
                close = ", ".join(rubric.closest(raw))
                raise ConfigError(
                    f"{reader.where(pattern)}: unknown rubric id {raw!r}; closest valid ids: "
                    f"{close}"
                )
            if item not in normalized:
                normalized.append(item)
        rules.append(MapRule(pattern.strip(), tuple(normalized)))
    return tuple(rules)


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
    try:
        rubric = load_rubric(rubric_name, rubric_base)
    except ValueError as exc:  # a RubricError: name where the rubric was asked for
        if rubric_override is not None:
            raise ConfigError(f"--ml-score-rubric={rubric_override}: {exc}") from None
        if "rubric" in table:
            raise ConfigError(f"{reader.where('rubric')} = {rubric_name!r}: {exc}") from None
        raise

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
        push_url=_push_url(reader),
        blocking=bool(reader.boolean("blocking")),
        map=_map(reader.sub("map"), rubric),
        slo=reader.sub("slo"),
        table=table,
    )
    return settings, rubric
