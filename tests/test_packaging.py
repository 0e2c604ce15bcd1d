"""The wheel ships every subpackage and the rubric files (inside the package, never as a
top-level ``rubric`` package), and registers the pytest11 entry point."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_every_subpackage_is_listed_for_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {
        "pytest_mltestscore."
        + p.parent.relative_to(ROOT / "pytest_mltestscore").as_posix().replace("/", ".")
        for p in (ROOT / "pytest_mltestscore").rglob("__init__.py")
        if p.parent != ROOT / "pytest_mltestscore"
    }
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert "pytest_mltestscore" in listed
    assert config["package-dir"]["pytest_mltestscore.rubrics"] == "rubric"
    assert "rubric" not in listed


def test_entry_point_is_registered():
    eps = entry_points(group="pytest11")
    assert any(ep.name == "mltestscore" and ep.value == "pytest_mltestscore.plugin" for ep in eps)


def test_every_data_file_of_the_package_is_listed_for_the_wheel():
    """Files beside the modules (the report's JSON Schema, py.typed) ship as package data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["package-data"]["pytest_mltestscore"])
    package = ROOT / "pytest_mltestscore"
    on_disk = {p.name for p in package.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert "report.schema.json" in on_disk
    assert on_disk <= listed, f"add to [tool.setuptools.package-data]: {sorted(on_disk - listed)}"
