"""Open the HTML report of the penguins' bad day in headless Chromium and check what a person sees.

    python scripts/check_html_report.py                       # run the bad day, then check
    python scripts/check_html_report.py --report out.html     # check a report already written
    python scripts/check_html_report.py --screenshot page.png # keep the full-page screenshot

Runs ``PENGUINS_DAY=bad python -m pytest examples/penguins --ml-score-report=html:PATH``, opens
the page through ChromeDriver (Debian packages ``chromium`` and ``chromium-driver``, driven with
selenium) with a fresh profile, and checks: the failed items are shown, each drifted column has
its plot drawn, the browser logged no console error and made no network request (the page's own
file aside), and the file is under 2 MB. Prints one JSON line of what it found; exits 1 when a
check fails, 2 when the browser or its driver is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MLTESTSCORE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MLTESTSCORE_CHROMEDRIVER", "/usr/bin/chromedriver")
MAX_BYTES = 2 * 1024 * 1024
# What the bad day must show: its failed items, and the columns that drifted (monitor-3) or broke
# the schema (monitor-2), each with a plot.
FAILED_ITEMS = ("infra-6", "monitor-2", "monitor-3", "monitor-4", "monitor-7")
DRIFTED_COLUMNS = ("body_mass_g", "island")
BROWSER_PAGES = ("chrome://", "chrome-untrusted://", "about:")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


def write_bad_day_report(path: Path) -> subprocess.CompletedProcess[str]:
    """The penguins' bad day, scored with an HTML report (the run itself fails its gate)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLTESTSCORE_"))}
    env["PENGUINS_DAY"] = "bad"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "examples/penguins",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--ml-score-report=html:{path}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def missing_browser() -> str | None:
    """Why the check cannot run here, or None."""
    for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not Path(path).exists():
            return f"{what} not found at {path} (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[browser]')"
    return None


def inspect_page(report: Path, screenshot: Path | None) -> dict[str, Any]:
    """Open the report and gather what the checks need."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    profile = tempfile.mkdtemp(prefix="mltestscore-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        url = report.resolve().as_uri()
        driver.get(url)
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(1280, min(max(height, 1000), 16000))
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
        cards = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#findings .card h3")]
        plots = []
        for fig in driver.find_elements(By.CSS_SELECTOR, "figure.flagged"):
            svgs = fig.find_elements(By.TAG_NAME, "svg")
            caption = fig.find_element(By.TAG_NAME, "figcaption").text
            drawn = bool(svgs) and svgs[0].size["height"] > 50 and svgs[0].size["width"] > 100
            plots.append({"caption": caption.splitlines()[0], "drawn": drawn})
        requests = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                params = message["params"]
                # the blank tab Chromium opens before our page loads its own chrome:// pages
                if params.get("documentURL", "").startswith(BROWSER_PAGES):
                    continue
                requests.append(params["request"]["url"])
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        console = [
            f"{e['level']}: {e['message']}"
            for e in driver.get_log("browser")
            if e["level"] in ("SEVERE", "WARNING")
        ]
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return {
        "url": url,
        "failed_items": [c.split(" ")[0] for c in cards],
        "flagged_plots": plots,
        "requests": [r for r in requests if r != url],
        "resources": list(resources),
        "console_errors": console,
        "height": height,
    }


def problems(found: dict[str, Any], size: int) -> list[str]:
    """What the page fails to show or does wrong."""
    out = []
    missing = [i for i in FAILED_ITEMS if i not in found["failed_items"]]
    if missing:
        out.append(f"failed items not shown: {', '.join(missing)}")
    for column in DRIFTED_COLUMNS:
        drawn = [
            p for p in found["flagged_plots"] if p["caption"].startswith(column) and p["drawn"]
        ]
        if not drawn:
            out.append(f"no plot drawn for the drifted column {column}")
    if found["requests"] or found["resources"]:
        out.append(f"network requests: {found['requests'] + found['resources']}")
    if found["console_errors"]:
        out.append(f"console errors: {found['console_errors']}")
    if size >= MAX_BYTES:
        out.append(f"the report is {size} bytes, over {MAX_BYTES}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an HTML report already written")
    parser.add_argument("--screenshot", type=Path, help="where to keep the full-page screenshot")
    args = parser.parse_args(argv)
    why = missing_browser()
    if why is not None:
        print(json.dumps({"error": why}))
        return 2
    with tempfile.TemporaryDirectory(prefix="mltestscore-html-") as tmp:
        report = args.report
        if report is None:
            report = Path(tmp) / "bad-day.html"
            run = write_bad_day_report(report)
            if not report.exists():
                print(json.dumps({"error": "no report written", "output": run.stdout[-3000:]}))
                return 1
        size = report.stat().st_size
        found = inspect_page(report, args.screenshot)
    bad = problems(found, size)
    print(json.dumps({"bytes": size, **found, "problems": bad}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
