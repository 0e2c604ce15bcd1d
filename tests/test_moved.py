"""The first layout's import paths, documented until 0.1, still work: each names the module of
its new home, and the old packages re-export what they exported."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from pytest_mltestscore._moved import MODULES, PACKAGES


@pytest.mark.parametrize("old", sorted(MODULES))
def test_an_old_module_path_is_the_new_module(old: str) -> None:
    before = importlib.import_module(f"pytest_mltestscore.{old}")
    after = importlib.import_module(f"pytest_mltestscore.{MODULES[old]}")
    assert before is after
    assert after.__spec__.name == f"pytest_mltestscore.{MODULES[old]}"  # its own spec, kept


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_an_old_package_exports_its_names(package: str) -> None:
    old = importlib.import_module(f"pytest_mltestscore.{package}")
    for name, home in PACKAGES[package].items():
        assert getattr(old, name) is getattr(
            importlib.import_module(f"pytest_mltestscore.{home}"), name
        )
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        old.not_there  # noqa: B018


def test_old_paths_as_the_readme_and_examples_used_them() -> None:
    code = (
        "from pytest_mltestscore.monitoring.staleness import write_artifact_metadata\n"
        "from pytest_mltestscore.infra.trace import trace_example\n"
        "from pytest_mltestscore.monitoring import privacy, numerical_stability\n"
        "from pytest_mltestscore.strategies import rows\n"
        "from pytest_mltestscore.modeldev import slice_quality\n"
        "import pytest_mltestscore.checks.model.slices as new\n"
        "assert slice_quality is new.slice_quality and privacy.pii_scan\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
