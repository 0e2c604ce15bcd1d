"""Small things a new user met (issue 18): selecting the built-in checks by the plugin's name or
their section, and -q with a terminal report asked for by name."""

from __future__ import annotations

import pytest

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_REPORT

pytest.importorskip("palmerpenguins")

CONFIG = """
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.training]
path = "training.csv"
[tool.mltestscore.datasets.serving]
path = "serving.csv"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    import palmerpenguins

    df = palmerpenguins.load_penguins().dropna()
    df.iloc[::2].to_csv(pytester.path / "training.csv", index=False)
    df.iloc[1::2].to_csv(pytester.path / "serving.csv", index=False)
    pytester.makepyprojecttoml(CONFIG)
    pytester.makepyfile(
        test_mine="""
        import pytest
        @pytest.mark.rubric("monitor-6")
        def test_latency(): pass
        def test_other(): pass
        """
    )
    return pytester


def _selected(result: pytest.RunResult) -> set[str]:
    return {
        line.split(" ")[0]
        for line in result.stdout.lines
        if line.startswith(("mltestscore::", "test_mine.py::"))
    }


def test_the_plugins_name_and_a_section_select_the_builtin_checks(project):
    everything = project.runpytest(ML_SCORE, "--co", "-q")
    builtin = {line for line in everything.stdout.lines if line.startswith("mltestscore::")}
    assert len(builtin) > 10
    by_name = project.runpytest(ML_SCORE, "--co", "-q", "-k", "mltestscore")
    assert {line for line in by_name.stdout.lines if "::" in line} == builtin
    by_marker = project.runpytest(ML_SCORE, "--co", "-q", "-m", "mltestscore")
    assert {line for line in by_marker.stdout.lines if "::" in line} == builtin
    not_builtin = project.runpytest(ML_SCORE, "--co", "-q", "-m", "not mltestscore")
    assert {line for line in not_builtin.stdout.lines if "::" in line} == {
        "test_mine.py::test_latency",
        "test_mine.py::test_other",
    }
    monitor = project.runpytest(ML_SCORE, "--co", "-q", "-k", "monitor")
    picked = {line for line in monitor.stdout.lines if "::" in line}
    assert picked and all(line.startswith("mltestscore::monitor-") for line in picked)


def test_an_explicit_terminal_report_wins_over_q(project):
    quiet = project.runpytest(ML_SCORE, "-q", "-k", "other")
    assert "+---" not in quiet.stdout.str()  # -q alone: the one line
    quiet.stdout.fnmatch_lines(["ML Test Score: 0.0 / 7.0 (data 0.0, *"])
    asked = project.runpytest(ML_SCORE, "-q", "-k", "other", f"{ML_SCORE_REPORT}=term-missing")
    out = asked.stdout.str()
    assert "+---" in out and "Monitoring: 0.0 / 7.0" in out  # the whole card
    assert "  monitor-6: " in out  # term-missing: what would earn each missing item
