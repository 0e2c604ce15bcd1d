"""What each test and built-in check said, gathered on the controller for the reports.

Per node id: the message (a failure's message, a skip or xfail reason, a built-in check's
verdict and summary), the metrics it recorded, and for a built-in check its result as plain JSON
(summary, notes, metrics, findings as rows, figures). A built-in check item puts its result on
its report's ``user_properties`` (:data:`CHECK_PROPERTY`), so it reaches the xdist controller as
JSON-safe values; session judges hand their results over directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .state import metrics_from_properties

if TYPE_CHECKING:
    import pytest

    from .result import CheckResult

CHECK_PROPERTY = "mltestscore_check"
_SKIP_PREFIX = "Skipped: "


def check_payload(result: CheckResult) -> dict[str, Any]:
    """A check's result as the reports read it: its plain JSON and its full message."""
    return {**result.to_dict(), "message": result.message()}


def _failure_text(report: pytest.TestReport) -> str:
    """A failure's message: a built-in check's whole text, else the exception line(s)."""
    longrepr = report.longrepr
    if isinstance(longrepr, str):
        return longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    return report.longreprtext


def _skip_reason(report: pytest.TestReport) -> str | None:
    longrepr = report.longrepr
    if isinstance(longrepr, Sequence) and not isinstance(longrepr, str) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len(_SKIP_PREFIX) :] if reason.startswith(_SKIP_PREFIX) else reason
    return report.longreprtext or None


class Evidence:
    """Messages, metrics and check results per node id (controller side)."""

    def __init__(self) -> None:
        self._tests: dict[str, dict[str, Any]] = {}

    def _entry(self, nodeid: str) -> dict[str, Any]:
        return self._tests.setdefault(
            nodeid, {"message": None, "failures": [], "metrics": [], "check": None}
        )

    def add(self, report: pytest.TestReport) -> None:
        """Keep what one phase's report says about its test (a plain pass with no properties
        says nothing: it gets no entry, and reads as one without a message)."""
        if report.failed:
            text = _failure_text(report)
            prefix = "" if report.when == "call" else f"error in {report.when}: "
            self._entry(report.nodeid)["failures"].append(prefix + text)
        elif report.skipped:
            message: str | None
            if hasattr(report, "wasxfail"):
                message = f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
            else:
                message = _skip_reason(report)
            self._entry(report.nodeid)["message"] = message
        elif report.when == "call" and hasattr(report, "wasxfail"):
            message = f"xpass: {report.wasxfail}" if report.wasxfail else "xpass"
            self._entry(report.nodeid)["message"] = message
        if report.when != "call" or not report.user_properties:
            return
        entry = self._entry(report.nodeid)
        for name, prop in report.user_properties:
            if name == CHECK_PROPERTY and isinstance(prop, Mapping):
                entry["check"] = dict(prop)
        entry["metrics"].extend(
            {"name": n, "value": v, "labels": labels}
            for _, (n, v, labels) in metrics_from_properties(report.nodeid, report.user_properties)
        )

    def add_result(self, nodeid: str, result: CheckResult) -> None:
        """A session judge's verdict (measured over the whole session, on the controller)."""
        payload = check_payload(result)
        entry = self._entry(nodeid)
        entry["check"] = payload
        if result.verdict == "fail":
            entry["failures"].append(payload["message"])
        else:
            entry["message"] = payload["message"]

    def of(self, nodeid: str) -> dict[str, Any]:
        """``message``, ``metrics`` and ``check`` (None unless a built-in check) of one test."""
        entry = self._tests.get(nodeid)
        if entry is None:
            return {"message": None, "metrics": [], "check": None}
        message = "\n".join(entry["failures"]) if entry["failures"] else entry["message"]
        if message is None and entry["check"] is not None:
            message = entry["check"].get("message")
        return {"message": message, "metrics": entry["metrics"], "check": entry["check"]}
