"""End-to-end behaviour of the core plugin, run the way users run it (pytester)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pytest_mltestscore.options import ML_SCORE, ML_SCORE_MIN, ML_SCORE_REPORT

MARKED = """
import pytest

@pytest.mark.rubric("data-1")
def test_schema(): pass

@pytest.mark.rubric("model-1", "infra-1")
def test_two_items(): pass
"""


def test_zero_config_shows_all_28_items_missing(scored):
    scored.pytester.makepyfile("def test_plain(): pass")
    result, data = scored.run()
    assert result.ret == 0
    items = scored.items(data)
    assert len(items) == 28
    assert {i["status"] for i in items.values()} == {"missing"}
    assert data["score"] == 0.0
    assert data["min_score"] is None and data["passed"] is None
    result.stdout.no_fnmatch_line("*Traceback*")


def test_scorecard_printed_with_term(pytester):
    pytester.makepyfile(MARKED)
    result = pytester.runpytest(ML_SCORE)
    result.stdout.fnmatch_lines(
        [
            "*ML Test Score*",
            "*data-1*automated*1.0*",
            "ML Test Score: 0.0 / 7.0 (data 1.0, model 1.0, infra 1.0, monitor 0.0)*",
        ]
    )


def test_passive_without_ml_score(pytester):
    pytester.makepyprojecttoml("[tool.mltestscore]\nmin_score = 5\n")
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("no-such-id")
        def test_x(): pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.no_fnmatch_line("*ML Test Score*")


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.rubric(*ids)*"])


@pytest.mark.parametrize(
    "spelling", ["Monitor 2", "monitor_2", "MONITOR2", "monitor-2", " monitor-02 "]
)
def test_id_spellings_normalise(scored, spelling):
    scored.pytester.makepyfile(
        f"""
        import pytest
        @pytest.mark.rubric({spelling!r})
        def test_x(): pass
        """
    )
    result, data = scored.run()
    assert result.ret == 0
    assert scored.items(data)["monitor-2"]["status"] == "automated"


def test_infrastructure_alias(scored):
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("Infrastructure 3")
        def test_x(): pass
        """
    )
    _, data = scored.run()
    assert scored.items(data)["infra-3"]["status"] == "automated"


def test_unknown_id_errors_and_earns_nothing(scored):
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("monitr-2", "data-1")
        def test_typo(): pass
        """
    )
    result, data = scored.run()
    assert result.ret == 1
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_typo*unknown rubric id 'monitr-2'; closest valid ids: monitor-2*"]
    )
    items = scored.items(data)
    assert items["data-1"]["status"] == "missing"
    assert data["unknown_ids"] == [
        {"nodeid": "test_unknown_id_errors_and_earns_nothing.py::test_typo", "ids": ["monitr-2"]}
    ]


def test_empty_and_non_string_marker_args_are_errors(scored):
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric()
        def test_empty(): pass
        @pytest.mark.rubric(2)
        def test_int(): pass
        """
    )
    result, _ = scored.run()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*rubric() needs at least one id*"])


def test_class_module_and_parametrized_marks(scored):
    scored.pytester.makepyfile(
        """
        import pytest
        pytestmark = pytest.mark.rubric("data-7")

        @pytest.mark.rubric("model-6")
        class TestSlices:
            def test_a(self): pass

            @pytest.mark.parametrize("x", [1, 2, 3])
            def test_b(self, x): assert x != 3

        @pytest.mark.parametrize(
            "y", [1, pytest.param(2, marks=pytest.mark.rubric("infra-2"))]
        )
        def test_c(y): pass
        """
    )
    _result, data = scored.run()
    items = scored.items(data)
    assert items["model-6"]["status"] == "failing"  # one parametrized case failed
    assert items["data-7"]["status"] == "failing"  # module mark covers the class too
    assert [t["nodeid"].split("::")[-1] for t in items["infra-2"]["tests"]] == ["test_c[2]"]
    assert items["infra-2"]["status"] == "automated"
    outcomes = sorted(t["outcome"] for t in items["model-6"]["tests"])
    assert outcomes == ["failed", "passed", "passed", "passed"]


