"""monitor-1: notice when what the model depends on changes.

``freeze_dependencies`` writes a lock: the installed versions of the distributions the model's
code imports, the Python version, a fingerprint of each dataset's schema (column names and
types, never the data) and of each model artifact's bytes. ``dependency_changes`` compares the
present with that lock and fails listing every difference until the lock is refreshed.
"""

from __future__ import annotations

import ast
import glob
import hashlib
import importlib.metadata as md
import importlib.util
import json
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...assets import Assets
from ...builtin import BuiltinCheck, CheckContext, Freeze, Param
from ...clock import now
from ...options import ML_SCORE_FREEZE_DEPS
from ...result import CheckResult, Table, Verdict, library_check
from ...settings import Settings

RUBRIC_ID = "monitor-1"
LOCK_VERSION = 1
FREEZE_OPTION = "--ml-score-freeze-deps"

DatasetSource = Any  # a path (CSV, Parquet, JSON Lines, glob), a DataFrame or a schema mapping


def _module_sources(root: str) -> list[Path]:
    try:
        spec = importlib.util.find_spec(root)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ValueError(f"module {root!r} cannot be found on sys.path")
    if spec.submodule_search_locations:
        return sorted(f for loc in spec.submodule_search_locations for f in Path(loc).rglob("*.py"))
    if spec.origin and spec.origin.endswith(".py"):
        return [Path(spec.origin)]
    return []


def imported_names(roots: Sequence[str]) -> set[str]:
    """Top-level names of the absolute imports in the source of ``roots`` (modules/packages)."""
    names: set[str] = set()
    for root in roots:
        for file in _module_sources(root):
            try:
                tree = ast.parse(file.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError) as exc:
                raise ValueError(f"cannot parse {file}: {exc}") from exc
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names


def _packages(
    roots: Sequence[str], extra_packages: Sequence[str]
) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    own = {r.split(".")[0] for r in roots}
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    mapping = md.packages_distributions()
    packages: dict[str, str] = {}
    imports: dict[str, list[str]] = {}
    unresolved: list[str] = []
    for name in sorted(imported_names(roots) - own - stdlib - {"__future__"}):
        dists = sorted(set(mapping.get(name, [])))
        if not dists:
            unresolved.append(name)
            continue
        imports[name] = dists
        for dist in dists:
            try:
                packages[dist] = md.version(dist)
            except md.PackageNotFoundError:
                unresolved.append(name)
    for dist in extra_packages:
        try:
            packages[dist] = md.version(dist)
        except md.PackageNotFoundError:
            raise ValueError(f"extra package {dist!r} is not installed") from None
    return packages, imports, unresolved


def dataset_schema(spec: DatasetSource) -> dict[str, str]:
    """Column name -> type name of a dataset, read without loading its rows where possible."""
    import pandas as pd

    if isinstance(spec, pd.DataFrame):
        return {str(c): str(t) for c, t in spec.dtypes.items()}
    if isinstance(spec, Mapping):
        cols = spec.get("columns")
        if isinstance(cols, Mapping):
            return {
                str(c): str(v.get("dtype", v.get("type", "")) if isinstance(v, Mapping) else v)
                for c, v in cols.items()
            }
        return {}
    path = Path(spec)
    if any(ch in str(spec) for ch in "*?["):
        matches = sorted(glob.glob(str(spec)))
        if not matches:
            raise ValueError(f"dataset glob {str(spec)!r} matches no file")
        path = Path(matches[0])
    if not path.is_file():
        raise ValueError(f"dataset file {str(path)!r} not found")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError(
                "reading Parquet schemas needs pyarrow: pip install pytest-mltestscore[parquet]"
            ) from None
        schema = pq.read_schema(path)
        return {name: str(schema.field(name).type) for name in schema.names}
    if suffix in (".csv", ".csv.gz"):
        head = pd.read_csv(path, nrows=1000)
    elif suffix in (".jsonl", ".ndjson", ".json", ".jsonl.gz"):
        head = pd.read_json(path, lines=True, nrows=1000)
    else:
        raise ValueError(f"dataset {str(path)!r}: expected .csv, .parquet or .jsonl")
    return {str(c): str(t) for c, t in head.dtypes.items()}


