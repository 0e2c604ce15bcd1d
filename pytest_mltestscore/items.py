"""Built-in checks as ordinary pytest items (visible in -v, selectable with -k and -m)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .state import METRICS_PROPERTY

if TYPE_CHECKING:
    from .builtin import BuiltinCheck, CheckContext
    from .project import Project
    from .result import CheckResult

NODE_PREFIX = "mltestscore"


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
        if skip_reason:  # a marker, so that -rs points at the check, not at this module
            self.add_marker(pytest.mark.skip(reason=skip_reason))

    def runtest(self) -> None:
        from .assets import AssetError
        from .builtin import NotJudged

        label = f"{self.check.rubric_id} {self.check.name}"
        assert self.check.run is not None
        try:
            self.result = self.check.run(self.context)
        except NotJudged as exc:
            pytest.skip(f"{label}: not judged: {exc}")
        except AssetError as exc:
            raise CheckFailed(f"{label}: {exc}") from None
        except ValueError as exc:  # the library's word on arguments that do not fit the data
            raise CheckFailed(
                f"{label}: cannot run with this data and configuration: {exc}\n"
                f"(tune it under [tool.mltestscore.checks.{self.check.rubric_id}])"
            ) from None
        except Exception as exc:
            import traceback

            frames = "".join(traceback.format_exception(exc, limit=-4))
            raise CheckFailed(
                f"{label}: internal error in the built-in check ({type(exc).__name__}: {exc}); "
                f"please report it with the lines below\n{frames}"
            ) from None
        self.user_properties.append((METRICS_PROPERTY, dict(self.result.metrics)))
        if self.check.after_run is not None:
            self.user_properties.extend(self.check.after_run(self.context))
        if self.result.verdict == "fail":
            raise CheckFailed(self.result.message())
        if self.result.verdict == "skip":
            pytest.skip(self.result.message())
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
    """One item per built-in check of an enabled rubric item; missing assets give a skip."""
    items = []
    for check in project.checks:
        if not check.collect or not project.enabled(check):
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
