"""The scoring session: tags reports with rubric ids, gathers outcomes, scores the run once,
applies the gate, writes the reports and prints the scorecard.

Registered by the plugin when ``--ml-score`` (or an option implying it) is given. Its hooks run
on xdist workers and controller alike unless noted; only the controller scores and writes.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import clock
from .durations import Durations
from .evidence import Evidence
from .items import NODE_PREFIX, REPORT_ATTR, TRIAL_PROPERTY, BuiltinCheckItem, nodeid_of
from .judges import SessionJudges
from .options import ReportSpec
from .project import distributes
from .state import PROFILE_PROPERTY, metrics_from_properties
from .suite_only import plugin_work

_PROBLEMS = ("config-problems", "the configuration's problems that take imports or connections")
"""Where the first xdist worker stores them for the controller (see the session cache)."""

if TYPE_CHECKING:
    from .project import Project
    from .scoring import ScoreResult
    from .shared_cache import SharedCache

VIA_ATTR = "mltestscore_via"
UNKNOWN_ATTR = "mltestscore_unknown"
SCOPE_KEY = "mltestscore_scope"  # what a worker saw of the run's scope: deselected, unmatched
_ids_key = pytest.StashKey[tuple[list[str], list[str], dict[str, str]]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class ScoreSession:
    """State of one scored session."""

    def __init__(self, config: pytest.Config, project: Project, reports: list[ReportSpec]) -> None:
        self.config = config
        self.project = project
        self.settings = project.settings
        self.rubric = project.rubric
        self.reports = reports
        self.is_worker = _is_worker(config)
        self.phases: dict[str, dict[str, tuple[str, bool]]] = {}
        self.ids_by_test: dict[str, list[str]] = {}
        self.via: dict[str, dict[str, str]] = {}
        self.metrics: dict[tuple[str, str], tuple[str, float, dict[str, str]]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.history_lines: list[str] = []
        self.unknown: dict[str, list[str]] = {}
        self.result: ScoreResult | None = None
        self.report: dict[str, Any] | None = None
        self.written: list[str] = []
        self.no_verdict: str | None = None
        # the judges start measuring first: coverage.py's start costs more the more modules
        # are loaded, and loading the models below would add scikit-learn's
        self.judges = SessionJudges(config, project, measure=not distributes(config))
        self.prepared_early = self._prepare_early()
        # the configuration is checked at start: serially here, all of it; an xdist controller
        # checks here what the file system answers, and the first worker the rest (see
        # _check_for_the_controller), before any test
        if not self.is_worker:
            with plugin_work():
                problems = project.problems(slow=not distributes(config))
            if problems:
                self.judges.stop()
                if self.prepared_early:
                    from .fresh_process import release_unused

                    release_unused()
            self._stop_on(problems)
        elif project.assets.shared is not None:
            self._check_for_the_controller(project.assets.shared)
        self.checked = not distributes(config)  # an xdist controller: when a worker collected
        self.deselected = 0  # the suite's own tests left out (-k, -m, --lf, --deselect...)
        self.unmatched: set[str] | None = None  # map patterns no collected test matched
        self.reasons: dict[str, str] = {}  # nodeid -> why it was skipped
        self.explanations: dict[str, None] = {}  # models that cannot take their data, once
        self.builtin_failed: list[str] = []  # built-in checks that failed, by node id
        self.blocking = {
            nodeid_of(c)
            for c in project.checks
            if project.settings.blocking or project.is_blocking(c)
        }
        self.gated = project.settings.min_score is not None
        self.completed = False
        self.partial: str | None = None
        self.evidence = Evidence()
        self.durations = Durations()
        self.shared: SharedCache | None = None  # xdist controller: made when a worker starts

    def _prepare_early(self) -> bool:
        """Serially, start what the checks that will run need ahead (the canary's warm
        process, whose imports take seconds) now, on another core while the configuration is
        checked and the tests are collected, rather than once they are collected. Under xdist
        nothing is started ahead (see :meth:`pytest_collection_finish`)."""
        config = self.config
        if self.is_worker or distributes(config) or config.option.collectonly:
            return False
        project = self.project
        started = False
        for check in project.checks:
            if check.prepare is None or not project.enabled(check):
                continue
            context = project.context(check)
            if not check.missing(context):
                check.prepare(context)
                started = True
        return started

    def _check_for_the_controller(self, shared: SharedCache) -> None:
        """xdist worker: what takes imports or connections (loading the models, importing the
        configured user code, reaching databases and endpoints) is checked here, in the main
        thread of the first worker to get here, once per session, before it collects; the
        others go on collecting meanwhile. The controller reads the answer when a worker has
        collected (waiting for it if need be), before it hands out any test
        (:meth:`pytest_xdist_node_collection_finished`). The models loaded stay loaded for this
        worker's checks and fixtures; the controller imports none of it."""
        try:
            with plugin_work():
                shared.compute_once(*_PROBLEMS, lambda: self.project.problems(quick=False))
        except Exception:  # nothing stored: the controller checks itself
            pass

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        """xdist controller: a worker has collected, so the configuration has been checked
        (:meth:`_check_for_the_controller`); a problem stops the run before any test is handed
        out, once, as a usage error. Should no worker have stored an answer, the controller
        checks here itself."""
        if self.checked:
            return
        self.checked = True
        if self.shared is None:  # no worker was configured by this session
            return
        problems: list[str] = self.shared.get_or_compute(
            *_PROBLEMS, lambda: self.project.problems(quick=False)
        )
        self._stop_on(problems)

    def _stop_on(self, problems: list[str]) -> None:
        if problems:
            where = self.settings.file or "pyproject.toml"
            raise pytest.UsageError(
                f"{where}: configuration that cannot work (mark an entry optional = true if "
                "it may legitimately be absent):\n  " + "\n  ".join(problems)
            )

    # -- every process: ids per item, and on the reports ------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        where = self.settings.file.name if self.settings.file else "no [tool.mltestscore]"
        gate = (
            f", min score {self.settings.min_score:g}"
            if self.settings.min_score is not None
            else ""
        )
        return [f"mltestscore: rubric {self.rubric.id}{gate} ({where})"]

    def _item_ids(self, item: pytest.Item) -> tuple[list[str], list[str], dict[str, str]]:
        """The item's rubric ids (markers and ``[tool.mltestscore.map]``), the unknown ones,
        and for each id how the test earns it."""
        cached = item.stash.get(_ids_key, None)
        if cached is not None:
            return cached
        ids: list[str] = []
        unknown: list[str] = []
        via: dict[str, str] = {}
        for mark in item.iter_markers("rubric"):
            if not mark.args:
                unknown.append("(none: rubric() needs at least one id)")
            for raw in mark.args:
                norm = self.rubric.normalize(raw)
                if norm is None:
                    unknown.append(repr(raw) if not isinstance(raw, str) else raw)
                elif norm not in ids:
                    ids.append(norm)
                    via[norm] = "marker"
        if not isinstance(item, BuiltinCheckItem):
            for rule in self.settings.map:
                if rule.matches(item.nodeid):
                    for norm in rule.ids:
                        if norm not in ids:
                            ids.append(norm)
                            via[norm] = "map"
                        elif via[norm] == "marker":
                            via[norm] = "marker+map"
        item.stash[_ids_key] = (ids, unknown, via)
        return ids, unknown, via

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Add the built-in checks (before -k/-m deselection, so those select them too), and
        note the map patterns that match no collected test."""
        settings = self.settings
        if settings.map:
            self.unmatched = {
                rule.pattern
                for rule in settings.map
                if not any(rule.matches(i.nodeid) for i in items)
            }
        if not self.project.checks:
            return  # nothing configured: no built-in check could run
        if any("::" in str(arg) for arg in config.args):
            return  # the user picked individual tests
        from .items import make_items

        added = make_items(session, self.project)
        items.extend(added)
        # report them as collected, so that "collected N items / M deselected" adds up
        report = pytest.CollectReport("mltestscore", "passed", None, list(added))
        config.hook.pytest_collectreport(report=report)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Built-in checks that will run register what they watch of the datasets' one
        streaming pass, before any check starts it, and start what they will need."""
        needed = False
        for item in session.items:
            if not isinstance(item, BuiltinCheckItem) or item.skip_reason:
                continue
            if item.check.watch:
                item.check.watch(item.context)
            # not on an xdist worker: the check may run on another one, and a head start that
            # competes for the cores with the checks there would cost more than it saves
            if (
                item.check.prepare
                and not hasattr(session.config, "workerinput")
                and not session.config.option.collectonly
            ):
                item.check.prepare(item.context)
                needed = True
        if self.prepared_early and not needed:  # left out (-k, -m): free the core it takes
            from .fresh_process import release_unused

            release_unused()

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        """A run that leaves the suite's own tests out is not a whole run (deselecting only
        built-in checks does not count)."""
        self.deselected += sum(1 for i in items if not isinstance(i, BuiltinCheckItem))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        """A session judge's item is judged, and reported, when the run ends."""
        return True if self.judges.defer(item) else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _, unknown, _ = self._item_ids(item)
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
        ids, unknown, via = self._item_ids(item)
        if ids or unknown:
            setattr(report, REPORT_ATTR, ids)
            setattr(report, VIA_ATTR, via)
            setattr(report, UNKNOWN_ATTR, unknown)
        if report.skipped and isinstance(item, BuiltinCheckItem):
            _point_at_config(report, item)
        return report

    # -- controller only: gather, score, gate, write ------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        if report.user_properties:  # most tests record none: skip the scans for them
            self._gather_properties(report)
        if report.skipped and isinstance(report.longrepr, tuple):
            self.reasons[report.nodeid] = _reason(str(report.longrepr[2]))
        if (
            report.failed
            and report.when == "call"
            and report.nodeid.startswith(f"{NODE_PREFIX}::")
            and report.nodeid not in self.builtin_failed
        ):
            self.builtin_failed.append(report.nodeid)
        self.evidence.add(report)
        self.durations.add(report)
        ids = getattr(report, REPORT_ATTR, None)
        if ids is None:
            return
        unknown = getattr(report, UNKNOWN_ATTR, [])
        if unknown:
            self.unknown[report.nodeid] = unknown
            return
        self.ids_by_test[report.nodeid] = ids
        if report.nodeid not in self.via:  # every phase's report carries the same ids and via
            self.via[report.nodeid] = dict(getattr(report, VIA_ATTR, {}))
            self.phases[report.nodeid] = {}
        wasxfail = hasattr(report, "wasxfail")
        self.phases[report.nodeid][report.when] = (report.outcome, wasxfail)

    def _gather_properties(self, report: pytest.TestReport) -> None:
        """Metrics and profiles a test recorded (call phase), and the explanations of models
        that cannot take their data (any phase)."""
        if report.when == "call":
            for key, value in metrics_from_properties(report.nodeid, report.user_properties):
                self.metrics[key] = value
            for name, prop in report.user_properties:
                if name == PROFILE_PROPERTY and isinstance(prop, dict):
                    self.profiles[str(prop.get("dataset"))] = prop.get("profile", {})
        for name, prop in report.user_properties:
            if name == TRIAL_PROPERTY and isinstance(prop, str):
                self.explanations.setdefault(prop, None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        if self.is_worker:
            return (yield)
        if session.config.option.collectonly:
            self.no_verdict = "no verdict under --collect-only (no test ran)"
            return (yield)
        usage_error = False
        try:
            outcome = yield
            self.completed = True
            return outcome
        except pytest.UsageError:  # the configuration cannot work (found under xdist): no score
            usage_error = True
            raise
        finally:
            if not usage_error:
                self._finish(session)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            output = self.config.workeroutput  # type: ignore[attr-defined]
            output[SCOPE_KEY] = {
                "deselected": self.deselected,
                "unmatched": None if self.unmatched is None else sorted(self.unmatched),
            }
            if self.judges:
                self.judges.send_to_controller()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.project.close()
        if self.shared is not None:  # xdist controller: this session's frames and profiles
            self.shared.remove()
            self.shared = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: a worker starts; give it the session's shared cache, so that each
        dataset is read and profiled by one worker only (see :mod:`.shared_cache`)."""
        from .shared_cache import WORKERINPUT_KEY, SharedCache

        if self.shared is None:
            self.shared = SharedCache.create()
        node.workerinput[WORKERINPUT_KEY] = str(self.shared.directory)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """xdist controller: a worker finished; keep what it saw and what its judges measured."""
        output = getattr(node, "workeroutput", {})
        scope = output.get(SCOPE_KEY, {})
        # every worker collects, and deselects, the whole suite: the largest count is the count
        self.deselected = max(self.deselected, int(scope.get("deselected", 0)))
        if scope.get("unmatched") is not None:
            seen = set(scope["unmatched"])
            self.unmatched = seen if self.unmatched is None else self.unmatched & seen
        if self.judges:
            self.judges.receive(output)

    def _partial(self, session: pytest.Session) -> str | None:
        """Why this run is not a whole run of the suite, or None when it is."""
        opt = self.config.option
        stopped = session.shouldstop or session.shouldfail
        if stopped:
            return f"the session stopped early: {stopped}"
        if not self.completed:
            return "the session was interrupted"
        if getattr(opt, "lf", False):
            return "only the last failed tests ran (--lf)"
        if getattr(opt, "stepwise", False):
            return "a stepwise run (--sw)"
        if any("::" in str(arg) for arg in self.config.args):
            return "individual tests were named on the command line"
        if self.deselected:
            return f"{self.deselected} test(s) deselected (-k, -m, --deselect, ...)"
        return None

    def _finish(self, session: pytest.Session) -> None:
        from .report import build_report
        from .scoring import TestOutcome, combine_phases, score_run

        self.partial = self._partial(session)
        if self.judges:  # reported like any test: the scoring below reads their reports
            for verdict in self.judges.judge(self.partial):
                self.judges.report(verdict)
        tests_by_item: dict[str, list[TestOutcome]] = {}
        for nodeid, phases in self.phases.items():
            outcome = combine_phases(phases)
            if outcome is None:
                continue
            reason = self.reasons.get(nodeid) if outcome == "skipped" else None
            via = self.via.get(nodeid, {})
            for item_id in self.ids_by_test[nodeid]:
                tests_by_item.setdefault(item_id, []).append(
                    TestOutcome(nodeid, outcome, reason, via.get(item_id, "marker"))
                )
        if self.gated:  # the gate decides: findings cost their points, blocking ones fail
            session.testsfailed -= len(self.not_blocking())
        self.result = score_run(
            self.rubric,
            tests_by_item,
            self.settings.manual,
            today=clock.today(),
            max_age_days=self.settings.manual_max_age_days,
            min_score=self.settings.min_score,
        )
        extra = {
            "unknown_ids": [{"nodeid": n, "ids": ids} for n, ids in sorted(self.unknown.items())],
            "durations": self.durations.rows(),
        }
        created = clock.now().isoformat(timespec="seconds")  # follows a pinned today
        self.report = build_report(
            self.result, created=created, extra=extra, rubric=self.rubric, evidence=self.evidence.of
        )
        if self.result.passed is False:
            session.testsfailed += 1
        if self.partial is None:
            self._record_history()
        elif self.settings.history is not None or self.config.option.ml_score_push:
            self.history_lines.append(
                f"history: this run is not stored, nor pushed: a partial run ({self.partial}); "
                "the history holds whole runs of the suite"
            )
        self._write_files()
        if self.partial is None:
            self._push()

    def not_blocking(self) -> list[str]:
        """The failed built-in checks that do not fail the run by themselves under a gate."""
        return [n for n in self.builtin_failed if n not in self.blocking]

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
            push(url, self.report, self._recorded_metrics())
        except (PrometheusError, ValueError) as exc:
            self.written.append(f"could not push to the Pushgateway: {exc}")
        else:
            self.written.append(f"pushed the score to the Pushgateway at {url}")

    def _recorded_metrics(self) -> list[tuple[str, float, dict[str, str]]]:
        return [(n, v, labels) for n, v, labels in self.metrics.values()]

    def _write_files(self) -> None:
        base = Path(self.config.invocation_params.dir)
        for spec in self.reports:
            if spec.path is None:
                continue
            path = base / spec.path
            errors = _write_errors(spec.kind)
            try:
                self._write_file(spec.kind, path)
            except errors as exc:
                self.written.append(f"could not write {spec.kind} report to {path}: {exc}")
            else:
                self.written.append(f"{spec.kind} report written to {path}")

    def _write_file(self, kind: str, path: Path) -> None:
        """Render and write one report file, importing only what that kind needs."""
        assert self.report is not None
        if kind == "prometheus":
            from .prometheus import write_textfile

            write_textfile(path, self.report, self._recorded_metrics())
            return
        from .report import render_json, render_markdown, write_text_atomic

        if kind == "json":
            text = render_json(self.report)
        elif kind == "markdown":
            text = render_markdown(self.report, self.rubric)
        else:
            from .htmlreport import render_html

            text = render_html(self.report)
        write_text_atomic(path, text)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker:
            return
        tr = terminalreporter
        if self.no_verdict:
            tr.write_line(f"ML Test Score: {self.no_verdict}")
            return
        if self.report is None:
            return
        from .report import gate_message
        from .scorecard import one_line, render_scorecard

        kinds = {spec.kind for spec in self.reports}
        # -q shrinks the card to one line, unless a terminal report was asked for by name
        explicit = bool(self.config.option.ml_score_report) and bool(
            kinds & {"term", "term-missing"}
        )
        if tr.verbosity < 0 and not explicit:
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
        if self.explanations:
            tr.write_sep("-", "models that cannot take their data")
            for text in self.explanations:
                tr.write_line(text)
        if self.unmatched:
            for pattern in sorted(self.unmatched):
                tr.write_line(
                    f"[tool.mltestscore.map] {pattern!r} matches no collected test", yellow=True
                )
        for line in self.history_lines:
            tr.write_line(line)
        for line in self.written:
            tr.write_line(line)
        for nodeid, ids in sorted(self.unknown.items()):
            tr.write_line(
                f"unknown rubric id(s) {', '.join(ids)} in {nodeid}: that test earned nothing",
                red=True,
            )
        gate = gate_message(self.report)
        if gate is not None and self.report["passed"] is False:
            tr.write_line(gate, red=True, bold=True)
        elif gate is not None:
            tr.write_line(gate, green=True)
        if self.config.option.ml_score_durations:
            from .durations import render_durations

            tr.write_sep("-", "ML Test Score: built-in checks by time (slowest first)")
            for line in render_durations(self.durations.rows()):
                tr.write_line(line)
        findings = self.not_blocking() if self.gated else []
        if findings:
            tr.write_line(
                f"{len(findings)} built-in check(s) failed: they cost their points but do not "
                "fail the run under the gate (blocking = true under [tool.mltestscore.checks.ID] "
                "makes one fail it): " + ", ".join(findings),
                yellow=True,
            )


def _write_errors(kind: str) -> tuple[type[Exception], ...]:
    """What writing a report of ``kind`` may raise that the run reports as a line, not as an
    internal error (the module of a kind not asked for stays unimported)."""
    if kind == "prometheus":
        from .prometheus import PrometheusError

        return (OSError, ValueError, PrometheusError)
    if kind == "html":
        from .plots import PlotError

        return (OSError, ValueError, PlotError)
    return (OSError, ValueError)


def _reason(text: str) -> str:
    """A skip's reason without pytest's prefix and, for a built-in check, its label."""
    text = text.removeprefix("Skipped: ")
    at = text.find("not judged: ")
    return text[at:] if at >= 0 else text


def _point_at_config(report: pytest.TestReport, item: BuiltinCheckItem) -> None:
    """A built-in check's skip points at the config file (where it is tuned), not at us."""
    if isinstance(report.longrepr, tuple):
        where = item.context.settings.file or item.path
        report.longrepr = (str(where), None, report.longrepr[2])  # type: ignore[assignment]
