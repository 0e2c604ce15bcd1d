"""Plugin overhead: a generated suite of 2,000 marked trivial tests, run with the plugin disabled
(``-p no:mltestscore``) and with ``--ml-score``, alternately in the same session; prints the ratio
of median wall times (and of median CPU times, user + system, which a shared machine's load
disturbs less). Target (issue 15): ``--ml-score`` at most 1.05.

Each variant runs in two bytecode modes: with PYTHONDONTWRITEBYTECODE=1 (nothing is
byte-compiled, so modules without a ``__pycache__`` entry, such as an editable install's, are
compiled on every run: the plugin's imports cost most there) and with a bytecode cache
(PYTHONDONTWRITEBYTECODE unset, the cache in a temporary PYTHONPYCACHEPREFIX, filled by a
warm-up run, so the working tree is left as it was).

    python benchmarks/overhead.py [--tests 2000] [--rounds 7] [--modes no-bytecode,bytecode]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IDS = [f"{s}-{n}" for s in ("data", "model", "infra", "monitor") for n in range(1, 8)]
TARGET = 1.05
BASELINE = "plugin disabled (-p no:mltestscore)"
VARIANTS = {
    BASELINE: ["-p", "no:mltestscore"],
    "passive (plugin loaded, no --ml-score)": [],
    "--ml-score (scorecard)": ["--ml-score"],
    "--ml-score + json report": ["--ml-score", "--ml-score-report=json:r.json"],
}
TARGETED = "--ml-score (scorecard)"


def make_suite(root: Path, n_tests: int) -> None:
    per_file = 100
    for f in range(n_tests // per_file):
        lines = ["import pytest", ""]
        for t in range(per_file):
            rid = IDS[(f * per_file + t) % len(IDS)]
            lines += [f"@pytest.mark.rubric({rid!r})", f"def test_{t}():", "    assert True", ""]
        (root / f"test_gen_{f:03d}.py").write_text("\n".join(lines))
    # the marker is declared in the ini too, so that the run without the plugin does not warn
    # 2,000 times about an unknown mark (which made that baseline slower than it should be)
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n"
        'markers = ["rubric(*ids): the rubric items a test earns"]\n'
    )


def mode_env(mode: str, tmp: Path) -> dict[str, str]:
    """The environment of one bytecode mode (see the module's docstring)."""
    env = dict(os.environ)
    if mode == "no-bytecode":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(root: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one pytest run."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(
            f"pytest {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--modes",
        default="no-bytecode,bytecode",
        help="comma-separated bytecode modes: no-bytecode, bytecode (default: both)",
    )
    opts = parser.parse_args()
    modes = [m.strip() for m in opts.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - {"no-bytecode", "bytecode"})
    if unknown or not modes:
        parser.error(f"--modes: expected no-bytecode and/or bytecode, got {opts.modes!r}")
    times: dict[str, dict[str, list[tuple[float, float]]]] = {
        m: {k: [] for k in VARIANTS} for m in modes
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "suite"
        root.mkdir()
        make_suite(root, opts.tests)
        envs = {m: mode_env(m, Path(tmp)) for m in modes}
        for mode in modes:  # warm the file system and, in bytecode mode, fill the cache
            for args in VARIANTS.values():
                run(root, args, envs[mode])
        names = list(VARIANTS)
        for r in range(opts.rounds):
            # alternate, and rotate which variant goes first, so drift and order hit all alike
            for mode in modes:
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    times[mode][name].append(run(root, VARIANTS[name], envs[mode]))
    print(f"{opts.tests} marked trivial tests, {opts.rounds} alternating rounds, medians")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for mode in modes:
        wall = {name: statistics.median(w for w, _ in ts) for name, ts in times[mode].items()}
        cpu = {name: statistics.median(c for _, c in ts) for name, ts in times[mode].items()}
        label = (
            "PYTHONDONTWRITEBYTECODE=1"
            if mode == "no-bytecode"
            else "bytecode cache (PYTHONDONTWRITEBYTECODE unset)"
        )
        print(f"\n{label}")
        print(f"{'variant':45s} {'wall s':>7s} {'ratio':>6s} {'cpu s':>7s} {'ratio':>6s}")
        for name in VARIANTS:
            print(
                f"{name:45s} {wall[name]:7.3f} {wall[name] / wall[BASELINE]:6.3f}"
                f" {cpu[name]:7.3f} {cpu[name] / cpu[BASELINE]:6.3f}"
            )
        ratio = wall[TARGETED] / wall[BASELINE]
        verdict = "within" if ratio <= TARGET else "ABOVE"
        print(
            f"{TARGETED}: {ratio:.3f}x wall ({cpu[TARGETED] / cpu[BASELINE]:.3f}x cpu), "
            f"{verdict} the target of {TARGET:.2f}x"
        )


if __name__ == "__main__":
    main()
