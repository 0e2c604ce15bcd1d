"""The rubric as frozen data, loaded and validated from a TOML file.

A rubric file has top-level ``id``, ``title``, ``source``, ``points_manual``,
``points_automated``; ``[[bands]]`` (``upper`` and ``text``; each band covers
(previous upper, upper], the last one has no ``upper``); and ``[[sections]]`` with ``id``,
``title``, ``aliases`` and ``[[sections.items]]`` (``id``, ``title``, ``long_title``, ``asks``,
``automated``, ``manual``). Item ids are ``<section>-<number>``.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised through the tomli fallback test
    import tomli as tomllib

BUILTIN_PACKAGE = "pytest_mltestscore.rubrics"
DEFAULT_RUBRIC = "breck2017"

_ID_RE = re.compile(r"\s*([A-Za-z]+)[\s_-]?0*(\d+)\s*")
_ITEM_KEYS = ("id", "title", "long_title", "asks", "automated", "manual")


class RubricError(ValueError):
    """A rubric file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Item:
    """One test of the rubric, with its canonical id ``<section>-<number>``."""

    id: str
    section: str
    title: str
    long_title: str
    asks: str
    automated: str
    manual: str


@dataclass(frozen=True)
class Section:
    """A group of items whose points add up to the section score."""

    id: str
    title: str
    aliases: tuple[str, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Band:
    """An interpretation band: scores in (previous upper, upper]; ``upper`` None is unbounded."""

    upper: float | None
    text: str


@dataclass(frozen=True)
class Rubric:
    """A whole rubric: sections of items, the points for manual and automated tests, bands."""

    id: str
    title: str
    source: str
    points_manual: float
    points_automated: float
    sections: tuple[Section, ...]
    bands: tuple[Band, ...]

    @property
    def items(self) -> dict[str, Item]:
        return {item.id: item for section in self.sections for item in section.items}

    @property
    def max_score(self) -> float:
        """The highest possible final score: the smallest section, fully automated."""
        return min(len(s.items) for s in self.sections) * self.points_automated

    def band(self, score: float) -> Band:
        """The band whose interval (previous upper, upper] holds ``score``."""
        for band in self.bands:
            if band.upper is None or score <= band.upper:
                return band
        raise AssertionError("the last band is unbounded by construction")

    def normalize(self, raw: object) -> str | None:
        """The canonical id for ``raw``, or None: a section id (or alias) and a number, in any
        case, joined by a space, a hyphen, an underscore or nothing ("Section 2", "SECTION_2")."""
        if not isinstance(raw, str):
            return None
        match = _ID_RE.fullmatch(raw)
        if match is None:
            return None
        word, number = match.group(1).lower(), int(match.group(2))
        for section in self.sections:
            if word == section.id or word in section.aliases:
                candidate = f"{section.id}-{number}"
                return candidate if any(i.id == candidate for i in section.items) else None
        return None

    def closest(self, raw: object, n: int = 3) -> list[str]:
        """Valid ids closest to an unknown ``raw`` id, for a did-you-mean message.

        A known section word with a number out of range offers that section's nearest numbers
        (number 12 of a 7-item section: its items 7, 6, 5); otherwise the ids most alike as
        strings.
        """
        match = _ID_RE.fullmatch(raw) if isinstance(raw, str) else None
        if match:
            word, number = match.group(1).lower(), int(match.group(2))
            for section in self.sections:
                if word == section.id or word in section.aliases:
                    ranked = sorted(
                        section.items, key=lambda i: abs(int(i.id.rsplit("-")[1]) - number)
                    )
                    return [i.id for i in ranked[:n]]
        text = str(raw).strip().lower().replace("_", "-").replace(" ", "-")
        ids = list(self.items)
        return difflib.get_close_matches(text, ids, n=n, cutoff=0.5) or ids[:n]


def suggest(word: str, choices: list[str]) -> str:
    """A ``; did you mean 'x'?`` suffix for an unknown name, or an empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _require(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise RubricError(f"{where}: missing required key {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise RubricError(f"{where}: key {key!r} must be {expected}, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise RubricError(f"{where}: key {key!r} must not be empty")
    return value


def parse_rubric(data: Mapping[str, Any], origin: str) -> Rubric:
    """Validate a parsed rubric TOML document; errors name ``origin`` and the key."""
    rid = _require(data, "id", str, origin)
    title = _require(data, "title", str, origin)
    source = str(data.get("source", ""))
    p_manual = float(_require(data, "points_manual", (int, float), origin))
    p_auto = float(_require(data, "points_automated", (int, float), origin))
    if not 0 < p_manual <= p_auto:
        raise RubricError(f"{origin}: expected 0 < points_manual <= points_automated")

    raw_sections = _require(data, "sections", list, origin)
    if not raw_sections:
        raise RubricError(f"{origin}: 'sections' must hold at least one [[sections]] table")
    sections: list[Section] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_sections):
        where = f"{origin}: sections[{i}]"
        if not isinstance(raw, dict):
            raise RubricError(f"{where}: expected a [[sections]] table")
        sid = _require(raw, "id", str, where)
        if not re.fullmatch(r"[a-z]+", sid):
            raise RubricError(f"{where}: section id {sid!r} must be lowercase letters only")
        where = f"{origin}: section {sid!r}"
        aliases = raw.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise RubricError(f"{where}: 'aliases' must be a list of strings")
        raw_items = _require(raw, "items", list, where)
        if not raw_items:
            raise RubricError(f"{where}: needs at least one [[sections.items]] table")
        items = []
        for j, raw_item in enumerate(raw_items, start=1):
            iwhere = f"{where}, items[{j - 1}]"
            if not isinstance(raw_item, dict):
                raise RubricError(f"{iwhere}: expected a [[sections.items]] table")
            fields = {k: _require(raw_item, k, str, iwhere) for k in _ITEM_KEYS}
            if fields["id"] != f"{sid}-{j}":
                raise RubricError(
                    f"{iwhere}: item id {fields['id']!r} must be {sid}-{j} (ids are numbered "
                    "from 1 in file order)"
                )
            if fields["id"] in seen:
                raise RubricError(f"{iwhere}: duplicate item id {fields['id']!r}")
            seen.add(fields["id"])
            items.append(Item(section=sid, **fields))
        sections.append(
            Section(
                sid,
                _require(raw, "title", str, where),
                tuple(a.lower() for a in aliases),
                tuple(items),
            )
        )
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise RubricError(f"{origin}: duplicate section ids in {ids}")

    raw_bands = _require(data, "bands", list, origin)
    bands: list[Band] = []
    previous = float("-inf")
    for i, raw in enumerate(raw_bands):
        where = f"{origin}: bands[{i}]"
        if not isinstance(raw, dict):
            raise RubricError(f"{where}: expected a [[bands]] table")
        text = _require(raw, "text", str, where)
        last = i == len(raw_bands) - 1
        if last:
            if "upper" in raw:
                raise RubricError(f"{where}: the last band must have no 'upper' (it is unbounded)")
            bands.append(Band(None, text))
            break
        upper = float(_require(raw, "upper", (int, float), where))
        if upper <= previous:
            raise RubricError(f"{where}: 'upper' values must increase ({upper} after {previous})")
        previous = upper
        bands.append(Band(upper, text))
    if not bands:
        raise RubricError(f"{origin}: 'bands' must hold at least one [[bands]] table")
    return Rubric(rid, title, source, p_manual, p_auto, tuple(sections), tuple(bands))


def _builtin_dir() -> Traversable:
    """Where the shipped rubric files are: inside the installed package, else the source tree."""
    from importlib.resources import files

    try:
        return files(BUILTIN_PACKAGE)
    except ModuleNotFoundError:  # running from a source checkout that was never installed
        return Path(__file__).resolve().parent.parent / "rubric"


def builtin_names() -> list[str]:
    """Names of the rubrics shipped inside the package."""
    return sorted(
        p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml")
    )


def load_rubric(name_or_path: str, base: Path | None = None) -> Rubric:
    """Load a shipped rubric by name, or a rubric file by path (relative to ``base``)."""
    if name_or_path in builtin_names():
        resource = _builtin_dir().joinpath(f"{name_or_path}.toml")
        return parse_rubric(tomllib.loads(resource.read_text(encoding="utf-8")), name_or_path)
    path = Path(name_or_path)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        known = ", ".join(builtin_names())
        raise RubricError(
            f"rubric {name_or_path!r} is neither a shipped rubric ({known}) nor a file "
            f"(looked for {path})"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: cannot read the rubric file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: invalid TOML: {exc}") from None
    return parse_rubric(data, str(path))
