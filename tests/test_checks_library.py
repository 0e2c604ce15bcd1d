"""The assert forms in ``pytest_mltestscore.checks``: pass returns, fail raises a table, no
verdict skips; and importing the library stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_mltestscore import checks
from pytest_mltestscore.result import CheckResult


def test_passing_check_returns_its_result():
    result = checks.feature_policy(
        ["bill_length_mm", "flipper_length_mm"], forbidden=["sex", "race*"]
    )
    assert isinstance(result, CheckResult) and result.verdict == "pass"


def test_failing_check_raises_assertion_with_a_table():
    with pytest.raises(AssertionError) as excinfo:
        checks.feature_policy(["bill_length_mm", "sex", "race_code"], forbidden=["sex", "race*"])
    message = str(excinfo.value)
    assert "feature" in message and "pattern" in message  # the table header
    assert (
        "sex" in message
        and "race_code" in message
        and "bill_length_mm" not in message.split("\n", 1)[1]
    )


def test_no_verdict_skips():
    with pytest.raises(pytest.skip.Exception, match="pairs"):
        checks.offline_online_correlation([0.8, 0.9], [0.1, 0.2])


def test_every_public_name_resolves_and_keeps_its_docstring():
    for name in checks.__all__:
        fn = getattr(checks, name)
        assert callable(fn) and fn.__doc__, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_check'"):
        checks.not_a_check  # noqa: B018


def test_importing_plugin_and_checks_does_not_load_heavy_libraries():
    code = (
        "import sys, pytest_mltestscore.plugin, pytest_mltestscore.checks;"
        "heavy = [m for m in ('pandas', 'scipy', 'sklearn', 'pyarrow', 'rich') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
