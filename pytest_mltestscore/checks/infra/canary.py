"""infra-6: canary the new model against the previous one on a slice of serving data.

The new model is loaded from its artifact in a fresh Python process, the way a server starts,
so a model that only works inside the training session (unsaved state, missing imports, an
untrusted file) fails here. Its outputs on real serving rows are then compared with the previous
model's: label agreement, probability or value differences, a shift in the output distribution,
and latency (best of several interleaved runs, against a generous ratio, since timing is noisy).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...builtin import BuiltinCheck, CheckContext, Param, dataset, model
from ...fresh_process import DEFAULT_TIMEOUT, prestart, run_script
from ...modeling import own_columns
from ...outputs import Outputs, collect_outputs, output_problems
from ...result import CheckResult, Table, Verdict, library_check

if TYPE_CHECKING:
    import pandas as pd

    from ...settings import ModelSpec

RUBRIC_ID = "infra-6"
CHECK = "canary"

_CHILD_SERVE = """
import sys
import time
PRELOADED = "sklearn" in sys.modules  # forked from the warm process (see fresh_process)
import pandas as pd
from pytest_mltestscore.loading import load_model_artifact
from pytest_mltestscore.outputs import collect_outputs
from pytest_mltestscore.modeling import own_columns
from pytest_mltestscore.prepared import prepared_model

X = pd.read_pickle(ARGS["data"])
models, answer = {}, {"models": {}, "errors": {}, "preloaded": PRELOADED}
for name, spec in ARGS["models"].items():
    t0 = time.perf_counter()
    try:
        models[name] = prepared_model(
            load_model_artifact(spec["path"], trusted=spec["trusted"]),
            trusted=spec["trusted"] is True,
            **spec.get("prepare", {}),
        )
    except Exception as exc:
        answer["errors"][name] = f"loading failed: {type(exc).__name__}: {exc}"
        continue
    load_seconds = time.perf_counter() - t0
    try:
        out = collect_outputs(models[name], X)
    except Exception as exc:
        answer["errors"][name] = f"predicting failed: {type(exc).__name__}: {exc}"
        del models[name]
        continue
    answer["models"][name] = {"outputs": out.to_json(), "load_seconds": load_seconds}
times = {name: [] for name in models}
for _ in range(ARGS["repeats"]):
    for name, model in models.items():
        Xm = own_columns(model, X)
        t0 = time.perf_counter()
        model.predict(Xm)
        times[name].append(time.perf_counter() - t0)
for name in models:
    answer["models"][name]["predict_seconds"] = times[name]
