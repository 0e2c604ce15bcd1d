"""Built-in checks as ordinary pytest items (visible in -v, selectable with -k and -m)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .builtin import BuiltinCheck, CheckContext
    from .result import CheckResult

NODE_PREFIX = "mltestscore"


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
        from .builtin import MissingSchema, SchemaUnreadable

        label = f"{self.check.rubric_id} {self.check.name}"
        try:
            self.result = self.check.run(self.context)
        except (AssetError, MissingSchema, SchemaUnreadable) as exc:
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
        self.user_properties.append(("mltestscore_metrics", dict(self.result.metrics)))
        if self.check.rubric_id == "monitor-2":  # keep the serving profile for later drift
            profile = self.context.assets.cached_profile("serving", "training")
            if profile is not None:
                self.user_properties.append(
                    ("mltestscore_profile", {"dataset": "serving", "profile": profile.to_dict()})
                )
        if self.result.verdict == "fail":
            raise CheckFailed(self.result.message())
        if self.result.verdict == "skip":
            pytest.skip(self.result.message())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        """Point at the config file: that is where a check is enabled and tuned."""
        where = self.context.settings.file or self.path
        return where, 0, f"{self.check.rubric_id} {self.check.name}: {self.check.summary}"


def make_items(
    session: pytest.Session,
    contexts: dict[str, CheckContext],
    enabled: dict[str, bool],
) -> list[BuiltinCheckItem]:
    """One item per built-in check of an enabled rubric item; missing assets give a skip."""
    from .builtin import all_checks

    items = []
    for check in all_checks(next(iter(contexts.values())).settings):
        if not check.collect or not enabled.get(check.rubric_id, True):
            continue
        missing = check.missing(contexts[check.name])
        reason = "; ".join(missing) if missing else None
        name = f"{check.rubric_id}::{check.name}"
        items.append(
            BuiltinCheckItem.from_parent(
                session,
                name=name,
                nodeid=f"{NODE_PREFIX}::{name}",
                check=check,
                context=contexts[check.name],
                skip_reason=reason,
            )
        )
    return items
