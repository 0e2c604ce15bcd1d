"""pytest-mltestscore: score an ML system against the ML Test Score rubric inside pytest."""

from __future__ import annotations

from . import _moved

__version__ = "0.1.0"

__all__ = ["__version__"]

_moved.install()  # the first layout's import paths (pytest_mltestscore.modeldev...) keep working
