"""The shipped rubric data, id normalisation, and loading without the stdlib tomllib."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import tomllib

import pytest_mltestscore.rubric as rubric_mod
from pytest_mltestscore.rubric import RubricError, builtin_names, load_rubric

RUBRIC = load_rubric("breck2017")


def test_breck2017_has_28_items_in_four_sections():
    assert [s.id for s in RUBRIC.sections] == ["data", "model", "infra", "monitor"]
    assert [len(s.items) for s in RUBRIC.sections] == [7, 7, 7, 7]
    assert RUBRIC.points_manual == 0.5 and RUBRIC.points_automated == 1.0
    assert RUBRIC.max_score == 7.0
    for item in RUBRIC.items.values():
        for text in (item.title, item.long_title, item.asks, item.automated, item.manual):
            assert text.strip() and "..." not in text


def test_titles_match_the_paper_table():
    shared = Path(__file__).resolve().parents[2] / "shared" / "RUBRIC.md"
    if not shared.is_file():
        pytest.skip(f"{shared} is not beside this checkout")
    text = shared.read_text()
    for item in RUBRIC.items.values():
        assert f"| {item.id} | {item.title} |" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Monitor 2", "monitor-2"),
        ("monitor_2", "monitor-2"),
        ("MONITOR2", "monitor-2"),
        ("infrastructure-7", "infra-7"),
        ("Infra 1", "infra-1"),
        ("data-8", None),
        ("data", None),
        ("model--1", None),
        (3, None),
        ("", None),
    ],
)
def test_normalize(raw, expected):
    assert RUBRIC.normalize(raw) == expected


def test_closest_suggestions():
    assert RUBRIC.closest("monitr-2")[0] == "monitor-2"
    assert RUBRIC.closest("data-12") == ["data-7", "data-6", "data-5"]
    assert RUBRIC.closest("Infrastructure 0") == ["infra-1", "infra-2", "infra-3"]


def test_unknown_rubric_name():
    with pytest.raises(RubricError, match=r"neither a shipped rubric \(breck2017\) nor a file"):
        load_rubric("breck2016")


def test_builtin_rubric_ships_inside_the_package():
    assert builtin_names() == ["breck2017"]


def test_tomli_fallback_on_old_python(monkeypatch):
    """On Python < 3.11 the module imports ``tomli``; load a fresh copy with that branch."""
    fake = types.ModuleType("tomli")
    calls = []

    def loads(text: str) -> dict:
        calls.append(len(text))
        return tomllib.loads(text)

    fake.loads = loads  # type: ignore[attr-defined]
    fake.TOMLDecodeError = tomllib.TOMLDecodeError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tomli", fake)
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    spec = importlib.util.spec_from_file_location("_rubric_py310", rubric_mod.__file__)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_rubric_py310", copy)
    spec.loader.exec_module(copy)
    assert copy.tomllib is fake
    assert copy.load_rubric("breck2017").max_score == 7.0
    assert calls, "the rubric was not parsed through tomli"
