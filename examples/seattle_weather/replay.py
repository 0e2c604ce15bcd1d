"""Replay the forecast service day by day and score the ML system after each day.

    python examples/seattle_weather/replay.py --days 10            # from the repository root
    python examples/seattle_weather/replay.py --start 2015-08-20 --days 5
    python examples/seattle_weather/replay.py --resume --days 3    # continue the last replay

For each replayed day D (see README.md):

1. the service's forecast for D (issued 00:05 Seattle time) is appended to
   ``state/logs/predictions/<month>.csv``, and the outcomes that arrived during D (UTC) to
   ``state/logs/labels/<month>.csv``; before the first day, the logs of every earlier day of
   service (from 2014-01-02) are written at once, exactly as the service would have;
2. ``python -m pytest`` runs in this directory with ``MLTESTSCORE_TODAY=D``: the built-in checks
   and the example's tests score the system, the run is appended to ``state/history.sqlite``,
   and the reports go to ``state/reports/D.json`` and ``state/prometheus/D.prom`` (Prometheus
   text format; the latest day is also copied to ``state/prometheus/latest/mltestscore.prom``,
   the one file a node_exporter textfile collector would read);
3. one line per day is printed: the score, the failing items and the SLO verdicts. The full
   scorecard of each day is in ``state/runs/D.txt``.

The service also logs each forecast to a database table (``state/serving.sqlite``, or the
SQLAlchemy URL in ``WEATHER_LOG_URL``), which the ``live`` dataset reads back with a 1-day
window; and the model is served by MLServer on loopback for the whole replay (when MLServer is
installed; ``--no-serve`` skips it), called by URL as the ``deployed`` model.

A fresh replay removes ``state/`` first; ``--resume`` continues after the last replayed day.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STATE = ROOT / "state"
MARKER = STATE / "replay.json"
DEFAULT_START = dt.date(2014, 10, 14)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Replay the Seattle rain forecasts day by day and score each day."
    )
    parser.add_argument(
        "--start", type=_date, default=None, help=f"first replayed day (default {DEFAULT_START})"
    )
    parser.add_argument("--days", type=_positive, default=10, help="days to replay (default 10)")
    parser.add_argument(
        "--resume", action="store_true", help="continue after the last replayed day in state/"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the label delays (default 0)")
    parser.add_argument("--show", action="store_true", help="print each day's full pytest output")
    parser.add_argument(
        "--no-serve", action="store_true", help="do not serve the model with MLServer"
    )
    parser.add_argument(
        "pytest_args", nargs="*", help="extra pytest arguments (after --), e.g. -- -k monitor"
    )
    return parser.parse_args(argv)


def summary_line(day: dt.date, report: dict, exit_code: int) -> str:
    """One line per day: score, failing items, the SLO and monitor-6 outcomes."""
    items = [i for s in report["sections"] for i in s["items"]]
    failing = [i["id"] for i in items if i["status"] == "failing"]
    outcomes = {t["nodeid"].split("::", 1)[1]: t["outcome"] for i in items for t in i["tests"]}
    slos = sorted(k for k in outcomes if k.startswith("monitor-7::slo-"))
    parts = [f"{k.split('slo-', 1)[1]} {outcomes[k]}" for k in slos]
    perf = outcomes.get("monitor-6::performance", "not run")
    sections = " ".join(f"{s['id']} {s['score']:g}" for s in report["sections"])
    return (
        f"{day}  score {report['score']:g} ({sections})  "
        f"failing: {', '.join(failing) or 'none'}  SLO: {', '.join(parts) or '-'}  "
        f"monitor-6: {perf}  exit {exit_code}"
    )


def run_day(day: dt.date, extra: list[str], show: bool) -> tuple[dict, int]:
    """Score the system as it stands at the end of ``day``; return the JSON report and exit."""
    reports, prom, runs = STATE / "reports", STATE / "prometheus", STATE / "runs"
    for folder in (reports, prom, runs):
        folder.mkdir(parents=True, exist_ok=True)
    # A fresh run, as CI would start it: nothing from a pytest this script may be started from.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["MLTESTSCORE_TODAY"] = day.isoformat()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--ml-score-report=term",
        f"--ml-score-report=json:{reports / f'{day}.json'}",
        f"--ml-score-report=prometheus:{prom / f'{day}.prom'}",
        "-rs",
        *extra,
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    (runs / f"{day}.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    if show:
        print(done.stdout + done.stderr)
    report_file = reports / f"{day}.json"
    if not report_file.exists():
        sys.exit(f"{day}: pytest wrote no report (exit {done.returncode}):\n{done.stdout[-3000:]}")
    latest = prom / "latest" / "mltestscore.prom"
    latest.parent.mkdir(exist_ok=True)
    shutil.copyfile(prom / f"{day}.prom", latest)
    return json.loads(report_file.read_text(encoding="utf-8")), done.returncode


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from weather_model.records import LAST_DAY, SERVING_START
    from weather_model.stream import LogWriter

    if args.resume:
        if not MARKER.exists():
            sys.exit(f"--resume: nothing to resume ({MARKER} is missing)")
        state = json.loads(MARKER.read_text(encoding="utf-8"))
        if args.start is not None or state["seed"] != args.seed:
            sys.exit("--resume continues the last replay: drop --start and --seed")
        start = dt.date.fromisoformat(state["last_day"]) + dt.timedelta(days=1)
    else:
        start = args.start or DEFAULT_START
        if start < SERVING_START:
            sys.exit(f"--start {start}: the served model made its first forecast {SERVING_START}")
        shutil.rmtree(STATE, ignore_errors=True)
    last = start + dt.timedelta(days=args.days - 1)
    if last > LAST_DAY:
        sys.exit(f"the records end {LAST_DAY}; {args.days} days from {start} go beyond")

    writer = LogWriter(STATE, seed=args.seed)
    if not args.resume:
        writer.reset_table()
    if not args.resume and start > SERVING_START:
        n_pred, n_lab = writer.write_until(start - dt.timedelta(days=1))
        print(
            f"logs before {start}: {n_pred} forecasts since {SERVING_START}, {n_lab} label messages"
        )
    worst = 0
    with contextlib.ExitStack() as stack:
        serve_model(stack, args.no_serve)
        day = start
        while day <= last:
            writer.write_until(day, since=day)
            report, code = run_day(day, args.pytest_args, args.show)
            worst = max(worst, code)
            print(summary_line(day, report, code), flush=True)
            MARKER.write_text(
                json.dumps({"last_day": day.isoformat(), "seed": args.seed}) + "\n",
                encoding="utf-8",
            )
            day += dt.timedelta(days=1)
    print(f"history: {STATE / 'history.sqlite'}; Prometheus files: {STATE / 'prometheus'}")
    return 0 if worst in (0, 1) else worst


def serve_model(stack: contextlib.ExitStack, skip: bool) -> None:
    """Serve the model with MLServer for the replay and point WEATHER_MODEL_URL at it."""
    from weather_model.deployment import MODEL_URL_ENV, mlserver_executable, serve

    executable = None if skip else mlserver_executable()
    if executable is None:
        why = "--no-serve" if skip else "MLServer is not installed (.ci/start_servers.sh)"
        print(f"model server: none ({why}); the deployed model's checks are not judged")
        return
    url = stack.enter_context(serve(STATE / "model_server", executable))
    os.environ[MODEL_URL_ENV] = url
    print(f"model server: MLServer at {url}")


if __name__ == "__main__":
    sys.exit(main())
