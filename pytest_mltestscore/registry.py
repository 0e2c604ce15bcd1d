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
from .rubric import suggest
from .settings import ConfigError, Settings, TableReader

_ID = re.compile(r"([a-z]+)-(\d+)$")
MAX_INTEGER = 2**31 - 1  # counts and sizes beyond this are typos, not settings


def _order(check: BuiltinCheck) -> tuple[int, int, str]:
    """Rubric order, then the check's name: the order of the items pytest collects."""
    match = _ID.match(check.rubric_id)
    assert match is not None, f"malformed rubric id {check.rubric_id!r} in a declaration"
    return SECTIONS.index(match.group(1)), int(match.group(2)), check.name


@functools.cache
def declared() -> tuple[BuiltinCheck, ...]:
    """Every declaration of every section module, in rubric order (then by name)."""
    found: dict[int, BuiltinCheck] = {}  # by identity: a module may import another's
    for _, module in section_modules():
        for value in vars(module).values():
            if isinstance(value, BuiltinCheck):
                found.setdefault(id(value), value)
    return tuple(sorted(found.values(), key=_order))


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
        value = reader.integer(p.name, int(p.lo))
        if value is not None and value > MAX_INTEGER:
            raise reader.fail(p.name, f"a whole number from {int(p.lo)} to {MAX_INTEGER}", value)
        return value
    if p.kind == "string":
        text = reader.string(p.name)
        allowed = p.allowed()
        if text is not None and allowed is not None and text not in allowed:
            raise ConfigError(
                f"{reader.where(p.name)}: unknown value {text!r}{suggest(text, list(allowed))} "
                f"(expected one of: {', '.join(allowed)})"
            )
        return text
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
    settings: Settings,
    normalize: Callable[[str], str | None],
    deferred: list[Callable[[], str | None]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Validate ``[tool.mltestscore.checks.ID]`` tables: known items, known keys, right types,
    values a check can use (known metrics, configured datasets, import paths that import).

    With ``deferred``, the validations that import user code are not run but appended to it,
    each a callable returning the problem (naming the key) or None.
    """
    reader = settings.checks
    if reader is None:
        return {}
    by_item = checks_by_item()
    out: dict[str, dict[str, Any]] = {}
    spelled: dict[str, str] = {}
    for raw_id, sub in reader.tables().items():
        item = normalize(raw_id)
        if item is None or item not in by_item:
            known = ", ".join(by_item)
            what = "is not a rubric id" if item is None else "has no built-in check"
            raise ConfigError(f"{reader.where(raw_id)}: {what}; built-in checks exist for: {known}")
        if item in spelled:
            raise ConfigError(
                f"{reader.where(raw_id)}: a second table for {item} (also written "
                f"{spelled[item]!r}); merge them into one [{reader.prefix}.{item}]"
            )
        spelled[item] = raw_id
        params: dict[str, Any] = {"enabled": True, "blocking": False}
        allowed = ["enabled", "blocking"]
        for check in by_item[item]:
            for p in check.params:
                allowed.append(p.name)
                params[p.name] = p.default
        sub.check_keys(allowed)
        for check in by_item[item]:
            for p in check.params:
                value = _param_value(sub, p)
                if value is None:
                    continue
                if p.imports and p.check is not None and deferred is not None:
                    deferred.append(_later(p.check, value, settings, sub.where(p.name)))
                    params[p.name] = value
                    continue
                problem = p.check(value, settings) if p.check is not None else None
                if problem is not None:
                    raise ConfigError(f"{sub.where(p.name)}: {problem}")
                params[p.name] = value
        enabled = sub.boolean("enabled")
        params["enabled"] = True if enabled is None else enabled
        params["blocking"] = bool(sub.boolean("blocking"))
        out[item] = params
    return out


def _later(
    check: Callable[[Any, Settings], str | None], value: Any, settings: Settings, where: str
) -> Callable[[], str | None]:
    def run() -> str | None:
        problem = check(value, settings)
        return None if problem is None else f"{where}: {problem}"

    return run


def params_for(check: BuiltinCheck, configured: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The check's parameters: its declared defaults, overridden by its configured table."""
    params = check.defaults()
    own = configured.get(check.rubric_id, {})
    params.update({k: v for k, v in own.items() if k not in ("enabled", "blocking")})
    return params


def enabled(check: BuiltinCheck, configured: Mapping[str, Mapping[str, Any]]) -> bool:
    """False when ``enabled = false`` under the check's item."""
    return bool(configured.get(check.rubric_id, {}).get("enabled", True))


def blocking(check: BuiltinCheck, configured: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when ``blocking = true`` under the check's item: its failure fails the run."""
    return bool(configured.get(check.rubric_id, {}).get("blocking", False))
