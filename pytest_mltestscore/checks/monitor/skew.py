"""monitor-3: training and serving features compute the same values.

Two ways to catch skew between the feature code of training and of serving:

* :func:`training_serving_skew` joins logged training and serving rows on an example id and
  requires each feature to hold the same value on both sides (floats within ``rtol``/``atol``,
  NaN equal to NaN, everything else exactly equal);
* :func:`feature_code_skew` runs both feature functions on the same raw rows and compares their
  outputs the same way.

Without shared ids, compare per-feature distributions instead (the drift checks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ...arguments import did_you_mean, require_columns, require_frame
from ...builtin import BuiltinCheck, CheckContext, Param, dataset
from ...findings import (
    findings_table,
    plural,
    require_non_negative,
    short,
)
from ...result import CheckResult, Table, library_check
from ..data.schema import planned_profile, schema_if_any
from .drift import check_drift

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "monitor-3"
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9
DEFAULT_MAX_EXAMPLES = 5
Duplicates = Literal["fail", "first", "last"]
_EXAMPLE_COLUMNS = ("id", "feature", "training", "serving", "|diff|")


@dataclass(frozen=True)
class _ColumnDiff:
    """Where one feature differs between the two aligned sides, and by how much."""

    feature: str
    method: str
    differs: npt.NDArray[np.bool_]
    # Normalised excess over the tolerance (numeric), +inf for exact mismatches; for ranking.
    score: npt.NDArray[np.float64]
    abs_diff: npt.NDArray[np.float64] | None


def _is_number(s: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _compare(a: pd.Series, b: pd.Series, rtol: float, atol: float, name: str) -> _ColumnDiff:
    """Compare two aligned columns: numbers within tolerance, anything else exactly."""
    import pandas as pd

    n = len(a)
    if _is_number(a) and _is_number(b):
        x = a.to_numpy(dtype=float, na_value=np.nan)
        y = b.to_numpy(dtype=float, na_value=np.nan)
        # Reference is the training value: |serving - training| <= atol + rtol * |training|.
        close = np.isclose(y, x, rtol=rtol, atol=atol, equal_nan=True)
        with np.errstate(invalid="ignore"):
            diff = np.abs(x - y)
            allowed = atol + rtol * np.abs(x)
            score = np.where(np.isfinite(diff), diff / np.maximum(allowed, 1e-300), np.inf)
        return _ColumnDiff(name, f"isclose(rtol={rtol:g}, atol={atol:g})", ~close, score, diff)
    xa = a.to_numpy(dtype=object)
    ya = b.to_numpy(dtype=object)
    na_a = pd.isna(a).to_numpy()
    na_b = pd.isna(b).to_numpy()
    eq = na_a & na_b
    both = ~na_a & ~na_b
    if both.any():
        try:
            eq[both] = np.asarray(xa[both] == ya[both], dtype=bool)
        except (TypeError, ValueError):
            eq[both] = [bool(u == v) for u, v in zip(xa[both], ya[both], strict=True)]
    method = "exact"
    if str(a.dtype) != str(b.dtype):
        method = f"exact ({a.dtype} vs {b.dtype})"
    return _ColumnDiff(name, method, ~eq, np.full(n, np.inf), None)


@dataclass(frozen=True)
class _Comparison:
    findings: list[tuple[Any, ...]]
    examples: list[tuple[Any, ...]]
    n_skewed: int
    affected: int


def _compare_frames(
    left: pd.DataFrame,
    right: pd.DataFrame,
    keys: Sequence[Any],
    features: Sequence[str],
    *,
    rtol: float,
    atol: float,
    max_examples: int,
    sides: tuple[str, str],
) -> _Comparison:
    """Compare aligned frames feature by feature; rows of ``left`` and ``right`` match 1:1."""
    n = len(left)
    any_diff = np.zeros(n, dtype=bool)
    findings: list[tuple[Any, ...]] = []
    ranked: list[tuple[float, int, int]] = []  # (score, feature order, row position)
    diffs: dict[int, _ColumnDiff] = {}
    for order, feat in enumerate(features):
        d = _compare(left[feat], right[feat], rtol, atol, str(feat))
        count = int(d.differs.sum())
        if count == 0:
            continue
        diffs[order] = d
        any_diff |= d.differs
        pos = np.flatnonzero(d.differs)
        worst = pos[np.argsort(-d.score[pos], kind="stable")]
        examples = "; ".join(
            f"{short(keys[p])}: {short(left[feat].iloc[p])} vs {short(right[feat].iloc[p])}"
            for p in worst[:2]
        )
        if d.abs_diff is not None:
            finite = d.abs_diff[pos][np.isfinite(d.abs_diff[pos])]
            stat = "max |diff|"
            observed = (
                f"{count}/{n} differ, max |diff| {finite.max():.4g}"
                if finite.size
                else f"{count}/{n} differ (NaN/inf on one side)"
            )
            threshold = f"<= {atol:g} + {rtol:g}*|{sides[0]}|"
        else:
            stat = "mismatches"
            observed = f"{count}/{n} differ"
            threshold = "0 mismatches"
        findings.append((feat, d.method, stat, threshold, observed, "identical", count, examples))
        for p in worst[:max_examples]:
            ranked.append((float(d.score[p]), order, int(p)))
    ranked.sort(key=lambda r: (-r[0], r[1], r[2]))
    example_rows: list[tuple[Any, ...]] = []
    for _, order, p in ranked[:max_examples]:
        d = diffs[order]
        col = features[order]
        delta = "-" if d.abs_diff is None else short(float(d.abs_diff[p]), 4)
        example_rows.append(
            (
                short(keys[p]),
                d.feature,
                short(left[col].iloc[p]),
                short(right[col].iloc[p]),
                delta,
            )
        )
    return _Comparison(findings, example_rows, len(diffs), int(any_diff.sum()))


def _validate_tolerances(rtol: float, atol: float, max_examples: int) -> None:
    require_non_negative(rtol, "rtol")
    require_non_negative(atol, "atol")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise ValueError(f"max_examples: expected an integer >= 0, got {max_examples!r}")


def _resolve_features(
    training: pd.DataFrame,
    serving: pd.DataFrame,
    features: Sequence[str] | None,
    exclude: str | None,
    sides: tuple[str, str],
) -> tuple[list[str], list[tuple[Any, ...]], list[str]]:
    """Features to compare, findings for features missing on one side, and notes."""
    findings: list[tuple[Any, ...]] = []
    notes: list[str] = []
    if features is None:
        shared: list[str] = [c for c in training.columns if c != exclude and c in serving.columns]
        only_left = [c for c in training.columns if c != exclude and c not in serving.columns]
        only_right = [c for c in serving.columns if c != exclude and c not in training.columns]
        if only_left:
            notes.append(f"not compared, only in {sides[0]}: {', '.join(map(str, only_left))}")
        if only_right:
            notes.append(f"not compared, only in {sides[1]}: {', '.join(map(str, only_right))}")
        return shared, findings, notes
    if isinstance(features, str):
        raise ValueError(f"features: expected a list of column names, got the string {features!r}")
    feats = list(features)
    if len(set(feats)) != len(feats):
        raise ValueError("features: a column is listed more than once")
    if exclude is not None and exclude in feats:
        raise ValueError(f"features: {exclude!r} is the id column, not a feature")
    everywhere = [str(c) for c in (*training.columns, *serving.columns)]
    shared = []
    for f in feats:
        in_left, in_right = f in training.columns, f in serving.columns
        if not in_left and not in_right:
            raise ValueError(
                f"features: column {f!r} is in neither {sides[0]} nor {sides[1]} data"
                f"{did_you_mean(f, everywhere)}"
            )
        if in_left and in_right:
            shared.append(f)
            continue
        where = sides[1] if in_left else sides[0]
        findings.append(
            (f, "column presence", "-", "-", f"missing in {where}", "present", "-", "-")
        )
    return shared, findings, notes


def _duplicates(
    frame: pd.DataFrame, id_column: str, side: str
) -> tuple[tuple[Any, ...] | None, pd.Series]:
    """A finding for repeated ids on one side (or None), and the mask of duplicated rows."""
    dup = frame[id_column].duplicated(keep=False)
    if not dup.any():
        return None, dup
    ids = frame[id_column][dup]
    uniq = ids.drop_duplicates()
    examples = ", ".join(short(v) for v in uniq.iloc[:5])
    row = (
        id_column,
        f"duplicate ids in {side}",
        "ids seen more than once",
        "0",
        f"{plural(len(uniq), 'id')} repeated in {len(ids)} rows",
        "each id once",
        len(ids),
        examples,
    )
    return row, dup


@library_check
def training_serving_skew(
    training_df: pd.DataFrame,
    serving_df: pd.DataFrame,
    id_column: str,
    features: Sequence[str] | None = None,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    duplicates: Duplicates = "fail",
) -> CheckResult:
    """Join training and serving rows on ``id_column`` and require identical feature values.

    Numbers match when ``|serving - training| <= atol + rtol * |training|`` (NaN matches NaN);
    other values (strings, categories, booleans, dates) must be equal. Features default to the
    columns both frames share. Ids repeated on either side make the join ambiguous: with
    ``duplicates="fail"`` they are reported as a failure and left out of the comparison, with
    ``"first"``/``"last"`` one row per id is kept. Without any shared id the check is skipped.
    """
    training = require_frame(training_df, "training_df")
    serving = require_frame(serving_df, "serving_df")
    require_columns(training, [id_column], what="the training data", arg="id_column")
    require_columns(serving, [id_column], what="the serving data", arg="id_column")
    _validate_tolerances(rtol, atol, max_examples)
    if duplicates not in ("fail", "first", "last"):
        raise ValueError(f"duplicates: expected 'fail', 'first' or 'last', got {duplicates!r}")
    sides = ("training", "serving")
    feats, findings, notes = _resolve_features(training, serving, features, id_column, sides)
    method = f"join on {id_column!r}; numbers: isclose(rtol={rtol:g}, atol={atol:g}); else exact"

    frames = []
    for frame, side in ((training, "training"), (serving, "serving")):
        nulls = int(frame[id_column].isna().sum())
        if nulls:
            notes.append(f"{plural(nulls, 'row')} of {side} data without an id left out")
            frame = frame[frame[id_column].notna()]
        row, dup = _duplicates(frame, id_column, side)
        if row is not None:
            if duplicates == "fail":
                findings.append(row)
                frame = frame[~dup.to_numpy()]
            else:
                notes.append(f"{side}: {row[4]}; kept the {duplicates} row of each")
                frame = frame.drop_duplicates(subset=[id_column], keep=duplicates)
        frames.append(frame)
    left = frames[0].set_index(id_column)
    right = frames[1].set_index(id_column)
    common = left.index.intersection(right.index, sort=False)
    metrics: dict[str, float] = {
        "training_rows": float(len(training)),
        "serving_rows": float(len(serving)),
        "joined_examples": float(len(common)),
        "features_compared": float(len(feats)),
    }
    if not feats and features is None:
        findings.append(
            ("-", "column presence", "-", "-", "no feature column in common", "shared", "-", "-")
        )
    if len(common) == 0:
        reason = f"no id of {id_column!r} appears in both training and serving data"
        lt, rt = training[id_column].dtype, serving[id_column].dtype
        if str(lt) != str(rt):
            reason += f" (ids are {lt} in training but {rt} in serving: cast one side)"
        if findings:
            return CheckResult(
                "training_serving_skew",
                "fail",
                f"{reason}; and the findings below",
                findings_table(findings),
                RUBRIC_ID,
                metrics,
                tuple(notes),
            )
        return CheckResult(
            "training_serving_skew", "skip", reason, None, RUBRIC_ID, metrics, tuple(notes)
        )
    left = left.loc[common]
    right = right.loc[common]
    cmp = _compare_frames(
        left,
        right,
        list(common),
        feats,
        rtol=rtol,
        atol=atol,
        max_examples=max_examples,
        sides=sides,
    )
    metrics.update(
        skewed_features=float(cmp.n_skewed),
        affected_examples=float(cmp.affected),
        affected_share=cmp.affected / len(common),
    )
    findings = cmp.findings + findings
    if cmp.examples:
        notes.append("worst examples:\n" + Table(_EXAMPLE_COLUMNS, tuple(cmp.examples)).render())
    if findings:
        summary = (
            f"{cmp.n_skewed} of {len(feats)} features differ for {cmp.affected} of "
            f"{len(common)} joined examples ({method})"
        )
        others = len(findings) - len(cmp.findings)
        if others and not cmp.n_skewed:
            summary = (
                f"{len(feats)} features identical on {len(common)} joined examples, but "
                f"{plural(others, 'problem')} with the columns or ids ({method})"
            )
        elif others:
            summary += f"; {plural(others, 'other problem')} with the columns or ids"
        return CheckResult(
            "training_serving_skew",
            "fail",
            summary,
            findings_table(findings),
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )
    return CheckResult(
        "training_serving_skew",
        "pass",
        f"{len(feats)} features identical on {len(common)} joined examples ({method})",
        None,
        RUBRIC_ID,
        metrics,
        tuple(notes),
    )


def _run_feature_code(
    fn: Callable[[pd.DataFrame], pd.DataFrame], raw: pd.DataFrame, name: str
) -> tuple[pd.DataFrame | None, tuple[Any, ...] | None]:
    """Call one feature function on a copy of the raw rows; a finding instead of a crash."""
    import pandas as pd

    try:
        out = fn(raw.copy())
    except Exception as exc:  # the user's feature code: report, do not crash the check
        text = f"{type(exc).__name__}: {exc}"
        return None, ("-", f"run {name}", "-", "-", text, "a DataFrame", "-", "-")
    if isinstance(out, pd.Series):
        out = out.to_frame()
    if not isinstance(out, pd.DataFrame):
        got = type(out).__name__
        return None, ("-", f"run {name}", "-", "-", f"returned {got}", "a DataFrame", "-", "-")
    return out, None


@library_check
def feature_code_skew(
    raw_rows: pd.DataFrame,
    training_fn: Callable[[pd.DataFrame], pd.DataFrame],
    serving_fn: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    id_column: str | None = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
) -> CheckResult:
    """Run the training and the serving feature code on the same raw rows and compare outputs.

    Both functions take a DataFrame and return a DataFrame; each gets its own copy of
    ``raw_rows``. Output columns missing on one side are failures; shared columns are compared
    as in :func:`training_serving_skew`. Outputs are matched row by row, or joined on
    ``id_column`` when both outputs carry it (for code that drops or reorders rows).
    """
    raw = require_frame(raw_rows, "raw_rows")
    for fn, arg in ((training_fn, "training_fn"), (serving_fn, "serving_fn")):
        if not callable(fn):
            raise ValueError(f"{arg}: expected a callable, got {type(fn).__name__}")
    _validate_tolerances(rtol, atol, max_examples)
    check = "feature_code_skew"
    if len(raw) == 0:
        return CheckResult(check, "skip", "no raw rows to run the feature code on", None, RUBRIC_ID)
    left, err_left = _run_feature_code(training_fn, raw, "training_fn")
    right, err_right = _run_feature_code(serving_fn, raw, "serving_fn")
    errors = [e for e in (err_left, err_right) if e is not None]
    if left is None or right is None:
        return CheckResult(
            check, "fail", "the feature code did not run", findings_table(errors), RUBRIC_ID
        )
    sides = ("training output", "serving output")
    findings: list[tuple[Any, ...]] = []
    for col in left.columns:
        if col not in right.columns:
            findings.append(
                (col, "column presence", "-", "-", "missing in serving output", "present", "-", "-")
            )
    for col in right.columns:
        if col not in left.columns:
            findings.append(
                (col, "column presence", "-", "-", "extra in serving output", "absent", "-", "-")
            )
    feats = [c for c in left.columns if c in right.columns and c != id_column]
    notes: list[str] = []
    if id_column is not None:
        for out, side in ((left, sides[0]), (right, sides[1])):
            require_columns(out, [id_column], arg="id_column", what=f"the {side}")
        result = training_serving_skew(
            left,
            right,
            id_column,
            feats,
            rtol=rtol,
            atol=atol,
            max_examples=max_examples,
        )
        extra = findings
        table = result.table
        if extra:
            rows = (table.rows if table is not None else ()) + tuple(extra)
            table = findings_table(rows)
        verdict = "fail" if extra or result.verdict == "fail" else result.verdict
        return CheckResult(
            check,
            verdict,
            f"training vs serving feature code on {len(raw)} raw rows: {result.summary}",
            table,
            RUBRIC_ID,
            result.metrics,
            result.notes,
        )
    if len(left) != len(right):
        findings.append(
            (
                "-",
                "row count",
                "rows returned",
                "-",
                f"training_fn {len(left)}, serving_fn {len(right)}",
                "equal counts",
                abs(len(left) - len(right)),
                "pass id_column to join rows instead",
            )
        )
        return CheckResult(
            check,
            "fail",
            "the two feature functions returned different numbers of rows",
            findings_table(findings),
            RUBRIC_ID,
        )
    if left.index.equals(right.index):
        keys: list[Any] = list(left.index)
    else:
        keys = list(range(len(left)))
        notes.append("outputs have different indexes: rows matched by position")
    cmp = _compare_frames(
        left.reset_index(drop=True),
        right.reset_index(drop=True),
        keys,
        feats,
        rtol=rtol,
        atol=atol,
        max_examples=max_examples,
        sides=sides,
    )
    if cmp.examples:
        notes.append(
            "worst examples:\n"
            + Table(("row", *_EXAMPLE_COLUMNS[1:]), tuple(cmp.examples)).render()
        )
    metrics = {
        "rows": float(len(left)),
        "features_compared": float(len(feats)),
        "skewed_features": float(cmp.n_skewed),
        "affected_examples": float(cmp.affected),
        "affected_share": cmp.affected / len(left) if len(left) else 0.0,
    }
    findings = cmp.findings + findings
    method = f"row by row; numbers: isclose(rtol={rtol:g}, atol={atol:g}); else exact"
    if findings:
        return CheckResult(
            check,
            "fail",
            f"{cmp.n_skewed} of {len(feats)} output columns differ for {cmp.affected} of "
            f"{len(left)} raw rows ({method})",
            findings_table(findings),
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )
    return CheckResult(
        check,
        "pass",
        f"{len(feats)} output columns identical on {len(left)} raw rows ({method})",
        None,
        RUBRIC_ID,
        metrics,
        tuple(notes),
    )


# -- built-in check ----------------------------------------------------------------------------
def run_training_serving_skew(ctx: CheckContext) -> CheckResult:
    training = ctx.assets.dataset_spec("training")
    serving = ctx.assets.dataset_spec("serving")
    if training.id and serving.id and training.id == serving.id:
        shared = [f for f in ctx.assets.features("serving") if f in ctx.assets.features("training")]
        joined = training_serving_skew(
            ctx.assets.frame("training"),
            ctx.assets.frame("serving"),
            training.id,
            shared,
            rtol=ctx.params["rtol"],
            atol=ctx.params["atol"],
        )
        if joined.verdict != "skip":
            return joined
        # no example is in both (e.g. serving ids are new requests): compare distributions
    schema = schema_if_any(ctx.schema_path) if ctx.settings.schema_path is not None else None
    return check_drift(
        planned_profile(ctx, "training", None, schema),
        planned_profile(ctx, "serving", "training", schema),
        check="monitor-3 training/serving feature distributions",
        rubric_id="monitor-3",
        names=("training", "serving"),
    )


TRAINING_SERVING_SKEW = BuiltinCheck(
    "monitor-3",
    "training-serving-skew",
    "features agree between training and serving (joined by id, else distributions)",
    (dataset("training"), dataset("serving")),
    run_training_serving_skew,
    (
        Param("rtol", "number", 1e-6, "relative tolerance for joined float values"),
        Param("atol", "number", 1e-9, "absolute tolerance for joined float values"),
    ),
    kinds="numeric, categorical, bool, text; identifiers and datetimes are not drift-tested",
    declines="fewer than 100 values per column on either side",
)
