"""What the distributed engines raise when they cannot produce a profile."""

from __future__ import annotations


class EngineError(Exception):
    """A distributed engine could not produce a profile; the message says where and why.

    Raised when a scheduler cannot be reached (the message names its address), when workers
    died while running a partition more often than the scheduler allows, or when the cluster
    failed otherwise. A partial profile is never returned instead.
    """


class MissingEngineError(ImportError, EngineError):
    """The framework an engine needs is not installed; the message gives the extra to install."""
