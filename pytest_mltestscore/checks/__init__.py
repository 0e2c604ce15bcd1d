"""The checks, one package per rubric section, and the checks library you call in your tests.

Every rubric item's code lives in the section the rubric puts it in: ``checks/data/``,
``checks/model/``, ``checks/infra/`` and ``checks/monitor/``, one module per thing judged. A
module holds the library function(s) (pure, returning a
:class:`~pytest_mltestscore.result.CheckResult` whatever the verdict) and, beside them, the
declaration of the built-in check that runs them on the configured assets.

The functions marked :func:`~pytest_mltestscore.result.library_check` are also reachable here,
in assert form: each returns its result when the check passes, raises ``AssertionError`` with a
readable table when it fails, and skips the test (with the reason) when it cannot reach a
verdict. They are found on first use, so ``import pytest_mltestscore.checks`` stays cheap::

    from pytest_mltestscore import checks

    @pytest.mark.rubric("model-6")
    def test_quality_on_islands(ml_model, ml_datasets):
        val = ml_datasets["validation"]
        checks.slice_quality(ml_model, val[FEATURES], val["species"], ["island"])
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from ..result import CheckResult as CheckResult
from ..result import Table as Table
from ..result import enforce as enforce
from ..result import library_name

SECTIONS = ("data", "model", "infra", "monitor")
"""The rubric's sections in order; a section's modules may import from earlier sections only."""

_EAGER = ["CheckResult", "Table", "enforce"]


def section_modules() -> Iterator[tuple[str, ModuleType]]:
    """Every module of every section package, imported, in section order then by name."""
    for section in SECTIONS:
        package = importlib.import_module(f"{__name__}.{section}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                yield section, importlib.import_module(f"{package.__name__}.{info.name}")


@functools.cache
def library() -> dict[str, Callable[..., CheckResult]]:
    """Every library check function by name (result form), from every section module."""
    found: dict[str, Callable[..., CheckResult]] = {}
    for _, module in section_modules():
        for value in vars(module).values():
            name = library_name(value)
            if name is not None and value.__module__ == module.__name__:
                assert name not in found, f"two library checks named {name!r}"
                found[name] = value
    return found


def _assert_form(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> CheckResult:
        __tracebackhide__ = True
        return enforce(fn(*args, **kwargs))

    return run


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return [*_EAGER, *sorted(library())]
    if name.startswith("__") or name in SECTIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    fn = library().get(name)
    if fn is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    wrapped = _assert_form(fn)
    globals()[name] = wrapped
    return wrapped


def __dir__() -> list[str]:
    return [*_EAGER, *sorted(library())]