def _schema_fingerprint(spec: DatasetSource) -> dict[str, Any]:
    columns = dataset_schema(spec)
    if isinstance(spec, Mapping) and not columns:
        payload = json.dumps(spec, sort_keys=True, default=str)
    else:
        payload = json.dumps(list(columns.items()))
    return {
        "fingerprint": "sha256:" + hashlib.sha256(payload.encode()).hexdigest(),
        "columns": columns,
    }


def _file_fingerprint(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"model artifact {str(p)!r} not found")
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "bytes": p.stat().st_size}


def freeze_dependencies(
    import_roots: Sequence[str],
    *,
    datasets: Mapping[str, DatasetSource] | None = None,
    model_artifacts: Mapping[str, str | Path] | None = None,
    extra_packages: Sequence[str] = (),
    path: str | Path | None = None,
) -> dict[str, Any]:
    """Build (and with ``path``, write) the dependency lock of the model's code and assets.

    ``import_roots`` are the model's own modules or packages; the third-party distributions
    their source imports are pinned at their installed versions (``extra_packages`` adds
    distributions by name, e.g. ones only the pickled model needs).
    """
    if isinstance(import_roots, str):
        raise ValueError("import_roots must be a list of module names, not a string")
    packages, imports, unresolved = _packages(list(import_roots), list(extra_packages))
    lock: dict[str, Any] = {
        "lock_version": LOCK_VERSION,
        "created": now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "import_roots": list(import_roots),
        "extra_packages": list(extra_packages),
        "packages": dict(sorted(packages.items())),
        "imports": imports,
        "unresolved_imports": unresolved,
        "datasets": {name: _schema_fingerprint(spec) for name, spec in (datasets or {}).items()},
        "artifacts": {name: _file_fingerprint(p) for name, p in (model_artifacts or {}).items()},
    }
    if path is not None:
        Path(path).write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return lock


