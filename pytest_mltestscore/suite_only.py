"""What the plugin runs on the suite's behalf is not the suite's tests running it.

A session judge that measures the suite's own tests (the line coverage of the feature code)
must not count the code the plugin runs itself: a built-in check that fits the model
(which calls the feature code), or a dataset ``load = "module:callable"`` that builds its frame
with it. Such work runs inside :func:`plugin_work`, and the measurements registered with
:func:`measuring` are paused for its length. Frames and models are cached for the session, so
counting the code that built them would depend on which test or check asked first (and, under
pytest-xdist, on which worker): not counting it keeps the verdict the same serially and
distributed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Measurement(Protocol):
    """A measurement of the suite's own tests that can be paused and resumed."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


_lock = threading.Lock()
_running: list[Measurement] = []
_depth = 0


def measuring(measurement: Measurement) -> None:
    """Register a measurement that has started in this process."""
    with _lock:
        _running.append(measurement)
        if _depth:  # started inside plugin work: paused until that work ends
            measurement.pause()


def stopped(measurement: Measurement) -> None:
    """Unregister a measurement that has stopped."""
    with _lock:
        if measurement in _running:
            _running.remove(measurement)


@contextmanager
def plugin_work() -> Iterator[None]:
    """Pause the registered measurements while the plugin works (nested calls pause once).

    Only in the main thread, where the measurements started: coverage.py resumes tracing in
    the thread that resumes it, so a pause from another thread would leave the main thread
    untraced. Plugin work in another thread is counted, as a test's own threads are."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            for measurement in _running:
                measurement.pause()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for measurement in _running:
                    measurement.resume()
