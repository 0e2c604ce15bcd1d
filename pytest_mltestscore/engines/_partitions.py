"""What every partitioned engine shares: units of work, the task that profiles one, merging.

A partition is one data file of a partitioned dataset, or one Parquet row group. A task reads
its partition in chunks with the ordinary readers and profiles it with
:func:`~pytest_mltestscore.profiles.profile_chunks`; profiles travel as ``to_dict()`` dicts and
are merged left to right, so column order is kept and the result equals the single-process
profile of the same rows. The Dask and Spark engines differ only in how they schedule these.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..profiles import DatasetProfile, _check_settings, check_kinds, profile_chunks
from ..readers import DEFAULT_CHUNK_ROWS, FORMATS, ReaderError, detect_format
from ..sketches import DEFAULT_VOCABULARY_CAP

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Settings:
    """What every partition task needs besides its partition and the reference (small)."""

    columns: tuple[str, ...] | None
    drop: tuple[str, ...]
    fmt: str | None
    chunk_rows: int
    bins: int
    max_categories: int
    kinds: tuple[tuple[str, str], ...] = ()
    vocabularies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP

    def profile_options(self) -> dict[str, Any]:
        """The keyword arguments of ``profile_chunks`` these settings fix."""
        return {
            "columns": self.columns,
            "bins": self.bins,
            "max_categories": self.max_categories,
            "kinds": dict(self.kinds),
            "vocabularies": dict(self.vocabularies),
            "vocabulary_cap": self.vocabulary_cap,
        }


def settings(
    columns: Sequence[str] | None,
    drop: Sequence[str],
    bins: int,
    max_categories: int,
    fmt: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    *,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Sequence[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> Settings:
    """Checked task settings (a ``ValueError`` names the bad argument)."""
    # on the driver: fail before a cluster is involved
    _check_settings(bins, max_categories, vocabulary_cap)
    declared = check_kinds(kinds)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    return Settings(
        column_names(columns, "columns"),
        column_names(drop, "drop") or (),
        fmt,
        chunk_rows,
        bins,
        max_categories,
        tuple(sorted(declared.items())),
        tuple(sorted((str(c), tuple(v)) for c, v in (vocabularies or {}).items())),
        vocabulary_cap,
    )


def check_merge(reference: object, split_every: object) -> None:
    """The arguments every engine takes for the merge: a reference profile and the tree's fan-in."""
    if reference is not None and not isinstance(reference, DatasetProfile):
        raise ValueError(
            f"reference must be a DatasetProfile or None, got {type(reference).__name__}"
        )
    if not isinstance(split_every, int) or isinstance(split_every, bool) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}")


@dataclass(frozen=True)
class Partition:
    """One unit of work: a file, or one row group of a Parquet file."""

    path: str
    row_group: int | None = None

    @property
    def label(self) -> str:
        if self.row_group is None:
            return self.path
        return f"{self.path} (row group {self.row_group})"


def row_group_chunks(
    path: str, row_group: int, chunk_rows: int, columns: Sequence[str] | None
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
        wanted = list(columns) if columns is not None else None
        for batch in reader.iter_batches(
            batch_size=chunk_rows, row_groups=[row_group], columns=wanted
        ):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()
        raise ReaderError(
            f"cannot read row group {row_group} of Parquet file {path}: "
            f"{reason[0] if reason else type(exc).__name__}"
        ) from None


def partition_chunks(part: Partition, s: Settings) -> Iterator[pd.DataFrame]:
    from ..readers import iter_chunks

    if part.row_group is None:
        chunks = iter_chunks(part.path, chunk_rows=s.chunk_rows, fmt=s.fmt, columns=s.columns)
    else:
        chunks = row_group_chunks(part.path, part.row_group, s.chunk_rows, s.columns)
    for chunk in chunks:
        if s.columns is not None:
            missing = [c for c in s.columns if c not in chunk.columns]
            if missing:  # pyarrow skips unknown columns silently
                raise ReaderError(
                    f"{part.label}: column(s) {', '.join(missing)} not in the data "
                    f"(columns: {', '.join(map(str, chunk.columns[:20]))})"
                )
        if s.drop:
            chunk = chunk.drop(columns=[c for c in s.drop if c in chunk.columns])
        yield chunk


def profile_partition(
    part: Partition, reference: DatasetProfile | None, s: Settings
) -> dict[str, Any]:
    """Task: the profile of one partition, as a JSON-safe dict."""
    try:
        profile = profile_chunks(partition_chunks(part, s), reference, **s.profile_options())
    except ReaderError:
        raise
    except ValueError as exc:
        raise ValueError(f"cannot profile {part.label}: {exc}") from None
    return profile.to_dict()


def profile_frames(
    frames: Iterable[pd.DataFrame], reference: DatasetProfile | None, s: Settings
) -> DatasetProfile:
    """The profile of frames already in memory (a dask partition, Spark's Arrow batches)."""
    return profile_chunks(
        (df.drop(columns=[c for c in s.drop if c in df.columns]) for df in frames),
        reference,
        **s.profile_options(),
    )


def profile_frame_partition(
    df: pd.DataFrame, reference: DatasetProfile | None, s: Settings
) -> dict[str, Any]:
    """Task: the profile of one partition of a dask DataFrame, as a JSON-safe dict."""
    return profile_frames([df], reference, s).to_dict()


def merge_profiles(*parts: Mapping[str, Any]) -> dict[str, Any]:
    """Task: merge profile dicts in order (left to right, so column order is kept)."""
    total = DatasetProfile.from_dict(parts[0])
    for part in parts[1:]:
        total = total.merge(DatasetProfile.from_dict(part))
    return total.to_dict()


def partitions(files: Sequence[Path], fmt: str | None, split_row_groups: bool) -> list[Partition]:
    """One partition per file, or per row group of Parquet files when asked (reads footers)."""
    if not split_row_groups:
        return [Partition(str(f)) for f in files]
    import pyarrow as pa
    import pyarrow.parquet as pq

    out: list[Partition] = []
    for f in files:
        if (fmt or detect_format(f)) != "parquet":
            out.append(Partition(str(f)))
            continue
        try:
            groups = pq.ParquetFile(f).metadata.num_row_groups
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise ReaderError(f"cannot read the footer of Parquet file {f}: {exc}") from None
        if groups <= 1:
            out.append(Partition(str(f)))
        else:
            out.extend(Partition(str(f), g) for g in range(groups))
    return out


def column_names(values: Sequence[str] | None, what: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise ValueError(f"{what} must be a sequence of column names, not the string {values!r}")
    return tuple(str(v) for v in values)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