def _read_lock(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    if not path.is_file():
        return None, (
            f"no dependency lock at {str(path)!r}; create it with `pytest {FREEZE_OPTION}` "
            "(or freeze_dependencies(..., path=...)) and commit it"
        )
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return None, f"dependency lock {str(path)!r} is not valid JSON: {exc}"
    if not isinstance(lock, dict) or lock.get("lock_version") != LOCK_VERSION:
        return None, (
            f"dependency lock {str(path)!r} has an unknown format (lock_version "
            f"{lock.get('lock_version') if isinstance(lock, dict) else None!r}, expected "
            f"{LOCK_VERSION}); refresh it with `pytest {FREEZE_OPTION}`"
        )
    return lock, None


@library_check
def dependency_changes(
    lock_path: str | Path,
    *,
    import_roots: Sequence[str] | None = None,
    datasets: Mapping[str, DatasetSource] | None = None,
    model_artifacts: Mapping[str, str | Path] | None = None,
) -> CheckResult:
    """Compare installed packages, Python, dataset schemas and artifacts with the lock.

    Packages are re-read from ``import_roots`` (default: the roots recorded in the lock);
    datasets and artifacts are compared when given. Any change fails, listing what changed,
    until the lock is refreshed with ``pytest --ml-score-freeze-deps``.
    """
    path = Path(lock_path)
    if not path.is_file():  # nothing frozen yet: nothing to compare against
        return CheckResult(
            "dependency_changes",
            "skip",
            f"no dependency lock at {str(path)!r} yet: create it with `pytest {FREEZE_OPTION}`, "
            "review it and commit it",
            rubric_id=RUBRIC_ID,
        )
    lock, error = _read_lock(path)
    if lock is None:
        return CheckResult("dependency_changes", "fail", str(error), rubric_id=RUBRIC_ID)
    roots = list(import_roots if import_roots is not None else lock.get("import_roots", []))
    current = freeze_dependencies(
        roots,
        datasets=datasets,
        model_artifacts=model_artifacts,
        extra_packages=[p for p in lock.get("extra_packages", []) if _installed(p)],
    )
    rows: list[tuple[Any, ...]] = []
    notes: list[str] = []

    locked_py, now_py = str(lock.get("python", "")), current["python"]
    if locked_py.split(".")[:2] != now_py.split(".")[:2]:
        rows.append(("python", "python", locked_py, now_py, "changed"))
    elif locked_py != now_py:
        notes.append(f"Python patch release changed: {locked_py} -> {now_py}")

    locked_pk: dict[str, str] = lock.get("packages", {})
    for dist, version in sorted(locked_pk.items()):
        try:
            installed = md.version(dist)
        except md.PackageNotFoundError:
            rows.append(("package", dist, version, None, "not installed"))
            continue
        if installed != version:
            rows.append(("package", dist, version, installed, _direction(version, installed)))
    for dist, version in sorted(current["packages"].items()):
        if dist not in locked_pk:
            rows.append(("package", dist, None, version, "new import"))

    if datasets is None and lock.get("datasets"):
        notes.append("dataset schemas in the lock were not compared (no datasets given)")
    if model_artifacts is None and lock.get("artifacts"):
        notes.append("model artifacts in the lock were not compared (no artifacts given)")
    if datasets is not None:
        rows += _compare_named(
            "dataset", lock.get("datasets", {}), current["datasets"], _dataset_change
        )
    if model_artifacts is not None:
        rows += _compare_named(
            "artifact", lock.get("artifacts", {}), current["artifacts"], _artifact_change
        )

    created = lock.get("created", "?")
    verdict: Verdict = "fail" if rows else "pass"
    checked = f"{len(locked_pk)} packages, Python"
    if datasets is not None:
        checked += f", {len(current['datasets'])} dataset schemas"
    if model_artifacts is not None:
        checked += f", {len(current['artifacts'])} model artifacts"
    if rows:
        summary = (
            f"{len(rows)} change(s) since the dependency lock of {created} ({str(path)!r}); "
            f"review them, then accept with `pytest {FREEZE_OPTION}`"
        )
    else:
        summary = f"no change since the dependency lock of {created}: {checked} as locked"
    return CheckResult(
        "dependency_changes",
        verdict,
        summary,
        table=Table(("kind", "name", "locked", "current", "change"), tuple(rows)),
        rubric_id=RUBRIC_ID,
        metrics={"changes": float(len(rows))},
        notes=tuple(notes),
    )


def _installed(dist: str) -> bool:
    try:
        md.version(dist)
    except md.PackageNotFoundError:
        return False
    return True


def _direction(old: str, new: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        return "changed"
    if a == b:
        return "changed"
    return "upgraded" if b > a else "downgraded"


def _compare_named(
    kind: str,
    locked: Mapping[str, Any],
    current: Mapping[str, Any],
    describe: Any,
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for name in sorted(set(locked) | set(current)):
        if name not in current:
            rows.append((kind, name, "locked", None, "no longer configured"))
        elif name not in locked:
            rows.append((kind, name, None, "present", "new, not in the lock"))
        else:
            rows += describe(name, locked[name], current[name])
    return rows


def _dataset_change(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple]:
    if old.get("fingerprint") == new.get("fingerprint"):
        return []
    before: dict[str, str] = dict(old.get("columns", {}))
    after: dict[str, str] = dict(new.get("columns", {}))
    rows: list[tuple[Any, ...]] = []
    for col in before:
        if col not in after:
            rows.append(("dataset", f"{name}.{col}", before[col], None, "column removed"))
        elif before[col] != after[col]:
            rows.append(("dataset", f"{name}.{col}", before[col], after[col], "type changed"))
    for col in after:
        if col not in before:
            rows.append(("dataset", f"{name}.{col}", None, after[col], "column added"))
    if not rows:
        if list(before) != list(after):
            rows.append(("dataset", name, None, None, "column order changed"))
        else:
            rows.append(
                ("dataset", name, old.get("fingerprint"), new.get("fingerprint"), "schema changed")
            )
    return rows


def _artifact_change(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple]:
    if old.get("sha256") == new.get("sha256"):
        return []
    return [
        (
            "artifact",
            name,
            f"sha256 {str(old.get('sha256'))[:12]}, {old.get('bytes')} bytes",
            f"sha256 {str(new.get('sha256'))[:12]}, {new.get('bytes')} bytes",
            "file changed",
        )
    ]


# -- built-in check, and the command that writes its lock --------------------------------------
def import_roots(settings: Settings, extra: tuple[str, ...] = ()) -> list[str]:
    """Top-level modules of the model's own code: configured import paths and feature modules."""
    paths = [m.load for m in settings.models.values() if m.load]
    paths += [d.load for d in settings.datasets.values() if d.load]
    if settings.training_fit:
        paths.append(settings.training_fit)
    roots = [p.partition(":")[0] for p in paths] + list(settings.feature_modules) + list(extra)
    return sorted({r for r in roots if r})


def lock_inputs(assets: Assets, settings: Settings, params: Mapping[str, Any]) -> dict[str, Any]:
    """What the dependency lock covers: code roots, dataset files (or frames), model artifacts."""
    datasets: dict[str, Any] = {}
    for name, spec in assets.datasets.items():
        datasets[name] = str(settings.root / spec.path) if spec.path else assets.frame(name)
    artifacts = {name: m.path for name, m in assets.models.items() if m.path is not None}
    return {
        "import_roots": import_roots(settings, tuple(params.get("import_roots") or ())),
        "datasets": datasets,
        "model_artifacts": artifacts,
    }


def freeze_deps(ctx: CheckContext) -> str:
    """Write the dependency lock (packages, Python, dataset schemas, artifact hashes)."""
    path = ctx.root / ctx.params["lock"]
    inputs = lock_inputs(ctx.assets, ctx.settings, ctx.params)
    lock = freeze_dependencies(
        inputs["import_roots"],
        datasets=inputs["datasets"],
        model_artifacts=inputs["model_artifacts"],
        extra_packages=tuple(ctx.params.get("extra_packages") or ()),
        path=path,
    )
    packages = lock.get("packages", {})
    return (
        f"wrote the dependency lock to {path}: {len(packages)} package(s) imported by "
        f"{', '.join(inputs['import_roots']) or 'no configured code'}, "
        f"{len(inputs['datasets'])} dataset schema(s), {len(inputs['model_artifacts'])} model "
        "artifact(s)\nCommit it; the monitor-1 check fails when any of these change, until you "
        "freeze again."
    )


def run_dependencies(ctx: CheckContext) -> CheckResult:
    inputs = lock_inputs(ctx.assets, ctx.settings, ctx.params)
    return dependency_changes(
        ctx.root / ctx.params["lock"],
        import_roots=inputs["import_roots"],
        datasets=inputs["datasets"],
        model_artifacts=inputs["model_artifacts"],
    )


DEPENDENCIES = BuiltinCheck(
    "monitor-1",
    "dependencies",
    "installed packages, dataset schemas and model artifacts match the committed lock",
    (),
    run_dependencies,
    (
        Param(
            "lock", "string", "mltestscore-deps.lock.json", "the lock file, beside pyproject.toml"
        ),
        Param("import_roots", "strings", None, "more top-level modules whose imports are locked"),
        Param("extra_packages", "strings", None, "more distributions to lock"),
    ),
    freeze=Freeze(ML_SCORE_FREEZE_DEPS, freeze_deps),
    declines="no lock frozen yet (`--ml-score-freeze-deps`)",
)
