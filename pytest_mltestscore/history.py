"""Run history: each scored run appended to a store, read back for trends and regressions.

A store holds, per run: when it ran (UTC), the git commit and branch, the plugin version, the
rubric, the final score and band, each section score and item status, every recorded metric
(name, value, labels) and profiles of datasets (JSON). Two backends share one schema:

- SQLite (the default; a plain path, or ``sqlite:///relative.db`` / ``sqlite:////abs/path.db``
  as in SQLAlchemy): WAL mode, a busy timeout, and one transaction per appended run, so that
  concurrent writers lose nothing and a writer killed mid-write leaves only complete runs.
- PostgreSQL (``postgresql://user:password@host:port/db``, extra ``postgres``, psycopg 3) for CI
  running on many machines. Tables are prefixed ``mlts_``; pick another schema with
  ``?options=-csearch_path%3Dmyschema`` in the URL.

The schema is versioned (table ``mlts_schema_version``) and migrated forward, in one
transaction, when a store is opened. Failures raise :class:`HistoryError` naming the file or URL
(with the password hidden) and what happened; nothing already stored is modified.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import math
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pytest_mltestscore import __version__, clock

SCHEMA_VERSION = 3
POSTGRES_INSTALL_HINT = "pip install pytest-mltestscore[postgres]"
DEFAULT_TIMEOUT = 30.0

__all__ = [
    "POSTGRES_INSTALL_HINT",
    "SCHEMA_VERSION",
    "GitInfo",
    "HistoryError",
    "HistoryStore",
    "ItemChange",
    "ItemRecord",
    "MetricRecord",
    "PostgresHistoryStore",
    "ProfileRecord",
    "RunRecord",
    "RunSummary",
    "SQLiteHistoryStore",
    "SectionRecord",
    "SeriesPoint",
    "StoredRun",
    "git_info",
    "open_store",
]


class HistoryError(Exception):
    """The history store could not be opened, read or written (locked, corrupt, unreachable)."""


# --------------------------------------------------------------------------------------------
# Records


def _finite(value: object, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what}: expected a finite number, got {number!r}")
    return number


def _optional_finite(value: object, what: str) -> float | None:
    return None if value is None else _finite(value, what)


def _to_utc(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{what}: expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: expected a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(dt.timezone.utc)


def canonical_labels(labels: Mapping[str, object] | None) -> dict[str, str]:
    """Labels as a dict of strings sorted by key (``{"model": 1}`` and ``{"model": "1"}`` match)."""
    if not labels:
        return {}
    out: dict[str, str] = {}
    for key in sorted(labels):
        if not isinstance(key, str) or not key:
            raise ValueError(f"metric label names must be non-empty strings, got {key!r}")
        value = labels[key]
        if value is None:
            raise ValueError(f"metric label {key!r} has no value (None)")
        out[key] = value if isinstance(value, str) else str(value)
    return out


def labels_json(labels: Mapping[str, object] | None) -> str:
    """Canonical JSON of a label set: sorted keys, string values, no spaces."""
    return json.dumps(canonical_labels(labels), sort_keys=True, separators=(",", ":"))


def _json_default(value: object) -> object:
    """Let numpy scalars and arrays through ``json.dumps`` (profiles are often built with numpy)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class SectionRecord:
    """One section's score in a run."""

    id: str
    score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "score", _finite(self.score, f"section {self.id!r} score"))


@dataclass(frozen=True)
class ItemRecord:
    """One rubric item's status and points in a run."""

    id: str
    section: str
    status: str
    points: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _finite(self.points, f"item {self.id!r} points"))


