"""Bad input gets a readable message naming the file, key or column: hostile files fail the
checks that read them, configuration that names nothing usable is a usage error."""

from __future__ import annotations

import pytest

from pytest_mltestscore.options import ML_SCORE
from pytest_mltestscore.readers import ReaderError, iter_chunks

pytest.importorskip("palmerpenguins")


def test_a_csv_row_with_fewer_fields_than_its_header_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "serving.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n\n9,10,11\n12\n")
    with pytest.raises(ReaderError, match=r"serving.csv: line\(s\) 3, 7 have fewer fields"):
        list(iter_chunks(path))
    quoted = tmp_path / "quoted.csv"  # separators inside quotes: left to the parser
    quoted.write_text('a,b\n"x,y",2\n')
    assert len(next(iter_chunks(quoted))) == 1


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_duplicated_column_names_are_refused_naming_the_file(tmp_path, suffix):
    path = tmp_path / f"twice.{suffix}"
    if suffix == "csv":
        path.write_text("a,b,a\n1,2,3\n")
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.table([[1], [2]], names=["email", "email"]), path)
    with pytest.raises(ReaderError, match=rf"twice.{suffix}: column name\(s\) '(a|email)' appear"):
        list(iter_chunks(path))


CONFIG = """
[tool.mltestscore]
history = false
[tool.mltestscore.datasets.training]
path = "training.csv"
{extra}
[tool.mltestscore.datasets.serving]
path = "{serving}"
"""


def _project(pytester, serving: str, content: bytes | str, extra: str = ""):
    import palmerpenguins

    df = palmerpenguins.load_penguins().dropna()
    df.to_csv(pytester.path / "training.csv", index=False)
    data = content if isinstance(content, bytes) else content.encode()
    (pytester.path / serving).write_bytes(data)
    pytester.makepyprojecttoml(CONFIG.format(serving=serving, extra=extra))
    return pytester


def test_an_empty_file_fails_the_checks_naming_the_file(pytester):
    p = _project(pytester, "serving.csv", b"")
    assert p.runpytest("--ml-score-freeze-schema").ret == 0
    result = p.runpytest(ML_SCORE, "-k", "monitor-2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*[[]tool.mltestscore.datasets.serving] path = 'serving.csv' (*serving.csv): the data "
            "has no rows*"
        ]
    )
    assert "internal error" not in result.stdout.str()


def test_a_short_csv_row_fails_monitor_2_naming_the_row(pytester):
    import palmerpenguins

    df = palmerpenguins.load_penguins().dropna().head(60)
    text = df.to_csv(index=False).splitlines()
    text[5] = ",".join(text[5].split(",")[:3])  # a row cut short upstream
    p = _project(pytester, "serving.csv", "\n".join(text) + "\n")
    assert p.runpytest("--ml-score-freeze-schema").ret == 0
    result = p.runpytest(ML_SCORE, "-k", "monitor-2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*serving.csv: line(s) 6 have fewer fields than its header's 8*"])


def test_duplicate_columns_in_parquet_fail_the_privacy_scan_readably(pytester):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    p = _project(pytester, "serving.parquet", b"")
    pq.write_table(
        pa.table([["a@b.example"], ["x"]], names=["email", "email"]), p.path / "serving.parquet"
    )
    result = p.runpytest(ML_SCORE, "-k", "data-5")
    assert result.ret == 1
    out = result.stdout.str()
    assert "column name(s) 'email' appear more than once" in out
    assert "internal error" not in out and "AttributeError" not in out


def test_a_config_column_missing_from_the_data_names_its_key(pytester):
    p = _project(pytester, "serving.csv", "a,b\n1,2\n", extra='id = "rid"\ntarget = "species"')
    result = p.runpytest(ML_SCORE, "-k", "data-5")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*[[]tool.mltestscore.datasets.training] id = 'rid': no such column in the data read by "
            "path = 'training.csv'*"
        ]
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('schema = "schemas"\n', "schema: '*schemas' is a directory"),
        ('rubric = "rübrik/é.toml"\n', "[[]tool.mltestscore] rubric = 'rübrik/é.toml': "),
    ],
)
def test_paths_that_cannot_work_name_their_key(pytester, config, message):
    (pytester.path / "schemas").mkdir()
    (pytester.path / "rübrik").mkdir()
    (pytester.path / "rübrik" / "é.toml").write_bytes(b"\xff\xfe not utf-8")
    pytester.makepyprojecttoml("[tool.mltestscore]\n" + config)
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = pytester.runpytest(ML_SCORE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


def test_debuggable_takes_a_frame_that_also_holds_ids_and_the_target():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from infra_fixtures.penguins import fit_logistic, penguins

    from pytest_mltestscore import checks

    df = penguins()
    df["bird"] = range(len(df))  # an id column the model never saw, and the target
    result = checks.debuggable(fit_logistic(df, 0), df, row=0)
    assert result.verdict == "pass"
