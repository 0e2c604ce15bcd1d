"""Models whose inputs are prepared by a transform kept apart from them, served as one model.

Most production models keep their preprocessing apart from the estimator: a vectorizer saved
beside a classifier, a feature function in the serving code. ``[tool.mltestscore.models.NAME]``
names it (``transform = "pkg.module:callable"`` or ``transform_path = "models/vectorizer.skops"``)
and :func:`prepared_model` composes one model object that takes the raw frame, as serving does:
it applies the transform, then the estimator's ``predict``/``predict_proba``/... . It names
its raw input columns as ``feature_names_in_``, so every check feeds it raw columns, and the
feature importance and feature cost checks judge those columns (permuting one before the
transform; timing its share of it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_ON_INPUTS = frozenset(
    {"predict_proba", "predict_log_proba", "decision_function", "score", "fit", "partial_fit"}
)
"""Estimator methods whose first argument is the model input: called on prepared input."""

_OWN = frozenset({"estimator", "transform", "inputs", "source"})


class TransformError(ValueError):
    """The transform cannot prepare this input (a missing column, a failure inside it)."""


class PreparedModel:
    """A transform and an estimator, served as one model that takes the raw frame.

    ``transform`` is a fitted transformer (an object with ``transform``) or a callable from
    the raw frame to the estimator's input; ``inputs`` the raw columns it reads (default: the
    transformer's ``feature_names_in_``); ``source`` says where the transform came from, in the
    config's words. Other attributes (``classes_``, ``coef_``...) are the estimator's.
    """

    def __init__(
        self,
        estimator: Any,
        transform: Any,
        *,
        inputs: Sequence[str] | None = None,
        source: str = "the transform",
    ) -> None:
        if not (callable(transform) or callable(getattr(transform, "transform", None))):
            raise TypeError(
                f"{source} is a {type(transform).__name__}: neither a transformer nor a callable"
            )
        self.estimator = estimator
        self.transform = transform
        names = getattr(transform, "feature_names_in_", None) if inputs is None else inputs
        self.inputs: tuple[str, ...] | None = (
            None if names is None else tuple(str(n) for n in names)
        )
        self.source = source

    # -- what checks read ----------------------------------------------------------------------
    @property
    def feature_names_in_(self) -> Any:
        """The raw columns the model takes (AttributeError when the transform does not say)."""
        if self.inputs is None:
            raise AttributeError("feature_names_in_")
        return np.asarray(self.inputs, dtype=object)

    @property
    def n_features_in_(self) -> int:
        if self.inputs is None:
            raise AttributeError("n_features_in_")
        return len(self.inputs)

    def __getattr__(self, name: str) -> Any:
        if name in _OWN or name.startswith("__"):
            raise AttributeError(name)  # not yet set (unpickling, copying): no recursion
        attr = getattr(self.estimator, name)
        if name in _ON_INPUTS and callable(attr):

            def on_prepared(X: Any, *args: Any, **kwargs: Any) -> Any:
                return attr(self.prepare(X), *args, **kwargs)

            return on_prepared
        return attr

    def __repr__(self) -> str:
        return f"PreparedModel({type(self.estimator).__name__}, {self.source})"

    # -- serving -----------------------------------------------------------------------------
    def predict(self, X: Any) -> Any:
        return self.estimator.predict(self.prepare(X))

    def prepare(self, X: Any) -> Any:
        """The estimator's input for raw rows ``X`` (a frame, or a 2-D array of the inputs)."""
        frame = self._raw(X)
        t = self.transform
        method = getattr(t, "transform", None)
        if not callable(method):
            return t(frame)
        if getattr(t, "feature_names_in_", None) is None and _one_column(frame):
            # a text vectorizer reads one column of texts, not a frame
            frame = frame.iloc[:, 0] if hasattr(frame, "iloc") else np.asarray(frame)[:, 0]
        return method(frame)

    def _raw(self, X: Any) -> Any:
        if self.inputs is None or not hasattr(X, "columns"):
            return X
        have = [str(c) for c in X.columns]
        missing = [c for c in self.inputs if c not in have]
        if missing:
            raise TransformError(
                f"{self.source} reads column(s) {', '.join(missing)}, which the data lacks "
                f"(columns: {', '.join(have[:20])})"
            )
        return X if have == list(self.inputs) else X[list(self.inputs)]


def _one_column(frame: Any) -> bool:
    shape = getattr(frame, "shape", None)
    return shape is not None and len(shape) == 2 and shape[1] == 1


def preparation(model: object) -> str | None:
    """Where a model's input preparation comes from, when it is a :class:`PreparedModel`."""
    return model.source if isinstance(model, PreparedModel) else None


def timed_preparation(model: object) -> Callable[[pd.DataFrame], Any] | None:
    """The transform of a :class:`PreparedModel` as a function of raw rows (for timing it)."""
    return model.prepare if isinstance(model, PreparedModel) else None


def prepared_model(
    estimator: Any,
    *,
    transform: str | None = None,
    transform_path: str | Path | None = None,
    inputs: Sequence[str] | None = None,
    trusted: bool = False,
    root: Path | None = None,
) -> Any:
    """``estimator`` composed with its transform (an import path, or a file loaded as model
    files are: skops safely, joblib/pickle only when ``trusted``); the estimator alone when
    neither is given. Raises :class:`~pytest_mltestscore.loading.ImportPathError` or
    :class:`~pytest_mltestscore.loading.ArtifactError` naming what failed, and a
    :class:`TransformError` when a transformer does not say which columns it reads and
    ``inputs`` does not either. ``root``: paths are named relative to it in messages."""
    from .loading import load_model_artifact, load_object

    if transform is None and transform_path is None:
        return estimator
    if transform is not None:
        source = f"transform = {transform!r}"
        step = load_object(transform)
    else:
        assert transform_path is not None
        shown = Path(transform_path)
        if root is not None and shown.is_relative_to(root):
            shown = shown.relative_to(root)
        source = f"transform_path = {str(shown)!r}"
        step = load_model_artifact(transform_path, trusted=trusted)
    is_transformer = callable(getattr(step, "transform", None))
    if not is_transformer and not callable(step):
        raise TransformError(
            f"{source}: a {type(step).__name__}, neither a fitted transformer nor a callable"
        )
    if is_transformer and inputs is None and getattr(step, "feature_names_in_", None) is None:
        raise TransformError(
            f"{source}: the {type(step).__name__} does not say which raw columns it reads "
            '(no feature_names_in_): name them, e.g. inputs = ["text"]'
        )
    return PreparedModel(estimator, step, inputs=inputs, source=source)
