"""The built-in checks: which rubric item each earns, the assets it needs, its parameters.

Each :class:`BuiltinCheck` is a pure function of a :class:`CheckContext` (the configured assets
and the check's parameters from ``[tool.mltestscore.checks.ID]``) returning a
:class:`~pytest_mltestscore.result.CheckResult`. The plugin collects one pytest item per check
whose item is enabled; a check whose assets are not configured is collected and skipped with
the reason, never silently absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .assets import Assets
from .config import ConfigError, TableReader
from .result import CheckResult

if TYPE_CHECKING:
    from .schema import Schema

DEFAULT_SCHEMA_FILE = "mltestscore-schema.json"


@dataclass(frozen=True)
class Param:
    """One tunable parameter of a check: its TOML type, default and meaning."""

    name: str
    kind: str  # number | integer | string | bool | strings
    default: Any
    help: str
    lo: float = 0.0
    hi: float | None = None


@dataclass
class CheckContext:
    """What a running check sees: the assets, the schema path and its own parameters."""

    assets: Assets
    root: Path
    schema_path: Path
    params: Mapping[str, Any]
    settings_table: Mapping[str, Any] = field(default_factory=dict)

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


Needs = Callable[[Assets], str | None]


def dataset(name: str) -> Needs:
    def need(assets: Assets) -> str | None:
        if name in assets.datasets:
            return None
        return f"no dataset {name!r} configured ([tool.mltestscore.datasets.{name}])"

    return need


def model(name: str) -> Needs:
    def need(assets: Assets) -> str | None:
        if name in assets.models:
            return None
        return f"no model {name!r} configured ([tool.mltestscore.models.{name}])"

    return need


@dataclass(frozen=True)
class BuiltinCheck:
    rubric_id: str
    name: str
    summary: str
    needs: tuple[Needs, ...]
    run: Callable[[CheckContext], CheckResult]
    params: tuple[Param, ...] = ()

    def missing(self, assets: Assets) -> list[str]:
        return [reason for need in self.needs if (reason := need(assets)) is not None]

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


# -- data-1 and monitor-2: schema ---------------------------------------------------------------
SCHEMA_PARAMS = (
    Param("sigmas", "number", 5.0, "standard errors of chance allowed before a share counts", 0.5),
    Param(
        "share_floor",
        "number",
        0.001,
        "out-of-range/unseen shares at or below this never fail",
        0.0,
        1.0,
    ),
    Param(
        "null_floor",
        "number",
        0.002,
        "null-rate rise allowed beyond the schema plus chance",
        0.0,
        1.0,
    ),
)


def _validate(ctx: CheckContext, name: str, rubric_id: str, allow_extra: bool) -> CheckResult:
    from .schema import validate

    schema = ctx.schema()
    reference = "training" if name != "training" and "training" in ctx.assets.datasets else None
    profile = ctx.assets.profile(name, reference=reference)
    return validate(
        profile,
        schema,
        allow_extra_columns=allow_extra,
        sigmas=ctx.params["sigmas"],
        share_floor=ctx.params["share_floor"],
        null_floor=ctx.params["null_floor"],
        check=f"{rubric_id} {name} data against {ctx.schema_path.name}",
        rubric_id=rubric_id,
    )


def run_data_1(ctx: CheckContext) -> CheckResult:
    return _validate(ctx, "training", "data-1", allow_extra=False)


def run_monitor_2(ctx: CheckContext) -> CheckResult:
    return _validate(ctx, "serving", "monitor-2", allow_extra=False)


CHECKS: tuple[BuiltinCheck, ...] = (
    BuiltinCheck(
        "data-1",
        "schema",
        "the training data satisfies the checked-in schema",
        (dataset("training"),),
        run_data_1,
        SCHEMA_PARAMS,
    ),
    BuiltinCheck(
        "monitor-2",
        "serving-invariants",
        "the serving data satisfies the schema learned from training",
        (dataset("serving"),),
        run_monitor_2,
        SCHEMA_PARAMS,
    ),
)


def checks_by_item() -> dict[str, list[BuiltinCheck]]:
    out: dict[str, list[BuiltinCheck]] = {}
    for check in CHECKS:
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
    if p.kind == "strings":
        return reader.strings(p.name)
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