def test_failure_anywhere_makes_item_failing(scored):
    scored.pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup broke")

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown broke")

        @pytest.mark.rubric("data-1")
        def test_pass(): pass

        @pytest.mark.rubric("data-1")
        def test_fail(): assert False

        @pytest.mark.rubric("data-2")
        def test_setup(broken_setup): pass

        @pytest.mark.rubric("data-3")
        def test_teardown(broken_teardown): pass

        @pytest.mark.rubric("data-4")
        def test_only_pass(): pass
        """
    )
    _result, data = scored.run()
    items = scored.items(data)
    assert items["data-1"]["status"] == "failing"
    assert items["data-1"]["points"] == 0.0
    assert items["data-2"]["tests"][0]["outcome"] == "error"
    assert items["data-2"]["status"] == "failing"
    assert items["data-3"]["tests"][0]["outcome"] == "error"
    assert items["data-3"]["status"] == "failing"
    assert items["data-4"]["status"] == "automated"
    assert data["sections"][0]["score"] == 1.0


def test_skips_xfails_and_deselected_neither_earn_nor_lose(scored):
    scored.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rubric("model-1")
        @pytest.mark.skip(reason="later")
        def test_skipped(): pass

        @pytest.mark.rubric("model-2")
        @pytest.mark.xfail(reason="known", strict=False)
        def test_xfail(): assert False

        @pytest.mark.rubric("model-3")
        @pytest.mark.xfail(reason="known", strict=False)
        def test_xpass(): pass

        @pytest.mark.rubric("model-4")
        @pytest.mark.xfail(reason="known", strict=True)
        def test_strict_xpass(): pass

        @pytest.mark.rubric("model-5")
        def test_deselected(): assert False

        @pytest.mark.rubric("model-6")
        def test_dynamic_skip():
            pytest.skip("no data")
        """
    )
    module = "test_skips_xfails_and_deselected_neither_earn_nor_lose.py"
    _result, data = scored.run(f"--deselect={module}::test_deselected", "-o", "xfail_strict=false")
    items = scored.items(data)
    outcome = {k: [t["outcome"] for t in v["tests"]] for k, v in items.items()}
    assert outcome["model-1"] == ["skipped"] and items["model-1"]["status"] == "missing"
    assert outcome["model-2"] == ["xfailed"] and items["model-2"]["status"] == "missing"
    assert outcome["model-3"] == ["xpassed"] and items["model-3"]["status"] == "missing"
    assert outcome["model-4"] == ["failed"] and items["model-4"]["status"] == "failing"
    assert outcome["model-5"] == [] and items["model-5"]["status"] == "missing"
    assert outcome["model-6"] == ["skipped"] and items["model-6"]["status"] == "missing"


def test_exitfirst_scores_what_ran(scored):
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("data-1")
        def test_a(): pass
        @pytest.mark.rubric("data-2")
        def test_b(): assert False
        @pytest.mark.rubric("data-3")
        def test_c(): pass
        """
    )
    result, data = scored.run("-x")
    assert result.ret == 1
    items = scored.items(data)
    assert items["data-1"]["status"] == "automated"
    assert items["data-2"]["status"] == "failing"
    assert items["data-3"]["status"] == "missing"


# -- manual attestations -------------------------------------------------------------------


def _attest(item: str, date: str, extra: str = "") -> str:
    return f'[tool.mltestscore.manual.{item}]\nevidence = "docs/review.md"\ndate = {date}\n{extra}'


def test_manual_attestation_half_point_and_stale(scored, monkeypatch):
    monkeypatch.setenv("MLTESTSCORE_TODAY", "2026-11-01")
    scored.pytester.makepyprojecttoml(
        "[tool.mltestscore]\nmanual_max_age_days = 90\n"
        + _attest("model-1", "2026-10-01", 'by = "ml team"\n')
        + _attest('"Model 2"', "2026-08-03")  # 90 days: still fresh
        + _attest("model-3", "2026-08-02")  # 91 days: stale
        + _attest("model-4", "2026-10-01")
    )
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("model-4")
        def test_auto(): pass
        """
    )
    _result, data = scored.run()
    items = scored.items(data)
    assert items["model-1"]["status"] == "manual" and items["model-1"]["points"] == 0.5
    assert items["model-1"]["manual"] == {
        "evidence": "docs/review.md",
        "date": "2026-10-01",
        "by": "ml team",
    }
    assert items["model-2"]["status"] == "manual"
    assert items["model-3"]["status"] == "stale" and items["model-3"]["points"] == 0.0
    assert items["model-4"]["status"] == "automated" and items["model-4"]["points"] == 1.0
    assert scored.sections(data)["model"] == 2.0


