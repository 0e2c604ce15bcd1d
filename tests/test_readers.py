"""Chunked readers: formats, globs, bounded chunks and clear errors for bad files."""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_mltestscore.profiles import profile_chunks, profile_frame
from pytest_mltestscore.readers import (
    MissingDependencyError,
    ReaderError,
    detect_format,
    iter_chunks,
    read_frame,
    resolve_paths,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2500
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 9, n),
            "s": rng.choice(["a", "b", "c"], n),
        }
    )


def write_all(df: pd.DataFrame, folder: Path) -> dict[str, Path]:
    paths = {
        "csv": folder / "d.csv",
        "csv.gz": folder / "d.csv.gz",
        "parquet": folder / "d.parquet",
        "jsonl": folder / "d.jsonl",
        "jsonl.gz": folder / "d.ndjson.gz",
    }
    df.to_csv(paths["csv"], index=False)
    df.to_csv(paths["csv.gz"], index=False, compression="gzip")
    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False), paths["parquet"], row_group_size=1000
    )
    df.to_json(paths["jsonl"], orient="records", lines=True, double_precision=15)
    df.to_json(
        paths["jsonl.gz"], orient="records", lines=True, compression="gzip", double_precision=15
    )
    return paths


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"])
def test_every_format_reads_back_in_bounded_chunks(
    tmp_path: Path, frame: pd.DataFrame, kind: str
) -> None:
    path = write_all(frame, tmp_path)[kind]
    chunks = list(iter_chunks(path, chunk_rows=700))
    assert len(chunks) >= 4 and max(len(c) for c in chunks) <= 700
    back = pd.concat(chunks, ignore_index=True)
    assert len(back) == len(frame)
    np.testing.assert_allclose(back["x"].to_numpy(), frame["x"].to_numpy(), rtol=1e-12)
    assert back["s"].tolist() == frame["s"].tolist()
    # The streamed profile is the profile of the whole file.
    whole = profile_frame(back)
    streamed = profile_chunks(iter_chunks(path, chunk_rows=700))
    assert np.array_equal(streamed["x"].numeric.counts, whole["x"].numeric.counts)  # type: ignore[union-attr]
    assert dict(streamed["s"].categorical.counts) == dict(whole["s"].categorical.counts)  # type: ignore[union-attr]


def test_columns_are_selected(tmp_path: Path, frame: pd.DataFrame) -> None:
    for path in write_all(frame, tmp_path).values():
        assert list(read_frame(path, columns=["s", "x"]).columns) in (["s", "x"], ["x", "s"])


def test_globs_and_directories_read_every_file_in_order(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for day in range(3):
        frame.iloc[day * 100 : (day + 1) * 100].to_csv(
            logs / f"2024-01-0{day + 1}.csv", index=False
        )
    (logs / "README").write_text("not data")
    files = resolve_paths("logs/*.csv", root=tmp_path)
    assert [f.name for f in files] == ["2024-01-01.csv", "2024-01-02.csv", "2024-01-03.csv"]
    assert resolve_paths(logs) == files
    back = read_frame("logs/*.csv", root=tmp_path)
    assert back["x"].tolist() == pytest.approx(frame["x"].iloc[:300].tolist())


def test_glob_matching_nothing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=r"no file matches the pattern 'serving/\*\.parquet'"):
        resolve_paths("serving/*.parquet", root=tmp_path)
    with pytest.raises(ReaderError, match=r"file not found: .*missing\.csv"):
        list(iter_chunks(tmp_path / "missing.csv"))
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ReaderError, match="holds no data files"):
        resolve_paths(tmp_path / "empty_dir")


def test_empty_files_yield_no_rows(tmp_path: Path) -> None:
    (tmp_path / "zero.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "zero.jsonl").write_text("")
    pq.write_table(pa.table({"a": pa.array([], pa.float64())}), tmp_path / "zero.parquet")
    assert list(iter_chunks(tmp_path / "zero.csv")) == []
    assert list(iter_chunks(tmp_path / "zero.jsonl")) == []
    header = list(iter_chunks(tmp_path / "header.csv"))
    assert sum(len(c) for c in header) == 0 and list(header[0].columns) == ["a", "b"]
    empty_parquet = list(iter_chunks(tmp_path / "zero.parquet"))
    assert len(empty_parquet) == 1 and list(empty_parquet[0].columns) == ["a"]
    assert profile_chunks(iter_chunks(tmp_path / "zero.csv")).n_rows == 0


def test_corrupt_files_raise_reader_errors_naming_the_file(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    good = write_all(frame, tmp_path)["parquet"]
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + b"\x00garbage" * 50 + b"PAR1")
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for path in (corrupt, truncated):
        with pytest.raises(ReaderError, match=re.escape(f"cannot read Parquet file {path}")):
            list(iter_chunks(path))
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"a": 1}\n{"a": 2, oops}\n')
    with pytest.raises(ReaderError, match=re.escape(f"cannot read JSON Lines file {bad_json}")):
        list(iter_chunks(bad_json))
    bad_gzip = tmp_path / "bad.csv.gz"
    bad_gzip.write_bytes(gzip.compress(b"a,b\n1,2\n" * 1000)[:-40])
    with pytest.raises(ReaderError, match=re.escape(f"cannot read CSV file {bad_gzip}")):
        list(iter_chunks(bad_gzip))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(ReaderError, match=r"cannot read CSV file .*ragged\.csv"):
        list(iter_chunks(ragged))


def test_formats_and_arguments(tmp_path: Path) -> None:
    assert detect_format("x/y/day.CSV.gz") == "csv"
    assert detect_format("logs.ndjson") == "jsonl"
    assert detect_format("part-0.pq") == "parquet"
    with pytest.raises(ReaderError, match=r"cannot tell the format of model\.pkl"):
        detect_format("model.pkl")
    (tmp_path / "data.log").write_text("a,b\n1,2\n")
    assert read_frame(tmp_path / "data.log", fmt="csv")["b"].tolist() == [2]
    with pytest.raises(ValueError, match="chunk_rows must be a positive integer"):
        list(iter_chunks(tmp_path / "data.log", chunk_rows=0, fmt="csv"))
    with pytest.raises(ValueError, match="format must be one of csv, parquet, jsonl"):
        list(iter_chunks(tmp_path / "data.log", fmt="xlsx"))


def test_missing_pyarrow_names_the_extra(
    tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_all(frame, tmp_path)["parquet"]
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(
        MissingDependencyError, match=r"pip install pytest-mltestscore\[parquet\]"
    ) as info:
        list(iter_chunks(path))
    assert isinstance(info.value, ImportError) and isinstance(info.value, ReaderError)
