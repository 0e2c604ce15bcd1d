"""infra-5: follow one example through every step of a pipeline and show what each step made.

Works on scikit-learn ``Pipeline`` objects (descending into ``ColumnTransformer``,
``FeatureUnion`` and nested pipelines, as deep as stays readable) and on plain lists of
callables. The :class:`Trace` renders as a table for failure messages and notebooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...modeling import own_columns
from ...result import CheckResult, Table, Verdict, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "infra-5"


@dataclass(frozen=True)
class TraceStep:
    """One step's output for the example: its name (``outer/inner`` for nested steps)."""

    name: str
    kind: str
    shape: tuple[int, ...] | None
    preview: str
    depth: int = 0
    error: str | None = None
    finite: bool | None = None
    names: tuple[str, ...] | None = None
    output: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Trace:
    """The intermediate outputs of every step for one example, in execution order."""

    steps: tuple[TraceStep, ...]

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def rows(self) -> list[tuple[str, tuple[int, ...] | None, str]]:
        """``(step name, output shape, output values preview)`` for each step."""
        return [(s.name, s.shape, s.preview) for s in self.steps]

    def render(self) -> str:
        """A plain-text table: step (indented by depth), kind of call, shape, first values."""
        header = ("step", "kind", "shape", "output")
        body = [
            (
                "  " * s.depth + s.name,
                s.kind,
                _shape_text(s.shape),
                f"ERROR {s.error}" if s.error else s.preview,
            )
            for s in self.steps
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(3)]
        lines = []
        for r in [header, (*("-" * w for w in widths), "-" * 6), *body]:
            lines.append(
                "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
            )
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.render()


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "-" if shape is None else "x".join(str(d) for d in shape)


def trace_example(pipeline: Any, row: Any, *, max_values: int = 8, max_depth: int = 3) -> Trace:
    """Run one example through ``pipeline`` step by step and record every step's output.

    ``row`` is a one-row DataFrame, a Series or a dict of column values. A step that raises is
    recorded with its error and ends the trace.
    """
    if max_values < 1 or max_depth < 0:
        raise ValueError("max_values must be at least 1 and max_depth non-negative")
    X = _as_row(row)
    tracer = _Tracer(max_values, max_depth)
    tracer.add("input", "input", X, 0, names=list(X.columns))
    if _is_pipeline(pipeline):
        tracer.pipeline(pipeline, X, prefix="", depth=0, final=True)
    elif isinstance(pipeline, (list, tuple)):
        if not pipeline:
            raise ValueError("an empty list of steps has nothing to trace")
        tracer.callables(pipeline, X)
    elif callable(getattr(pipeline, "predict", None)):
        tracer.final(type(pipeline).__name__.lower(), pipeline, X, 0)
    else:
        raise ValueError(
            "pipeline must be a scikit-learn Pipeline, an estimator with predict, or a list of "
            f"callables; got {type(pipeline).__name__}"
        )
    return Trace(tuple(tracer.steps))


