"""Commands that do one job and end the session without running tests (as ``--markers`` does):
the freezing commands the built-in checks declare, and ``--ml-score-history``."""

from __future__ import annotations

import pytest

from .options import ML_SCORE_HISTORY
from .project import load_project

FREEZE_PREFIX = "ml_score_freeze_"  # the dest of every --ml-score-freeze-* option


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def run_command(config: pytest.Config) -> int | None:
    """Run the command the options ask for and return its exit status, or None for a test run."""
    from .assets import AssetError
    from .result import NotJudged

    wanted = {k for k, v in vars(config.option).items() if k.startswith(FREEZE_PREFIX) and v}
    if wanted:
        from .registry import freezers

        project = load_project(config)
        for check in freezers():
            assert check.freeze is not None
            if _dest(check.freeze.option) not in wanted:
                continue
            try:
                print(check.freeze.run(project.context(check)))
            except (AssetError, NotJudged, ValueError, ImportError) as exc:
                raise pytest.UsageError(f"{check.freeze.option}: {exc}") from None
        return 0
    if config.option.ml_score_history:
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
