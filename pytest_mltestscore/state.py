"""What a scored run keeps: metrics recorded during the session, the run appended to the
history store, the trend and the item changes shown with the scorecard.

Metrics travel from the process that measured them to the xdist controller on the test reports
(``user_properties``), as plain JSON-safe values; only the controller writes to the store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .result import Table

if TYPE_CHECKING:
    from .history import HistoryStore, RunSummary
    from .profiles import DatasetProfile


class _Node(Protocol):
    """A test item: what ``ml_history.record`` writes to (its report carries the metrics)."""

    user_properties: list[tuple[str, object]]


METRICS_PROPERTY = "mltestscore_metrics"
METRIC_PROPERTY = "mltestscore_metric"
PROFILE_PROPERTY = "mltestscore_profile"  # {"dataset": name, "profile": dict}
BUILTIN_PREFIX = "mltestscore::"

MetricKey = tuple[str, str]
MetricValue = tuple[str, float, dict[str, str]]


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def metrics_from_properties(
    nodeid: str, properties: Iterable[tuple[str, object]]
) -> list[tuple[MetricKey, MetricValue]]:
    """The metrics a test report carries: a built-in check's ``{name: value}`` (labelled with the
    check) and each ``ml_history.record`` call (with its own labels). Non-finite values drop."""
    import json

    out: list[tuple[MetricKey, MetricValue]] = []
    for name, prop in properties:
        if name == METRICS_PROPERTY and isinstance(prop, Mapping):
            check = nodeid[len(BUILTIN_PREFIX) :].replace("::", ":")
            labels = {"check": check}
            for metric, raw in prop.items():
                value = _finite(raw)
                if value is not None:
                    key = (str(metric), json.dumps(labels, sort_keys=True))
                    out.append((key, (str(metric), value, labels)))
        elif name == METRIC_PROPERTY and isinstance(prop, Mapping):
            value = _finite(prop.get("value"))
            labels = {str(k): str(v) for k, v in dict(prop.get("labels", {})).items()}
            if value is not None:
                key = (str(prop["name"]), json.dumps(labels, sort_keys=True))
                out.append((key, (str(prop["name"]), value, labels)))
    return out


class HistoryRecorder:
    """The ``ml_history`` fixture: record metrics of this run, read those of earlier runs."""

    def __init__(self, node: _Node, open_store: Callable[[], HistoryStore | None]) -> None:
        self._node = node
        self._open = open_store

    def record(self, name: str, value: float, **labels: object) -> None:
        """Record ``value`` under ``name`` and ``labels`` for this run (stored when it ends)."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"metric names must be non-empty strings, got {name!r}")
        number = _finite(value)
        if number is None:
            raise ValueError(f"metric {name!r}: expected a finite number, got {value!r}")
        self._node.user_properties.append(
            (
                METRIC_PROPERTY,
                {"name": name, "value": number, "labels": {k: str(v) for k, v in labels.items()}},
            )
        )

    def _store(self) -> HistoryStore:
        store = self._open()
        if store is None:
            raise RuntimeError("run history is off (history = false in [tool.mltestscore])")
        return store

    def series(self, name: str, limit: int = 20, **labels: object) -> list[float]:
        """Values of ``name`` with exactly these labels in earlier runs, oldest first."""
        return [p.value for p in self._store().metric_series(name, labels, limit=limit)]

    def runs(self, limit: int = 20) -> list[RunSummary]:
        """Summaries of the most recent earlier runs, newest first."""
        return list(self._store().runs(limit))

    def profiles(self, dataset: str = "serving", limit: int = 5) -> list[DatasetProfile]:
        """Profiles of ``dataset`` stored by earlier runs, oldest first, to judge drift against
        recent history (e.g. ``checks.check_drift(ml_history.profiles()[-1], today)``)."""
        from .profiles import DatasetProfile

        return [
            DatasetProfile.from_dict(p) for _, _, p in self._store().profile_series(dataset, limit)
        ]


def append_run(
    store: HistoryStore,
    report: dict[str, Any],
    metrics: list[MetricValue],
    profiles: Mapping[str, dict[str, Any]],
    root: Path,
) -> tuple[dict[str, Any] | None, list[str]]:
    """Store this run; return the report's ``history`` block and the lines for the terminal."""
    from .history import (
        HistoryError,
        MetricRecord,
        ProfileRecord,
        RunRecord,
        git_info,
    )
    from .report import fmt_points

    current = {i["id"]: i["status"] for s in report["sections"] for i in s["items"]}
    try:
        trend = [p.value for p in store.score_trend(9)]
        changes = [c for c in store.item_changes(current) if c.changed and c.previous is not None]
        had_previous = store.previous_run() is not None
        record = RunRecord.from_report(
            report,
            metrics=[MetricRecord(n, v, labels) for n, v, labels in metrics],
            profiles=[ProfileRecord(name, profile) for name, profile in sorted(profiles.items())],
            git=git_info(root),
        )
        run_id = store.append_run(record)
        runs = recent_runs(store, 10)
    except (HistoryError, ValueError) as exc:
        return None, [f"run history not written: {exc}"]
    scores = [*trend, report["score"]]
    block = {
        "run_id": run_id,
        "store": store.location,
        "trend": scores,
        "changes": [
            {"item": c.item, "previous": c.previous, "current": c.current} for c in changes
        ],
        "runs": runs,
    }
    lines = [
        f"history: run {run_id} stored in {store.location} ({len(metrics)} metric(s)); "
        f"score trend, last {len(scores)} run(s): " + " ".join(fmt_points(s) for s in scores)
    ]
    if had_previous:
        if changes:
            lines.append(
                "changed since the previous run: "
                + ", ".join(f"{c.item} {c.previous} -> {c.current}" for c in changes)
            )
        else:
            lines.append("no item changed since the previous run")
    return block, lines


def recent_runs(store: HistoryStore, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` stored runs, oldest first: id, time, score and each section's score
    (the sum of its items' points), for the trends the reports draw."""
    out = []
    for run in reversed(store.runs(limit)):
        sections: dict[str, float] = {}
        for item in store.run_items(run.id):
            sections[item.section] = sections.get(item.section, 0.0) + item.points
        out.append(
            {
                "run_id": run.id,
                "created": run.created.isoformat(timespec="seconds"),
                "score": run.score,
                "passed": run.passed,
                "sections": sections,
            }
        )
    return out


def history_table(store: HistoryStore, limit: int = 30) -> str:
    """The run history as a plain table, newest first (for ``--ml-score-history``)."""
    from .report import fmt_points

    runs = store.runs(limit)
    if not runs:
        return f"no runs stored yet in {store.location}"
    rows = []
    for run in runs:
        record = store.load_run(run.id).record
        sections = " ".join(f"{s.id} {fmt_points(s.score)}" for s in record.sections)
        gate = "-" if run.passed is None else ("pass" if run.passed else "FAIL")
        rows.append(
            (
                run.id,
                run.created.strftime("%Y-%m-%d %H:%M UTC"),
                "-" if run.score is None else fmt_points(run.score),
                sections,
                gate,
                (run.git_commit or "-")[:10],
                run.git_branch or "-",
                len(record.metrics),
            )
        )
    table = Table(
        ("run", "created", "score", "sections", "gate", "commit", "branch", "metrics"), tuple(rows)
    )
    return f"ML Test Score history ({store.location}, newest first)\n" + table.render(
        max_rows=limit
    )
