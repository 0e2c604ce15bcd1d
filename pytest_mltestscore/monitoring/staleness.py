"""monitor-4: models are not too stale, and neither is the data they serve.

A model's creation time comes, in order of preference, from:

1. ``created`` in the model's config entry (``source="config"``);
2. metadata stored with the artifact (``source="metadata"``), read by :func:`artifact_created`:
   a sidecar file ``<artifact>.meta.json`` (see below), else the save time recorded inside a
   skops archive;
3. the file's modification time (``source="mtime"``), a last resort: in a fresh clone or a CI
   checkout it is the checkout time, so the model always looks new. The check says so.

Sidecar format, ``<artifact file name>.meta.json`` next to the artifact (e.g.
``models/model.skops.meta.json``), written by :func:`write_artifact_metadata`::

    {"created": "2026-03-01T12:00:00+00:00", "version": "1.4.0"}

``created`` (required) is an ISO 8601 date or date-time; a time without offset means UTC. Other
keys are free-form and ignored here.

All ages are in UTC against :func:`pytest_mltestscore.clock.now` (pin it with
``MLTESTSCORE_TODAY=YYYY-MM-DD``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import clock
from ..result import CheckResult
from ._findings import findings_table, require_non_negative, short

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "monitor-4"
SIDECAR_SUFFIX = ".meta.json"
SOURCES = ("config", "metadata", "mtime", "version")
_FUTURE_SLACK_DAYS = 1.0  # clock skew and time zones: a day ahead is not "in the future" yet
_MTIME_WARNING = (
    "the creation time is the file's modification time, a last resort: in a fresh clone or CI "
    "checkout it is the checkout time, so the model looks new; set `created` in the model's "
    'config or write a sidecar <artifact>.meta.json with a "created" date'
)


def _as_utc(value: dt.date | dt.datetime) -> dt.datetime:
    """A date means midnight UTC; a naive date-time is taken as UTC."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


def _parse_created(text: str, where: str) -> dt.datetime:
    try:
        if len(text) == 10:
            return _as_utc(dt.date.fromisoformat(text))
        # Python 3.10 does not read a trailing "Z".
        return _as_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f'{where}: "created" is {text!r}; expected an ISO 8601 date or date-time such as '
            "2026-03-01 or 2026-03-01T12:00:00+00:00"
        ) from None


def sidecar_path(artifact: str | os.PathLike[str]) -> Path:
    """Where the metadata sidecar of an artifact lives: ``<artifact>.meta.json``."""
    path = Path(artifact)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_artifact_metadata(
    artifact: str | os.PathLike[str],
    created: dt.date | dt.datetime | None = None,
    **extra: Any,
) -> Path:
    """Write ``<artifact>.meta.json`` with ``created`` (default: now, UTC) and extra JSON keys.

    Call it right after saving a model so its age survives copies, clones and checkouts.
    """
    when = _as_utc(created) if created is not None else clock.now()
    if "created" in extra:
        raise ValueError("pass the creation time as created=, not as an extra key")
    payload = {"created": when.isoformat(), **extra}
    target = sidecar_path(artifact)
    target.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return target