def test_failing_test_beats_attestation(scored, monkeypatch):
    monkeypatch.setenv("MLTESTSCORE_TODAY", "2026-11-01")
    scored.pytester.makepyprojecttoml("[tool.mltestscore]\n" + _attest("model-1", "2026-10-01"))
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("model-1")
        def test_review_file_exists(): assert False
        """
    )
    _, data = scored.run()
    assert scored.items(data)["model-1"]["status"] == "failing"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[tool.mltestscore.manual.model-1]\ndate = 2026-10-01\n",
            "*manual.model-1] evidence: missing*",
        ),
        ('[tool.mltestscore.manual.model-1]\nevidence = "x"\n', "*manual.model-1] date: missing*"),
        (
            '[tool.mltestscore.manual.model-1]\nevidence = "x"\ndate = "2026-10-01"\n',
            "*date: expected a TOML date such as 2026-10-01 (write it unquoted)*",
        ),
        (
            '[tool.mltestscore.manual.model-1]\nevidence = ""\ndate = 2026-10-01\n',
            "*evidence: expected a non-empty string*",
        ),
        (
            '[tool.mltestscore.manual.modle-1]\nevidence = "x"\ndate = 2026-10-01\n',
            "*unknown rubric id 'modle-1'; closest valid ids: model-1*",
        ),
        (
            '[tool.mltestscore.manual.model-1]\nevidence = "x"\ndate = 2026-10-01\nwho = "me"\n',
            "*manual.model-1] who: unknown key*",
        ),
        (
            '[tool.mltestscore.manual.model-1]\nevidence = "x"\ndate = 2099-01-01\n',
            "*2099-01-01 is in the future*",
        ),
    ],
)
def test_bad_attestations_are_usage_errors(pytester, body, message):
    pytester.makepyprojecttoml(body)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*pyproject.toml*{message.lstrip('*')}"])
    assert "Traceback" not in result.stderr.str()


# -- configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[tool.mltestscore]\nmin_scor = 2\n",
            "*min_scor: unknown key; did you mean 'min_score'?*",
        ),
        (
            '[tool.mltestscore]\nmin_score = "two"\n',
            "*min_score: expected a number from 0 to 7, got the string 'two'*",
        ),
        (
            "[tool.mltestscore]\nmin_score = 9\n",
            "*min_score: expected a number from 0 to 7, got 9*",
        ),
        (
            "[tool.mltestscore]\nmanual_max_age_days = 0\n",
            "*manual_max_age_days: expected a whole number of at least 1*",
        ),
        (
            "[tool.mltestscore]\nrubric = 'nope.toml'\n",
            "*rubric 'nope.toml' is neither a shipped rubric (breck2017) nor a file*",
        ),
        ("[tool.mltestscore]\nmanual = 3\n", "*manual: expected a table, got 3*"),
    ],
)
def test_config_errors_are_usage_errors(pytester, body, message):
    pytester.makepyprojecttoml(body)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_malformed_toml_is_usage_error(pytester):
    pytester.makefile(".toml", pyproject="[tool.mltestscore\nmin_score = 2\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pyproject.toml" in result.stderr.str()


def test_pinned_today_must_be_a_date(pytester, monkeypatch):
    monkeypatch.setenv("MLTESTSCORE_TODAY", "yesterday")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*MLTESTSCORE_TODAY='yesterday': expected a date as YYYY-MM-DD*"])


# -- the gate --------------------------------------------------------------------------------


def test_gate_fails_below_threshold_even_when_all_pass(pytester):
    pytester.makepyfile(MARKED)
    result = pytester.runpytest(f"{ML_SCORE_MIN}=2")
    result.assert_outcomes(passed=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAIL: ML Test Score 0.0 is below the required 2.0"])


def test_gate_passes_at_threshold(scored):
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("data-1", "model-1", "infra-1", "monitor-1")
        def test_all(): pass
        """
    )
    result, data = scored.run(f"{ML_SCORE_MIN}=1")
    assert result.ret == 0
    assert data["passed"] is True and data["min_score"] == 1.0 and data["score"] == 1.0
    result.stdout.fnmatch_lines(["ML Test Score 1.0 meets the required 1.0"])


