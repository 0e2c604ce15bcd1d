"""The session fixtures: the configured model, datasets, schema and history, loaded lazily.

They work without ``--ml-score`` and read nothing until a test asks; a missing or unreadable
asset fails the tests that use it with a message naming the config key and the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from .assets import AssetError
from .project import Project, load_project
from .result import NotJudged

if TYPE_CHECKING:
    import pandas as pd

    from .checks.data.schema import Schema
    from .settings import Settings
    from .state import HistoryRecorder

T = TypeVar("T")


def _project_for_test(request: pytest.FixtureRequest) -> Project:
    try:
        return load_project(request.config)
    except pytest.UsageError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


def _asset(call: Callable[..., T], *args: Any) -> T:
    try:
        return call(*args)
    except (AssetError, NotJudged) as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


class _LazyMapping(dict):
    """A mapping of configured asset names that loads each value on first access."""

    def __init__(self, names: list[str], load: Callable[[str], Any]) -> None:
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

    def __iter__(self) -> Iterator[str]:
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
def ml_history(request: pytest.FixtureRequest) -> HistoryRecorder:
    """Record metrics into the run history (``ml_history.record(name, value, **labels)``) and
    read earlier runs (``ml_history.series(name, **labels)``, ``ml_history.runs()``)."""
    from .state import HistoryRecorder

    return HistoryRecorder(request.node, _project_for_test(request).history)


@pytest.fixture(scope="session")
def ml_schema(request: pytest.FixtureRequest) -> Schema:
    """The checked-in data schema (see ``pytest --ml-score-freeze-schema``)."""
    from .checks.data.schema import checked_in_schema

    project = _project_for_test(request)
    assert project.settings.schema_path is not None
    return _asset(checked_in_schema, project.settings.schema_path)