@dataclass(frozen=True)
class MetricRecord:
    """A measured value recorded in a run, e.g. ``latency_p95`` with labels ``{model: default}``."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"metric names must be non-empty strings, got {self.name!r}")
        object.__setattr__(self, "value", _finite(self.value, f"metric {self.name!r}"))
        object.__setattr__(self, "labels", canonical_labels(self.labels))

    @property
    def labels_json(self) -> str:
        return labels_json(self.labels)


@dataclass(frozen=True)
class ProfileRecord:
    """A JSON-safe profile of a dataset (column statistics) stored with a run."""

    dataset: str
    profile: Mapping[str, Any]

    def to_json(self) -> str:
        try:
            return json.dumps(self.profile, sort_keys=True, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"profile of dataset {self.dataset!r} is not JSON-safe: {exc}"
            ) from None


@dataclass(frozen=True)
class GitInfo:
    """The commit and branch a run was made from, when known."""

    commit: str | None = None
    branch: str | None = None


def _unique(values: Sequence[object], what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r} in one run")
        seen.add(value)


@dataclass(frozen=True)
class RunRecord:
    """Everything one run appends to the history (written in one transaction)."""

    rubric: str
    score: float | None
    band: str | None = None
    min_score: float | None = None
    passed: bool | None = None
    sections: Sequence[SectionRecord] = ()
    items: Sequence[ItemRecord] = ()
    metrics: Sequence[MetricRecord] = ()
    profiles: Sequence[ProfileRecord] = ()
    created: dt.datetime = field(default_factory=clock.now)
    git_commit: str | None = None
    git_branch: str | None = None
    plugin_version: str = __version__

    def __post_init__(self) -> None:
        object.__setattr__(self, "score", _optional_finite(self.score, "score"))
        object.__setattr__(self, "min_score", _optional_finite(self.min_score, "min_score"))
        object.__setattr__(self, "created", _to_utc(self.created, "created"))
        if self.passed is not None:
            object.__setattr__(self, "passed", bool(self.passed))
        for name in ("sections", "items", "metrics", "profiles"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _unique([s.id for s in self.sections], "section")
        _unique([i.id for i in self.items], "item")
        _unique([(m.name, m.labels_json) for m in self.metrics], "metric (name, labels)")
        _unique([p.dataset for p in self.profiles], "profile of dataset")

    @classmethod
    def from_report(
        cls,
        report: Mapping[str, Any],
        *,
        metrics: Sequence[MetricRecord] = (),
        profiles: Sequence[ProfileRecord] = (),
        git: GitInfo | None = None,
    ) -> RunRecord:
        """Build a record from the JSON report dict (schema_version 1) plus metrics/profiles."""
        created_text = report.get("created")
        created = _parse_time(created_text) if created_text else clock.now()
        sections: list[SectionRecord] = []
        items: list[ItemRecord] = []
        for section in report.get("sections", ()):
            sections.append(SectionRecord(str(section["id"]), section["score"]))
            for item in section.get("items", ()):
                items.append(
                    ItemRecord(str(item["id"]), str(section["id"]), item["status"], item["points"])
                )
        git = git if git is not None else GitInfo()
        return cls(
            rubric=str(report.get("rubric", "")),
            score=report.get("score"),
            band=report.get("band"),
            min_score=report.get("min_score"),
            passed=report.get("passed"),
            sections=sections,
            items=items,
            metrics=metrics,
            profiles=profiles,
            created=created,
            git_commit=git.commit,
            git_branch=git.branch,
            plugin_version=str(report.get("plugin_version") or __version__),
        )


@dataclass(frozen=True)
class RunSummary:
    """One stored run without its sections, items, metrics and profiles."""

    id: int
    created: dt.datetime
    rubric: str
    score: float | None
    band: str | None
    min_score: float | None
    passed: bool | None
    git_commit: str | None
    git_branch: str | None
    plugin_version: str


@dataclass(frozen=True)
class StoredRun:
    """A stored run read back in full: its id and the record that was appended."""

    id: int
    record: RunRecord


class SeriesPoint(NamedTuple):
    """One value of a series read from the history, oldest first in every series."""

    run_id: int
    created: dt.datetime
    value: float


@dataclass(frozen=True)
class ItemChange:
    """An item's status in the previous run against this run (None: absent there)."""

    item: str
    previous: str | None
    current: str | None

    @property
    def changed(self) -> bool:
        return self.previous != self.current


# --------------------------------------------------------------------------------------------
# Git


_CI_BRANCH_VARS = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME")
_CI_COMMIT_VARS = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT")


