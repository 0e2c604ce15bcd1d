"""Built-in checks judged over the whole session, and the transfer of their measurements.

A check that declares ``session`` (a :class:`~pytest_mltestscore.builtin.SessionJudge`) is
started in every process when the session is configured. Under pytest-xdist each worker sends
its judge's payload, and the number of the suite's own tests it deselected, to the controller
through ``workeroutput``; the controller merges them and judges once, at the end of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from .items import nodeid_of

if TYPE_CHECKING:
    from .builtin import BuiltinCheck, SessionJudge
    from .project import Project
    from .result import CheckResult

OUTPUT_KEY = "mltestscore_judges"


@dataclass(frozen=True)
class Verdict:
    """A session judge's verdict, reported as the outcome of its node id."""

    check: BuiltinCheck
    result: CheckResult

    @property
    def nodeid(self) -> str:
        return nodeid_of(self.check)

    @property
    def text(self) -> str:
        """What the terminal shows under the judge's title."""
        if self.result.verdict == "skip":
            return f"{self.result.check} {self.result.summary}"
        return self.result.message()


class SessionJudges:
    """The session judges of one process; the controller's also gather the workers'."""

    def __init__(self, config: pytest.Config, project: Project) -> None:
        self.config = config
        self.judges: dict[str, tuple[BuiltinCheck, SessionJudge]] = {}
        for check in project.checks:
            if check.session is None or not project.enabled(check):
                continue
            context = project.context(check)
            if check.missing(context):
                continue
            self.judges[check.name] = (check, check.session(context))

    def __bool__(self) -> bool:
        return bool(self.judges)

    def send_to_controller(self) -> None:
        """xdist worker: hand the measurements to the controller."""
        output = self.config.workeroutput  # type: ignore[attr-defined]
        output[OUTPUT_KEY] = {name: judge.payload() for name, (_, judge) in self.judges.items()}

    def receive(self, workeroutput: Mapping[str, Any]) -> None:
        """xdist controller: a worker finished."""
        for name, payload in dict(workeroutput.get(OUTPUT_KEY, {})).items():
            if name in self.judges:
                self.judges[name][1].receive(payload)

    def judge(self, partial: str | None) -> list[Verdict]:
        """Judge each once; ``partial`` says why the run is not a whole run, if it is not."""
        return [Verdict(check, judge.judge(partial)) for check, judge in self.judges.values()]

    def title(self, verdict: Verdict) -> str:
        judge = self.judges[verdict.check.name][1]
        return str(getattr(judge, "title", f"{verdict.check.rubric_id} {verdict.check.name}"))
