"""The run's report as a plain dict (JSON schema version 2), and its Markdown rendering.

The dict is built once from the :class:`~pytest_mltestscore.scoring.ScoreResult` and what each
test said (its message, metrics and, for a built-in check, its findings and figures); the JSON
file, the Markdown summary, the HTML report and the terminal scorecard all render that same
dict. ``report.schema.json`` in this package is the JSON Schema of the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__
from .rubric import Rubric
from .scoring import ScoreResult

SCHEMA_VERSION = 2
SCHEMA_FILE = "report.schema.json"
STATUS_MARK = {
    "automated": "automated",
    "manual": "manual",
    "failing": "FAILING",
    "stale": "stale",
    "missing": "missing",
}


def _no_evidence(nodeid: str) -> dict[str, Any]:
    return {"message": None, "metrics": [], "check": None}


def gate_message(report: dict[str, Any]) -> str | None:
    """The gate's verdict in a line, or None without a gate."""
    if report["passed"] is False:
        return (
            f"FAIL: ML Test Score {fmt_points(report['score'])} is below the required "
            f"{fmt_points(report['min_score'])}"
        )
    if report["passed"] is True:
        return (
            f"ML Test Score {fmt_points(report['score'])} meets the required "
            f"{fmt_points(report['min_score'])}"
        )
    return None


def build_report(
    result: ScoreResult,
    *,
    created: str,
    extra: dict[str, Any] | None = None,
    rubric: Rubric | None = None,
    evidence: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON-safe report dict of a scored run (field order as in the contract).

    ``evidence(nodeid)`` gives each test's ``message``, ``metrics`` and ``check``; ``rubric``
    gives what would earn each item short of full credit (``to_earn``).
    """
    said = evidence or _no_evidence
    how = {i.id: i.automated for i in rubric.items.values()} if rubric is not None else {}
    full = rubric.points_automated if rubric is not None else 1.0
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "plugin_version": __version__,
        "created": created,
        "rubric": result.rubric_id,
        "score": result.score,
        "max_score": result.max_score,
        "band": result.band,
        "min_score": result.min_score,
        "passed": result.passed,
        "sections": [
            {
                "id": s.id,
                "title": s.title,
                "score": s.score,
                "max_score": s.max_score,
                "items": [
                    {
                        "id": i.id,
                        "title": i.title,
                        "status": i.status,
                        "points": i.points,
                        "to_earn": how.get(i.id) if i.points < full else None,
                        "tests": [
                            {
                                "nodeid": t.nodeid,
                                "outcome": t.outcome,
                                "via": t.via,
                                **said(t.nodeid),
                            }
                            for t in i.tests
                        ],
                        "manual": None
                        if i.manual is None
                        else {
                            "evidence": i.manual.evidence,
                            "date": i.manual.date.isoformat(),
                            "by": i.manual.by,
                        },
                    }
                    for i in s.items
                ],
            }
            for s in result.sections
        ],
    }
    report["gate"] = {
        "min_score": result.min_score,
        "passed": result.passed,
        "message": gate_message(report),
    }
    report["history"] = None
    if extra:
        report.update(extra)
    return report


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the report file (``report.schema.json``, shipped in the package)."""
    from importlib.resources import files

    text = files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no torn files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"


def fmt_points(value: float) -> str:
    """Scores print with one decimal: 3.0, 3.5."""
    return f"{value:.1f}"


def outcome_summary(tests: list[dict[str, Any]]) -> str:
    """A short phrase for the tests behind an item: '2 passed, 1 failed', and how many earn it
    through ``[tool.mltestscore.map]`` rather than a marker."""
    counts: dict[str, int] = {}
    for t in tests:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    order = ("failed", "error", "passed", "xpassed", "xfailed", "skipped")
    text = ", ".join(f"{counts[o]} {o}" for o in order if o in counts)
    mapped = sum(1 for t in tests if t.get("via", "marker") == "map")
    return text + (f" ({mapped} by map)" if mapped else "")


def not_judged(tests: list[dict[str, Any]]) -> str | None:
    """The reason a built-in check gave for not judging, when that is all an item has."""
    reasons = [
        _judged_part(t["message"]) for t in tests if t["outcome"] == "skipped" and t.get("message")
    ]
    if not reasons or any(t["outcome"] not in ("skipped", "xfailed") for t in tests):
        return None
    first = reasons[0]
    return first + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")


def _judged_part(message: str) -> str:
    """``not judged: why`` from a built-in check's skip message (its label left out)."""
    first = message.splitlines()[0] if message else ""
    at = first.find("not judged: ")
    return first[at:] if at >= 0 else first


def item_detail(item: dict[str, Any], max_age_days: int | None = None) -> str:
    """What earned or lost an item, in a few words (tests, attestation)."""
    tests = item["tests"]
    status = item["status"]
    if status == "failing":
        bad = [t["nodeid"] for t in tests if t["outcome"] in ("failed", "error")]
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        return f"{outcome_summary(tests)}: {bad[0]}{more}"
    if status == "automated":
        return outcome_summary(tests)
    parts = []
    if tests:
        parts.append(not_judged(tests) or outcome_summary(tests))
    manual = item["manual"]
    if manual is not None:
        by = f" by {manual['by']}" if manual.get("by") else ""
        verb = "attested" if status == "manual" else "attestation expired:"
        parts.append(f"{verb} {manual['date']}{by}")
    return "; ".join(parts)


def render_markdown(report: dict[str, Any], rubric: Rubric) -> str:
    """GitHub-flavoured Markdown for a step summary or a pull-request comment."""
    score, top = report["score"], report["max_score"]
    lines = [f"## ML Test Score: {fmt_points(score)} / {fmt_points(top)}", ""]
    lines.append(f"**{report['band']}** (rubric `{report['rubric']}`)")
    if report["passed"] is not None:
        verdict = "passed" if report["passed"] else "**failed**"
        lines.append("")
        lines.append(f"Gate: {verdict}, required {fmt_points(report['min_score'])}.")
    lines += ["", "| Section | Score |", "|---|---:|"]
    for s in report["sections"]:
        lowest = " (lowest)" if s["score"] == score else ""
        lines.append(
            f"| {s['title']} | {fmt_points(s['score'])} / {fmt_points(s['max_score'])}{lowest} |"
        )
    for s in report["sections"]:
        lines += [
            "",
            f"### {s['title']}: {fmt_points(s['score'])} / {fmt_points(s['max_score'])}",
            "",
        ]
        lines += ["| Item | Test | Status | Points | Evidence |", "|---|---|---|---:|---|"]
        for i in s["items"]:
            detail = item_detail(i).replace("|", "\\|")
            lines.append(
                f"| `{i['id']}` | {i['title']} | {STATUS_MARK[i['status']]} | "
                f"{fmt_points(i['points'])} | {detail} |"
            )
    todo = [
        i
        for s in report["sections"]
        for i in s["items"]
        if i["status"] in ("failing", "missing", "stale", "manual")
    ]
    if todo:
        lines += ["", "### What would earn the missing points", ""]
        items = rubric.items
        for i in todo:
            how = items[i["id"]].automated if i["id"] in items else ""
            lines.append(f"- `{i['id']}` {i['title']} ({i['status']}): {how}")
    return "\n".join(lines) + "\n"