def test_min_score_from_config_and_cli_override(pytester):
    pytester.makepyprojecttoml("[tool.mltestscore]\nmin_score = 1.5\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAIL: ML Test Score 0.0 is below the required 1.5"])
    result = pytester.runpytest(f"{ML_SCORE_MIN}=0")
    assert result.ret == 0


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "7.5", "8"])
def test_invalid_min_score_is_usage_error(pytester, value):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(f"{ML_SCORE_MIN}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ml-score-min" in result.stderr.str()


def test_collect_only_gives_no_verdict(pytester):
    pytester.makepyfile(MARKED)
    result = pytester.runpytest(f"{ML_SCORE_MIN}=5", "--collect-only")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["ML Test Score: no verdict under --collect-only*"])
    result.stdout.no_fnmatch_line("FAIL:*")


# -- reports ---------------------------------------------------------------------------------


def test_json_report_schema(scored, monkeypatch):
    monkeypatch.setenv("MLTESTSCORE_TODAY", "2026-11-01")
    scored.pytester.makepyprojecttoml(
        "[tool.mltestscore]\nmin_score = 1\n" + _attest("monitor-1", "2026-10-01")
    )
    scored.pytester.makepyfile(MARKED)
    result, data = scored.run()
    assert result.ret == 1
    assert list(data)[:9] == [
        "schema_version",
        "plugin_version",
        "created",
        "rubric",
        "score",
        "max_score",
        "band",
        "min_score",
        "passed",
    ]
    assert data["schema_version"] == 2
    assert dt.datetime.fromisoformat(data["created"]).tzinfo is not None
    assert data["rubric"] == "breck2017"
    assert data["score"] == 0.5 and data["passed"] is False
    assert data["band"].startswith("Some testing exists")  # (0, 1]
    assert [s["id"] for s in data["sections"]] == ["data", "model", "infra", "monitor"]
    for s in data["sections"]:
        assert [i["id"] for i in s["items"]] == [f"{s['id']}-{n}" for n in range(1, 8)]
        assert s["score"] == sum(i["points"] for i in s["items"])
    item = scored.items(data)["data-1"]
    assert set(item) == {"id", "title", "status", "points", "to_earn", "tests", "manual"}
    assert item["to_earn"] is None  # full credit
    assert item["tests"] == [
        {
            "nodeid": "test_json_report_schema.py::test_schema",
            "outcome": "passed",
            "via": "marker",
            "message": None,
            "metrics": [],
            "check": None,
        }
    ]
    assert "built-in" in scored.items(data)["data-2"]["to_earn"]  # the rubric's own words
    assert data["gate"] == {
        "min_score": 1.0,
        "passed": False,
        "message": "FAIL: ML Test Score 0.5 is below the required 1.0",
    }


def test_markdown_report(pytester):
    pytester.makepyfile(MARKED + "\n@pytest.mark.rubric('monitor-2')\ndef test_bad(): assert 0\n")
    result = pytester.runpytest(f"{ML_SCORE_REPORT}=markdown:out/summary.md", f"{ML_SCORE_MIN}=1")
    text = (pytester.path / "out" / "summary.md").read_text()
    assert text.startswith("## ML Test Score: 0.0 / 7.0\n")
    assert "Gate: **failed**, required 1.0." in text
    assert "| Monitoring | 0.0 / 7.0 (lowest) |" in text
    assert (
        "| `monitor-2` | Data invariants hold in training and serving inputs | FAILING | 0.0 | 1 failed: test_markdown_report.py::test_bad |"
        in text
    )
    assert "### What would earn the missing points" in text
    assert "- `model-2` Offline and online metrics correlate (missing):" in text
    # a report type replaces the default term scorecard
    result.stdout.no_fnmatch_line("*Features and data: *")
    result.stdout.fnmatch_lines(["markdown report written to *summary.md"])


