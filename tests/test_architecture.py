"""The package's layout holds (ARCHITECTURE.md): imports run down the layers only, there is no
import cycle (counting imports inside functions and type-only imports), no rubric id is named
outside ``checks/``, and a new built-in check needs its own module and nothing else."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from importlib.resources import files
from pathlib import Path

import pytest

import pytest_mltestscore
from pytest_mltestscore.checks import SECTIONS

PACKAGE = Path(pytest_mltestscore.__file__).parent
NAME = "pytest_mltestscore"

# Top to bottom, as ARCHITECTURE.md draws them; a module may import its own layer or below.
LAYERS: dict[str, int] = {
    # pytest glue
    "plugin": 4,
    "session": 4,
    "judges": 4,
    "items": 4,
    "fixtures": 4,
    "commands": 4,
    "project": 4,
    "evidence": 4,
    "htmlplugin": 4,
    # the check registry
    "registry": 3,
    # the checks, one package per rubric section (see SECTION_RULE)
    "checks": 2,
    # shared services
    "builtin": 1,
    "assets": 1,
    "shared_cache": 1,
    "loading": 1,
    "fresh_process": 1,
    "zygote": 1,
    "modeling": 1,
    "prepared": 1,
    "outputs": 1,
    "evaluation": 1,
    "findings": 1,
    "readers": 1,
    "sql": 1,
    "endpoints": 1,
    "profiles": 1,
    "sketches": 1,
    "engines": 1,
    "history": 1,
    "state": 1,
    "prometheus": 1,
    "report": 1,
    "scorecard": 1,
    "profile_figures": 1,
    "plots": 1,
    "htmlreport": 1,
    "durations": 1,
    # leaves
    "": 0,  # the package's face (__init__)
    "_moved": 0,
    "rubric": 0,
    "settings": 0,
    "scoring": 0,
    "result": 0,
    "metrics": 0,
    "clock": 0,
    "arguments": 0,
    "options": 0,
    "masking": 0,
    "cost": 0,
    "suite_only": 0,
}
LAYER_NAMES = {4: "pytest glue", 3: "registry", 2: "checks", 1: "services", 0: "leaves"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package that ``name`` imports, anywhere in the file."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith(NAME):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith(NAME))
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def layer_key(module: str) -> str:
    rest = module[len(NAME) + 1 :] if module != NAME else ""
    return rest.split(".")[0]


def section_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "checks" else None


def test_every_module_has_a_layer():
    missing = sorted(m for m in modules() if layer_key(m) not in LAYERS)
    assert not missing, f"place these modules in a layer (ARCHITECTURE.md, LAYERS): {missing}"


def test_imports_run_down_the_layers():
    upward = []
    for module, targets in graph().items():
        for target in targets:
            here, there = LAYERS[layer_key(module)], LAYERS[layer_key(target)]
            if there > here:
                upward.append(
                    f"{module} ({LAYER_NAMES[here]}) imports {target} ({LAYER_NAMES[there]})"
                )
    assert not upward, "imports running back up the layers:\n" + "\n".join(sorted(upward))


def test_a_section_imports_only_earlier_sections():
    wrong = []
    for module, targets in graph().items():
        mine = section_of(module)
        for target in targets:
            theirs = section_of(target)
            if mine and theirs and SECTIONS.index(theirs) > SECTIONS.index(mine):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "a section imports a later one:\n" + "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    # the test above could not fail if cycles() never found one
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


RUBRIC_ID = re.compile(r"\b(data|model|infra|monitor)[-_ ]?[1-7]\b", re.IGNORECASE)


def test_no_rubric_id_outside_checks():
    named = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] == "checks":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if RUBRIC_ID.search(line):
                named.append(f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}")
    assert not named, "rubric ids named outside checks/:\n" + "\n".join(named)


# -- ARCHITECTURE.md, "How to add a built-in check", followed step by step --------------------
NEW_CHECK = '''
"""data-1: the training data holds enough rows to infer a schema from."""

from __future__ import annotations

import pandas as pd

from ...builtin import BuiltinCheck, CheckContext, Param, dataset
from ...result import CheckResult, library_check


@library_check
def enough_rows(frame: pd.DataFrame, minimum: int = 10) -> CheckResult:
    """The frame holds at least ``minimum`` rows."""
    n = len(frame)
    verdict = "pass" if n >= minimum else "fail"
    return CheckResult("data-1 enough rows", verdict, f"{n} rows; at least {minimum} needed")


def run_enough_rows(ctx: CheckContext) -> CheckResult:
    return enough_rows(ctx.assets.frame("training"), ctx.params["minimum"])


ENOUGH_ROWS = BuiltinCheck(
    "data-1",
    "enough-rows",
    "the training data holds enough rows",
    (dataset("training"),),
    run_enough_rows,
    (Param("minimum", "integer", 10, "rows needed", 1),),
)
'''


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the installed package (with its rubrics), to add a check to."""
    root = tmp_path / "site"
    shutil.copytree(
        PACKAGE, root / NAME, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "rubrics")
    )
    rubrics = root / NAME / "rubrics"
    rubrics.mkdir()
    (rubrics / "__init__.py").write_text("")
    for entry in files(f"{NAME}.rubrics").iterdir():
        if entry.name.endswith(".toml"):
            (rubrics / entry.name).write_text(entry.read_text(encoding="utf-8"))
    return root


def run_project(site: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(site)
    env["PYTEST_ADDOPTS"] = "-p no:benchmark -p no:cacheprovider"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--ml-score",
            "-rA",
            "-q",
            "--ml-score-report=json:r.json",
            *args,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_adding_a_check_takes_one_module(package_copy: Path, tmp_path: Path) -> None:
    # step 1-3: one module in the section of its item, holding the function and its declaration
    (package_copy / NAME / "checks" / "data" / "enough_rows.py").write_text(NEW_CHECK.lstrip())
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    config = textwrap.dedent(
        """
        [tool.mltestscore.datasets.training]
        path = "train.csv"
        target = "y"

        [tool.mltestscore.checks.data-1]
        minimum = {minimum}
        """
    )
    (project / "pyproject.toml").write_text(config.format(minimum=5))
    (project / "test_lib.py").write_text(
        "from pytest_mltestscore import checks\n"
        "import pandas as pd\n\n"
        "def test_library_form():\n"
        "    assert checks.enough_rows(pd.DataFrame({'a': range(3)}), 2).passed\n"
    )
    ok = run_project(package_copy, project, "-k", "enough or library")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASSED mltestscore::data-1::enough-rows" in ok.stdout
    assert "PASSED test_lib.py::test_library_form" in ok.stdout
    assert "enough_rows.py" not in ok.stderr

    # its parameter is validated at start like any other, and its verdict is its own
    (project / "pyproject.toml").write_text(config.format(minimum=50))
    failed = run_project(package_copy, project, "-k", "enough")
    assert failed.returncode == 1
    assert "20 rows; at least 50 needed" in failed.stdout
    (project / "pyproject.toml").write_text(config.format(minimum='"many"'))
    bad = run_project(package_copy, project, "-k", "enough")
    assert bad.returncode == 4
    assert "minimum: expected a whole number of at least 1" in bad.stderr
