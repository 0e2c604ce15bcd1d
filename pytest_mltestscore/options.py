"""Command-line option names (tests import these) and their argparse validators."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from .rubric import suggest
from .settings import push_url_problem

ML_SCORE = "--ml-score"
ML_SCORE_MIN = "--ml-score-min"
ML_SCORE_REPORT = "--ml-score-report"
ML_SCORE_RUBRIC = "--ml-score-rubric"
ML_SCORE_FREEZE_SCHEMA = "--ml-score-freeze-schema"
ML_SCORE_FREEZE_DEPS = "--ml-score-freeze-deps"
ML_SCORE_HISTORY = "--ml-score-history"
ML_SCORE_PUSH = "--ml-score-push"
ML_SCORE_DURATIONS = "--ml-score-durations"

REPORT_TYPES = ["term", "term-missing", "json", "markdown", "html", "prometheus"]
REPORT_NEEDS_PATH = {"json", "markdown", "html", "prometheus"}
# Report types whose library is an extra: (module to import, extra that brings it).
REPORT_NEEDS_MODULE = {
    "html": ("matplotlib", "html"),
    "prometheus": ("prometheus_client", "prometheus"),
}


@dataclass(frozen=True)
class ReportSpec:
    kind: str
    path: str | None = None


def parse_min_score(text: str) -> float:
    """A number from 0 to 7 (the rubric in use may lower the upper bound)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 7, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 7, got {text!r}")
    return value


def parse_push_url(text: str) -> str:
    """A Pushgateway URL: http(s)://host[:port][/path]."""
    problem = push_url_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
    return text.strip()


def parse_report(text: str) -> ReportSpec:
    """``TYPE[:PATH]``: term, term-missing, json:PATH, markdown:PATH, html:PATH,
    prometheus:PATH."""
    kind, sep, path = text.partition(":")
    kind = kind.strip()
    if kind not in REPORT_TYPES:
        raise argparse.ArgumentTypeError(
            f"unknown report type {kind!r}{suggest(kind, REPORT_TYPES)} "
            f"(expected one of: {', '.join(REPORT_TYPES)}; json, markdown, html and prometheus "
            "take :PATH)"
        )
    if kind in REPORT_NEEDS_PATH and not path.strip():
        raise argparse.ArgumentTypeError(f"report type {kind!r} needs a path: {kind}:PATH")
    if kind not in REPORT_NEEDS_PATH and sep:
        raise argparse.ArgumentTypeError(f"report type {kind!r} takes no path, got {text!r}")
    return ReportSpec(kind, path.strip() or None)


def missing_report_libraries(kinds: set[str]) -> list[str]:
    """One line per report type whose library is not installed, with the command that adds it."""
    import importlib.util

    out = []
    for kind in sorted(kinds & set(REPORT_NEEDS_MODULE)):
        module, extra = REPORT_NEEDS_MODULE[kind]
        if importlib.util.find_spec(module) is None:
            out.append(
                f"the {kind} report needs {module}: pip install 'pytest-mltestscore[{extra}]'"
            )
    return out
