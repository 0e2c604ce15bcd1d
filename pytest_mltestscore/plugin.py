"""pytest hooks of pytest-mltestscore, and nothing else.

Registered through the ``pytest11`` entry point as ``mltestscore``. Without ``--ml-score`` the
plugin only registers its marker (and fixtures); with it, a :class:`ScoreSession` object is
registered that tags reports with rubric ids (on workers too), and on the controller gathers
outcomes, scores the run once, applies the gate, writes the reports and prints the scorecard.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import clock
from .options import (
    ML_SCORE,
    ML_SCORE_FREEZE_SCHEMA,
    ML_SCORE_MIN,
    ML_SCORE_REPORT,
    ML_SCORE_RUBRIC,
    ReportSpec,
    parse_min_score,
    parse_report,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    import pandas as pd

    from .assets import Assets
    from .builtin import CheckContext
    from .config import Settings
    from .rubric import Rubric
    from .scoring import ScoreResult

MARKER_HELP = (
    "rubric(*ids): ML Test Score rubric items this test earns, e.g. rubric('data-1', 'monitor-2')"
)
REPORT_ATTR = "mltestscore_ids"
UNKNOWN_ATTR = "mltestscore_unknown"
_ids_key = pytest.StashKey[tuple[list[str], list[str]]]()
_project_key = pytest.StashKey["Project"]()


class Project:
    """The resolved configuration of this session: settings, rubric and lazily loaded assets."""

    def __init__(self, settings: Settings, rubric: Rubric) -> None:
        from .assets import Assets

        self.settings = settings
        self.rubric = rubric
        self.assets: Assets = Assets(settings.models, settings.datasets, settings.root)

    def contexts(self) -> dict[str, CheckContext]:
        from .builtin import CheckContext, all_checks, params_for

        return {
            check.name: CheckContext(
                assets=self.assets,
                settings=self.settings,
                params=params_for(check, self.settings.checks),
                check_id=check.rubric_id,
            )
            for check in all_checks()
        }


def load_project(config: pytest.Config) -> Project:
    """Read and validate ``[tool.mltestscore]`` once per session (cached in the stash).

    Raises :class:`pytest.UsageError` with the file, key and expectation on any config error.
    """
    cached = config.stash.get(_project_key, None)
    if cached is not None:
        return cached
    from .config import ConfigError, find_pyproject, load_settings
    from .rubric import RubricError, load_rubric

    opt = config.option
    file = find_pyproject(config.rootpath, config.inipath)
    try:
        settings, rubric = load_settings(
            file,
            file.parent if file is not None else config.rootpath,
            today=clock.today(),
            rubric_override=opt.ml_score_rubric,
            min_score_override=opt.ml_score_min,
            load_rubric=load_rubric,
        )
    except (ConfigError, RubricError, clock.ClockError) as exc:
        raise pytest.UsageError(str(exc)) from None
    project = Project(settings, rubric)
    config.stash[_project_key] = project
    return project


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mltestscore", "ML Test Score (pytest-mltestscore)")
    group.addoption(
        ML_SCORE,
        action="store_true",
        default=False,
        help="score the run against the ML Test Score rubric and print the scorecard",
    )
    group.addoption(
        ML_SCORE_MIN,
        type=parse_min_score,
        default=None,
        metavar="SCORE",
        help="fail the run when the final score is below SCORE (implies --ml-score; "
        "default: min_score in [tool.mltestscore])",
    )
    group.addoption(
        ML_SCORE_REPORT,
        type=parse_report,
        action="append",
        default=None,
        metavar="TYPE[:PATH]",
        help="report type, repeatable: term (default), term-missing, json:PATH, markdown:PATH "
        "(implies --ml-score)",
    )
    group.addoption(
        ML_SCORE_FREEZE_SCHEMA,
        action="store_true",
        default=False,
        help="infer the data schema from the training dataset, write it (default "
        "mltestscore-schema.json beside pyproject.toml) and exit without running tests",
    )
    group.addoption(
        ML_SCORE_RUBRIC,
        default=None,
        metavar="NAME_OR_PATH",
        help="rubric to score against: a shipped name or a TOML file (default: breck2017)",
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    opt = config.option
    if not (opt.ml_score or opt.ml_score_min is not None or opt.ml_score_report):
        return
    project = load_project(config)
    reports = opt.ml_score_report or [ReportSpec("term")]
    config.pluginmanager.register(ScoreSession(config, project, reports), "mltestscore-session")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not config.option.ml_score_freeze_schema:
        return None
    from .freeze import freeze_schema

    project = load_project(config)
    print(freeze_schema(project.assets, project.settings.schema_path))
    return 0


# -- fixtures (lazy: nothing is read until a test asks) -----------------------------------------
def _project_for_test(request: pytest.FixtureRequest) -> Project:
    try:
        return load_project(request.config)
    except pytest.UsageError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


def _asset(call: Any, *args: Any) -> Any:
    from .assets import AssetError

    try:
        return call(*args)
    except AssetError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


class _LazyMapping(dict):
    """A mapping of configured asset names that loads each value on first access."""

    def __init__(self, names: list[str], load: Any) -> None:
        super().__init__()
        self._names, self._load = names, load

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(f"{name!r} is not configured (configured: {', '.join(self._names)})")
        if not super().__contains__(name):
            super().__setitem__(name, _asset(self._load, name))
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Any:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def keys(self) -> Any:
        return list(self._names)

    def items(self) -> Any:
        return [(n, self[n]) for n in self._names]

    def values(self) -> Any:
        return [self[n] for n in self._names]


@pytest.fixture(scope="session")
def ml_config(request: pytest.FixtureRequest) -> Settings:
    """The resolved ``[tool.mltestscore]`` settings of this session."""
    return _project_for_test(request).settings


@pytest.fixture(scope="session")
def ml_models(request: pytest.FixtureRequest) -> Mapping[str, Any]:
    """Every configured model by name, each loaded on first access."""
    assets = _project_for_test(request).assets
    return _LazyMapping(list(assets.models), assets.model)


@pytest.fixture(scope="session")
def ml_model(request: pytest.FixtureRequest) -> Any:
    """The ``default`` model, loaded once per session."""
    return _asset(_project_for_test(request).assets.model, "default")


@pytest.fixture(scope="session")
def ml_datasets(request: pytest.FixtureRequest) -> Mapping[str, pd.DataFrame]:
    """Every configured dataset by name, each read on first access."""
    assets = _project_for_test(request).assets
    return _LazyMapping(list(assets.datasets), assets.frame)


@pytest.fixture(scope="session")
def training_data(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The ``training`` dataset as a DataFrame."""
    return _asset(_project_for_test(request).assets.frame, "training")


