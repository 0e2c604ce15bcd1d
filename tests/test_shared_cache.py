"""The session directory xdist workers share: each value computed by one process only."""

from __future__ import annotations

import pytest

from pytest_mltestscore.shared_cache import SharedCache

fcntl = pytest.importorskip("fcntl", reason="the cross-process lock is POSIX flock")


@pytest.fixture
def cache(tmp_path):
    return SharedCache(tmp_path)


def test_a_value_is_computed_once_and_read_after(cache):
    calls = []
    assert cache.get_or_compute("k", "key", lambda: calls.append(1) or ["a problem"]) == [
        "a problem"
    ]
    assert cache.get_or_compute("k", "key", lambda: calls.append(1) or []) == ["a problem"]
    assert calls == [1]


def test_compute_once_stores_for_the_readers_and_never_computes_twice(cache):
    calls = []
    cache.compute_once("k", "key", lambda: calls.append(1) or ["found"])
    cache.compute_once("k", "key", lambda: calls.append(1) or ["other"])
    assert calls == [1]
    assert cache.get_or_compute("k", "key", lambda: ["not computed"]) == ["found"]


def test_compute_once_leaves_a_value_another_process_is_computing(cache, tmp_path):
    """A worker that finds the lock taken goes on at once: the holder computes it."""
    lock = cache._path("k", "key").with_suffix(".lock")
    with lock.open("a") as held:  # another open file description: another holder, for flock
        fcntl.flock(held, fcntl.LOCK_EX)
        cache.compute_once("k", "key", lambda: pytest.fail("computed under another's lock"))
        fcntl.flock(held, fcntl.LOCK_UN)
    assert not cache._path("k", "key").exists()
    assert cache.get_or_compute("k", "key", lambda: ["computed by the reader"]) == [
        "computed by the reader"
    ]


def test_a_compute_that_raises_stores_nothing(cache):
    def boom() -> list[str]:
        raise RuntimeError("user code failed")

    with pytest.raises(RuntimeError):
        cache.compute_once("k", "key", boom)
    assert cache.get_or_compute("k", "key", lambda: ["second try"]) == ["second try"]
