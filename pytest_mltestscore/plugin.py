"""pytest hooks of pytest-mltestscore, and nothing else.

Registered through the ``pytest11`` entry point as ``mltestscore``. Without ``--ml-score`` the
plugin only registers its marker and fixtures (:mod:`pytest_mltestscore.fixtures`); with it, a
:class:`~pytest_mltestscore.session.ScoreSession` is registered that tags reports with rubric
ids (on workers too), and on the controller gathers outcomes, scores the run once, applies the
gate, writes the reports and prints the scorecard.
"""

from __future__ import annotations

import pytest

from .fixtures import (
    ml_config,
    ml_datasets,
    ml_history,
    ml_model,
    ml_models,
    ml_schema,
    serving_data,
    training_data,
)
from .options import (
    ML_SCORE,
    ML_SCORE_DURATIONS,
    ML_SCORE_FREEZE_DEPS,
    ML_SCORE_FREEZE_SCHEMA,
    ML_SCORE_HISTORY,
    ML_SCORE_MIN,
    ML_SCORE_PUSH,
    ML_SCORE_REPORT,
    ML_SCORE_RUBRIC,
    ReportSpec,
    missing_report_libraries,
    parse_min_score,
    parse_push_url,
    parse_report,
)

__all__ = [  # the fixtures, found by pytest as attributes of this plugin module
    "ml_config",
    "ml_datasets",
    "ml_history",
    "ml_model",
    "ml_models",
    "ml_schema",
    "serving_data",
    "training_data",
]

BUILTIN_MARKER_HELP = (
    "mltestscore: carried by the built-in checks of pytest-mltestscore (-m mltestscore selects "
    "them, -m 'not mltestscore' leaves them out)"
)
MARKER_HELP = (
    "rubric(*ids): ML Test Score rubric items this test earns, ids written <section>-<number>"
)


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
        help="report type, repeatable: term (default), term-missing, json:PATH, markdown:PATH, "
        "html:PATH, prometheus:PATH (implies --ml-score)",
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
        "hashes) that the dependency check compares against, and exit without running tests",
    )
    group.addoption(
        ML_SCORE_HISTORY,
        action="store_true",
        default=False,
        help="print the run history (scores, sections, git commit) and exit without running tests",
    )
    group.addoption(
        ML_SCORE_PUSH,
        type=parse_push_url,
        default=None,
        metavar="URL",
        help="push the score and recorded metrics to a Prometheus Pushgateway (implies "
        "--ml-score; default: push_url in [tool.mltestscore])",
    )
    group.addoption(
        ML_SCORE_DURATIONS,
        action="store_true",
        default=False,
        help="after the scorecard, print each built-in check's time and what it spent it on "
        "(model fits, predictions, fresh processes, dataset reads and profiles), the slowest "
        "first (implies --ml-score)",
    )
    group.addoption(
        ML_SCORE_RUBRIC,
        default=None,
        metavar="NAME_OR_PATH",
        help="rubric to score against: a shipped name or a TOML file (default: breck2017)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", BUILTIN_MARKER_HELP)
    opt = config.option
    if not (
        opt.ml_score
        or opt.ml_score_min is not None
        or opt.ml_score_report
        or opt.ml_score_push
        or opt.ml_score_durations
    ):
        return
    from .fresh_process import mode
    from .project import load_project
    from .session import ScoreSession

    try:
        mode()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    project = load_project(config)
    reports = opt.ml_score_report or [ReportSpec("term")]
    kinds = {spec.kind for spec in reports}
    if opt.ml_score_push or project.settings.push_url:
        kinds.add("prometheus")
    problems = missing_report_libraries(kinds)
    if problems:
        raise pytest.UsageError("; ".join(problems))
    config.pluginmanager.register(ScoreSession(config, project, reports), "mltestscore-session")
    if getattr(opt, "htmlpath", None):  # pytest-html writes a report: the ML view goes in too
        from .htmlplugin import PytestHtml

        config.pluginmanager.register(PytestHtml(config), "mltestscore-pytest-html")


def pytest_unconfigure(config: pytest.Config) -> None:
    from .fresh_process import shutdown

    shutdown()  # the warm process of fresh-process checks ends with the session


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    from .commands import run_command

    return run_command(config)
