"""The registry of built-in checks: every declaration in the sections under ``checks/``.

A section module declares its checks as module-level
:class:`~pytest_mltestscore.builtin.BuiltinCheck` values beside the functions they run;
:func:`declared` finds them by importing each module of each section package (in the section
order of :data:`pytest_mltestscore.checks.SECTIONS`), so adding a check touches its own module
and nothing else. The registry then validates every ``[tool.mltestscore.checks.ID]`` table
against the declared parameters, once, when the session starts (a bad value is a usage error,
not a failure at check time).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from .builtin import BuiltinCheck, Param
from .checks import SECTIONS, section_modules
from .settings import ConfigError, Settings, TableReader

_ID = re.compile(r"([a-z]+)-(\d+)$")


def _order(check: BuiltinCheck) -> tuple[int, int]:
    match = _ID.match(check.rubric_id)
    assert match is not None, f"malformed rubric id {check.rubric_id!r} in a declaration"
    return SECTIONS.index(match.group(1)), int(match.group(2))


@functools.cache
def declared() -> tuple[BuiltinCheck, ...]:
    """Every declaration of every section module, in rubric order (then declaration order)."""
    found: list[BuiltinCheck] = []
    for _, module in section_modules():
        found.extend(v for v in vars(module).values() if isinstance(v, BuiltinCheck))
    return tuple(sorted(found, key=_order))


def all_checks(settings: Settings | None = None) -> tuple[BuiltinCheck, ...]:
    """The declared checks; with ``settings``, each template expanded into its checks (one per
    configured SLO...), in rubric order."""
    out: list[BuiltinCheck] = []
    for check in declared():
        if check.expand is None:
            out.append(check)
        elif settings is not None:
            out.extend(check.expand(settings))
    return tuple(sorted(out, key=_order))


def checks_by_item() -> dict[str, list[BuiltinCheck]]:
    out: dict[str, list[BuiltinCheck]] = {}
    for check in all_checks():
        out.setdefault(check.rubric_id, []).append(check)
    return out


def freezers() -> list[BuiltinCheck]:
    """The checks that declare a freezing command."""
    return [check for check in declared() if check.freeze is not None]


def _param_value(reader: TableReader, p: Param) -> Any:
    if p.kind == "number":
        return reader.number(p.name, p.lo, p.hi)
    if p.kind == "integer":
        return reader.integer(p.name, int(p.lo))
    if p.kind == "string":
        return reader.string(p.name)
    if p.kind == "bool":
        return reader.boolean(p.name)
    if p.kind == "datetime":
        return reader.when(p.name)
    if p.kind == "strings":
        return reader.strings(p.name)
    if p.kind == "table":
        value = reader.table.get(p.name)
        if value is not None and not isinstance(value, dict):
            raise reader.fail(p.name, "a table", value)
        return value
    raise AssertionError(f"unknown parameter kind {p.kind!r}")


def parse_check_params(
    reader: TableReader | None, normalize: Callable[[str], str | None]
) -> dict[str, dict[str, Any]]:
    """Validate ``[tool.mltestscore.checks.ID]`` tables: known items, known keys, right types."""
    if reader is None:
        return {}
    by_item = checks_by_item()
    out: dict[str, dict[str, Any]] = {}
    for raw_id, sub in reader.tables().items():
        item = normalize(raw_id)
        if item is None or item not in by_item:
            known = ", ".join(by_item)
            what = "is not a rubric id" if item is None else "has no built-in check"
            raise ConfigError(f"{reader.where(raw_id)}: {what}; built-in checks exist for: {known}")
        params: dict[str, Any] = {"enabled": True}
        allowed = ["enabled"]
        for check in by_item[item]:
            for p in check.params:
                allowed.append(p.name)
                params[p.name] = p.default
        sub.check_keys(allowed)
        for check in by_item[item]:
            for p in check.params:
                value = _param_value(sub, p)
                if value is not None:
                    params[p.name] = value
        enabled = sub.boolean("enabled")
        params["enabled"] = True if enabled is None else enabled
        out[item] = params
    return out


def params_for(check: BuiltinCheck, configured: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The check's parameters: its declared defaults, overridden by its configured table."""
    params = check.defaults()
    params.update({k: v for k, v in configured.get(check.rubric_id, {}).items() if k != "enabled"})
    return params


def enabled(check: BuiltinCheck, configured: Mapping[str, Mapping[str, Any]]) -> bool:
    """False when ``enabled = false`` under the check's item."""
    return bool(configured.get(check.rubric_id, {}).get("enabled", True))
