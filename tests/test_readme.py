"""README.md's generated regions (check table, scorecard excerpt) match the code and a real run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_is_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    head = text[: text.index("## Contents")]
    commands = [ln for ln in head.splitlines() if ln.startswith("python -m pip install")]
    assert commands == [
        'python -m pip install -e ".[examples]" && python -m pytest examples/penguins',
        'python -m pip install -e ".[test]" && python -m pytest -n 2',
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci  # CI runs the README's test command verbatim