reply(answer)
"""


def _best_of(model: Any, X: Any, repeats: int) -> list[float]:
    out = []
    X = own_columns(model, X)
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict(X)
        out.append(time.perf_counter() - t0)
    return out


def _libraries(ctx: CheckContext) -> tuple[str, ...]:
    """What the fresh process will import to load the two models, beyond what it preloads."""
    from ...loading import SKOPS_SUFFIXES

    paths = [ctx.assets.model_spec(name).path for name in ("default", "previous")]
    skops = any(p is not None and Path(p).suffix.lower() in SKOPS_SUFFIXES for p in paths)
    return ("skops.io",) if skops else ()


@library_check
def canary(
    default_artifact: str | Path,
    previous: str | Path | Any,
    serving_X: pd.DataFrame,
    *,
    trusted: bool | Sequence[str] = False,
    previous_trusted: bool | Sequence[str] | None = None,
    sample: int = 500,
    seed: int = 0,
    min_agreement: float = 0.9,
    max_mean_abs_diff: float = 0.1,
    max_output_shift: float = 0.1,
    max_latency_ratio: float | None = 3.0,
    repeats: int = 5,
    min_rows: int = 30,
    timeout: float = DEFAULT_TIMEOUT,
    default_preparation: Mapping[str, Any] | None = None,
    previous_preparation: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Serve the new model from ``default_artifact`` in a fresh process and compare it with
    ``previous`` (an artifact path, loaded in the same fresh process, or a model object) on up
    to ``sample`` serving rows. A ``*_preparation`` (``transform`` or ``transform_path``, and
    ``inputs``: see :func:`~pytest_mltestscore.prepared.prepared_model`) is loaded with its
    artifact, so the model takes raw serving rows as it does in serving.

    Classifiers: label agreement at least ``min_agreement``; mean over rows of the largest
    probability difference at most ``max_mean_abs_diff``; the largest change in one class's
    share of predicted labels at most ``max_output_shift``. Regressors: mean absolute difference
    and Wasserstein-1 distance between the two prediction distributions, both divided by the
    previous predictions' standard deviation, at most ``max_mean_abs_diff`` and
    ``max_output_shift``. Latency: best of ``repeats`` interleaved runs, new over previous, at most
    ``max_latency_ratio`` (``None`` reports without judging).
    """
    import pandas as pd

    if not isinstance(serving_X, pd.DataFrame):
        raise ValueError("serving_X must be a pandas DataFrame")
    if not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement must be in [0, 1], got {min_agreement}")
    if max_mean_abs_diff < 0 or max_output_shift < 0:
        raise ValueError("max_mean_abs_diff and max_output_shift must be non-negative")
    if max_latency_ratio is not None and max_latency_ratio <= 0:
        raise ValueError("max_latency_ratio must be positive (or None to only report)")
    if repeats < 1 or sample < 1:
        raise ValueError("repeats and sample must be at least 1")
    prev_trust = trusted if previous_trusted is None else previous_trusted
    if len(serving_X) < min_rows:
        return CheckResult(
            CHECK,
            "skip",
            f"only {len(serving_X)} serving rows; the canary needs at least {min_rows}",
            rubric_id=RUBRIC_ID,
        )
    X = serving_X.sample(n=sample, random_state=seed) if len(serving_X) > sample else serving_X

    specs: dict[str, dict[str, Any]] = {
        "default": {
            "path": str(Path(default_artifact).resolve()),
            "trusted": _jsonable(trusted),
            "prepare": _jsonable_preparation(default_preparation),
        }
    }
    prev_in_process = not isinstance(previous, (str, Path))
    if not prev_in_process:
        specs["previous"] = {
            "path": str(Path(previous).resolve()),
            "trusted": _jsonable(prev_trust),
            "prepare": _jsonable_preparation(previous_preparation),
        }
    with tempfile.TemporaryDirectory(prefix="mltestscore-infra6-") as tmp:
        workdir = Path(tmp)
        data_file = workdir / "serving.pkl"
        X.to_pickle(data_file)
        res = run_script(
            _CHILD_SERVE,
            {"data": str(data_file), "models": specs, "repeats": repeats},
            workdir,
            timeout=timeout,
        )
    if not res.ok or res.payload is None:
        return CheckResult(
            CHECK, "fail", f"serving the new model failed: {res.error}", rubric_id=RUBRIC_ID
        )
    errors = res.payload["errors"]
    if errors:
        which = "; ".join(f"{name} model: {msg}" for name, msg in errors.items())
        return CheckResult(
            CHECK, "fail", f"in a fresh serving process, {which}", rubric_id=RUBRIC_ID
        )
    served = res.payload["models"]
    new_out = Outputs.from_json(served["default"]["outputs"])
    new_times = served["default"]["predict_seconds"]
    load_s = served["default"]["load_seconds"]
    imports = (
        "scikit-learn already imported by the warm process"
        if res.payload.get("preloaded")
        else "imports included"
    )
    notes = [f"new model loaded in a fresh process in {load_s:.3g} s ({imports})"]
    if prev_in_process:
        try:
            prev_out = collect_outputs(previous, X)
            prev_times = _best_of(previous, X, repeats)
        except Exception as exc:
            return CheckResult(
                CHECK,
                "fail",
                f"the previous model could not predict: {type(exc).__name__}: {exc}",
                rubric_id=RUBRIC_ID,
            )
        notes.append("previous model timed in this process (not the fresh one)")
    else:
        prev_out = Outputs.from_json(served["previous"]["outputs"])
        prev_times = served["previous"]["predict_seconds"]
    return _compare(
        new_out,
        prev_out,
        new_times,
        prev_times,
        len(X),
        min_agreement,
        max_mean_abs_diff,
        max_output_shift,
        max_latency_ratio,
        notes,
    )


