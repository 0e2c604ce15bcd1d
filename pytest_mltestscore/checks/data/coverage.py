"""data-7: the code that computes features is covered by the test suite.

Line coverage of the configured feature modules is measured with coverage.py during the session
(or read from a coverage run that is already active, such as pytest-cov's, which a second
measurement would otherwise pause) and each module must reach a minimum percentage. The
measurement is paused while the plugin itself runs code (built-in checks, models and datasets
it loads: :mod:`pytest_mltestscore.suite_only`), so only what the suite's tests run counts.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...builtin import BuiltinCheck, CheckContext, Param, setting
from ...result import CheckResult, Table, Verdict, library_check
from ...suite_only import measuring, stopped

RUBRIC_ID = "data-7"
COVERAGE_HINT = "pip install pytest-mltestscore[coverage]"


@dataclass(frozen=True)
class ModuleCoverage:
    """Line coverage of one feature module: statements, missed ones and which lines."""

    module: str
    path: str
    statements: int
    missed: int
    missing_lines: str = ""
    measured: bool = True
    missing: tuple[int, ...] = ()

    @property
    def percent(self) -> float:
        if self.statements == 0:
            return 100.0
        return 100.0 * (self.statements - self.missed) / self.statements


@dataclass
class CoverageHandle:
    """A running measurement; pass it to :func:`stop_and_report`."""

    modules: tuple[str, ...]
    cov: Any
    owned: bool
    notes: list[str] = field(default_factory=list)


def _coverage_module() -> Any:
    try:
        import coverage
    except ImportError:
        raise ImportError(
            f"measuring feature code coverage needs coverage.py: {COVERAGE_HINT}"
        ) from None
    return coverage


def start_coverage(modules: Sequence[str]) -> CoverageHandle:
    """Start measuring line coverage of ``modules`` (dotted names of modules or packages).

    Start before the modules are imported when possible; lines that run at import time
    (``def``, ``class``, module constants) are credited anyway for imported modules. When a
    coverage run is already active (pytest-cov), its data is used instead of starting a second
    one, and the modules must be within its ``--cov`` sources.
    """
    if (
        isinstance(modules, str)
        or not modules
        or not all(isinstance(m, str) and m.strip() for m in modules)
    ):
        raise ValueError("modules must be a non-empty list of dotted module names")
    coverage = _coverage_module()
    names = tuple(m.strip() for m in modules)
    _module_files(names)  # fail now, not at the end of the session, on a wrong name
    current = coverage.Coverage.current()
    if current is not None:
        return CoverageHandle(
            names,
            current,
            owned=False,
            notes=["using the coverage run already active in this process (e.g. pytest-cov)"],
        )
    cov = coverage.Coverage(source_pkgs=list(names), data_file=None, config_file=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cov.start()
    handle = CoverageHandle(names, cov, owned=True)
    handle.notes += [str(w.message) for w in caught]
    return handle


def stop_and_report(handle: CoverageHandle) -> dict[str, ModuleCoverage]:
    """Stop the measurement (if we started it) and return coverage per module file."""
    cov = handle.cov
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if handle.owned:
            cov.stop()
        data = cov.get_data()
        measured = {str(Path(f).resolve()) for f in data.measured_files()}
        report: dict[str, ModuleCoverage] = {}
        for module, path in _module_files(handle.modules):
            report[module] = _analyse(cov, module, path, measured, handle.owned)
    handle.notes += [str(w.message) for w in caught if "module-not-imported" not in str(w.message)]
    return report


def _module_files(modules: Iterable[str]) -> list[tuple[str, Path]]:
    """Every ``.py`` file of each module or package, with its dotted name."""
    out: list[tuple[str, Path]] = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise ValueError(f"feature module {name!r} cannot be found on sys.path")
        locations = spec.submodule_search_locations
        if locations:
            for root in locations:
                for file in sorted(Path(root).rglob("*.py")):
                    rel = file.relative_to(root).with_suffix("")
                    parts = [p for p in rel.parts if p != "__init__"]
                    out.append((".".join([name, *parts]), file))
        elif spec.origin and spec.origin.endswith(".py"):
            out.append((name, Path(spec.origin)))
    return out


def _import_time_lines(path: Path) -> set[int]:
    """Lines that run when the module is imported: statements outside function bodies."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines: set[int] = set()

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            lines.add(node.lineno)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                lines.update(d.lineno for d in node.decorator_list)
            if isinstance(node, ast.ClassDef):
                walk(node.body)

    walk(tree.body)
    return lines