def _as_row(row: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise ValueError(f"row must hold exactly one example, got {len(row)} rows")
        return row
    if isinstance(row, pd.Series):
        return pd.DataFrame([row.to_dict()], index=[row.name]).infer_objects()
    if isinstance(row, dict):
        return pd.DataFrame([row])
    raise ValueError(f"row must be a one-row DataFrame, a Series or a dict, got {type(row)}")


def _is_pipeline(obj: Any) -> bool:
    try:
        from sklearn.pipeline import Pipeline
    except ImportError:  # pragma: no cover - sklearn is how pipelines exist at all
        return False
    return isinstance(obj, Pipeline)


class _StopTrace(Exception):
    pass


class _Tracer:
    def __init__(self, max_values: int, max_depth: int) -> None:
        self.max_values = max_values
        self.max_depth = max_depth
        self.steps: list[TraceStep] = []

    def add(
        self, name: str, kind: str, out: Any, depth: int, names: Sequence[str] | None = None
    ) -> TraceStep:
        shape, preview, finite = _describe(out, names, self.max_values)
        step = TraceStep(
            name,
            kind,
            shape,
            preview,
            depth,
            None,
            finite,
            None if names is None else tuple(names),
            out,
        )
        self.steps.append(step)
        return step

    def fail(self, name: str, kind: str, depth: int, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()
        error = f"{type(exc).__name__}: {text[0] if text else ''}"
        self.steps.append(TraceStep(name, kind, None, "", depth, error, None, None))

    def call(
        self,
        name: str,
        kind: str,
        fn: Callable[[Any], Any],
        X: Any,
        depth: int,
        names_from: Any = None,
        input_names: Sequence[str] | None = None,
    ) -> Any:
        try:
            out = fn(X)
        except Exception as exc:
            self.fail(name, kind, depth, exc)
            raise _StopTrace from exc
        given = list(input_names) if input_names is not None else _input_names(X)
        self.add(name, kind, out, depth, _output_names(names_from, out, given))
        return out

    def pipeline(self, pipe: Any, X: Any, prefix: str, depth: int, final: bool) -> Any:
        steps = list(pipe.steps)
        names = _input_names(X)
        try:
            for i, (name, step) in enumerate(steps):
                full = f"{prefix}{name}"
                last = i == len(steps) - 1
                if step is None or step == "passthrough":
                    self.add(full, "passthrough", X, depth)
                    continue
                if last and final and callable(getattr(step, "predict", None)):
                    self.final(full, step, X, depth)
                    return None
                if depth < self.max_depth:
                    self.branches(step, X, full, depth + 1)
                X = self.call(
                    full, "transform", step.transform, X, depth, names_from=step, input_names=names
                )
                names = list(self.steps[-1].names or []) or None
        except _StopTrace:
            return None
        return X

    def branches(self, step: Any, X: Any, name: str, depth: int) -> None:
        """Record the parts of a composite step on the same input (for reading only)."""
        parts: list[tuple[str, Any, Any]] = []
        if hasattr(step, "transformers_"):  # fitted ColumnTransformer
            for sub, trans, cols in step.transformers_:
                if isinstance(trans, str) and trans == "drop":
                    continue
                try:
                    parts.append((sub, trans, _select(X, cols)))
                except Exception:
                    continue
        elif hasattr(step, "transformer_list"):  # FeatureUnion
            parts = [(sub, trans, X) for sub, trans in step.transformer_list if trans != "drop"]
        elif _is_pipeline(step):
            self.pipeline(step, X, prefix=f"{name}/", depth=depth, final=False)
            return
        for sub, trans, Xs in parts:
            full = f"{name}/{sub}"
            if isinstance(trans, str) and trans == "passthrough":
                self.add(full, "passthrough", Xs, depth)
            elif _is_pipeline(trans):
                self.pipeline(trans, Xs, prefix=f"{full}/", depth=depth, final=False)
            else:
                try:
                    self.call(full, "transform", trans.transform, Xs, depth, names_from=trans)
                except _StopTrace:
                    continue

    def final(self, name: str, model: Any, X: Any, depth: int) -> None:
        try:
            self.call(name, "predict", model.predict, X, depth)
        except _StopTrace:
            return
        if callable(getattr(model, "predict_proba", None)):
            classes = getattr(model, "classes_", None)
            try:
                out = model.predict_proba(X)
            except Exception as exc:
                self.fail(name, "predict_proba", depth, exc)
                return
            names = None if classes is None else [str(c) for c in classes]
            self.add(name, "predict_proba", out, depth, names)

    def callables(self, fns: Sequence[Any], X: Any) -> None:
        for i, fn in enumerate(fns):
            name = getattr(fn, "__name__", None) or type(fn).__name__.lower()
            name = f"{i}:{name}"
            last = i == len(fns) - 1
            if _is_pipeline(fn):
                name = f"{i}:pipeline"
                X = self.pipeline(fn, X, prefix=f"{name}/", depth=0, final=last)
                if X is None:
                    return
                continue
            try:
                if callable(getattr(fn, "predict", None)) and last:
                    self.final(name, fn, X, 0)
                    return
                if callable(getattr(fn, "transform", None)):
                    X = self.call(name, "transform", fn.transform, X, 0, names_from=fn)
                elif callable(fn):
                    X = self.call(name, "call", fn, X, 0)
                else:
                    self.steps.append(
                        TraceStep(name, "call", None, "", 0, f"{type(fn).__name__} is not callable")
                    )
                    return
            except _StopTrace:
                return


def _select(X: Any, cols: Any) -> Any:
    """The columns a ColumnTransformer hands one of its transformers."""
    if callable(cols):
        cols = cols(X)
    if isinstance(cols, str):
        return X[[cols]]
    if isinstance(cols, slice):
        return X.iloc[:, cols]
    arr = np.asarray(cols)
    if arr.dtype.kind == "b":
        return X.loc[:, arr]
    if arr.dtype.kind in "iu":
        return X.iloc[:, arr]
    return X[list(cols)]


def _input_names(X: Any) -> list[str] | None:
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _output_names(step: Any, out: Any, input_names: list[str] | None) -> list[str] | None:
    columns = getattr(out, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    getter = getattr(step, "get_feature_names_out", None)
    if step is None or not callable(getter):
        return None
    # Pass the input's names on, as Pipeline.get_feature_names_out does, so that a scaler
    # fitted on a bare array still shows the column names it received.
    for args in ((input_names,), ()) if input_names else ((),):
        try:
            return [str(n) for n in getter(*args)]
        except Exception:
            continue
    return None


def _dense(out: Any) -> Any:
    if hasattr(out, "toarray"):  # scipy sparse
        return out.toarray()
    return out


def _describe(
    out: Any, names: Sequence[str] | None, max_values: int
) -> tuple[tuple[int, ...] | None, str, bool | None]:
    out = _dense(out)
    shape = getattr(out, "shape", None)
    if shape is None:
        try:
            shape = (len(out),)
        except TypeError:
            shape = None
    values = _first_row(out)
    finite = _finite(values)
    shown = values[:max_values]
    if names is not None and len(names) == len(values):
        parts = [f"{n}={_fmt(v)}" for n, v in zip(names, shown, strict=False)]
    else:
        parts = [_fmt(v) for v in shown]
    more = len(values) - len(shown)
    text = ", ".join(parts) + (f", ... (+{more})" if more > 0 else "")
    return (tuple(int(d) for d in shape) if shape is not None else None), text, finite


def _first_row(out: Any) -> list[Any]:
    """The values of the (only) example in a step's output, flattened."""
    if hasattr(out, "iloc"):
        return list(out.iloc[0]) if getattr(out, "ndim", 1) == 2 else list(out.iloc[:1])
    arr = np.asarray(out)
    return list(arr.reshape(-1)) if arr.ndim < 2 else list(arr[0].reshape(-1))


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _finite(values: list[Any]) -> bool | None:
    """Whether every numeric value is finite; ``None`` when no value is numeric."""
    nums = [
        float(v)
        for v in values
        if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
    ]
    if not nums:
        return None
    return bool(np.isfinite(nums).all())


def _nonfinite(step: TraceStep) -> str:
    """The entries of a step's output that are NaN or infinite, by name when known."""
    out = _dense(step.output)
    values = _first_row(out)
    names = step.names if step.names is not None and len(step.names) == len(values) else None
    bad = []
    for i, v in enumerate(values):
        if _finite([v]) is False:
            bad.append(f"{names[i]}={_fmt(v)}" if names else f"[{i}]={_fmt(v)}")
    return ", ".join(bad)


@library_check
def debuggable(
    pipeline: Any, X: pd.DataFrame, *, row: int = 0, max_values: int = 8, max_depth: int = 3
) -> CheckResult:
    """infra-5: every step can be observed on one example and gives finite numbers.

    Traces the ``row``-th example (by position) of ``X``; fails when a step raises or its
    output holds NaN or infinity, naming the step. The trace is part of the message. ``X`` may
    hold more than the model's inputs (an id, the target): a model that names the columns it
    was fitted on (``feature_names_in_``) is given those.
    """
    if not 0 <= row < len(X):
        raise ValueError(f"row {row} is outside the {len(X)} rows of X")
    X = own_columns(pipeline, X)
    trace = trace_example(pipeline, X.iloc[[row]], max_values=max_values, max_depth=max_depth)
    problems = []
    for s in trace:
        if s.error is not None:
            problems.append((s.name, s.kind, f"raised {s.error}"))
        elif s.finite is False and s.kind not in ("input", "passthrough"):
            problems.append((s.name, s.kind, f"non-finite values: {_nonfinite(s)}"))
    label = X.index[row]
    verdict: Verdict = "fail" if problems else "pass"
    if problems:
        first = problems[0]
        summary = (
            f"traced example {label!r} through {len(trace) - 1} steps: {len(problems)} "
            f"step(s) not observable or not finite, first {first[0]!r} ({first[2][:80]})"
        )
    else:
        summary = (
            f"traced example {label!r} through {len(trace) - 1} steps: every step's output "
            "is observable and finite"
        )
    return CheckResult(
        "debuggable",
        verdict,
        summary,
        table=Table(("step", "kind", "problem"), tuple(problems)),
        rubric_id=RUBRIC_ID,
        metrics={"steps": float(len(trace) - 1), "problems": float(len(problems))},
        notes=("trace:\n" + trace.render(),),
    )
