"""infra-3: the whole pipeline runs end to end on a small sample, and every stage's output holds.

The stages are those of a real deployment: load raw data, build features, train, save the model,
load it again as the server would, build serving features and predict. Each stage's output is
checked before the next runs, so a failure names the stage that broke, not the one that noticed.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...builtin import BuiltinCheck, CheckContext, Param, dataset, setting
from ...loading import load_callable, load_model_artifact, save_model_artifact, skops_available
from ...modeling import feature_names
from ...outputs import collect_outputs, compare_outputs, output_problems
from ...result import CheckResult, Table, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "infra-3"
CHECK = "pipeline_integration"

STAGES = (
    "load_raw",
    "build_features",
    "train",
    "save",
    "load",
    "serving_features",
    "predict",
)


@dataclass
class _Stage:
    name: str
    status: str = "not run"
    rows: int | None = None
    columns: int | None = None
    problems: list[str] = field(default_factory=list)


class _StageFailed(Exception):
    """Raised inside the runner to stop at the first broken stage."""


class _NotJudged(Exception):
    """The run cannot judge the pipeline (its message says why and what to configure)."""


def _resolve(fn: Any, what: str) -> Callable[..., Any]:
    if isinstance(fn, str):
        return load_callable(fn)
    if not callable(fn):
        raise ValueError(f"{what} must be callable or an import path 'pkg.module:callable'")
    return fn


@library_check
def pipeline_integration(
    *,
    raw: pd.DataFrame | Callable[[], pd.DataFrame] | str,
    fit_fn: Callable[[pd.DataFrame, int], Any] | str,
    build_features: Callable[[pd.DataFrame], pd.DataFrame] | str | None = None,
    serving: pd.DataFrame | Callable[[], pd.DataFrame] | str | None = None,
    serving_features: Callable[[pd.DataFrame], pd.DataFrame] | str | None = None,
    target: str | None = None,
    features: Sequence[str] | None = None,
    expected_columns: Mapping[str, Sequence[str]] | None = None,
    sample: int = 200,
    seed: int = 0,
    persist: Literal["auto", "skops", "joblib", "pickle"] = "auto",
    atol: float = 1e-9,
    rtol: float = 1e-7,
) -> CheckResult:
    """Run load -> features -> train -> save -> load -> serving features -> predict on a sample.

    ``raw`` is a frame or a callable returning one (``sample`` rows are drawn with ``seed``);
    ``build_features`` maps raw rows to training rows (identity when omitted) and
    ``serving_features`` maps serving rows to model input (default: ``build_features``);
    ``serving`` defaults to the sampled raw rows without the target. Each stage must return a
    non-empty frame with the expected columns (``features`` and ``target``, the model's
    ``feature_names_in_``, and ``expected_columns[stage]``) and no column that is entirely null;
    the reloaded model must give one valid prediction per serving row, equal to the in-memory
    model's.
    """
    if sample < 1:
        raise ValueError(f"sample must be at least 1, got {sample}")
    if persist not in ("auto", "skops", "joblib", "pickle"):
        raise ValueError(f"persist must be auto, skops, joblib or pickle, got {persist!r}")
    unknown = sorted(set(expected_columns or {}) - set(STAGES))
    if unknown:
        raise ValueError(f"expected_columns has unknown stages {unknown}; stages: {STAGES}")
    fit = _resolve(fit_fn, "fit_fn")
    build = None if build_features is None else _resolve(build_features, "build_features")
    serve_build = (
        build if serving_features is None else _resolve(serving_features, "serving_features")
    )
    expected = {k: list(v) for k, v in (expected_columns or {}).items()}

    stages = {name: _Stage(name) for name in STAGES}
    runner = _Runner(stages, expected)
    try:
        runner.run(
            raw,
            fit,
            build,
            serving,
            serve_build,
            target,
            features,
            sample,
            seed,
            persist,
            atol,
            rtol,
        )
    except _StageFailed:
        pass
    except _NotJudged as exc:
        return CheckResult(CHECK, "skip", str(exc), rubric_id=RUBRIC_ID, notes=tuple(runner.notes))
    return _result(stages, runner)


class _Runner:
    def __init__(self, stages: dict[str, _Stage], expected: dict[str, list[str]]) -> None:
        self.stages = stages
        self.expected = expected
        self.notes: list[str] = []
        self.artifact_format: str | None = None

    def _call(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        stage = self.stages[name]
        try:
            return fn(*args)
        except Exception as exc:
            text = str(exc).strip().splitlines()
            stage.status = "FAILED"
            stage.problems.append(f"raised {type(exc).__name__}: {text[0] if text else ''}")
            raise _StageFailed from exc

    def _frame(
        self, name: str, out: Any, required: Sequence[str] = (), before: Any = None
    ) -> pd.DataFrame:
        import pandas as pd

        stage = self.stages[name]
        if not isinstance(out, pd.DataFrame):
            stage.status = "FAILED"
            stage.problems.append(f"returned {type(out).__name__}, expected a pandas DataFrame")
            raise _StageFailed
        stage.rows, stage.columns = out.shape
        if out.empty:
            stage.problems.append(f"returned an empty frame ({out.shape[0]} rows)")
        wanted = list(dict.fromkeys([*required, *self.expected.get(name, [])]))
        missing = [c for c in wanted if c not in out.columns]
        if missing:
            had = [c for c in missing if before is not None and c in before.columns]
            never = [c for c in missing if c not in had]
            if had:
                stage.problems.append(f"dropped column(s) {_names(had)} (present in its input)")
            if never:
                stage.problems.append(f"missing column(s) {_names(never)}")
        if len(out) > 0:
            all_null = [c for c in out.columns if out[c].isna().all()]
            if all_null:
                stage.problems.append(f"column(s) entirely null: {_names(all_null)}")
        if stage.problems:
            stage.status = "FAILED"
            raise _StageFailed
        stage.status = "ok"
        return out

    def run(
        self,
        raw: Any,
        fit: Callable[..., Any],
        build: Callable[..., Any] | None,
        serving: Any,
        serve_build: Callable[..., Any] | None,
        target: str | None,
        features: Sequence[str] | None,
        sample: int,
        seed: int,
        persist: str,
        atol: float,
        rtol: float,
    ) -> None:
        feats = list(features or [])
        raw_df = self._frame("load_raw", self._load("load_raw", raw))
        if len(raw_df) > sample:
            raw_df = raw_df.sample(n=sample, random_state=seed)
            self.notes.append(f"load_raw: sampled {sample} rows with seed {seed}")
            self.stages["load_raw"].rows = sample

        required = [*feats, *([target] if target else [])]
        if build is None:
            train_df = raw_df
            self.stages["build_features"].status = "skipped (none configured)"
        else:
            out = self._call("build_features", build, raw_df.copy())
            train_df = self._frame("build_features", out, required, before=raw_df)

        model = self._call("train", fit, train_df, seed)
        stage = self.stages["train"]
        if not callable(getattr(model, "predict", None)):
            stage.status = "FAILED"
            stage.problems.append(f"fit returned {type(model).__name__}, which has no predict")
            raise _StageFailed
        stage.status = "ok"

        with tempfile.TemporaryDirectory(prefix="mltestscore-infra3-") as tmp:
            path = self._save(model, Path(tmp), persist)
            # The artifact is ours, written a moment ago: loading it is safe.
            loaded = self._call("load", load_model_artifact, path, True)
            self.stages["load"].status = "ok"

        if serving is None:
            serving_df = raw_df.drop(columns=[target]) if target in raw_df.columns else raw_df
            self.notes.append("serving rows: the sampled raw rows without the target")
        else:
            serving_df = self._load("serving_features", serving)
            if len(serving_df) > sample:
                serving_df = serving_df.sample(n=sample, random_state=seed)
        model_names = feature_names(loaded) or []
        needed = list(dict.fromkeys([*model_names, *feats]))
        if serve_build is None:
            X = self._frame("serving_features", serving_df, needed)
        else:
            out = self._call("serving_features", serve_build, serving_df.copy())
            X = self._frame("serving_features", out, needed, before=serving_df)
        if model_names:
            X = X[model_names]
        elif feats:
            X = X[feats]
        elif target is not None and target in X.columns:
            X = X.drop(columns=[target])
        self._trial(loaded, train_df, list(X.columns))
        self._predict(model, loaded, X, atol, rtol)

    def _trial(self, loaded: Any, train_df: pd.DataFrame, columns: list[str]) -> None:
        """The trained model must take the training rows' own columns; if it cannot, the run
        was not configured as serving feeds the model, and nothing about serving is judged."""
        if not all(c in train_df.columns for c in columns):
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded.predict(train_df[columns].head(5))
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise _NotJudged(
                f"the model fit returns cannot take the columns of its own training rows "
                f"({', '.join(map(str, columns[:10]))}): {type(exc).__name__}: {first}; make "
                "fit return a scikit-learn Pipeline that includes the preprocessing, or list "
                "the model's input columns in features = [...] under the training dataset"
            ) from None

    def _load(self, name: str, source: Any) -> Any:
        import pandas as pd

        if isinstance(source, pd.DataFrame):
            return source
        fn = source if callable(source) else None
        if isinstance(source, str):
            fn = self._call(name, load_callable, source)
        if fn is None:
            stage = self.stages[name]
            stage.status = "FAILED"
            stage.problems.append(
                f"source is a {type(source).__name__}: expected a DataFrame "
                "or a callable returning one"
            )
            raise _StageFailed
        return self._call(name, fn)

    def _save(self, model: Any, tmp: Path, persist: str) -> Path:
        stage = self.stages["save"]
        formats = (
            (["skops", "joblib"] if skops_available() else ["joblib"])
            if (persist == "auto")
            else [persist]
        )
        suffix = {"skops": ".skops", "joblib": ".joblib", "pickle": ".pkl"}
        errors = []
        for fmt in formats:
            path = tmp / f"model{suffix[fmt]}"
            try:
                save_model_artifact(model, path)
            except Exception as exc:
                errors.append(f"{fmt}: {type(exc).__name__}: {exc}")
                continue
            if not path.is_file() or path.stat().st_size == 0:
                errors.append(f"{fmt}: wrote an empty file")
                continue
            stage.status = "ok"
            self.artifact_format = fmt
            if errors:
                self.notes.append(f"save: fell back to {fmt} ({'; '.join(errors)})")
            return path
        stage.status = "FAILED"
        stage.problems.append("could not save the model: " + "; ".join(errors))
        raise _StageFailed

    def _predict(self, model: Any, loaded: Any, X: pd.DataFrame, atol: float, rtol: float) -> None:
        stage = self.stages["predict"]
        served = self._call("predict", collect_outputs, loaded, X)
        stage.rows = len(served.predictions)
        stage.problems += [
            f"{p.prop}: {p.detail}" + ("" if p.row is None else f" (row {p.row!r})")
            for p in output_problems(served, len(X))
        ]
        if not stage.problems:
            in_memory = self._call("predict", collect_outputs, model, X)
            cmp = compare_outputs(in_memory, served, atol=atol, rtol=rtol, max_listed=3)
            if cmp.structural or cmp.n_label_diff or cmp.n_numeric_diff:
                where = cmp.structural or ", ".join(
                    f"row {d.row!r} {d.output} {d.first!r} vs {d.second!r}" for d in cmp.differences
                )
                stage.problems.append(
                    f"the reloaded model predicts differently from the trained one: {where}"
                )
        stage.status = "FAILED" if stage.problems else "ok"


def _names(cols: Sequence[Any]) -> str:
    return ", ".join(repr(c) for c in cols)


def _result(stages: dict[str, _Stage], runner: _Runner) -> CheckResult:
    rows: list[tuple[Any, ...]] = []
    failed = [s for s in stages.values() if s.status == "FAILED"]
    for s in stages.values():
        details = s.problems or [""]
        for i, detail in enumerate(details):
            rows.append(
                (s.name if i == 0 else "", s.status if i == 0 else "", s.rows, s.columns, detail)
            )
    if failed:
        first = failed[0]
        summary = (
            f"end-to-end run stopped at stage {first.name!r}: "
            f"{first.problems[0] if first.problems else 'failed'}"
        )
        verdict: Literal["pass", "fail"] = "fail"
    else:
        n = stages["predict"].rows
        summary = (
            f"all {len(STAGES)} stages ran on a sample ({stages['load_raw'].rows} raw rows, "
            f"{n} served predictions, artifact format {runner.artifact_format})"
        )
        verdict = "pass"
    return CheckResult(
        CHECK,
        verdict,
        summary,
        table=Table(("stage", "status", "rows", "columns", "detail"), tuple(rows)),
        rubric_id=RUBRIC_ID,
        metrics={"stages_failed": float(len(failed))},
        notes=tuple(runner.notes),
    )


# -- built-in check ----------------------------------------------------------------------------
def run_pipeline_integration(ctx: CheckContext) -> CheckResult:
    spec = ctx.assets.dataset_spec("training")
    return pipeline_integration(
        raw=ctx.assets.frame("training"),
        fit_fn=ctx.fit_function(),
        serving=ctx.assets.frame("serving"),
        target=spec.target,
        features=spec.features,
        sample=ctx.params["sample"],
        seed=ctx.settings.training_seed,
    )


PIPELINE_INTEGRATION = BuiltinCheck(
    "infra-3",
    "pipeline-integration",
    "raw data to features, training, artifact and serving run end to end",
    (
        setting("training_fit", "[tool.mltestscore.training] fit"),
        dataset("training"),
        dataset("serving"),
    ),
    run_pipeline_integration,
    (Param("sample", "integer", 200, "rows of raw data the run uses", 10),),
    declines="the model `fit` returns cannot take its own training rows",
)
