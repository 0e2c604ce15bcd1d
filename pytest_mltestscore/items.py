"""Built-in checks as ordinary pytest items (visible in -v, selectable with -k and -m)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .durations import COST_PROPERTY
from .evidence import CHECK_PROPERTY, check_payload
from .state import METRICS_PROPERTY

if TYPE_CHECKING:
    from .builtin import BuiltinCheck, CheckContext
    from .project import Project
    from .result import CheckResult

NODE_PREFIX = "mltestscore"
REPORT_ATTR = "mltestscore_ids"  # on a test report: the rubric ids its test earns
TRIAL_PROPERTY = "mltestscore_trial"  # a model that cannot take its data, told once


def nodeid_of(check: BuiltinCheck) -> str:
    """``mltestscore::ID::NAME``: the node id of a built-in check, as an item or a session judge."""
    return f"{NODE_PREFIX}::{check.rubric_id}::{check.name}"


class CheckFailed(Exception):
    """A built-in check reached a failing verdict (its message is the readable report)."""


class BuiltinCheckItem(pytest.Item):
    """One built-in check of one rubric item, run against the configured assets."""

    def __init__(
        self,
        *,
        check: BuiltinCheck,
        context: CheckContext,
        skip_reason: str | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.context = context
        self.skip_reason = skip_reason
        self.result: CheckResult | None = None
        self.add_marker(pytest.mark.rubric(check.rubric_id))
        # -k mltestscore, -k monitor and -m mltestscore select the built-in checks too
        self.add_marker(pytest.mark.mltestscore)
        self.extra_keyword_matches.update({NODE_PREFIX, check.rubric_id.split("-")[0]})
        if skip_reason:  # a marker, so that -rs points at the check, not at this module
            self.add_marker(pytest.mark.skip(reason=skip_reason))

    def runtest(self) -> None:
        """Run the check, counting what it spends through the shared seams (fits, predictions,
        fresh processes, reads) for ``--ml-score-durations`` and the JSON report."""
        import time

        from .cost import metering
        from .suite_only import plugin_work

        start = time.perf_counter()
        with metering() as meter, plugin_work():
            try:
                self._judge()
            finally:
                cost = meter.to_json(time.perf_counter() - start)
                self.user_properties.append((COST_PROPERTY, cost))

    def _judge(self) -> None:
        from .assets import AssetError
        from .result import NotJudged

        label = f"{self.check.rubric_id} {self.check.name}"
        assert self.check.run is not None
        try:
            self.result = self.check.run(self.context)
        except NotJudged as exc:  # classified where it arose: the check cannot judge
            explanation = getattr(exc, "explanation", None)
            if explanation:
                self.user_properties.append((TRIAL_PROPERTY, explanation))
            pytest.skip(f"{label}: not judged: {exc}")
        except AssetError as exc:  # a configured asset that cannot be read: bad data
            raise CheckFailed(f"{label}: {exc}") from None
        except ImportError as exc:  # an optional tool the check needs is not installed
            pytest.skip(f"{label}: not judged: {exc}")
        except Exception as exc:
            import traceback

            frames = "".join(traceback.format_exception(exc, limit=-4))
            raise CheckFailed(
                f"{label}: internal error in the built-in check ({type(exc).__name__}: {exc}); "
                f"please report it with the lines below\n{frames}"
            ) from None
        self.user_properties.append((METRICS_PROPERTY, dict(self.result.metrics)))
        self.user_properties.append((CHECK_PROPERTY, check_payload(self.result)))
        if self.check.after_run is not None:
            self.user_properties.extend(self.check.after_run(self.context))
        if self.result.verdict == "fail":
            raise CheckFailed(self.result.message())
        if self.result.verdict == "skip":
            result = self.result
            rows = result.table is not None and bool(result.table.rows)
            table = result.table.render(max_rows=5) if result.table is not None and rows else ""
            details = "\n".join([*result.notes, table]).strip()
            pytest.skip(
                f"{label}: not judged: {result.summary}" + (f"\n{details}" if details else "")
            )
        # what a pass judged (and what it left out) reads with -rP, as captured output does
        self.add_report_section("call", "mltestscore", self.result.message())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        """Point at the config file: that is where a check is enabled and tuned."""
        where = self.context.settings.file or self.path
        return where, 0, f"{self.check.rubric_id} {self.check.name}: {self.check.summary}"


def make_items(session: pytest.Session, project: Project) -> list[BuiltinCheckItem]:
    """One item per built-in check of an enabled rubric item; missing assets give a skip.

    With no model and no dataset configured only the checks that need none (session judges
    such as the coverage of ``feature_modules``) are collected."""
    assets = bool(project.settings.models or project.settings.datasets)
    items = []
    for check in project.checks:
        if not check.collect or not project.enabled(check):
            continue
        if not assets and check.session is None:
            continue
        context = project.context(check)
        missing = check.missing(context)
        reason = "; ".join(missing) if missing else None
        items.append(
            BuiltinCheckItem.from_parent(
                session,
                name=f"{check.rubric_id}::{check.name}",
                nodeid=nodeid_of(check),
                check=check,
                context=context,
                skip_reason=reason,
            )
        )
    return items