def test_report_paths_are_relative_to_invocation_dir(pytester):
    pytester.makepyfile(MARKED)
    sub = pytester.mkdir("sub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        pytester.runpytest(f"{ML_SCORE_REPORT}=json:r.json", str(pytester.path))
    assert (sub / "r.json").is_file()


def test_term_and_term_missing(pytester):
    pytester.makepyfile(MARKED)
    result = pytester.runpytest(f"{ML_SCORE_REPORT}=term-missing")
    result.stdout.fnmatch_lines(["*data-2: Run the built-in feature-value check*"])
    result.stdout.no_fnmatch_line("*data-1: Freeze a schema*")  # full credit: no hint
    result = pytester.runpytest(f"{ML_SCORE_REPORT}=term")
    result.stdout.no_fnmatch_line("*data-2: Run the built-in feature-value check*")


def test_quiet_prints_one_line(pytester):
    pytester.makepyfile(MARKED)
    result = pytester.runpytest(ML_SCORE, "-q")
    lines = [ln for ln in result.outlines if "ML Test Score" in ln]
    assert lines == [
        "ML Test Score: 0.0 / 7.0 (data 1.0, model 1.0, infra 1.0, monitor 0.0): "
        "Closer to a research project than to a production system"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("jsn:x.json", "*unknown report type 'jsn'; did you mean 'json'?*"),
        ("json", "*report type 'json' needs a path: json:PATH*"),
        ("term:x", "*report type 'term' takes no path*"),
    ],
)
def test_bad_report_option(pytester, value, message):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(f"{ML_SCORE_REPORT}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_colour_follows_pytest(pytester, monkeypatch):
    pytester.makepyfile(MARKED)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = pytester.runpytest(ML_SCORE, "--color=yes").stdout.str()
    assert "\x1b[" in coloured and "╭" in coloured
    plain = pytester.runpytest(ML_SCORE, "--color=no").stdout.str()
    assert "\x1b[" not in plain
    card = plain[plain.index("ML Test Score ==") :]
    assert card.isascii()
    monkeypatch.setenv("NO_COLOR", "1")
    nocolor = pytester.runpytest(ML_SCORE, "--color=auto").stdout.str()
    assert "\x1b[" not in nocolor


def test_unwritable_report_path_is_reported_not_crashing(pytester):
    pytester.makepyfile(MARKED)
    pytester.makefile(".txt", blocker="a file, not a directory")
    result = pytester.runpytest(f"{ML_SCORE_REPORT}=json:blocker.txt/r.json")
    result.stdout.fnmatch_lines(["could not write json report to *blocker.txt/r.json*"])
    assert "INTERNALERROR" not in result.stdout.str()


# -- custom rubrics --------------------------------------------------------------------------

CUSTOM = """
id = "tiny"
title = "A tiny rubric"
points_manual = 0.5
points_automated = 1.0
[[bands]]
upper = 1.0
text = "low"
[[bands]]
text = "high"
[[sections]]
id = "alpha"
title = "Alpha"
[[sections.items]]
id = "alpha-1"
title = "A1"
long_title = "a"
asks = "a"
automated = "a"
manual = "a"
[[sections.items]]
id = "alpha-2"
title = "A2"
long_title = "a"
asks = "a"
automated = "a"
manual = "a"
"""


def test_custom_rubric_file(scored):
    scored.pytester.makefile(".toml", tiny=CUSTOM)
    scored.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.rubric("Alpha 1", "alpha-2")
        def test_x(): pass
        """
    )
    result, data = scored.run("--ml-score-rubric=tiny.toml", f"{ML_SCORE_MIN}=2")
    assert result.ret == 0
    assert data["rubric"] == "tiny" and data["score"] == 2.0 and data["band"] == "high"
    result = scored.pytester.runpytest("--ml-score-rubric=tiny.toml", f"{ML_SCORE_MIN}=3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*highest possible score of rubric 'tiny' is 2*"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('id = "alpha-2"', 'id = "alpha-3"'), "*item id 'alpha-3' must be alpha-2*"),
        (("points_manual = 0.5", "points_manual = 2.0"), "*0 < points_manual <= points_automated*"),
        (('[[sections]]\nid = "alpha"', '[[sections]]\nid = "Al pha"'), "*lowercase letters only*"),
        (('title = "A1"\n', ""), "*missing required key 'title'*"),
        (("[tool", "[tool"), "*"),
    ],
)
def test_invalid_custom_rubric_is_usage_error(pytester, edit, message):
    pytester.makefile(".toml", tiny=CUSTOM.replace(*edit))
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(ML_SCORE, "--ml-score-rubric=tiny.toml")
    if edit[0] == "[tool":  # control: the unedited rubric is valid
        assert result.ret == 0
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*tiny.toml*{message.lstrip('*')}"])


def test_json_report_is_valid_json_file(pytester):
    pytester.makepyfile(MARKED)
    pytester.runpytest(f"{ML_SCORE_REPORT}=json:r.json")
    assert json.loads((pytester.path / "r.json").read_text())["schema_version"] == 2
