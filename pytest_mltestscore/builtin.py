"""The built-in checks: which rubric item each earns, the assets it needs, its parameters.

Each :class:`BuiltinCheck` is a pure function of a :class:`CheckContext` (the configured assets
and the check's parameters from ``[tool.mltestscore.checks.ID]``) returning a
:class:`~pytest_mltestscore.result.CheckResult`. The plugin collects one pytest item per check
whose item is enabled; a check whose assets are not configured is collected and skipped with
the reason, never silently absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigError, TableReader
from .result import CheckResult

if TYPE_CHECKING:
    from .config import Settings
    from .schema import Schema

DEFAULT_SCHEMA_FILE = "mltestscore-schema.json"


@dataclass(frozen=True)
class Param:
    """One tunable parameter of a check: its TOML type, default and meaning."""

    name: str
    kind: str  # number | integer | string | bool | strings | datetime | table
    default: Any
    help: str
    lo: float = 0.0
    hi: float | None = None


@dataclass
class CheckContext:
    """What a running check sees: the assets, the schema path and its own parameters."""

    assets: Any
    settings: Settings
    params: Mapping[str, Any]
    check_id: str = ""
    history: Callable[[], Any] = lambda: None  # opens the run history store, or None

    @property
    def root(self) -> Path:
        return self.settings.root

    @property
    def schema_path(self) -> Path:
        assert self.settings.schema_path is not None
        return self.settings.schema_path

    def schema(self) -> Schema:
        from .schema import Schema

        if not self.schema_path.is_file():
            raise MissingSchema(self.schema_path)
        try:
            return Schema.load(self.schema_path)
        except ValueError as exc:
            raise SchemaUnreadable(f"{self.schema_path}: {exc}") from None


class MissingSchema(Exception):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no schema file at {path}; create it from the training data with "
            "`pytest --ml-score-freeze-schema`, review it and commit it"
        )


class SchemaUnreadable(Exception):
    pass


Needs = Callable[[CheckContext], str | None]


def dataset(name: str, *, column: str | None = None) -> Needs:
    """Needs dataset ``name``, and when ``column`` is a role (target, id, timestamp), that role."""

    def need(ctx: CheckContext) -> str | None:
        spec = ctx.assets.datasets.get(name)
        if spec is None:
            return f"no dataset {name!r} configured ([tool.mltestscore.datasets.{name}])"
        if column is not None and getattr(spec, column) is None:
            return f"dataset {name!r} names no {column} column ([{spec.key}] {column} = ...)"
        return None

    need.__doc__ = f"`{name}` dataset" + (f" with `{column}`" if column else "")
    return need


def model(name: str, *, artifact: bool = False) -> Needs:
    def need(ctx: CheckContext) -> str | None:
        spec = ctx.assets.models.get(name)
        if spec is None:
            return f"no model {name!r} configured ([tool.mltestscore.models.{name}])"
        if artifact and spec.path is None:
            return (
                f"model {name!r} is loaded by import path; this check needs an artifact file "
                "(path = ...)"
            )
        return None

    need.__doc__ = f"`{name}` model" + (" (artifact file)" if artifact else "")
    return need


def setting(attr: str, key: str) -> Needs:
    def need(ctx: CheckContext) -> str | None:
        if getattr(ctx.settings, attr):
            return None
        return f"no {key} configured in [tool.mltestscore]"

    need.__doc__ = f"`{key}`" if key.startswith("[") else f"`{attr}`"
    return need


def param(name: str, what: str) -> Needs:
    def need(ctx: CheckContext) -> str | None:
        if ctx.params.get(name) is not None:
            return None
        return f"{what} (set {name} under [tool.mltestscore.checks.{ctx.check_id}])"

    need.__doc__ = f"`{name}` parameter"
    return need


@dataclass(frozen=True)
class BuiltinCheck:
    rubric_id: str
    name: str
    summary: str
    needs: tuple[Needs, ...]
    run: Callable[[CheckContext], CheckResult]
    params: tuple[Param, ...] = ()
    collect: bool = True  # False: judged by the plugin over the session, not as a test item

    def missing(self, ctx: CheckContext) -> list[str]:
        return [reason for need in self.needs if (reason := need(ctx)) is not None]

    def needs_text(self) -> str:
        """What the check needs, in words, from the docstrings of its need predicates."""
        return ", ".join((n.__doc__ or n.__name__).strip().splitlines()[0] for n in self.needs)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


def all_checks(settings: Settings | None = None) -> tuple[BuiltinCheck, ...]:
    """The static catalogue, plus one check per configured SLO."""
    from .catalog import CHECKS, slo_checks

    return CHECKS + (slo_checks(settings) if settings is not None else ())


def checks_by_item() -> dict[str, list[BuiltinCheck]]:
    out: dict[str, list[BuiltinCheck]] = {}
    for check in all_checks():
        out.setdefault(check.rubric_id, []).append(check)
    return out


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
    reader: TableReader, normalize: Callable[[str], str | None]
) -> dict[str, dict[str, Any]]:
    """Validate ``[tool.mltestscore.checks.ID]`` tables: known items, known keys, right types."""
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
    params = check.defaults()
    params.update({k: v for k, v in configured.get(check.rubric_id, {}).items() if k != "enabled"})
    return params