def _analyse(cov: Any, module: str, path: Path, measured: set[str], owned: bool) -> ModuleCoverage:
    _, statements, _, missing, _ = cov.analysis2(str(path))
    was_measured = owned or str(path.resolve()) in measured
    if module in sys.modules:
        # Imported before (or while) measuring: its import-time lines did run.
        missing = sorted(set(missing) - _import_time_lines(path))
    return ModuleCoverage(
        module=module,
        path=str(path),
        statements=len(statements),
        missed=len(missing),
        missing_lines=_ranges(missing),
        measured=was_measured,
        missing=tuple(missing),
    )


def merge_reports(reports: Sequence[Mapping[str, ModuleCoverage]]) -> dict[str, ModuleCoverage]:
    """Combine reports from several processes (e.g. xdist workers): a line is covered when
    any process ran it."""
    merged: dict[str, ModuleCoverage] = {}
    for report in reports:
        for name, mc in report.items():
            prev = merged.get(name)
            if prev is None:
                merged[name] = mc
                continue
            if not mc.measured:
                continue
            missing = (
                sorted(set(mc.missing) & set(prev.missing)) if prev.measured else list(mc.missing)
            )
            merged[name] = ModuleCoverage(
                module=name,
                path=mc.path,
                statements=mc.statements,
                missed=len(missing),
                missing_lines=_ranges(missing),
                measured=True,
                missing=tuple(missing),
            )
    return merged


def _ranges(lines: Sequence[int]) -> str:
    out: list[str] = []
    start = prev = None
    for n in lines:
        if start is None:
            start = prev = n
        elif prev is not None and n == prev + 1:
            prev = n
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)


@library_check
def feature_code_coverage(
    report: Mapping[str, ModuleCoverage] | CoverageHandle, *, min_coverage: float = 80.0
) -> CheckResult:
    """Every feature module reaches ``min_coverage`` percent line coverage.

    ``report`` comes from :func:`stop_and_report` (a handle is stopped here). Modules the
    active coverage run did not measure give no verdict for themselves.
    """
    if not 0.0 <= min_coverage <= 100.0:
        raise ValueError(f"min_coverage must be a percentage in [0, 100], got {min_coverage}")
    notes: list[str] = []
    if isinstance(report, CoverageHandle):
        handle = report
        report = stop_and_report(handle)
        notes += handle.notes
    if not report:
        raise ValueError("the coverage report holds no modules")
    rows: list[tuple[Any, ...]] = []
    failing = []
    unmeasured = []
    for mc in report.values():
        if not mc.measured:
            unmeasured.append(mc.module)
            rows.append((mc.module, mc.statements, None, None, min_coverage, "not measured"))
            continue
        ok = mc.percent >= min_coverage
        if not ok:
            failing.append(mc)
        rows.append(
            (
                mc.module,
                mc.statements,
                mc.missed,
                round(mc.percent, 1),
                min_coverage,
                mc.missing_lines or "",
            )
        )
    if unmeasured:
        notes.append(
            "not measured by the active coverage run (add them to its sources): "
            + ", ".join(unmeasured)
        )
    measured = [mc for mc in report.values() if mc.measured]
    total = sum(mc.statements for mc in measured)
    missed = sum(mc.missed for mc in measured)
    overall = 100.0 if total == 0 else 100.0 * (total - missed) / total
    metrics = {"percent": overall, "statements": float(total), "missed": float(missed)}
    table = Table(
        ("module", "statements", "missed", "percent", "threshold", "missing lines"), tuple(rows)
    )
    verdict: Verdict
    if not measured:
        verdict = "skip"
        summary = "no feature module was measured, so their coverage is unknown"
    elif failing:
        verdict = "fail"
        worst = min(failing, key=lambda m: m.percent)
        summary = (
            f"{len(failing)} of {len(measured)} feature modules below {min_coverage:g}% line "
            f"coverage; lowest {worst.module} at {worst.percent:.1f}% ({worst.missed} of "
            f"{worst.statements} statements never run by the tests)"
        )
    else:
        verdict = "pass"
        summary = (
            f"all {len(measured)} feature modules reach {min_coverage:g}% line coverage "
            f"(overall {overall:.1f}%)"
        )
    return CheckResult(
        "feature_code_coverage",
        verdict,
        summary,
        table=table,
        rubric_id=RUBRIC_ID,
        metrics=metrics,
        notes=tuple(notes),
    )