def _git(args: Sequence[str], cwd: str | os.PathLike[str] | None, timeout: float) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def git_info(cwd: str | os.PathLike[str] | None = None, *, timeout: float = 5.0) -> GitInfo:
    """Ask git for HEAD's commit and branch; CI variables fill a detached HEAD; never raises."""
    commit = _git(["rev-parse", "HEAD"], cwd, timeout)
    branch = _git(["symbolic-ref", "--short", "-q", "HEAD"], cwd, timeout)
    if commit is None:
        commit = next((os.environ[v] for v in _CI_COMMIT_VARS if os.environ.get(v)), None)
    if branch is None:
        branch = next((os.environ[v] for v in _CI_BRANCH_VARS if os.environ.get(v)), None)
    return GitInfo(commit=commit, branch=branch)


# --------------------------------------------------------------------------------------------
# Schema and migrations

# Per-dialect column types substituted into the DDL below.
_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "fk": "INTEGER",
        "ts": "TEXT",
        "real": "REAL",
        "bool": "INTEGER",
    },
    "postgres": {
        "pk": "BIGSERIAL PRIMARY KEY",
        "fk": "BIGINT",
        "ts": "TIMESTAMPTZ",
        "real": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
    },
}

# Ordered migrations: (version, what it does, DDL statements). Never edit a released one; add.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "runs, section scores, item statuses, metrics",
        (
            "CREATE TABLE mlts_runs (id {pk}, created {ts} NOT NULL, git_commit TEXT,"
            " git_branch TEXT, plugin_version TEXT NOT NULL, rubric TEXT NOT NULL,"
            " score {real}, band TEXT, min_score {real}, passed {bool})",
            "CREATE TABLE mlts_sections (run_id {fk} NOT NULL REFERENCES mlts_runs (id)"
            " ON DELETE CASCADE, section TEXT NOT NULL, score {real} NOT NULL,"
            " PRIMARY KEY (run_id, section))",
            "CREATE TABLE mlts_items (run_id {fk} NOT NULL REFERENCES mlts_runs (id)"
            " ON DELETE CASCADE, item TEXT NOT NULL, section TEXT NOT NULL,"
            " status TEXT NOT NULL, points {real} NOT NULL, PRIMARY KEY (run_id, item))",
            "CREATE TABLE mlts_metrics (run_id {fk} NOT NULL REFERENCES mlts_runs (id)"
            " ON DELETE CASCADE, name TEXT NOT NULL, value {real} NOT NULL,"
            " PRIMARY KEY (run_id, name))",
        ),
    ),
    (
        2,
        "metric labels (canonical JSON), series index",
        (
            "CREATE TABLE mlts_metrics_v2 (run_id {fk} NOT NULL REFERENCES mlts_runs (id)"
            " ON DELETE CASCADE, name TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{{}}',"
            " value {real} NOT NULL, PRIMARY KEY (run_id, name, labels))",
            "INSERT INTO mlts_metrics_v2 (run_id, name, labels, value)"
            " SELECT run_id, name, '{{}}', value FROM mlts_metrics",
            "DROP TABLE mlts_metrics",
            "ALTER TABLE mlts_metrics_v2 RENAME TO mlts_metrics",
            "CREATE INDEX mlts_metrics_series ON mlts_metrics (name, labels, run_id)",
        ),
    ),
    (
        3,
        "dataset profiles; rubric order of sections and items",
        (
            "ALTER TABLE mlts_sections ADD COLUMN position INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE mlts_items ADD COLUMN position INTEGER NOT NULL DEFAULT 0",
            "CREATE TABLE mlts_profiles (run_id {fk} NOT NULL REFERENCES mlts_runs (id)"
            " ON DELETE CASCADE, dataset TEXT NOT NULL, profile TEXT NOT NULL,"
            " PRIMARY KEY (run_id, dataset))",
            "CREATE INDEX mlts_profiles_dataset ON mlts_profiles (dataset, run_id)",
        ),
    ),
)
assert MIGRATIONS[-1][0] == SCHEMA_VERSION

_VERSION_TABLE = (
    "CREATE TABLE mlts_schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
    " applied {ts} NOT NULL)"
)


def migration_statements(dialect: str, from_version: int, to_version: int) -> list[str]:
    """The DDL taking a store from one schema version to another, for a dialect."""
    types = _TYPES[dialect]
    out: list[str] = []
    for version, _, statements in MIGRATIONS:
        if from_version < version <= to_version:
            out.extend(s.format(**types) for s in statements)
    return out