@pytest.fixture(scope="session")
def serving_data(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The ``serving`` dataset as a DataFrame."""
    return _asset(_project_for_test(request).assets.frame, "serving")


@pytest.fixture(scope="session")
def ml_schema(request: pytest.FixtureRequest) -> Any:
    """The checked-in data schema (see ``pytest --ml-score-freeze-schema``)."""
    from .builtin import MissingSchema, SchemaUnreadable

    project = _project_for_test(request)
    try:
        return project.contexts()["schema"].schema()
    except (MissingSchema, SchemaUnreadable) as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


class ScoreSession:
    """State of one scored session; hooks run on workers and controller alike unless noted."""

    def __init__(self, config: pytest.Config, project: Project, reports: list[ReportSpec]) -> None:
        self.config = config
        self.project = project
        self.settings = project.settings
        self.rubric = project.rubric
        self.reports = reports
        self.is_worker = _is_worker(config)
        self.phases: dict[str, dict[str, tuple[str, bool]]] = {}
        self.ids_by_test: dict[str, list[str]] = {}
        self.unknown: dict[str, list[str]] = {}
        self.result: ScoreResult | None = None
        self.report: dict[str, Any] | None = None
        self.written: list[str] = []
        self.no_verdict: str | None = None

    # -- every process: ids per item, and on the reports ------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        where = self.settings.file.name if self.settings.file else "no [tool.mltestscore]"
        gate = (
            f", min score {self.settings.min_score:g}"
            if self.settings.min_score is not None
            else ""
        )
        return [f"mltestscore: rubric {self.rubric.id}{gate} ({where})"]

    def _item_ids(self, item: pytest.Item) -> tuple[list[str], list[str]]:
        cached = item.stash.get(_ids_key, None)
        if cached is not None:
            return cached
        ids: list[str] = []
        unknown: list[str] = []
        for mark in item.iter_markers("rubric"):
            if not mark.args:
                unknown.append("(none: rubric() needs at least one id)")
            for raw in mark.args:
                norm = self.rubric.normalize(raw)
                if norm is None:
                    unknown.append(repr(raw) if not isinstance(raw, str) else raw)
                elif norm not in ids:
                    ids.append(norm)
        item.stash[_ids_key] = (ids, unknown)
        return ids, unknown

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Add the built-in checks (before -k/-m deselection, so those select them too)."""
        settings = self.settings
        if not (settings.models or settings.datasets):
            return  # nothing configured: no built-in check could run
        if any("::" in str(arg) for arg in config.args):
            return  # the user picked individual tests
        from .items import make_items

        enabled = {item: bool(p.get("enabled", True)) for item, p in settings.checks.items()}
        items.extend(make_items(session, self.project.assets, self.project.contexts(), enabled))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _, unknown = self._item_ids(item)
        if unknown:
            lines = [
                f"{item.nodeid}: unknown rubric id {raw!r}; closest valid ids: "
                f"{', '.join(self.rubric.closest(raw))}"
                for raw in unknown
            ]
            pytest.fail("\n".join(lines) + "\n(this test earns nothing)", pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        ids, unknown = self._item_ids(item)
        if ids or unknown:
            setattr(report, REPORT_ATTR, ids)
            setattr(report, UNKNOWN_ATTR, unknown)
        return report

    # -- controller only: gather, score, gate, write ------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        ids = getattr(report, REPORT_ATTR, None)
        if ids is None:
            return
        unknown = getattr(report, UNKNOWN_ATTR, [])
        if unknown:
            self.unknown[report.nodeid] = unknown
            return
        self.ids_by_test[report.nodeid] = ids
        wasxfail = hasattr(report, "wasxfail")
        self.phases.setdefault(report.nodeid, {})[report.when] = (report.outcome, wasxfail)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        if self.is_worker:
            return (yield)
        if session.config.option.collectonly:
            self.no_verdict = "no verdict under --collect-only (no test ran)"
            return (yield)
        try:
            return (yield)
        finally:
            self._finish(session)

    def _finish(self, session: pytest.Session) -> None:
        from .report import build_report
        from .scoring import TestOutcome, combine_phases, score_run

        tests_by_item: dict[str, list[TestOutcome]] = {}
        for nodeid, phases in self.phases.items():
            outcome = combine_phases(phases)
            if outcome is None:
                continue
            for item_id in self.ids_by_test[nodeid]:
                tests_by_item.setdefault(item_id, []).append(TestOutcome(nodeid, outcome))
        self.result = score_run(
            self.rubric,
            tests_by_item,
            self.settings.manual,
            today=clock.today(),
            max_age_days=self.settings.manual_max_age_days,
            min_score=self.settings.min_score,
        )
        extra = {
            "unknown_ids": [{"nodeid": n, "ids": ids} for n, ids in sorted(self.unknown.items())]
        }
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.report = build_report(self.result, created=created, extra=extra)
        if self.result.passed is False:
            session.testsfailed += 1
        self._write_files()

    def _write_files(self) -> None:
        from .report import render_json, render_markdown, write_text_atomic

        assert self.report is not None
        base = Path(self.config.invocation_params.dir)
        for spec in self.reports:
            if spec.path is None:
                continue
            path = base / spec.path
            text = (
                render_json(self.report)
                if spec.kind == "json"
                else render_markdown(self.report, self.rubric)
            )
            try:
                write_text_atomic(path, text)
            except OSError as exc:
                self.written.append(f"could not write {spec.kind} report to {path}: {exc}")
            else:
                self.written.append(f"{spec.kind} report written to {path}")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker:
            return
        tr = terminalreporter
        if self.no_verdict:
            tr.write_line(f"ML Test Score: {self.no_verdict}")
            return
        if self.report is None:
            return
        from .report import fmt_points
        from .scorecard import one_line, render_scorecard

        kinds = {spec.kind for spec in self.reports}
        if tr.verbosity < 0:
            tr.write_line(one_line(self.report))
        elif kinds & {"term", "term-missing"}:
            tw = self.config.get_terminal_writer()
            tr.write_sep("=", "ML Test Score", bold=True)
            text = render_scorecard(
                self.report,
                self.rubric,
                markup=tw.hasmarkup,
                width=tw.fullwidth,
                missing="term-missing" in kinds,
            )
            tr.write(text)
        for line in self.written:
            tr.write_line(line)
        for nodeid, ids in sorted(self.unknown.items()):
            tr.write_line(
                f"unknown rubric id(s) {', '.join(ids)} in {nodeid}: that test earned nothing",
                red=True,
            )
        report = self.report
        if report["passed"] is False:
            tr.write_line(
                f"FAIL: ML Test Score {fmt_points(report['score'])} is below the required "
                f"{fmt_points(report['min_score'])}",
                red=True,
                bold=True,
            )
        elif report["passed"] is True:
            tr.write_line(
                f"ML Test Score {fmt_points(report['score'])} meets the required "
                f"{fmt_points(report['min_score'])}",
                green=True,
            )
