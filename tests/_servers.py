"""Reachability of the servers some tests need: PostgreSQL and a Prometheus Pushgateway.

A test that needs a server calls :func:`postgres_url` or :func:`pushgateway_url`. When the
server cannot be reached the test is skipped with the reason, unless the environment sets
``MLTESTSCORE_REQUIRE_SERVERS=1`` (CI does, after ``.ci/start_servers.sh``): then it fails, so a
broken install never gives a green run.
"""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn
from urllib.parse import quote

import pytest

POSTGRES_URL_ENV = "MLTESTSCORE_TEST_POSTGRES_URL"
PUSHGATEWAY_URL_ENV = "MLTESTSCORE_TEST_PUSHGATEWAY_URL"
REQUIRE_SERVERS_ENV = "MLTESTSCORE_REQUIRE_SERVERS"
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