_RUN_COLUMNS = (
    "id, created, rubric, score, band, min_score, passed, git_commit, git_branch, plugin_version"
)


def _parse_time(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


# --------------------------------------------------------------------------------------------
# The interface


class HistoryStore(abc.ABC):
    """Backend-neutral run history. Reads return runs in append order (by run id).

    ``location`` names the file or URL (password hidden) in every message.
    """

    location: str

    @abc.abstractmethod
    def append_run(self, record: RunRecord) -> int:
        """Store a run with its sections, items, metrics and profiles atomically; its id."""

    @abc.abstractmethod
    def runs(self, limit: int | None = 20) -> list[RunSummary]:
        """The most recent runs, newest first (``limit=None``: all)."""

    @abc.abstractmethod
    def load_run(self, run_id: int) -> StoredRun:
        """One run in full; HistoryError when there is no such run."""

    @abc.abstractmethod
    def run_items(self, run_id: int) -> list[ItemRecord]:
        """The item statuses and points of one run, in rubric order."""

    @abc.abstractmethod
    def metric_series(
        self,
        name: str,
        labels: Mapping[str, object] | None = None,
        limit: int | None = 20,
        *,
        before: int | None = None,
    ) -> list[SeriesPoint]:
        """The last ``limit`` values of one metric with exactly these labels, oldest first."""

    @abc.abstractmethod
    def profile_series(
        self, dataset: str, limit: int | None = 5, *, before: int | None = None
    ) -> list[tuple[int, dt.datetime, dict[str, Any]]]:
        """The last ``limit`` stored profiles of a dataset, oldest first."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""

    # Derived queries, the same for every backend.

    def previous_run(self, *, before: int | None = None) -> RunSummary | None:
        """The latest stored run (with an id below ``before`` when given), or None."""
        if before is None:
            latest = self.runs(limit=1)
            return latest[0] if latest else None
        return self._latest_before(before)

    @abc.abstractmethod
    def _latest_before(self, before: int) -> RunSummary | None: ...

    def item_changes(
        self, current: Mapping[str, str], *, before: int | None = None
    ) -> list[ItemChange]:
        """Each item's status in the previous run against ``current`` (item id -> status).

        Items keep the order of ``current``; items only in the previous run come last. Without
        a previous run every ``previous`` is None.
        """
        prev = self.previous_run(before=before)
        old: dict[str, str] = {}
        if prev is not None:
            old = {i.id: i.status for i in self.run_items(prev.id)}
        changes = [ItemChange(item, old.get(item), status) for item, status in current.items()]
        changes.extend(
            ItemChange(item, status, None) for item, status in old.items() if item not in current
        )
        return changes

    def score_trend(self, limit: int | None = 10) -> list[SeriesPoint]:
        """Final scores of the last ``limit`` runs that have one, oldest first."""
        points = [
            SeriesPoint(r.id, r.created, r.score) for r in self.runs(limit) if r.score is not None
        ]
        return points[::-1]

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# The shared SQL implementation


class _SQLHistoryStore(HistoryStore):
    """The queries both SQL backends share; subclasses supply connection and dialect details."""

    dialect: str
    _conn: Any

    # ---- hooks
    @abc.abstractmethod
    def _translate(self, exc: Exception, action: str) -> HistoryError | None:
        """A HistoryError for a driver error, or None to let it propagate."""

    @abc.abstractmethod
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A write transaction yielding a cursor; rolled back on any exception."""

    @abc.abstractmethod
    def _insert_run(self, cur: Any, values: tuple[Any, ...]) -> int: ...

    @abc.abstractmethod
    def _to_db_time(self, value: dt.datetime) -> Any: ...

    # ---- helpers
    def _sql(self, text: str) -> str:
        return text

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except HistoryError:
            raise
        except Exception as exc:
            translated = self._translate(exc, action)
            if translated is None:
                raise
            raise translated from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def _summary(self, row: Sequence[Any]) -> RunSummary:
        rid, created, rubric, score, band, min_score, passed, commit, branch, version = row
        return RunSummary(
            id=int(rid),
            created=_parse_time(created),
            rubric=rubric,
            score=None if score is None else float(score),
            band=band,
            min_score=None if min_score is None else float(min_score),
            passed=None if passed is None else bool(passed),
            git_commit=commit,
            git_branch=branch,
            plugin_version=version,
        )

    @staticmethod
    def _limit(limit: int | None) -> int:
        if limit is None:
            return -1
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
        return limit

    def _limit_clause(self, limit: int | None) -> str:
        n = self._limit(limit)
        return "" if n < 0 else f" LIMIT {n}"

    # ---- schema
    def _current_version(self, cur: Any) -> int | None:
        """The schema version, or None when the store has no tables of ours yet."""
        if not self._has_table(cur, "mlts_schema_version"):
            if self._has_table(cur, "mlts_runs"):
                raise HistoryError(
                    f"history store {self.location}: tables found but no mlts_schema_version;"
                    " not a store this plugin created, refusing to modify it"
                )
            return None
        cur.execute("SELECT MAX(version) FROM mlts_schema_version")
        row = cur.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    @abc.abstractmethod
    def _has_table(self, cur: Any, name: str) -> bool: ...

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """Serialize concurrent migrations (SQLite's BEGIN IMMEDIATE already does)."""
        yield

    def _migrate(self) -> None:
        with self._errors("read the schema version"):
            cur = self._conn.cursor()
            try:
                version = self._current_version(cur)
            finally:
                cur.close()
        if version == SCHEMA_VERSION:
            return
        self._check_not_newer(version)
        with (
            self._errors("migrate the schema"),
            self._migration_lock(),
            self._transaction() as cur,
        ):
            version = self._current_version(cur)  # another process may have migrated meanwhile
            self._check_not_newer(version)
            if version == SCHEMA_VERSION:
                return
            if version is None:
                self._before_create(cur)
                cur.execute(_VERSION_TABLE.format(**_TYPES[self.dialect]))
                version = 0
            for statement in migration_statements(self.dialect, version, SCHEMA_VERSION):
                cur.execute(statement)
            now = self._to_db_time(clock.now())
            for number, description, _ in MIGRATIONS:
                if number > version:
                    cur.execute(
                        self._sql(
                            "INSERT INTO mlts_schema_version (version, description, applied)"
                            " VALUES (?, ?, ?)"
                        ),
                        (number, description, now),
                    )

    def _before_create(self, cur: Any) -> None:
        """Called before creating the schema in a store that has none."""

    def _check_not_newer(self, version: int | None) -> None:
        if version is not None and version > SCHEMA_VERSION:
            raise HistoryError(
                f"history store {self.location}: schema version {version} is newer than this"
                f" pytest-mltestscore ({__version__}) supports ({SCHEMA_VERSION}); upgrade the"
                " plugin, the store was left untouched"
            )

    def schema_version(self) -> int:
        """The store's schema version (after migration, :data:`SCHEMA_VERSION`)."""
        with self._errors("read the schema version"):
            cur = self._conn.cursor()
            try:
                return self._current_version(cur) or 0
            finally:
                cur.close()

    # ---- writes
    def append_run(self, record: RunRecord) -> int:
        if not isinstance(record, RunRecord):
            raise TypeError(f"append_run expects a RunRecord, got {type(record).__name__}")
        profiles = [(p.dataset, p.to_json()) for p in record.profiles]  # fail before writing
        with self._errors("append a run"), self._transaction() as cur:
            run_id = self._insert_run(
                cur,
                (
                    self._to_db_time(record.created),
                    record.git_commit,
                    record.git_branch,
                    record.plugin_version,
                    record.rubric,
                    record.score,
                    record.band,
                    record.min_score,
                    record.passed,
                ),
            )
            if record.sections:
                cur.executemany(
                    self._sql(
                        "INSERT INTO mlts_sections (run_id, section, score, position)"
                        " VALUES (?, ?, ?, ?)"
                    ),
                    [(run_id, s.id, s.score, n) for n, s in enumerate(record.sections)],
                )
            if record.items:
                cur.executemany(
                    self._sql(
                        "INSERT INTO mlts_items (run_id, item, section, status, points, position)"
                        " VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    [
                        (run_id, i.id, i.section, i.status, i.points, n)
                        for n, i in enumerate(record.items)
                    ],
                )
            if record.metrics:
                cur.executemany(
                    self._sql(
                        "INSERT INTO mlts_metrics (run_id, name, labels, value) VALUES (?, ?, ?, ?)"
                    ),
                    [(run_id, m.name, m.labels_json, m.value) for m in record.metrics],
                )
            if profiles:
                cur.executemany(
                    self._sql(
                        "INSERT INTO mlts_profiles (run_id, dataset, profile) VALUES (?, ?, ?)"
                    ),
                    [(run_id, dataset, text) for dataset, text in profiles],
                )
        return run_id

    # ---- reads
    def runs(self, limit: int | None = 20) -> list[RunSummary]:
        sql = f"SELECT {_RUN_COLUMNS} FROM mlts_runs ORDER BY id DESC{self._limit_clause(limit)}"
        with self._errors("read runs"):
            return [self._summary(row) for row in self._query(sql)]

    def _latest_before(self, before: int) -> RunSummary | None:
        sql = f"SELECT {_RUN_COLUMNS} FROM mlts_runs WHERE id < ? ORDER BY id DESC LIMIT 1"
        with self._errors("read the previous run"):
            rows = self._query(sql, (int(before),))
        return self._summary(rows[0]) if rows else None

    def load_run(self, run_id: int) -> StoredRun:
        with self._errors(f"read run {run_id}"):
            rows = self._query(f"SELECT {_RUN_COLUMNS} FROM mlts_runs WHERE id = ?", (run_id,))
            if not rows:
                raise HistoryError(f"history store {self.location}: no run with id {run_id}")
            summary = self._summary(rows[0])
            sections = self._query(
                "SELECT section, score FROM mlts_sections WHERE run_id = ?"
                " ORDER BY position, section",
                (run_id,),
            )
            items = self._query(
                "SELECT item, section, status, points FROM mlts_items WHERE run_id = ?"
                " ORDER BY position, item",
                (run_id,),
            )
            metrics = self._query(
                "SELECT name, labels, value FROM mlts_metrics WHERE run_id = ?"
                " ORDER BY name, labels",
                (run_id,),
            )
            profiles = self._query(
                "SELECT dataset, profile FROM mlts_profiles WHERE run_id = ? ORDER BY dataset",
                (run_id,),
            )
        record = RunRecord(
            rubric=summary.rubric,
            score=summary.score,
            band=summary.band,
            min_score=summary.min_score,
            passed=summary.passed,
            sections=[SectionRecord(s, float(v)) for s, v in sections],
            items=[ItemRecord(i, s, st, float(p)) for i, s, st, p in items],
            metrics=[MetricRecord(n, float(v), json.loads(lab)) for n, lab, v in metrics],
            profiles=[ProfileRecord(d, json.loads(p)) for d, p in profiles],
            created=summary.created,
            git_commit=summary.git_commit,
            git_branch=summary.git_branch,
            plugin_version=summary.plugin_version,
        )
        return StoredRun(summary.id, record)

    def run_items(self, run_id: int) -> list[ItemRecord]:
        with self._errors(f"read the items of run {run_id}"):
            rows = self._query(
                "SELECT item, section, status, points FROM mlts_items WHERE run_id = ?"
                " ORDER BY position, item",
                (run_id,),
            )
        return [ItemRecord(i, s, st, float(p)) for i, s, st, p in rows]

    def metric_series(
        self,
        name: str,
        labels: Mapping[str, object] | None = None,
        limit: int | None = 20,
        *,
        before: int | None = None,
    ) -> list[SeriesPoint]:
        where = "m.name = ? AND m.labels = ?"
        params: list[Any] = [name, labels_json(labels)]
        if before is not None:
            where += " AND m.run_id < ?"
            params.append(int(before))
        sql = (
            "SELECT m.run_id, r.created, m.value FROM mlts_metrics m"
            f" JOIN mlts_runs r ON r.id = m.run_id WHERE {where}"
            f" ORDER BY m.run_id DESC{self._limit_clause(limit)}"
        )
        with self._errors(f"read metric {name!r}"):
            rows = self._query(sql, params)
        return [SeriesPoint(int(r), _parse_time(c), float(v)) for r, c, v in reversed(rows)]

    def profile_series(
        self, dataset: str, limit: int | None = 5, *, before: int | None = None
    ) -> list[tuple[int, dt.datetime, dict[str, Any]]]:
        where = "p.dataset = ?"
        params: list[Any] = [dataset]
        if before is not None:
            where += " AND p.run_id < ?"
            params.append(int(before))
        sql = (
            "SELECT p.run_id, r.created, p.profile FROM mlts_profiles p"
            f" JOIN mlts_runs r ON r.id = p.run_id WHERE {where}"
            f" ORDER BY p.run_id DESC{self._limit_clause(limit)}"
        )
        with self._errors(f"read profiles of {dataset!r}"):
            rows = self._query(sql, params)
        return [(int(r), _parse_time(c), json.loads(p)) for r, c, p in reversed(rows)]


# --------------------------------------------------------------------------------------------
# SQLite


_SQLITE_CORRUPT = ("file is not a database", "malformed", "corrupt", "not a database")


class SQLiteHistoryStore(_SQLHistoryStore):
    """History in one SQLite file (WAL mode, busy timeout, one transaction per run)."""

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = str(path)
        self.location = self.path
        self.timeout = float(timeout)
        self._conn = None
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HistoryError(
                    f"history store {self.location}: cannot create its directory: {exc}"
                ) from exc
        with self._errors("open"):
            # isolation_level=None: no implicit transactions; we issue BEGIN IMMEDIATE ourselves.
            self._conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                self._conn.execute("PRAGMA foreign_keys = ON")
                if self.path != ":memory:":
                    mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if str(mode).lower() != "wal":
                        raise HistoryError(
                            f"history store {self.location}: cannot switch to WAL mode"
                            f" (journal mode stays {mode!r}); is the file on a network share?"
                        )
                # FULL: a committed run survives power loss too, not only a killed process.
                self._conn.execute("PRAGMA synchronous = FULL")
                self._migrate()
            except BaseException:
                self._conn.close()
                self._conn = None
                raise

    def _translate(self, exc: Exception, action: str) -> HistoryError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        text = str(exc)
        lower = text.lower()
        if "locked" in lower or "busy" in lower:
            what = (
                f"the database is locked by another process (waited {self.timeout:g} s);"
                " nothing was written, retry when the other writer is done"
            )
        elif any(marker in lower for marker in _SQLITE_CORRUPT):
            what = (
                f"the file is not a valid SQLite database or is corrupt ({text}); it was left"
                " untouched, move it away to start a new history"
            )
        elif "unable to open" in lower or "readonly" in lower or "read-only" in lower:
            what = f"cannot open the file for writing ({text})"
        else:
            what = text
        return HistoryError(f"history store {self.location}: cannot {action}: {what}")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting up to the timeout
        try:
            yield cur
        except BaseException:
            # The transaction may already be gone (e.g. the disk failed): nothing to undo then.
            with suppress(sqlite3.Error):
                cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    def _insert_run(self, cur: Any, values: tuple[Any, ...]) -> int:
        cur.execute(
            "INSERT INTO mlts_runs (created, git_commit, git_branch, plugin_version, rubric,"
            " score, band, min_score, passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        return int(cur.lastrowid)

    def _to_db_time(self, value: dt.datetime) -> str:
        return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    def _before_create(self, cur: Any) -> None:
        cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        foreign = [row[0] for row in cur.fetchall()]
        if foreign:
            raise HistoryError(
                f"history store {self.location}: the file is an SQLite database with other"
                f" tables ({', '.join(sorted(foreign)[:5])}), not a pytest-mltestscore history;"
                " refusing to modify it"
            )

    def integrity_check(self) -> list[str]:
        """Problems found by ``PRAGMA integrity_check`` and ``foreign_key_check`` (empty: fine)."""
        with self._errors("check integrity"):
            found = [str(r[0]) for r in self._query("PRAGMA integrity_check")]
            problems = [p for p in found if p != "ok"]
            problems.extend(
                f"foreign key violation in {r[0]} row {r[1]}"
                for r in self._query("PRAGMA foreign_key_check")
            )
        return problems

    def close(self) -> None:
        """Fold the write-ahead log back into the database file and release the connection, so
        that a copy of the one file (a CI cache) holds every stored run."""
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            self._conn = None


# --------------------------------------------------------------------------------------------
# PostgreSQL


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe to print)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


# Key for pg_advisory_xact_lock serializing migrations ("mlts" in ASCII).
_PG_MIGRATION_LOCK = 0x6D6C7473


class PostgresHistoryStore(_SQLHistoryStore):
    """History in a PostgreSQL database (psycopg 3), same schema as SQLite."""

    dialect = "postgres"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.location = redact_url(url)
        self.timeout = float(timeout)
        self._conn = None
        try:
            import psycopg
        except ImportError as exc:
            raise ImportError(
                f"a PostgreSQL history store ({self.location}) needs psycopg 3:"
                f" {POSTGRES_INSTALL_HINT}"
            ) from exc
        self._psycopg = psycopg
        with self._errors("connect"):
            self._conn = psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, math.ceil(self.timeout))
            )
            try:
                ms = int(self.timeout * 1000)
                self._conn.execute(f"SET lock_timeout = {ms}")
                self._conn.execute("SET TIME ZONE 'UTC'")
                self._migrate()
            except BaseException:
                self._conn.close()
                self._conn = None
                raise

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _translate(self, exc: Exception, action: str) -> HistoryError | None:
        if not isinstance(exc, self._psycopg.Error):
            return None
        text = " ".join(str(exc).split()).replace(self.url, self.location)
        if isinstance(exc, self._psycopg.OperationalError) and action == "connect":
            what = f"the database is unreachable or refused the login ({text})"
        elif "lock timeout" in text.lower():
            what = f"waited {self.timeout:g} s for a lock held by another session ({text})"
        else:
            what = text
        return HistoryError(f"history store {self.location}: cannot {action}: {what}")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        # A session lock taken before the transaction begins: a transaction that started before
        # another session committed the schema could still see stale catalog caches.
        self._conn.execute("SELECT pg_advisory_lock(%s)", (_PG_MIGRATION_LOCK,))
        try:
            yield
        finally:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_MIGRATION_LOCK,))

    def _insert_run(self, cur: Any, values: tuple[Any, ...]) -> int:
        cur.execute(
            "INSERT INTO mlts_runs (created, git_commit, git_branch, plugin_version, rubric,"
            " score, band, min_score, passed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            values,
        )
        return int(cur.fetchone()[0])

    def _to_db_time(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.timezone.utc)

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s)", (name,))
        row = cur.fetchone()
        return row is not None and row[0] is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --------------------------------------------------------------------------------------------
