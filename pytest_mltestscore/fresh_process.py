"""Run a short Python script in a fresh interpreter, the way a training job or server would.

The child sees the parent's ``sys.path`` (through ``PYTHONPATH``) so that project modules and
test helpers import the same way, and talks back through JSON files only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cost import FRESH, spending

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class ChildResult:
    """What the child wrote back (``None`` when it failed) and why it failed."""

    ok: bool
    payload: dict[str, Any] | None
    error: str | None


def _child_env(overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    if os.getcwd() not in paths:
        paths.insert(0, os.getcwd())
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([*paths, *([existing] if existing else [])])
    env.update(overrides or {})
    return env


def run_script(
    script: str,
    args: dict[str, Any],
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict[str, str] | None = None,
) -> ChildResult:
    """Run ``script`` in ``sys.executable``; it reads ``ARGS`` and must call ``reply(dict)``.

    The script body runs with ``ARGS`` (the JSON-decoded ``args``) and a ``reply`` function
    that writes the JSON answer; an exception in the child becomes ``ChildResult.error`` with
    the last lines of its traceback.
    """
    args_file = workdir / "child-args.json"
    out_file = workdir / "child-reply.json"
    args_file.write_text(json.dumps(args), encoding="utf-8")
    prelude = (
        "import json, sys\n"
        f"ARGS = json.loads(open({str(args_file)!r}, encoding='utf-8').read())\n"
        "def reply(obj):\n"
        f"    with open({str(out_file)!r}, 'w', encoding='utf-8') as fh:\n"
        "        json.dump(obj, fh)\n"
    )
    try:
        with spending(FRESH):
            proc = subprocess.run(
                [sys.executable, "-c", prelude + script],
                env=_child_env(env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
    except subprocess.TimeoutExpired:
        return ChildResult(False, None, f"the fresh Python process did not finish in {timeout:g} s")
    if proc.returncode != 0 or not out_file.is_file():
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-6:])
        return ChildResult(
            False, None, f"the fresh Python process exited with status {proc.returncode}: {tail}"
        )
    return ChildResult(True, json.loads(out_file.read_text(encoding="utf-8")), None)
