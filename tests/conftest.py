"""Shared helpers for the plugin's own tests."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pandas as pd

    from pytest_mltestscore.profiles import DatasetProfile

# pytester restores sys.modules after each test; pandas' Arrow extension types register
# themselves with pyarrow once per process and fail on a second import, so import them before
# any snapshot is taken (no pyarrow: nothing to do).
with contextlib.suppress(ImportError):
    import pandas.core.arrays.arrow.extension_types
# matplotlib (the HTML report's plots) checks classes across its modules: a second import of
# some of them inside one process gives two GridSpec classes, so import them once here too.
with contextlib.suppress(ImportError):
    import matplotlib.backends.backend_svg
    import matplotlib.figure
    import matplotlib.ticker  # noqa: F401

# The importlib_metadata backport (skops and others import it) puts its own distribution finder
# on sys.meta_path and deletes find_distributions from the standard library's PathFinder. If
# that first happens inside a test, pytester's snapshot restore takes the backport's finder
# away again and leaves no finder at all: every later in-process run finds no entry points, so
# not even this plugin. Importing it before any snapshot keeps the finder in every snapshot.
with contextlib.suppress(ImportError):
    import importlib_metadata  # noqa: F401


@pytest.fixture(autouse=True)
def _no_benchmark_plugin_in_inner_runs(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep pytest-benchmark, when it happens to be installed, out of the runs tests start.

    Under xdist every worker has PYTEST_XDIST_WORKER set, and pytest-benchmark warns at configure
    time in any pytest started from there; with filterwarnings=error that is an INTERNALERROR,
    and it also prints a banner into output the tests read. pytester clears PYTEST_ADDOPTS, so
    set it after pytester is up; subprocesses inherit it. "-p no:benchmark" is a no-op when the
    plugin is absent.
    """
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:benchmark")


def validate_report(data: dict[str, Any]) -> None:
    """Fail unless ``data`` is valid against the JSON Schema shipped in the package."""
    import jsonschema

    from pytest_mltestscore.report import json_schema

    validator = jsonschema.Draft202012Validator(
        json_schema(), format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = "\n".join(
            f"  at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
            for e in errors[:10]
        )
        pytest.fail(f"the JSON report does not match report.schema.json:\n{where}")


class Scored:
    """Run pytest inside a pytester project with --ml-score and read the JSON report back."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester

    def run(
        self, *args: str, report: str = "score.json"
    ) -> tuple[pytest.RunResult, dict[str, Any] | None]:
        result = self.pytester.runpytest(
            "--ml-score", f"--ml-score-report=json:{report}", "-p", "no:randomly", *args
        )
        path = Path(self.pytester.path, report)
        data = json.loads(path.read_text()) if path.exists() else None
        if data is not None:
            validate_report(data)  # every report a test reads back holds to the shipped schema
        return result, data

    @staticmethod
    def items(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {i["id"]: i for s in data["sections"] for i in s["items"]}

    @staticmethod
    def sections(data: dict[str, Any]) -> dict[str, float]:
        return {s["id"]: s["score"] for s in data["sections"]}


@pytest.fixture
def scored(pytester: pytest.Pytester) -> Scored:
    return Scored(pytester)


# -- partitioned datasets for the distributed-engine tests (see _partitioned.py) -----------
@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The generated frame of _partitioned.make_frame."""
    from _partitioned import ROWS, make_frame

    return make_frame(ROWS, seed=0)


@pytest.fixture(scope="module")
def datasets(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The frame as Parquet datasets of 1, 7 and 64 files (uneven sizes, some files empty)."""
    from _partitioned import ROWS, uneven_sizes, write_partitions

    root = tmp_path_factory.mktemp("partitioned")
    layouts = {
        1: [ROWS],
        7: uneven_sizes(ROWS, 7, empty=1, seed=1),
        64: uneven_sizes(ROWS, 64, empty=3, seed=2),
    }
    out = {k: write_partitions(frame, root / f"p{k}", sizes) for k, sizes in layouts.items()}
    assert len(list(out[64].iterdir())) == 64 and sorted(layouts[64])[:3] == [0, 0, 0]
    assert max(layouts[7]) > 2 * min(s for s in layouts[7] if s)
    return out


@pytest.fixture(scope="module")
def single(datasets: dict[int, Path]) -> DatasetProfile:
    """The single-process engine on the one-file dataset, in small chunks."""
    from pytest_mltestscore.profiles import profile_chunks
    from pytest_mltestscore.readers import iter_chunks

    return profile_chunks(iter_chunks(datasets[1], chunk_rows=5_000))
