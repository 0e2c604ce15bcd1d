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
import math
from typing import TYPE_CHECKING, Any

from ... import clock
from ...builtin import BuiltinCheck, CheckContext, Param, model, param
from ...findings import findings_table, require_non_negative, short
from ...loading import SIDECAR_SUFFIX as SIDECAR_SUFFIX  # re-exported: where a model's age
from ...loading import artifact_created as artifact_created  # is read from, for old callers
from ...loading import as_utc
from ...loading import sidecar_path as sidecar_path
from ...loading import write_artifact_metadata as write_artifact_metadata
from ...result import CheckResult, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "monitor-4"
SOURCES = ("config", "metadata", "mtime", "version")
_FUTURE_SLACK_DAYS = 1.0  # clock skew and time zones: a day ahead is not "in the future" yet
_MTIME_WARNING = (
    "the creation time is the file's modification time, a last resort: in a fresh clone or CI "
    "checkout it is the checkout time, so the model looks new; set `created` in the model's "
    'config or write a sidecar <artifact>.meta.json with a "created" date'
)


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


@library_check
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
            when = as_utc(created)
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


# -- built-in check ----------------------------------------------------------------------------
def run_model_staleness(ctx: CheckContext) -> CheckResult:
    created, source = ctx.assets.model_created("default")
    serving = ctx.assets.datasets.get("serving")
    stamps = None
    if serving is not None and serving.timestamp is not None:
        stamps = ctx.assets.frame("serving")[serving.timestamp]
    return model_staleness(
        created,
        ctx.params["max_age_days"],
        source,
        serving_timestamps=stamps,
        max_data_age_days=ctx.params["max_data_age_days"],
    )


MODEL_STALENESS = BuiltinCheck(
    "monitor-4",
    "model-staleness",
    "the served model and its newest data are not too old",
    (model("default"), param("max_age_days", "no age limit")),
    run_model_staleness,
    (
        Param("max_age_days", "number", None, "oldest acceptable model age in days"),
        Param("max_data_age_days", "number", None, "oldest acceptable newest serving row, in days"),
    ),
    declines="the model's age is unknown (`load =` without `created`)",
)
