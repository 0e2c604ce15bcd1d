"""The project of one session: its settings, rubric, assets, built-in checks and history store.

Resolved once (cached in ``config.stash``) the first time the session or a fixture needs it:
``[tool.mltestscore]`` is read, the rubric loaded, and every built-in check's parameters
validated by the registry, so that any configuration error is one usage error at start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import clock
from .assets import AssetError, Assets
from .shared_cache import WORKERINPUT_KEY, SharedCache

if TYPE_CHECKING:
    from .builtin import BuiltinCheck, CheckContext
    from .history import HistoryStore
    from .rubric import Rubric
    from .settings import Settings

_project_key = pytest.StashKey["Project"]()


class Project:
    """The resolved configuration of this session: settings, rubric, checks and lazy assets."""

    def __init__(
        self,
        settings: Settings,
        rubric: Rubric,
        checks: tuple[BuiltinCheck, ...],
        params: Mapping[str, Mapping[str, Any]],
        deferred: Sequence[Callable[[], str | None]] = (),
    ) -> None:
        self.settings = settings
        self.rubric = rubric
        self.checks = checks
        self.params = params  # validated [tool.mltestscore.checks.ID] tables, by item
        self.deferred = tuple(deferred)  # parameter validations that import user code
        self.assets: Assets = Assets(settings.models, settings.datasets, settings.root)
        self._store: HistoryStore | None = None

    def history(self) -> HistoryStore | None:
        """The run history store of this process (opened once), or None when history is off.

        Raises :class:`~pytest_mltestscore.assets.AssetError` naming the file or URL when the
        store cannot be opened.
        """
        if self.settings.history is None:
            return None
        if self._store is None:
            from .history import HistoryError, open_store

            try:
                self._store = open_store(self.settings.history)
            except (HistoryError, ImportError, ValueError) as exc:
                raise AssetError(f"run history: {exc}") from None
        return self._store

    def close(self) -> None:
        """Close the history store of this process (an SQLite store folds its log back in)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def problems(self, *, quick: bool = True, slow: bool = True) -> list[str]:
        """Configuration that cannot work, one line each: a dataset path matching no file, a
        model artifact missing or unreadable, an import path that does not import, a history
        store that cannot be opened. Optional entries are not listed (their checks are not
        judged instead).

        ``quick`` problems are found on the file system alone; ``slow`` ones take imports
        (user code, model files) or connections (databases, endpoints).
        """
        import importlib.util

        from .loading import ImportPathError, load_callable

        found = [
            f"{key}: {p}" if not p.startswith("[") else p
            for key, p in self.assets.problems(quick=quick, slow=slow).items()
        ]
        settings = self.settings
        if slow:
            found += [p for check in self.deferred if (p := check()) is not None]
            if settings.training_fit is not None:
                try:
                    load_callable(settings.training_fit)
                except ImportPathError as exc:
                    found.append(
                        f"[tool.mltestscore.training] fit = {settings.training_fit!r}: {exc}"
                    )
            for module in settings.feature_modules:  # finding a submodule imports its package
                try:
                    spec = importlib.util.find_spec(module)
                except (ImportError, ValueError):
                    spec = None
                if spec is None:
                    found.append(
                        f"[tool.mltestscore] feature_modules: {module!r} cannot be found on "
                        "sys.path"
                    )
        if not quick:
            return found
        if (problem := self._history_problem()) is not None:
            found.append(problem)
        schema = settings.schema_path
        if schema is not None and schema.is_dir():
            found.append(
                f"[tool.mltestscore] schema: {str(schema)!r} is a directory; expected the path "
                "of the schema file, such as mltestscore-schema.json"
            )
        return found

    def _history_problem(self) -> str | None:
        """A history location that cannot work (a directory, an SQLite URL without a path).
        A store that fails at run time (a server down) is reported then and not fatal."""
        target = self.settings.history
        if target is None:
            return None
        if "://" in target:
            if target.lower().startswith("sqlite:"):
                from .history import sqlite_path_from_url

                try:
                    path = self.settings.root / sqlite_path_from_url(target)
                except ValueError as exc:
                    return f"[tool.mltestscore] history_url: {exc}"
                return self._file_problem("history_url", path)
            return None
        return self._file_problem("history", Path(target))

    @staticmethod
    def _file_problem(key: str, path: Path) -> str | None:
        if path.is_dir():
            return (
                f"[tool.mltestscore] {key}: {str(path)!r} is a directory; expected the path of "
                "an SQLite file, such as .mltestscore/history.sqlite"
            )
        return None

    def enabled(self, check: BuiltinCheck) -> bool:
        from .registry import enabled

        return enabled(check, self.params)

    def is_blocking(self, check: BuiltinCheck) -> bool:
        from .registry import blocking

        return blocking(check, self.params)

    def context(self, check: BuiltinCheck) -> CheckContext:
        """What ``check`` sees when it runs: the assets, settings and its own parameters."""
        from .builtin import CheckContext
        from .registry import params_for

        return CheckContext(
            assets=self.assets,
            settings=self.settings,
            params=params_for(check, self.params),
            check_id=check.rubric_id,
            history=self.history,
        )


def distributes(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist controller that hands the tests to workers."""
    opt = config.option
    return (
        not hasattr(config, "workerinput")
        and getattr(opt, "dist", "no") != "no"
        and bool(getattr(opt, "tx", None))
        and not opt.collectonly
    )


def _uses_checks(settings: Settings) -> bool:
    """Whether any built-in check could be configured (else the registry is never imported)."""
    tables = [settings.checks, settings.slo]
    return bool(
        settings.models
        or settings.datasets
        or settings.feature_modules
        or any(t is not None and t.table for t in tables)
    )


def load_project(config: pytest.Config) -> Project:
    """Read and validate ``[tool.mltestscore]`` once per session (cached in the stash).

    Raises :class:`pytest.UsageError` with the file, key and expectation on any config error.
    """
    cached = config.stash.get(_project_key, None)
    if cached is not None:
        return cached
    from .rubric import RubricError, load_rubric
    from .settings import ConfigError, find_pyproject, load_settings

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
        checks: tuple[BuiltinCheck, ...] = ()
        params: dict[str, dict[str, Any]] = {}
        # Parameters naming user code are imported here in a serial run; under xdist the first
        # worker validates them with the rest of the configuration that takes imports, before it
        # collects (the controller imports no user code; see ScoreSession)
        deferred: list[Callable[[], str | None]] | None = None
        if distributes(config) or hasattr(config, "workerinput"):
            deferred = []
        if _uses_checks(settings):
            from .registry import all_checks, parse_check_params

            params = parse_check_params(settings, rubric.normalize, deferred)
            checks = all_checks(settings)
    except (ConfigError, RubricError, clock.ClockError) as exc:
        raise pytest.UsageError(str(exc)) from None
    project = Project(settings, rubric, checks, params, deferred or ())
    shared = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if shared:  # an xdist worker of a scored session: frames and profiles computed once
        project.assets.shared = SharedCache(Path(shared))
    config.stash[_project_key] = project
    return project
