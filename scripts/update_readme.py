"""Regenerate the generated regions of README.md from the code and from a real run.

    python scripts/update_readme.py          # rewrite the regions in place
    python scripts/update_readme.py --check  # exit 1 if README.md is out of date

Regions: the built-in check table (from pytest_mltestscore.registry) and the scorecard excerpt
(from a real run of examples/penguins, with today pinned so the output is reproducible).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE = ROOT / "examples" / "penguins"
SCORECARD_TODAY = "2026-11-22"
# lines after the card that vary from run to run (history trend) or are not part of it
STOP = (
    "history:",
    "changed since",
    "no item changed",
    "run history",
    "-----",
    "=====",
    "FAIL:",
    "ML Test Score ",
    "json report",
    "markdown report",
    "prometheus report",
    "could not",
)


def checks_table() -> str:
    from pytest_mltestscore.registry import all_checks

    lines = [
        "| item | built-in check | what it verifies | column kinds judged | needs | not judged (skipped with the reason) when |",
        "|---|---|---|---|---|---|",
    ]
    for check in all_checks():
        needs = check.needs_text() or "-"
        lines.append(
            f"| `{check.rubric_id}` | `{check.name}` | {check.summary} | {check.kinds or '-'} | "
            f"{needs} | a need is missing; {check.declines} |"
        )
    return "\n".join(lines)


def _default(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def params_table() -> str:
    from pytest_mltestscore.registry import all_checks

    kinds = {
        "number": "number",
        "integer": "integer",
        "string": "string",
        "bool": "boolean",
        "strings": "array of strings",
        "datetime": "TOML date",
        "table": "table",
    }
    lines = [
        "| item | parameter | type | default | meaning |",
        "|---|---|---|---|---|",
        "| any | `enabled` | boolean | `true` | `false` turns the item's built-in checks off |",
        "| any | `blocking` | boolean | `false` | under a gate, a failure of the item's checks fails the run anyway |",
    ]
    seen: set[tuple[str, str]] = set()
    for check in all_checks():
        for p in check.params:
            if (check.rubric_id, p.name) in seen:
                continue
            seen.add((check.rubric_id, p.name))
            allowed = p.allowed()
            choice = f" (one of: {', '.join(allowed)})" if allowed and len(allowed) < 8 else ""
            lines.append(
                f"| `{check.rubric_id}` | `{p.name}` | {kinds[p.kind]} | {_default(p.default)} | "
                f"{p.help}{choice} |"
            )
    return "\n".join(lines)


def library_table() -> str:
    from pytest_mltestscore.checks import library

    lines = ["| function | what it checks | defined in |", "|---|---|---|"]
    for name, fn in sorted(library().items(), key=lambda kv: (kv[1].__module__, kv[0])):
        doc = (fn.__doc__ or "").strip()
        first = " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")
        lines.append(f"| `checks.{name}` | {first} | `{fn.__module__}` |")
    return "\n".join(lines)


def scorecard() -> str:
    # A user's own run: nothing from a pytest (or xdist worker) this script may be started from.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(MLTESTSCORE_TODAY=SCORECARD_TODAY, COLUMNS="100", NO_COLOR="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(EXAMPLE),
            "-p",
            "no:cacheprovider",
            "--color=no",
            "--ml-score-report=term",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    out = proc.stdout
    start = out.find("ML Test Score ==")
    if start < 0:
        raise SystemExit(
            f"no scorecard in the example's output:\n{out[-3000:]}{proc.stderr[-2000:]}"
        )
    lines = out[out.rfind("\n", 0, start) + 1 :].splitlines()[1:]
    keep: list[str] = []
    for line in lines:  # the card ends with its one-line summary (maybe wrapped)
        if line.startswith(STOP) and any(k.startswith("ML Test Score:") for k in keep):
            break
        keep.append(line.rstrip())
    return "```text\n" + "\n".join(keep).strip() + "\n```"


def regions() -> dict[str, str]:
    out = {
        "checks-table": checks_table(),
        "params-table": params_table(),
        "library-table": library_table(),
    }
    if EXAMPLE.is_dir():
        out["scorecard"] = scorecard()
    return out


def render(text: str, generated: dict[str, str]) -> str:
    for name, body in generated.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", flags=re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(
                f"README.md has no region <!-- {name}:begin --> ... <!-- {name}:end -->"
            )
        text = pattern.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    opts = parser.parse_args()
    current = README.read_text(encoding="utf-8")
    updated = render(current, regions())
    if opts.check:
        if updated != current:
            print("README.md is out of date: run python scripts/update_readme.py")
            return 1
        print("README.md is up to date")
        return 0
    README.write_text(updated, encoding="utf-8")
    print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
