"""pytest-html integration: the scorecard in its summary, each built-in check's plots in its row.

Registered by the plugin when pytest-html is active and the run is scored. The plots are drawn
where the check ran (an xdist worker included) and travel on the test report as pytest-html
``extras``, plain HTML holding inline SVG; the scorecard is added on the controller, from the
scored report.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from typing import Any

import pytest

from .items import BuiltinCheckItem


class PytestHtml:
    """Hooks feeding pytest-html."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when != "call" or not isinstance(item, BuiltinCheckItem) or item.result is None:
            return report
        figures = [f.to_dict() for f in item.result.figures]
        if not figures:
            return report
        from pytest_html import extras

        from .htmlreport import figures_html
        from .plots import PlotError

        salt = f"mlts{zlib.crc32(item.nodeid.encode()):x}"
        try:
            content = figures_html(figures, salt)
        except PlotError as exc:
            content = f"<p>plots not drawn: {exc}</p>"
        setattr(report, "extras", [*getattr(report, "extras", []), extras.html(content)])  # noqa: B010
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: Any
    ) -> None:
        scored = self.config.pluginmanager.get_plugin("mltestscore-session")
        report = getattr(scored, "report", None)
        if report is None:
            return
        from .htmlreport import summary_html

        prefix.append(summary_html(report))
