"""Reachability of the servers some tests need (PostgreSQL, a Prometheus Pushgateway, a
Prometheus server, headless Chromium), and of the optional extras some tests need (Spark).

A test that needs a server calls :func:`postgres_url`, :func:`pushgateway_url`,
:func:`prometheus_query` or :func:`chromium`. When the server cannot be reached the test is
skipped with the reason, unless the environment sets ``MLTESTSCORE_REQUIRE_SERVERS=1`` (CI does,
after ``.ci/start_servers.sh``): then it fails, so a broken install never gives a green run.
Likewise :func:`require_spark` skips with the one command that installs the ``spark`` extra, and
fails under ``MLTESTSCORE_REQUIRE_EXTRAS=1`` (``.ci/run`` installs the extra and sets it).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn
from urllib.parse import quote

import pytest

POSTGRES_URL_ENV = "MLTESTSCORE_TEST_POSTGRES_URL"
PUSHGATEWAY_URL_ENV = "MLTESTSCORE_TEST_PUSHGATEWAY_URL"
PROMETHEUS_URL_ENV = "MLTESTSCORE_TEST_PROMETHEUS_URL"
REQUIRE_SERVERS_ENV = "MLTESTSCORE_REQUIRE_SERVERS"
REQUIRE_EXTRAS_ENV = "MLTESTSCORE_REQUIRE_EXTRAS"
DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"
PUSHGATEWAY_AUTH_URL_ENV = "MLTESTSCORE_TEST_PUSHGATEWAY_AUTH_URL"
DEFAULT_PUSHGATEWAY_AUTH_URL = "http://127.0.0.1:9092"
AUTH_USER, AUTH_PASSWORD = "mlts", "mlts-push"  # as .ci/start_servers.sh configures it
PROMETHEUS_WAIT = 30.0  # seconds for a pushed value to be scraped (the scrape interval is 1 s)
DEFAULT_POSTGRES_URL = "postgresql://mlts:mlts@127.0.0.1:5432/mlts"
DEFAULT_PUSHGATEWAY_URL = "http://127.0.0.1:9091"
PROBE_TIMEOUT = 3.0


def servers_required() -> bool:
    """True when unreachable servers must fail the tests instead of skipping them."""
    return os.environ.get(REQUIRE_SERVERS_ENV, "").strip().lower() in ("1", "true", "yes")


def unavailable(what: str, reason: str) -> NoReturn:
    """Skip (or, with MLTESTSCORE_REQUIRE_SERVERS=1, fail) because a server is unreachable."""
    message = f"{what} not reachable: {reason} (start the servers with .ci/start_servers.sh)"
    if servers_required():
        pytest.fail(f"{message}; {REQUIRE_SERVERS_ENV}=1 requires it", pytrace=False)
    pytest.skip(message)


def _required(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def require_spark() -> None:
    """Skip (module level too) unless pyspark and Java are there; fail instead under
    MLTESTSCORE_REQUIRE_EXTRAS=1, so CI never skips the Spark tests."""
    problem = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        problem = (
            "the Spark engine needs the 'spark' extra: "
            'python -m pip install -e ".[spark]" (and Java 17 or newer)'
        )
    else:
        if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            problem = "Spark needs Java 17 or newer (no java on PATH, no JAVA_HOME)"
    if problem is None:
        return
    if _required(REQUIRE_EXTRAS_ENV):
        pytest.fail(f"{problem}; {REQUIRE_EXTRAS_ENV}=1 requires it", pytrace=False)
    pytest.skip(problem, allow_module_level=True)


def _hide_password(url: str) -> str:
    from pytest_mltestscore.history import redact_url

    return redact_url(url)


@functools.cache
def _postgres_problem(url: str) -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        with psycopg.connect(url, connect_timeout=int(PROBE_TIMEOUT)) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{_hide_password(url)}: {' '.join(str(exc).split())}"
    return None


def postgres_url() -> str:
    """The test database URL (env MLTESTSCORE_TEST_POSTGRES_URL), or skip/fail when down."""
    url = os.environ.get(POSTGRES_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL
    problem = _postgres_problem(url)
    if problem is not None:
        unavailable("PostgreSQL", problem)
    return url


@contextmanager
def isolated_postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards (tests do not collide)."""
    import psycopg

    base = postgres_url()
    schema = f"mlts_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-c search_path={schema}', safe='')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@functools.cache
def _pushgateway_problem(url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/-/ready", timeout=PROBE_TIMEOUT) as resp:
            if resp.status != 200:
                return f"{url}/-/ready answered HTTP {resp.status}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {exc}"
    return None


def pushgateway_url() -> str:
    """The Pushgateway URL (env MLTESTSCORE_TEST_PUSHGATEWAY_URL), or skip/fail when down."""
    url = os.environ.get(PUSHGATEWAY_URL_ENV, "").strip() or DEFAULT_PUSHGATEWAY_URL
    problem = _pushgateway_problem(url)
    if problem is not None:
        unavailable("Prometheus Pushgateway", problem)
    return url.rstrip("/")


@functools.cache
def _auth_gateway_problem(url: str) -> str | None:
    try:  # readiness is behind the auth too: a 401 means it is up
        with urllib.request.urlopen(f"{url}/-/ready", timeout=PROBE_TIMEOUT):
            return None
    except urllib.error.HTTPError as exc:
        return None if exc.code == 401 else f"{url}/-/ready answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {exc}"


def pushgateway_auth_url() -> str:
    """A Pushgateway that requires basic auth (AUTH_USER / AUTH_PASSWORD), or skip/fail."""
    url = os.environ.get(PUSHGATEWAY_AUTH_URL_ENV, "").strip() or DEFAULT_PUSHGATEWAY_AUTH_URL
    problem = _auth_gateway_problem(url)
    if problem is not None:
        unavailable("Prometheus Pushgateway with basic auth", problem)
    return url.rstrip("/")


@functools.cache
def _prometheus_problem(url: str) -> str | None:
    return _pushgateway_problem(url)  # the same readiness endpoint, /-/ready


def prometheus_query(expr: str) -> list[tuple[dict[str, str], float]]:
    """Wait until the Prometheus server (env MLTESTSCORE_TEST_PROMETHEUS_URL) answers ``expr``
    with a value, then return each series' labels (without instance) and value, sorted.

    Skips (or fails) when the server is down; fails when nothing comes within 30 seconds.
    """
    url = (os.environ.get(PROMETHEUS_URL_ENV, "").strip() or DEFAULT_PROMETHEUS_URL).rstrip("/")
    problem = _prometheus_problem(url)
    if problem is not None:
        unavailable("Prometheus server", problem)
    query = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    deadline = time.monotonic() + PROMETHEUS_WAIT
    while True:
        with urllib.request.urlopen(query, timeout=PROBE_TIMEOUT) as resp:
            body = json.loads(resp.read().decode("utf-8"))
        results = body["data"]["result"]
        if results or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not results:
        pytest.fail(f"Prometheus at {url} has no value for {expr} after {PROMETHEUS_WAIT:g} s")
    out = []
    for series in results:
        labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "instance")}
        out.append((labels, float(series["value"][1])))
    return sorted(out, key=lambda pair: sorted(pair[0].items()))


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def chromium() -> None:
    """Skip (or fail) unless headless Chromium, its driver and selenium are installed."""
    for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not os.path.exists(path):
            unavailable("headless Chromium", f"{what} not found at {path}")
    try:
        import selenium  # noqa: F401
    except ImportError:
        unavailable(
            "headless Chromium",
            'selenium is not installed (python -m pip install -e ".[browser]")',
        )