def _jsonable(trusted: bool | Sequence[str]) -> bool | list[str]:
    return trusted if isinstance(trusted, bool) else [str(t) for t in trusted]


def _jsonable_preparation(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (spec or {}).items():
        if key not in ("transform", "transform_path", "inputs"):
            raise ValueError(
                f"a preparation takes transform, transform_path and inputs, not {key!r}"
            )
        if value is not None:
            out[key] = list(value) if key == "inputs" else str(value)
    return out


def preparation_of(spec: ModelSpec) -> dict[str, Any] | None:
    """The ``transform``/``transform_path``/``inputs`` of a configured model, if any."""
    if not spec.prepared:
        return None
    return {
        "transform": spec.transform,
        "transform_path": spec.transform_path,
        "inputs": spec.inputs,
    }


def _compare(
    new: Outputs,
    prev: Outputs,
    new_times: list[float],
    prev_times: list[float],
    n: int,
    min_agreement: float,
    max_mean_abs_diff: float,
    max_output_shift: float,
    max_latency_ratio: float | None,
    notes: list[str],
) -> CheckResult:
    rows: list[tuple[Any, ...]] = []
    failed: list[str] = []
    metrics: dict[str, float] = {"rows": float(n)}

    def judge(measure: str, value: float, limit: float | None, ok: bool | None) -> None:
        status = "info" if ok is None else ("ok" if ok else "FAILED")
        rows.append((measure, value, limit, status))
        if ok is False:
            failed.append(f"{measure} {value:.4g} (limit {limit:.4g})")

    for p in output_problems(new, n):
        failed.append(f"new model output {p.prop}: {p.detail}")
        rows.append((f"output {p.prop}", None, None, f"FAILED row {p.row!r}"))
    if new.predictions.shape != prev.predictions.shape:
        failed.append(
            f"prediction shapes differ: {new.predictions.shape} versus {prev.predictions.shape}"
        )
    elif new.task == "classification":
        agree = float(np.mean(new.predictions == prev.predictions))
        metrics["agreement"] = agree
        judge("label agreement", agree, min_agreement, agree >= min_agreement)
        same_classes = (
            new.classes is not None
            and prev.classes is not None
            and new.classes.tolist() == prev.classes.tolist()
        )
        if new.proba is not None and prev.proba is not None and same_classes:
            per_row = np.abs(new.proba - prev.proba).max(axis=1)
            mean_d, max_d = float(per_row.mean()), float(per_row.max())
            metrics.update(mean_abs_diff=mean_d, max_abs_diff=max_d)
            judge(
                "mean abs proba diff (largest class per row)",
                mean_d,
                max_mean_abs_diff,
                mean_d <= max_mean_abs_diff,
            )
            judge("max abs proba diff", max_d, None, None)
        elif not same_classes:
            notes.append("the two models have different classes_: probabilities not compared")
        labels = np.union1d(
            np.unique(new.predictions.astype(str)), np.unique(prev.predictions.astype(str))
        )
        shares = [
            (
                c,
                float(np.mean(new.predictions.astype(str) == c)),
                float(np.mean(prev.predictions.astype(str) == c)),
            )
            for c in labels
        ]
        worst = max(shares, key=lambda t: abs(t[1] - t[2]))
        shift = abs(worst[1] - worst[2])
        metrics["output_shift"] = shift
        judge(
            f"largest class-share change ({worst[0]}: {worst[2]:.3f} -> {worst[1]:.3f})",
            shift,
            max_output_shift,
            shift <= max_output_shift,
        )
    else:
        a = new.predictions.astype(float).reshape(n, -1)
        b = prev.predictions.astype(float).reshape(n, -1)
        sd = float(np.nanstd(b))
        if not np.isfinite(sd) or sd == 0:
            notes.append("previous predictions are constant: differences not scaled")
            sd = 1.0
        with np.errstate(invalid="ignore"):
            diff = np.abs(a - b)
        mean_d = float(np.nanmean(diff)) / sd
        w1 = float(np.mean(np.abs(np.sort(a, axis=0) - np.sort(b, axis=0)))) / sd
        metrics.update(
            mean_abs_diff_sd=mean_d,
            max_abs_diff=float(np.nanmax(diff)),
            output_shift_sd=w1,
            mean_prediction_change=float(np.mean(a - b)),
        )
        judge(
            "mean abs diff / SD(previous)", mean_d, max_mean_abs_diff, mean_d <= max_mean_abs_diff
        )
        judge("max abs diff", float(np.nanmax(diff)), None, None)
        judge("W1(new, previous) / SD(previous)", w1, max_output_shift, w1 <= max_output_shift)
        judge("mean prediction change", float(np.mean(a - b)), None, None)
    new_best, prev_best = min(new_times), min(prev_times)
    ratio = new_best / prev_best if prev_best > 0 else float("inf")
    metrics.update(
        latency_new_ms=new_best * 1e3, latency_previous_ms=prev_best * 1e3, latency_ratio=ratio
    )
    judge(
        f"latency ratio (best of {len(new_times)}: {new_best * 1e3:.3g} ms vs "
        f"{prev_best * 1e3:.3g} ms for {n} rows)",
        ratio,
        max_latency_ratio,
        None if max_latency_ratio is None else ratio <= max_latency_ratio,
    )
    verdict: Verdict = "fail" if failed else "pass"
    if failed:
        summary = f"canary on {n} serving rows diverges from the previous model: " + "; ".join(
            failed[:3]
        )
    else:
        summary = (
            f"canary on {n} serving rows: the new model loads in a fresh process and stays "
            "within tolerance of the previous model"
        )
    return CheckResult(
        CHECK,
        verdict,
        summary,
        table=Table(("measure", "value", "limit", "status"), tuple(rows)),
        rubric_id=RUBRIC_ID,
        metrics=metrics,
        notes=tuple(notes),
    )


# -- built-in check ----------------------------------------------------------------------------
def run_canary(ctx: CheckContext) -> CheckResult:
    ctx.model("default")  # the new model must take the data before it is canaried on it
    default = ctx.assets.model_spec("default")
    previous = ctx.assets.model_spec("previous")
    assert default.path is not None
    serving = ctx.assets.frame("serving")
    X = serving.drop(columns=list(ctx.assets.dataset_spec("serving").role_columns))
    return canary(
        default.path,
        previous.path if previous.path is not None else ctx.assets.model("previous"),
        X,
        trusted=default.trusted,
        previous_trusted=previous.trusted,
        default_preparation=preparation_of(default),
        previous_preparation=preparation_of(previous),
        sample=ctx.params["sample"],
        min_agreement=ctx.params["min_agreement"],
        max_output_shift=ctx.params["max_output_shift"],
        max_mean_abs_diff=ctx.params["max_mean_abs_diff"],
        max_latency_ratio=ctx.params["max_latency_ratio"],
    )


CANARY = BuiltinCheck(
    "infra-6",
    "canary",
    "the default model loads in a fresh process and agrees with the previous one",
    (model("default", artifact=True), model("previous"), dataset("serving")),
    run_canary,
    (
        Param("sample", "integer", 500, "serving rows sent to both models", 10),
        Param(
            "min_agreement",
            "number",
            0.9,
            "share of rows where both predict the same",
            0.0,
            1.0,
        ),
        Param("max_output_shift", "number", 0.1, "allowed shift of the output distribution"),
        Param("max_mean_abs_diff", "number", 0.1, "allowed mean absolute output difference"),
        Param(
            "max_latency_ratio",
            "number",
            3.0,
            "allowed slowdown against the previous model",
            1.0,
        ),
    ),
    declines="the model cannot take the data's columns; too few serving rows",
    prepare=lambda ctx: prestart(uses=_libraries(ctx)),  # imports overlap the checks before it
)
