"""The HTML report of the penguins' bad day, opened in headless Chromium as a person would: the
failed items and the drifted columns' plots are on the page, the browser logs no console error
and makes no network request. Runs ``scripts/check_html_report.py`` (needs Debian's chromium and
chromium-driver and the ``browser`` extra; ``.ci/start_servers.sh`` installs the browser)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _servers import chromium

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "check_html_report.py"

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")
pytest.importorskip("skops")


def test_bad_day_report_in_headless_chromium(tmp_path: Path) -> None:
    chromium()
    shot = tmp_path / "bad-day.png"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--screenshot", str(shot)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["problems"] == [], found
    assert proc.returncode == 0
    assert {"infra-6", "monitor-2", "monitor-3", "monitor-4", "monitor-7"} <= set(
        found["failed_items"]
    )
    captions = {p["caption"] for p in found["flagged_plots"] if p["drawn"]}
    assert {"body_mass_g: training vs serving", "island: training vs serving"} <= captions
    assert found["requests"] == [] and found["resources"] == []
    assert found["console_errors"] == []
    assert 0 < found["bytes"] < 2 * 1024 * 1024
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