# Opening a store

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def sqlite_path_from_url(url: str) -> str:
    """The file path of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL (SQLAlchemy's)."""
    rest = url[len("sqlite://") :]
    if not rest.startswith("/") or rest == "/":
        raise ValueError(
            f"history URL {url!r}: expected sqlite:///relative/path.db or"
            " sqlite:////absolute/path.db"
        )
    return rest[1:]


def open_store(target: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> HistoryStore:
    """Open (creating or migrating) a history store from a path or URL.

    ``target``: a file path, ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, or
    ``postgresql://user:password@host:port/db``. ``timeout`` bounds the wait for locks and
    connections, in seconds.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
    if not isinstance(target, str):
        return SQLiteHistoryStore(os.fspath(target), timeout=timeout)
    text = target.strip()
    if not text:
        raise ValueError("history location is empty: give a file path or a URL")
    match = _SCHEME.match(text)
    if match is None:
        return SQLiteHistoryStore(text, timeout=timeout)
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        return SQLiteHistoryStore(sqlite_path_from_url(text), timeout=timeout)
    if scheme in ("postgresql", "postgres"):
        return PostgresHistoryStore(text, timeout=timeout)
    raise ValueError(
        f"history URL {redact_url(text)!r}: unsupported scheme {scheme!r}; expected a file path,"
        " sqlite:///path.db or postgresql://user:password@host/db"
    )
