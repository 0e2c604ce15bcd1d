"""Built-in checks judged over the whole session, and the transfer of their measurements.

A check that declares ``session`` (a :class:`~pytest_mltestscore.builtin.SessionJudge`) is
started in every process when the session is configured. Under pytest-xdist each worker sends
its judge's payload, and the number of the suite's own tests it deselected, to the controller
through ``workeroutput``; the controller merges them and judges once, at the end of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .evidence import CHECK_PROPERTY, check_payload
from .items import REPORT_ATTR, nodeid_of
from .state import METRICS_PROPERTY

if TYPE_CHECKING:
    from .builtin import BuiltinCheck, SessionJudge
    from .project import Project
    from .result import CheckResult

OUTPUT_KEY = "mltestscore_judges"
RAN_KEY = "mltestscore_judges_ran"


@dataclass(frozen=True)
class Verdict:
    """A session judge's verdict, reported as the outcome of its node id."""

    check: BuiltinCheck
    result: CheckResult

    @property
    def nodeid(self) -> str:
        return nodeid_of(self.check)


class SessionJudges:
    """The session judges of one process; the controller's also gather the workers'."""

    def __init__(self, config: pytest.Config, project: Project, *, measure: bool = True) -> None:
        """``measure``: this process runs tests (not an xdist controller), so the judges start
        measuring here."""
        self.config = config
        self.settings_file = project.settings.file
        self.judges: dict[str, tuple[BuiltinCheck, SessionJudge]] = {}
        self.ran: set[str] = set()  # judges whose item was selected and reached its turn
        for check in project.checks:
            if check.session is None or not project.enabled(check):
                continue
            context = project.context(check)
            if check.missing(context):
                continue
            judge = check.session(context)
            if measure:
                judge.start()
            self.judges[check.name] = (check, judge)

    def __bool__(self) -> bool:
        return bool(self.judges)

    def defer(self, item: pytest.Item) -> bool:
        """Whether ``item`` is a session judge's: it is judged at the end, not run now."""
        name = getattr(getattr(item, "check", None), "name", None)
        if name in self.judges and nodeid_of(self.judges[name][0]) == item.nodeid:
            self.ran.add(name)
            return True
        return False

    def stop(self) -> None:
        """Stop measuring, for a session that ends before its tests (what was measured is
        dropped: taking a judge's payload stops its measurement)."""
        for _, judge in self.judges.values():
            judge.payload()

    def send_to_controller(self) -> None:
        """xdist worker: hand the measurements to the controller."""
        output = self.config.workeroutput  # type: ignore[attr-defined]
        output[OUTPUT_KEY] = {name: judge.payload() for name, (_, judge) in self.judges.items()}
        output[RAN_KEY] = sorted(self.ran)

    def receive(self, workeroutput: Mapping[str, Any]) -> None:
        """xdist controller: a worker finished."""
        for name, payload in dict(workeroutput.get(OUTPUT_KEY, {})).items():
            if name in self.judges:
                self.judges[name][1].receive(payload)
        self.ran.update(workeroutput.get(RAN_KEY, ()))

    def judge(self, partial: str | None) -> list[Verdict]:
        """Judge each selected one once; ``partial`` says why the run is not a whole run."""
        return [
            Verdict(check, judge.judge(partial))
            for name, (check, judge) in self.judges.items()
            if name in self.ran
        ]

    def report(self, verdict: Verdict) -> None:
        """Report the verdict as the outcome of the judge's item, as pytest reports any test:
        counted, listed by -r, its table in the failures section."""
        hook = self.config.hook
        nodeid = verdict.nodeid
        where = str(self.settings_file) if self.settings_file else "pyproject.toml"
        location = (where, None, f"{verdict.check.rubric_id} {verdict.check.name}")
        hook.pytest_runtest_logstart(nodeid=nodeid, location=location)
        result = verdict.result
        label = f"{verdict.check.rubric_id} {verdict.check.name}"
        keywords = {name: 1 for name in ("mltestscore", verdict.check.rubric_id)}
        Phase = tuple[
            Literal["setup", "call", "teardown"], Literal["passed", "failed", "skipped"], Any
        ]
        phases: list[Phase] = [("setup", "passed", None)]
        if result.verdict == "skip":
            reason = f"Skipped: {label}: not judged: {result.summary}"
            phases = [("setup", "skipped", (where, None, reason))]
        else:
            longrepr = result.message() if result.verdict == "fail" else None
            phases.append(("call", "passed" if result.verdict == "pass" else "failed", longrepr))
        phases.append(("teardown", "passed", None))
        for when, outcome, longrepr in phases:
            report = pytest.TestReport(
                nodeid,
                location,
                keywords,
                outcome,
                longrepr,
                when,
                user_properties=[
                    (METRICS_PROPERTY, dict(result.metrics)),
                    (CHECK_PROPERTY, check_payload(result)),
                ]
                if when == "call"
                else [],
            )
            setattr(report, REPORT_ATTR, [verdict.check.rubric_id])
            hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=nodeid, location=location)
