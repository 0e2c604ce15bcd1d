"""What a built-in check spent its time on: model fits, predictions, fresh processes, reads.

The shared seams (the model adapters, the trainer a check gets from its context, fresh
processes, dataset reads and profiles, HTTP and SQL calls) report to the :class:`Meter` of the
check running in this thread, if any; ``--ml-score-durations`` prints the figures after the
scorecard. Work outside those seams (a check calling a model method directly) is in the check's
wall time but not in a count. Spans nest (a profile includes the reads it makes), so the
seconds of different kinds may overlap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

LOAD = "model loads"
FIT = "fits"
PREDICT = "predictions"
FRESH = "fresh processes"
READ = "dataset reads"
PROFILE = "profiles"
HTTP = "HTTP calls"
SQL = "SQL queries"
KINDS = (LOAD, FIT, PREDICT, FRESH, READ, PROFILE, HTTP, SQL)


@dataclass
class Spent:
    """Calls, rows and seconds of one kind of work."""

    calls: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class Meter:
    """The work one check did through the shared seams, by kind."""

    kinds: dict[str, Spent] = field(default_factory=dict)

    def add(self, kind: str, *, rows: int = 0, seconds: float = 0.0, calls: int = 1) -> None:
        with _Running.lock:
            spent = self.kinds.setdefault(kind, Spent())
            spent.calls += calls
            spent.rows += rows
            spent.seconds += seconds

    def to_json(self, wall: float) -> dict[str, Any]:
        """Plain JSON (it crosses from xdist workers): wall seconds and each kind's figures."""
        return {
            "seconds": round(wall, 6),
            "spent": {
                kind: {"calls": s.calls, "rows": s.rows, "seconds": round(s.seconds, 6)}
                for kind, s in self.kinds.items()
            },
        }


class _Running:
    """The meter of the check running now. Process-wide rather than a context variable, so that
    calls made from worker threads (endpoint requests run in a pool) count too; checks run one
    at a time in a process."""

    meter: Meter | None = None
    lock = threading.Lock()

    @classmethod
    def get(cls) -> Meter | None:
        return cls.meter


_current = _Running


@contextmanager
def metering() -> Iterator[Meter]:
    """Count the work done through the seams while the block runs (one check)."""
    meter = Meter()
    outer, _Running.meter = _Running.meter, meter
    try:
        yield meter
    finally:
        _Running.meter = outer


def _rows(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 0


@dataclass
class Span:
    """One call being timed; set ``rows`` when the count is known only at its end."""

    rows: int = 0


@contextmanager
def spending(kind: str, rows: Any = None) -> Iterator[Span]:
    """Time the block as one call of ``kind`` (``rows``: a count, or data whose length counts)."""
    span = Span(rows if isinstance(rows, int) else (0 if rows is None else _rows(rows)))
    meter = _current.get()
    if meter is None:
        yield span
        return
    start = time.perf_counter()
    try:
        yield span
    finally:
        meter.add(kind, rows=span.rows, seconds=time.perf_counter() - start)


def metered_chunks(kind: str, chunks: Iterable[Any]) -> Iterator[Any]:
    """The chunks, each read counted (rows and seconds) as one call of ``kind`` in all."""
    meter = _current.get()
    if meter is None:
        yield from chunks
        return
    it = iter(chunks)
    rows, seconds = 0, 0.0
    try:
        while True:
            start = time.perf_counter()
            try:
                chunk = next(it)
            except StopIteration:
                return
            finally:
                seconds += time.perf_counter() - start
            rows += _rows(chunk)
            yield chunk
    finally:
        meter.add(kind, rows=rows, seconds=seconds)


def counted_trainer(fit: Callable[..., Any]) -> Callable[..., Any]:
    """A trainer ``fit(train_df, seed)`` whose calls count as model fits."""
    import functools

    @functools.wraps(fit)
    def trainer(*args: Any, **kwargs: Any) -> Any:
        with spending(FIT, args[0] if args else None):
            return fit(*args, **kwargs)

    return trainer