# -- built-in check: judged over the whole session ---------------------------------------------
class FeatureCoverageJudge:
    """data-7 over the session: line coverage of ``feature_modules``, measured from the moment
    the session is configured (before test modules are imported) in each process that runs
    tests, merged across xdist workers and judged once at the end.

    A partial run (tests deselected, or the session stopped early) measures less of the feature
    code than the suite covers, so it is not judged: skipped with the reason, rather than failed
    for coverage the full suite may well have.
    """

    title = "data-7 feature code coverage"

    def __init__(self, ctx: CheckContext) -> None:
        self.min_coverage = float(ctx.params["min_coverage"])
        self.modules = list(ctx.settings.feature_modules)
        self.reports: list[dict[str, Any]] = []
        self.handle: CoverageHandle | None = None
        self.error: str | None = None

    def start(self) -> None:
        try:
            self.handle = start_coverage(self.modules)
        except ImportError as exc:
            self.error = str(exc)
        except Exception as exc:  # coverage.py refusing to start must not break the session
            self.error = f"coverage.py could not start: {type(exc).__name__}: {exc}"
        else:
            measuring(self)  # not while the plugin runs the feature code itself

    def pause(self) -> None:
        if self.handle is not None:
            self.handle.cov.stop()

    def resume(self) -> None:
        if self.handle is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # said when it first started
                self.handle.cov.start()

    def _stop(self) -> dict[str, Any]:
        stopped(self)
        if self.handle is None:
            return {}
        report = stop_and_report(self.handle)
        self.handle = None
        return {name: dataclasses.asdict(mc) for name, mc in report.items()}

    def payload(self) -> dict[str, Any]:
        """What a worker measured (JSON-safe), for the controller: the modules' coverage, or
        why coverage could not be measured."""
        return {"modules": self._stop(), "error": self.error}

    def receive(self, payload: Any) -> None:
        if payload.get("error") is not None and self.error is None:
            self.error = payload["error"]
        if payload.get("modules"):
            self.reports.append(payload["modules"])

    def judge(self, partial: str | None) -> CheckResult:
        own = self._stop()
        if self.error is not None:
            return CheckResult(
                "data-7 feature code coverage", "skip", f"coverage was not measured: {self.error}"
            )
        if partial:
            return CheckResult(
                "data-7 feature code coverage",
                "skip",
                f"a partial run ({partial}); it is measured over the whole test suite",
            )
        raw = [*self.reports, own] if own else self.reports
        reports = [
            {
                n: ModuleCoverage(**{**d, "missing": tuple(d.get("missing", ()))})
                for n, d in r.items()
            }
            for r in raw
        ]
        return feature_code_coverage(merge_reports(reports), min_coverage=self.min_coverage)


FEATURE_COVERAGE = BuiltinCheck(
    "data-7",
    "feature-coverage",
    "line coverage of feature_modules over the session reaches the minimum",
    (setting("feature_modules", "feature_modules"),),
    params=(
        Param(
            "min_coverage",
            "number",
            80.0,
            "minimum line coverage per module, percent",
            0.0,
            100.0,
        ),
    ),
    session=FeatureCoverageJudge,
    declines="a partial run (`-k`, `-m`, `--lf`, `-x`...); coverage.py not installed",
)
