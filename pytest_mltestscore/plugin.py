"""pytest hooks of pytest-mltestscore, and nothing else.

Registered through the ``pytest11`` entry point as ``mltestscore``. Without ``--ml-score`` the
plugin only registers its marker (and fixtures); with it, a :class:`ScoreSession` object is
registered that tags reports with rubric ids (on workers too), and on the controller gathers
outcomes, scores the run once, applies the gate, writes the reports and prints the scorecard.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import clock
from .options import (
    ML_SCORE,
    ML_SCORE_FREEZE_DEPS,
    ML_SCORE_FREEZE_SCHEMA,
    ML_SCORE_HISTORY,
    ML_SCORE_MIN,
    ML_SCORE_PUSH,
    ML_SCORE_REPORT,
    ML_SCORE_RUBRIC,
    ReportSpec,
    parse_min_score,
    parse_report,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping, Sequence

    import pandas as pd

    from .assets import Assets
    from .builtin import CheckContext
    from .config import Settings
    from .rubric import Rubric
    from .scoring import ScoreResult

MARKER_HELP = (
    "rubric(*ids): ML Test Score rubric items this test earns, e.g. rubric('data-1', 'monitor-2')"
)
PROFILE_PROPERTY = "mltestscore_profile"  # {"dataset": name, "profile": dict}
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
        self._store: Any = None

    def history(self) -> Any:
        """The run history store of this process (opened once), or None when history is off.

        Raises :class:`~pytest_mltestscore.assets.AssetError` naming the file or URL when the
        store cannot be opened.
        """
        if self.settings.history is None:
            return None
        if self._store is None:
            from .assets import AssetError
            from .history import HistoryError, open_store

            try:
                self._store = open_store(self.settings.history)
            except (HistoryError, ImportError) as exc:
                raise AssetError(f"run history: {exc}") from None
        return self._store

    def contexts(self) -> dict[str, CheckContext]:
        from .builtin import CheckContext, all_checks, params_for

        return {
            check.name: CheckContext(
                assets=self.assets,
                settings=self.settings,
                params=params_for(check, self.settings.checks),
                check_id=check.rubric_id,
                history=self.history,
            )
            for check in all_checks(self.settings)
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
        ML_SCORE_FREEZE_DEPS,
        action="store_true",
        default=False,
        help="record the dependency lock (package versions, dataset schemas, model artifact "
        "hashes) for monitor-1 and exit without running tests",
    )
    group.addoption(
        ML_SCORE_HISTORY,
        action="store_true",
        default=False,
        help="print the run history (scores, sections, git commit) and exit without running tests",
    )
    group.addoption(
        ML_SCORE_PUSH,
        default=None,
        metavar="URL",
        help="push the score and recorded metrics to a Prometheus Pushgateway (implies "
        "--ml-score; default: push_url in [tool.mltestscore])",
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
    if not (
        opt.ml_score or opt.ml_score_min is not None or opt.ml_score_report or opt.ml_score_push
    ):
        return
    project = load_project(config)
    reports = opt.ml_score_report or [ReportSpec("term")]
    config.pluginmanager.register(ScoreSession(config, project, reports), "mltestscore-session")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.option.ml_score_freeze_schema:
        from .freeze import freeze_schema

        project = load_project(config)
        print(freeze_schema(project.assets, project.settings.schema_path))
        return 0
    if config.option.ml_score_freeze_deps:
        from .builtin import all_checks, params_for
        from .freeze import freeze_deps

        project = load_project(config)
        check = next(c for c in all_checks() if c.rubric_id == "monitor-1")
        params = params_for(check, project.settings.checks)
        print(freeze_deps(project.assets, project.settings, params))
        return 0
    if config.option.ml_score_history:
        from .assets import AssetError
        from .state import history_table

        project = load_project(config)
        try:
            store = project.history()
        except AssetError as exc:
            raise pytest.UsageError(f"{ML_SCORE_HISTORY}: {exc}") from None
        if store is None:
            raise pytest.UsageError(f"{ML_SCORE_HISTORY}: run history is off (history = false)")
        print(history_table(store))
        return 0
    return None


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


@pytest.fixture
def ml_history(request: pytest.FixtureRequest) -> Any:
    """Record metrics into the run history (``ml_history.record(name, value, **labels)``) and
    read earlier runs (``ml_history.series(name, **labels)``, ``ml_history.runs()``)."""
    from .state import HistoryRecorder

    return HistoryRecorder(request.node, _project_for_test(request).history)


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


class FeatureCoverage:
    """data-7: line coverage of ``feature_modules`` measured over the whole session.

    Measurement starts when the plugin is configured (before test modules are imported); each
    xdist worker sends its report to the controller through ``workeroutput``; the controller
    merges them and judges once, as the synthetic test ``mltestscore::data-7::feature-coverage``.
    """

    NODEID = "mltestscore::data-7::feature-coverage"
    OUTPUT_KEY = "mltestscore_coverage"
    DESELECTED_KEY = "mltestscore_coverage_deselected"

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.reports: list[dict[str, Any]] = []
        self.deselected = 0  # the session's own tests left out by -k, -m, --lf...
        self.message = ""
        self.handle: Any = None
        self.error: str | None = None
        from .infra.feature_coverage import start_coverage

        try:
            self.handle = start_coverage(list(settings.feature_modules))
        except ImportError as exc:
            self.error = str(exc)
        except Exception as exc:  # coverage.py refusing to start must not break the session
            self.error = f"coverage.py could not start: {type(exc).__name__}: {exc}"

    def _stop(self) -> dict[str, Any]:
        import dataclasses

        from .infra.feature_coverage import stop_and_report

        if self.handle is None:
            return {}
        report = stop_and_report(self.handle)
        self.handle = None
        return {name: dataclasses.asdict(mc) for name, mc in report.items()}

    def send_to_controller(self) -> None:
        output = self.config.workeroutput  # type: ignore[attr-defined]
        output[self.OUTPUT_KEY] = self._stop()
        output[self.DESELECTED_KEY] = self.deselected

    def receive(self, workeroutput: Mapping[str, Any]) -> None:
        if self.OUTPUT_KEY in workeroutput:
            self.reports.append(workeroutput[self.OUTPUT_KEY])
        # every worker collects, and deselects, the whole suite: the largest count is the count
        self.deselected = max(self.deselected, int(workeroutput.get(self.DESELECTED_KEY, 0)))

    def judge(self, stopped: str | None = None) -> str | None:
        """Merge what was measured and judge it; the verdict, or None when nothing ran.

        A partial run (tests deselected, or the session stopped early: ``stopped`` says why)
        measures less of the feature code than the suite covers, so it is not judged: skipped
        with the reason, rather than failed for coverage the full suite may well have.
        """
        from .builtin import all_checks, params_for
        from .infra.feature_coverage import ModuleCoverage, feature_code_coverage, merge_reports

        own = self._stop()
        if self.error is not None:
            self.message = f"data-7 not measured: {self.error}"
            return None
        partial = stopped or (
            f"{self.deselected} test(s) deselected (-k, -m, --lf, ...)" if self.deselected else None
        )
        if partial:
            self.message = (
                f"data-7 feature code coverage not judged: a partial run ({partial}); it is "
                "measured over the whole test suite"
            )
            return "skip"
        raw = [*self.reports, own] if own else self.reports
        reports = [
            {
                n: ModuleCoverage(**{**d, "missing": tuple(d.get("missing", ()))})
                for n, d in r.items()
            }
            for r in raw
        ]
        check = next(c for c in all_checks() if c.rubric_id == "data-7")
        params = params_for(check, self.settings.checks)
        result = feature_code_coverage(merge_reports(reports), min_coverage=params["min_coverage"])
        self.message = result.message()
        return result.verdict


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
        self.metrics: dict[tuple[str, str], tuple[str, float, dict[str, str]]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.history_lines: list[str] = []
        self.unknown: dict[str, list[str]] = {}
        self.result: ScoreResult | None = None
        self.report: dict[str, Any] | None = None
        self.written: list[str] = []
        self.no_verdict: str | None = None
        settings = project.settings
        enabled = settings.checks.get("data-7", {}).get("enabled", True)
        measure = bool(settings.feature_modules) and enabled
        self.coverage = FeatureCoverage(config, settings) if measure else None

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
        added = make_items(session, self.project.contexts(), enabled)
        items.extend(added)
        # report them as collected, so that "collected N items / M deselected" adds up
        report = pytest.CollectReport("mltestscore", "passed", None, list(added))
        config.hook.pytest_collectreport(report=report)

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        """data-7 judges the whole suite's coverage: note when tests are left out."""
        if self.coverage is not None:
            from .items import BuiltinCheckItem

            self.coverage.deselected += sum(1 for i in items if not isinstance(i, BuiltinCheckItem))

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
        if report.when == "call":
            from .state import metrics_from_properties

            for key, value in metrics_from_properties(report.nodeid, report.user_properties):
                self.metrics[key] = value
            for name, prop in report.user_properties:
                if name == PROFILE_PROPERTY and isinstance(prop, dict):
                    self.profiles[str(prop.get("dataset"))] = prop.get("profile", {})
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

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker and self.coverage is not None:
            self.coverage.send_to_controller()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """xdist controller: a worker finished; keep its feature-code coverage."""
        if self.coverage is not None:
            self.coverage.receive(getattr(node, "workeroutput", {}))

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
        if self.coverage is not None:
            stopped = session.shouldstop or session.shouldfail
            verdict = self.coverage.judge(
                f"the session stopped early: {stopped}" if stopped else None
            )
            if verdict is not None:
                outcome_name = {"pass": "passed", "fail": "failed", "skip": "skipped"}[verdict]
                tests_by_item.setdefault("data-7", []).append(
                    TestOutcome(FeatureCoverage.NODEID, outcome_name)  # type: ignore[arg-type]
                )
                if verdict == "fail":
                    session.testsfailed += 1
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
        created = clock.now().isoformat(timespec="seconds")  # follows a pinned today
        self.report = build_report(self.result, created=created, extra=extra)
        if self.result.passed is False:
            session.testsfailed += 1
        self._record_history()
        self._write_files()
        self._push()

    def _record_history(self) -> None:
        """Append this run to the history (a failure is reported, never fatal to the run)."""
        from .assets import AssetError
        from .state import append_run

        assert self.report is not None
        try:
            store = self.project.history()
        except AssetError as exc:
            self.history_lines.append(f"run history not written: {exc}")
            return
        if store is None:
            return
        self.report["history"], lines = append_run(
            store, self.report, list(self.metrics.values()), self.profiles, self.config.rootpath
        )
        self.history_lines.extend(lines)

    def _push(self) -> None:
        url = self.config.option.ml_score_push or self.settings.push_url
        if not url:
            return
        from .prometheus import PrometheusError, push

        assert self.report is not None
        try:
            push(url, self._prometheus_text())
        except (PrometheusError, ValueError) as exc:
            self.written.append(f"could not push to the Pushgateway: {exc}")
        else:
            self.written.append(f"pushed the score to the Pushgateway at {url}")

    def _prometheus_text(self) -> str:
        from .prometheus import render

        assert self.report is not None
        return render(self.report, [(n, v, labels) for n, v, labels in self.metrics.values()])

    def _write_files(self) -> None:
        from .report import render_json, render_markdown, write_text_atomic

        assert self.report is not None
        base = Path(self.config.invocation_params.dir)
        for spec in self.reports:
            if spec.path is None:
                continue
            path = base / spec.path
            if spec.kind == "json":
                text = render_json(self.report)
            elif spec.kind == "markdown":
                text = render_markdown(self.report, self.rubric)
            else:
                text = self._prometheus_text()
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
        if self.coverage is not None and self.coverage.message:
            tr.write_sep("-", "data-7 feature code coverage")
            tr.write_line(self.coverage.message)
        for line in self.history_lines:
            tr.write_line(line)
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
