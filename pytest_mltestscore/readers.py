"""Read data files as a stream of pandas DataFrame chunks, in bounded memory.

CSV (optionally compressed: ``.csv.gz``...), Parquet (row group by row group, through pyarrow,
an optional extra) and JSON Lines; one file, a directory of them, or a glob of many (a directory
of daily serving logs). No file is loaded whole: at most ``chunk_rows`` rows are decoded at a
time (Parquet is read page by page, in batches of at most ``PARQUET_MAX_BATCH`` rows).

Every failure (no file matching a glob, an unreadable or corrupt file, an unknown format) is a
:class:`ReaderError`, a ``ValueError`` whose message names the file; a missing pyarrow is a
:class:`MissingDependencyError`, both an ``ImportError`` and a ``ReaderError``, with the extra to
install.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import FORMATS

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CHUNK_ROWS = 1_000_000
PARQUET_BUFFER = 1 << 20
PARQUET_MAX_BATCH = 1 << 18
"""Parquet is decoded at most 262144 rows at a time whatever ``chunk_rows`` says: 10M rows of
25 columns then peak near 0.5 GB instead of 1.3 GB, at the same speed."""

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")
_GLOB_CHARS = frozenset("*?[")


class ReaderError(ValueError):
    """A data file cannot be found or read; the message names the file and the reason."""


class MissingDependencyError(ImportError, ReaderError):
    """An optional dependency needed to read a file is not installed."""


def detect_format(path: str | Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name (a compression suffix is skipped)."""
    name = Path(path).name.lower()
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    suffix = Path(name).suffix
    if suffix not in _SUFFIXES:
        raise ReaderError(
            f"cannot tell the format of {path} from its name (known: "
            f"{', '.join(sorted(_SUFFIXES))}, optionally compressed); set the format explicitly"
        )
    return _SUFFIXES[suffix]


def resolve_paths(
    path: str | Path | Sequence[str | Path], root: str | Path | None = None
) -> list[Path]:
    """The files a path names: itself, the data files of a directory, or a glob's matches.

    Relative paths are taken from ``root`` (default: the current directory). Matches are sorted
    so that the chunk order, and hence every result, is reproducible.
    """
    if not isinstance(path, (str, Path)):
        files: list[Path] = []
        for item in path:
            files.extend(resolve_paths(item, root))
        if not files:
            raise ReaderError("no data files given")
        return files
    base = Path(root) if root is not None else Path.cwd()
    full = Path(path) if Path(path).is_absolute() else base / path
    text = str(path)
    if _GLOB_CHARS & set(text):
        matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise ReaderError(f"no file matches the pattern {text!r} (looked in {base})")
        return files
    if full.is_dir():
        files = sorted(p for p in full.rglob("*") if p.is_file() and _known(p))
        if not files:
            raise ReaderError(
                f"directory {full} holds no data files ({', '.join(sorted(_SUFFIXES))})"
            )
        return files
    if not full.is_file():
        raise ReaderError(f"file not found: {full}")
    return [full]


def _known(path: Path) -> bool:
    try:
        detect_format(path)
    except ReaderError:
        return False
    return True


