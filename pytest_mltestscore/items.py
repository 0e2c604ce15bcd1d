"""Built-in checks as ordinary pytest items (visible in -v, selectable with -k and -m)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .assets import Assets
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

    def runtest(self) -> None:
        from .assets import AssetError
        from .builtin import MissingSchema, SchemaUnreadable

        if self.skip_reason:
            pytest.skip(self.skip_reason)
        try:
            self.result = self.check.run(self.context)
        except (AssetError, MissingSchema, SchemaUnreadable) as exc:
            raise CheckFailed(f"{self.check.rubric_id} {self.check.name}: {exc}") from None
        self.user_properties.append(("mltestscore_metrics", dict(self.result.metrics)))
        if self.result.verdict == "fail":
            raise CheckFailed(self.result.message())
        if self.result.verdict == "skip":
            pytest.skip(self.result.message())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.check.rubric_id} {self.check.name}: {self.check.summary}"


def make_items(
    session: pytest.Session,
    assets: Assets,
    contexts: dict[str, CheckContext],
    enabled: dict[str, bool],
) -> list[BuiltinCheckItem]:
    """One item per built-in check of an enabled rubric item; missing assets give a skip."""
    from .builtin import CHECKS

    items = []
    for check in CHECKS:
        if not enabled.get(check.rubric_id, True):
            continue
        missing = check.missing(assets)
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
