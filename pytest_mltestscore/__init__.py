"""pytest-mltestscore: score an ML system against the ML Test Score rubric inside pytest."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