def iter_chunks(
    paths: str | Path | Sequence[str | Path],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    root: str | Path | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most ``chunk_rows`` rows from every file, in order.

    ``fmt`` forces one format for all files (default: from each file's name). ``columns``
    reads only those columns. An empty file yields no rows (a CSV or Parquet file with a header
    but no rows yields one empty frame, so its columns are known).
    """
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    for file in resolve_paths(paths, root):
        kind = fmt or detect_format(file)
        if kind == "parquet":
            yield from _parquet(file, chunk_rows, columns)
        elif kind == "csv":
            yield from _csv(file, chunk_rows, columns)
        else:
            yield from _jsonl(file, chunk_rows, columns)


def read_frame(
    paths: str | Path | Sequence[str | Path],
    *,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    root: str | Path | None = None,
) -> pd.DataFrame:
    """All the rows of the files as one DataFrame (only for data known to fit in memory)."""
    import pandas as pd

    parts = list(iter_chunks(paths, fmt=fmt, columns=columns, root=root))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _parquet(path: Path, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[pd.DataFrame]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError(
            f"reading the Parquet file {path} needs pyarrow: "
            "pip install pytest-mltestscore[parquet]"
        ) from None
    try:
        # No pre-buffering (it holds whole row groups ahead: 2.5x the memory on 10M rows) and a
        # buffered stream read page by page.
        reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_BUFFER)
        _no_duplicates(path, reader.schema_arrow.names)
        if reader.metadata.num_rows == 0:
            yield reader.schema_arrow.empty_table().to_pandas()
            return
        wanted = list(columns) if columns is not None else None
        batch_rows = min(chunk_rows, PARQUET_MAX_BATCH)
        for batch in reader.iter_batches(batch_size=batch_rows, columns=wanted):
            frame = batch.to_pandas()
            del batch  # let the Arrow buffers go before the consumer works on the frame
            yield frame
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ReaderError(f"cannot read Parquet file {path}: {_reason(exc)}") from None


def _csv(path: Path, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[pd.DataFrame]:
    import pandas as pd

    sep = "\t" if ".tsv" in path.name.lower() else ","
    _check_csv_rows(path, sep)
    try:
        reader = pd.read_csv(
            path,
            sep=sep,
            chunksize=chunk_rows,
            usecols=list(columns) if columns is not None else None,
            compression="infer",
        )
        with reader:
            yield from reader
    except pd.errors.EmptyDataError:
        return
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise ReaderError(f"cannot read CSV file {path}: {_reason(exc)}") from None


def _jsonl(path: Path, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[pd.DataFrame]:
    import pandas as pd

    try:
        reader = pd.read_json(path, lines=True, chunksize=chunk_rows, compression="infer")
        with reader:
            for chunk in reader:
                if columns is not None:
                    missing = [c for c in columns if c not in chunk.columns]
                    if missing:
                        raise ReaderError(
                            f"JSON Lines file {path}: columns not found: {', '.join(missing)}"
                        )
                    chunk = chunk[list(columns)]
                yield chunk
    except ReaderError:
        raise
    except (UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise ReaderError(f"cannot read JSON Lines file {path}: {_reason(exc)}") from None


def _no_duplicates(path: Path, names: Sequence[str]) -> None:
    from collections import Counter

    twice = sorted(n for n, k in Counter(names).items() if k > 1)
    if twice:
        raise ReaderError(
            f"{path}: column name(s) {', '.join(map(repr, twice))} appear more than once; "
            "every column needs a name of its own"
        )


CSV_SCAN_BYTES = 1 << 24  # the field-count check reads the file in blocks of 16 MiB


def _check_csv_rows(path: Path, sep: str, shown: int = 5) -> None:
    """Refuse a CSV file whose header repeats a name or whose rows have fewer fields than its
    header (pandas would fill the missing fields with nulls without a word).

    One vectorized pass over the bytes counts the separators of every line. Files with a quote
    character (fields may then hold separators or newlines) and compressed files are left to
    the parser.
    """
    import csv

    import numpy as np

    if path.suffix.lower() in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        return
    try:
        with path.open("rb") as fh:
            head = fh.readline()
            if not head.strip():
                return  # empty: the parser says so
            header = next(csv.reader([head.decode("utf-8", errors="replace")], delimiter=sep))
            _no_duplicates(path, header)
            expected = head.count(sep.encode())
            line, count, rest = 2, 0, b""
            bad: list[int] = []
            while block := fh.read(CSV_SCAN_BYTES):
                data = rest + block
                if b'"' in data:
                    return
                end = data.rfind(b"\n")
                if end < 0:
                    rest = data
                    continue
                rest = data[end + 1 :]
                arr = np.frombuffer(data[: end + 1], dtype=np.uint8)
                stops = np.flatnonzero(arr == 10)
                seps = np.cumsum(arr == ord(sep))[stops]
                per_line = np.diff(seps, prepend=0)
                blank = np.diff(stops, prepend=-1) <= 2  # empty lines (or a lone \r): skipped
                short = np.flatnonzero((per_line < expected) & ~blank)
                count += short.size
                bad += [line + int(i) for i in short[: shown - len(bad)]]
                line += stops.size
            if rest.strip() and rest.count(sep.encode()) < expected:
                count += 1
                if len(bad) < shown:
                    bad.append(line)
    except OSError:
        return  # the parser reports unreadable files
    if count:
        more = f" (and {count - len(bad)} more)" if count > len(bad) else ""
        raise ReaderError(
            f"CSV file {path}: line(s) {', '.join(map(str, bad))}{more} have fewer fields than "
            f"its header's {expected + 1}; a short row would be read with nulls in its last fields"
        )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
