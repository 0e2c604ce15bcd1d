"""Work shared by the processes of one session: dataset frames and profiles, and the check of
the configuration that takes imports, computed once.

Under pytest-xdist every worker is its own interpreter with its own
:class:`~pytest_mltestscore.assets.Assets`. The controller makes one private directory per
session (``tempfile.mkdtemp``: readable and writable by this user only), hands its path to the
workers through ``workerinput``, and removes it when the session ends. The first worker that
needs a dataset's frame or profile computes it under a lock file and writes it there (a pickle
written to a temporary name, then renamed); a worker that needs it meanwhile waits on the lock
and reads the result instead of computing it again.

Entries are keyed by what determines them: the dataset's configuration, and for files the
SHA-256 of every file's bytes (a file changed during the session is read again). Datasets built
by ``load = "module:callable"`` or read from a database are called or queried once per session,
as in a serial run. Only what this session wrote is ever unpickled: the directory is created
by the controller for this session and removed at its end; nothing survives to the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

WORKERINPUT_KEY = "mltestscore_shared_cache"
"""The ``workerinput`` key that carries the session directory to the xdist workers."""


class SharedCache:
    """A session directory of computed values, each computed by one process only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def create(cls) -> SharedCache:
        """A fresh private directory (the controller's, for one session)."""
        return cls(Path(tempfile.mkdtemp(prefix="mltestscore-session-")))

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def get_or_compute(self, kind: str, key: str, compute: Callable[[], T]) -> T:
        """The value stored under ``key``, else ``compute()``'s, stored for the other workers.

        An exception from ``compute`` propagates and nothing is stored (the next process to
        ask computes, and raises, again: the same verdict as serially)."""
        path = self._path(kind, key)
        with _locked(path.with_suffix(".lock")):
            return self._read_or_compute(path, compute)

    def compute_once(self, kind: str, key: str, compute: Callable[[], object]) -> None:
        """Store ``compute()``'s value under ``key`` unless it is stored already or another
        process is computing it now (then return at once: a reader waits for it with
        :meth:`get_or_compute`)."""
        path = self._path(kind, key)
        with _locked(path.with_suffix(".lock"), wait=False) as held:
            if held:
                self._read_or_compute(path, compute)

    def _path(self, kind: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.directory / f"{kind}-{digest}.pickle"

    def _read_or_compute(self, path: Path, compute: Callable[[], T]) -> T:
        """Under the entry's lock: its stored value, else ``compute()``'s, stored."""
        if path.is_file():
            try:
                with path.open("rb") as fh:
                    value: T = pickle.load(fh)  # this session wrote it
                return value
            except (OSError, EOFError, pickle.UnpicklingError):
                pass  # unreadable: compute it again below
        value = compute()
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except Exception:  # not picklable, or no room: the other workers compute it
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return value


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _locked(lock: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive lock on ``lock`` across processes (POSIX ``flock``; elsewhere none: two
    workers may then both compute a value, with the same result). Yields whether it is held:
    with ``wait=False`` and the lock held by another process, False at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield True
        return
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