def _skops_saved(path: Path) -> dt.datetime | None:
    """The save time recorded in a skops (zip) archive's ``schema.json`` entry, when usable."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("schema.json")
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    if info.date_time[0] <= 1980:  # the zip epoch: tools that strip times write this
        return None
    # Zip times are local wall-clock times of the machine that saved; read as UTC (<= 1 day off).
    return dt.datetime(*info.date_time, tzinfo=dt.timezone.utc)


def artifact_created(path: str | os.PathLike[str]) -> tuple[dt.datetime, str]:
    """When an artifact was created (UTC) and the source, for :func:`model_staleness`.

    Returns ``(created, source)`` with ``source`` one of ``"metadata:<sidecar path>"``,
    ``"metadata:skops archive <path>"`` or ``"mtime:<path>"`` (the last resort). A sidecar that
    is unreadable or lacks a valid ``created`` raises ValueError naming the file.
    """
    artifact = Path(path)
    if not artifact.exists():
        raise FileNotFoundError(f"model artifact {str(artifact)!r} does not exist")
    meta = sidecar_path(artifact)
    if meta.exists():
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{meta}: not readable as JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("created"), str):
            raise ValueError(
                f'{meta}: expected a JSON object with a "created" date string, '
                f'e.g. {{"created": "2026-03-01"}}'
            )
        return _parse_created(data["created"], str(meta)), f"metadata:{meta}"
    if artifact.suffix == ".skops":
        saved = _skops_saved(artifact)
        if saved is not None:
            return saved, f"metadata:skops archive {artifact}"
    mtime = dt.datetime.fromtimestamp(artifact.stat().st_mtime, tz=dt.timezone.utc)
    return mtime, f"mtime:{artifact}"


def _describe_source(source: str) -> tuple[str, str]:
    kind, _, detail = source.partition(":")
    if kind not in SOURCES:
        raise ValueError(
            f"source: expected one of {', '.join(SOURCES)} (optionally ':detail'), got {source!r}"
        )
    text = {
        "config": "config `created`",
        "metadata": "artifact metadata",
        "mtime": "file modification time",
        "version": "version date",
    }[kind]
    return kind, f"{text} ({detail})" if detail else text


def _newest_timestamp(
    timestamps: pd.Series,
) -> tuple[dt.datetime | None, tuple[Any, ...] | None]:
    """The newest parseable timestamp (UTC), or a finding when the column is unusable."""
    finding: tuple[Any, ...]
    import pandas as pd

    name = str(timestamps.name) if timestamps.name is not None else "timestamp"
    s = timestamps
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        finding = (
            name,
            "parse timestamps",
            "dtype",
            "-",
            f"numbers ({s.dtype})",
            "dates or date-times (parse epoch numbers first)",
            len(s),
            "-",
        )
        return None, finding
    try:
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            parsed = s.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_any_dtype(s):
            parsed = s.dt.tz_localize("UTC")
        else:
            parsed = pd.to_datetime(s, utc=True, errors="coerce", format="mixed")
    except (TypeError, ValueError) as exc:
        finding = (
            name,
            "parse timestamps",
            "-",
            "-",
            f"{type(exc).__name__}: {exc}",
            "dates or date-times",
            len(s),
            "-",
        )
        return None, finding
    bad = parsed.isna() & s.notna()
    if bad.any():
        examples = ", ".join(short(v) for v in s[bad].iloc[:3])
        finding = (
            name,
            "parse timestamps",
            "unparseable values",
            "0",
            int(bad.sum()),
            "0",
            int(bad.sum()),
            examples,
        )
        return None, finding
    if parsed.notna().sum() == 0:
        finding = (
            name,
            "newest timestamp",
            "-",
            "-",
            "every timestamp is missing",
            "at least one timestamp",
            len(s),
            "-",
        )
        return None, finding
    newest = parsed.max()
    return newest.to_pydatetime(), None


def model_staleness(
    created: dt.date | dt.datetime | None,
    max_age_days: float | None,
    source: str,
    serving_timestamps: pd.Series | None = None,
    max_data_age_days: float | None = None,
) -> CheckResult:
    """Model age (from ``created``) against ``max_age_days``; newest serving row against its own.

    ``source`` says where ``created`` came from: ``"config"``, ``"metadata"``, ``"mtime"`` or
    ``"version"``, optionally followed by ``":<detail>"`` (what :func:`artifact_created`
    returns). An mtime source is flagged in the result as a last resort. A creation time more
    than a day in the future fails (a wrong clock or date). Without ``created`` the model part
    cannot be judged and the check is skipped, unless the data part fails.
    """
    import pandas as pd

    require_non_negative(max_age_days, "max_age_days", allow_none=True)
    require_non_negative(max_data_age_days, "max_data_age_days", allow_none=True)
    if created is not None and not isinstance(created, dt.date):
        raise ValueError(f"created: expected a date or datetime, got {type(created).__name__}")
    if serving_timestamps is not None and not isinstance(serving_timestamps, pd.Series):
        raise ValueError(
            f"serving_timestamps: expected a pandas Series, got {type(serving_timestamps).__name__}"
        )
    if max_age_days is None and max_data_age_days is None:
        raise ValueError("give max_age_days, max_data_age_days or both")
    kind, source_text = _describe_source(source)
    now = clock.now()
    check = "model_staleness"
    rows: list[tuple[Any, ...]] = []
    failing = 0
    notes: list[str] = []
    metrics: dict[str, float] = {}
    undecided: list[str] = []

    if max_age_days is not None:
        if created is None:
            undecided.append("the model's creation date is unknown")
        else:
            when = _as_utc(created)
            age = (now - when).total_seconds() / 86400
            metrics["model_age_days"] = age
            if kind == "mtime":
                notes.append("warning: " + _MTIME_WARNING)
            future = age < -_FUTURE_SLACK_DAYS
            stale = age > max_age_days
            failing += future or stale
            rows.append(
                (
                    "model",
                    f"age from {source_text}",
                    "age in days",
                    f"<= {max_age_days:g}",
                    f"{age:.1f} (created {when.isoformat(timespec='seconds')})",
                    "created in the past" if future else f"<= {max_age_days:g} days old",
                    "-",
                    f"now {now.isoformat(timespec='seconds')}",
                )
            )

    if max_data_age_days is not None or serving_timestamps is not None:
        if serving_timestamps is None or len(serving_timestamps) == 0:
            if max_data_age_days is not None:
                undecided.append("no serving timestamps to date the serving data")
        else:
            newest, finding = _newest_timestamp(serving_timestamps)
            if finding is not None:
                rows.append(finding)
                failing += 1
            elif newest is not None:
                data_age = (now - newest).total_seconds() / 86400
                metrics["data_age_days"] = data_age
                name = serving_timestamps.name if serving_timestamps.name is not None else "-"
                if data_age < -_FUTURE_SLACK_DAYS:
                    notes.append(
                        f"the newest serving timestamp {newest.isoformat()} is in the future: "
                        "check the time zone of the timestamp column"
                    )
                limit = "-" if max_data_age_days is None else f"<= {max_data_age_days:g}"
                stale = max_data_age_days is not None and data_age > max_data_age_days
                failing += stale
                rows.append(
                    (
                        str(name),
                        "age of the newest serving row",
                        "age in days",
                        limit,
                        f"{data_age:.1f} (newest {newest.isoformat(timespec='seconds')})",
                        "-" if max_data_age_days is None else f"<= {max_data_age_days:g} days",
                        len(serving_timestamps),
                        "-",
                    )
                )

    table = findings_table(rows) if rows else None
    ages = "; ".join(f"{r[0]} {r[4]}" for r in rows if r[2] == "age in days")
    if failing:
        return CheckResult(
            check,
            "fail",
            f"too old or misdated: {ages or 'see below'} (UTC, now {now.date().isoformat()})",
            table,
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )
    if undecided:
        return CheckResult(
            check, "skip", "; ".join(undecided), table, RUBRIC_ID, metrics, tuple(notes)
        )
    return CheckResult(
        check,
        "pass",
        f"within the age limits: {ages} (UTC, now {now.date().isoformat()})",
        table,
        RUBRIC_ID,
        {k: v for k, v in metrics.items() if math.isfinite(v)},
        tuple(notes),
    )
