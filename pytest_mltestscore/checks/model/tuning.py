"""model-3, all hyperparameters have been tuned.

A seeded search over ``search_space`` (every combination when there are at most ``n_iter``,
else ``n_iter`` distinct combinations drawn at random) scores each candidate by k-fold
cross-validation on the same folds (stratified for classification). The shipped parameters
pass when their mean cross-validated metric is no worse than the best candidate's by more than
the allowed gap (``tolerance`` in metric units, else ``relative_tolerance`` times the best).

Racing (``racing=True``, the default) races the candidates over the folds by successive
halving: all are scored on fold 1, and after each fold only the promising ones go on (see
:func:`_race`: a candidate stops only when it is outside the best third, more than the allowed
gap behind the leader, and behind the shipped parameters on the same folds by more than the gap
plus ``Z`` standard errors of the paired difference). The shipped parameters are always scored
on every fold, and the best found is the best of the candidates scored on every fold, so racing
can only miss a candidate that trailed the shipped parameters by that margin on the folds it
got; the result states what was dropped when and the fits saved. ``racing=False`` scores every
candidate on every fold.

Sensitivity: each searched parameter is varied alone over its listed values with the others at
their shipped values; the range of the metric says how much that parameter matters. These values
are candidates too (raced with the others); a row's means are over the folds all its values were
scored on (every fold without racing), stated in its ``folds`` column.

Candidates whose fit raises (an invalid combination) are reported and left out; warnings
raised while fitting (e.g. ConvergenceWarning) are recorded, counted in the notes, and do not
escape, so ``filterwarnings = error`` in the caller's suite does not turn a search into errors.
"""

from __future__ import annotations

import inspect
import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...assets import AssetError
from ...builtin import METRIC, BuiltinCheck, CheckContext, Param, dataset, import_path, param
from ...cost import FIT, spending
from ...evaluation import (
    allowed_gap,
    check_positive,
    describe_gap,
    gain,
    labelled,
    labels_of,
    n_rows,
    outputs,
    resolve_metric,
    row_terms,
    score,
    take_rows,
)
from ...loading import ImportPathError, load_callable
from ...metrics import Metric
from ...modeling import classes_of, infer_task
from ...result import CheckResult, Table, library_check
from ...settings import Settings

CHECK = "model-3 hyperparameters tuned"

Params = tuple[tuple[str, Any], ...]


def kfold_indices(
    y: npt.NDArray[Any], k: int, seed: int, stratify: bool
) -> list[npt.NDArray[np.intp]]:
    """Seeded k-fold test indices; stratified folds deal each class's shuffled rows in turn."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.intp)
    if stratify:
        offset = 0
        for c in np.unique(y):
            rows = rng.permutation(np.flatnonzero(y == c))
            fold[rows] = (np.arange(len(rows)) + offset) % k
            offset += len(rows)
    else:
        fold[rng.permutation(len(y))] = np.arange(len(y)) % k
    return [np.flatnonzero(fold == f) for f in range(k)]


def _key(params: Mapping[str, Any]) -> Params:
    """A hashable cache key (values by ``repr``, so lists and dicts are fine)."""
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _label(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class _Scorer:
    """Cross-validated scores of parameter sets, fold by fold, cached: a candidate scored on some
    folds continues from where it stopped and no fit is done twice. Fit failures and warnings
    are kept (a candidate whose fit raises is out; the warnings of those that fit are counted)."""

    def __init__(
        self,
        factory: Callable[..., Any],
        X: Any,
        y: Any,
        folds: list[npt.NDArray[np.intp]],
        metric: Metric,
    ) -> None:
        self.factory, self.X, self.y, self.folds, self.metric = factory, X, y, folds, metric
        self.values: dict[Params, list[float]] = {}
        self.params: dict[Params, dict[str, Any]] = {}
        self.errors: dict[Params, str] = {}
        self.caught: dict[Params, dict[str, int]] = {}
        self.terms: dict[Params, list[npt.NDArray[np.float64] | None]] = {}
        self.fits = 0
        n = n_rows(X)
        self.train = [np.setdiff1d(np.arange(n), test) for test in folds]

    def extend(self, params: Mapping[str, Any], upto: int) -> bool:
        """Score ``params`` on the first ``upto`` folds (those not scored yet); False if a fit
        raised (now or before)."""
        key = _key(params)
        if key in self.errors:
            return False
        values = self.values.setdefault(key, [])
        self.params.setdefault(key, dict(params))
        caught = self.caught.setdefault(key, {})
        terms = self.terms.setdefault(key, [])
        for f in range(len(values), upto):
            train, test = self.train[f], self.folds[f]
            try:
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter("always")
                    est = self.factory(**params)
                    self.fits += 1
                    with spending(FIT, len(train)):
                        fitted = est.fit(take_rows(self.X, train), take_rows(self.y, train))
                    model = est if fitted is None else fitted
                    y_test = take_rows(self.y, test)
                    out = outputs(model, take_rows(self.X, test), self.metric)
                    classes = classes_of(model)
                    values.append(score(self.metric, y_test, out, classes))
            except Exception as exc:
                self.errors[key] = f"{type(exc).__name__}: {exc}"
                del self.values[key], self.caught[key], self.terms[key]
                return False
            for w in seen:
                caught[w.category.__name__] = caught.get(w.category.__name__, 0) + 1
            terms.append(self._row_terms(y_test, out, classes))
        return True

    def _row_terms(self, y: Any, out: Any, classes: Any) -> npt.NDArray[np.float64] | None:
        """The fold's per-row metric terms for :meth:`noise`, or None (not a mean over rows,
        or not computable here: racing then falls back to the spread over folds)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return row_terms(self.metric, np.asarray(y), out, classes)
        except Exception:
            return None

    def __call__(self, params: Mapping[str, Any]) -> tuple[float, float] | None:
        """Mean and standard deviation over every fold, or None when a fit raised."""
        if not self.extend(params, len(self.folds)):
            return None
        return self.summary(_key(params))

    def summary(self, key: Params, n: int | None = None) -> tuple[float, float]:
        """Mean and standard deviation over the first ``n`` folds (default: all it has)."""
        values = self.values[key][:n]
        return float(np.mean(values)), float(np.std(values))

    def noise(self, key: Params, reference: Params, n: int) -> float:
        """A standard error, in metric units, of the difference between the means of ``key``
        and ``reference`` over their first ``n`` folds: from the paired per-row terms on those
        folds' rows when the metric is a mean over rows (accuracy, log_loss, mae; rmse by the
        delta method), else from the spread of the per-fold differences (infinite on one fold)."""
        a = [t for t in self.terms[key][:n] if t is not None]
        b = [t for t in self.terms[reference][:n] if t is not None]
        if len(a) == len(b) == n:
            d = np.concatenate(a) - np.concatenate(b)
            se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("inf")
            if self.metric.name == "rmse":  # terms are squared errors: d(rmse) = d(mse) / 2 rmse
                root = 2 * float(np.sqrt(np.mean(np.concatenate(b))))
                se = se / root if root > 0 else float("inf")
        elif n < 2:
            se = float("inf")
        else:
            diff = np.subtract(self.values[key][:n], self.values[reference][:n])
            se = float(np.std(diff, ddof=1) / np.sqrt(n))
        return se if np.isfinite(se) else float("inf")  # unknown noise: never a reason to drop

    def scored(self, key: Params) -> int:
        """How many folds ``key`` was scored on (0 when its fit raised)."""
        return len(self.values.get(key, ()))

    @property
    def warned(self) -> dict[str, int]:
        """Warnings by category over the fits of every candidate whose fits did not raise."""
        out: dict[str, int] = {}
        for counts in self.caught.values():
            for name, count in counts.items():
                out[name] = out.get(name, 0) + count
        return out


def _defaults(factory: Callable[..., Any], space_names: Mapping[str, Any]) -> dict[str, Any]:
    """The factory's own defaults for searched parameters, so "unset" and "default" coincide."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if name in space_names and p.default is not inspect.Parameter.empty
    }


def _candidates(space: Mapping[str, Sequence[Any]], n_iter: int, seed: int) -> list[dict[str, Any]]:
    names = list(space)
    sizes = [len(space[n]) for n in names]
    total = int(np.prod(sizes))
    if total <= n_iter:
        combos = list(itertools.product(*(range(s) for s in sizes)))
    else:
        rng = np.random.default_rng(seed)
        picked = rng.choice(total, size=n_iter, replace=False)
        combos = [tuple(int(i) for i in np.unravel_index(p, sizes)) for p in sorted(picked)]
    return [{n: space[n][i] for n, i in zip(names, combo, strict=True)} for combo in combos]


ETA = 3
"""Racing keeps (at least) the best ``1/ETA`` of the candidates still running after each fold."""
Z = 2.0
"""Racing drops a candidate only when it trails the shipped parameters by more than the allowed
gap plus ``Z`` standard errors of the difference."""


def _race(
    scorer: _Scorer,
    pool: Mapping[Params, Mapping[str, Any]],
    shipped: Params,
    metric: Metric,
    tolerance: float | None,
    relative_tolerance: float,
) -> list[int]:
    """Successive halving over the folds: every candidate is scored on fold 1; after each fold
    (but the last) a candidate goes on unless it is all of: outside the best ``ceil(n/ETA)`` of
    the ``n`` still running by mean over the folds so far, more than the allowed gap behind the
    leader's mean, and behind the shipped parameters' mean on the same folds by more than the
    allowed gap plus ``Z`` standard errors of that difference (:meth:`_Scorer.noise`). The
    shipped parameters are never dropped. Returns how many were dropped after each fold."""
    k = len(scorer.folds)
    alive = dict(pool)
    dropped: list[int] = []
    for f in range(1, k + 1):
        alive = {key: p for key, p in alive.items() if scorer.extend(p, f)}
        if f == k or shipped not in alive:  # a shipped fit that raises decides the verdict
            break
        means = {key: scorer.summary(key, f)[0] for key in alive}
        order = sorted(alive, key=lambda key: -gain(metric, means[key], 0.0))
        leader = means[order[0]]
        gap = allowed_gap(leader, tolerance, relative_tolerance)
        top = set(order[: math.ceil(len(order) / ETA)])
        keep = {
            key
            for key in alive
            if key == shipped
            or key in top
            or gain(metric, leader, means[key]) <= gap
            or gain(metric, means[key], means[shipped])
            >= -(gap + Z * scorer.noise(key, shipped, f))
        }
        dropped.append(len(alive) - len(keep))
        alive = {key: p for key, p in alive.items() if key in keep}
    return dropped


def _racing_note(dropped: Sequence[int], candidates: int, cv: int, fits: int, full: int) -> str:
    """What racing did and what it bought, for the result's notes."""
    after = ", ".join(f"{d} after fold {f}" for f, d in enumerate(dropped, 1) if d) or "none"
    return (
        f"racing over the {cv} folds (successive halving, eta {ETA}): of {candidates} candidates, "
        f"dropped {after}. A candidate was dropped only when it was outside the best "
        f"1/{ETA} by mean over the folds so far, more than the allowed gap behind the leader, "
        f"and behind the shipped parameters on the same folds by more than the allowed gap plus "
        f"{Z:g} standard errors of the paired difference (per-row for means over rows, else "
        f"over folds, so never after one fold). The shipped parameters and the best found were "
        f"scored on every fold; a sensitivity row is over the folds all its values were scored "
        f"on (column 'folds'). {fits} fits instead of a full search's {full}; racing = false "
        f"searches in full."
    )


@library_check
def hyperparameters_tuned(
    factory: Callable[..., Any],
    params: Mapping[str, Any],
    search_space: Mapping[str, Sequence[Any]],
    X: Any,
    y: Any,
    *,
    metric: str | Metric | None = None,
    cv: int = 3,
    n_iter: int = 20,
    tolerance: float | None = None,
    relative_tolerance: float = 0.02,
    seed: int = 0,
    min_rows: int = 30,
    racing: bool = True,
) -> CheckResult:
    """model-3: the shipped ``params`` score within tolerance of the best found by a seeded search.

    ``factory(**params)`` returns an unfitted estimator with ``fit(X, y)``. ``search_space`` maps
    parameter names to the values to try; parameters it does not name stay at their shipped
    values. The table reports each parameter's sensitivity. ``racing`` races the candidates
    over the folds (successive halving, see the module's docstring); ``False`` searches in full.
    """
    if not callable(factory):
        raise ValueError("factory must be a callable returning an unfitted estimator")
    if not search_space:
        raise ValueError("search_space must name at least one parameter with values to try")
    for name, values in search_space.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"search_space[{name!r}] must be a non-empty list of values")
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ValueError(f"cv must be an integer of at least 2, got {cv!r}")
    check_positive("n_iter", n_iter)
    if not isinstance(racing, bool):
        raise ValueError(f"racing must be true or false, got {racing!r}")
    check_positive("relative_tolerance", relative_tolerance, allow_zero=True)

    labels = labels_of(y, n_rows(X))
    keep = labelled(labels)
    idx = np.flatnonzero(keep)
    if len(idx) < max(min_rows, 2 * cv):
        return CheckResult(
            CHECK,
            "skip",
            f"only {len(idx)} labelled rows for {cv}-fold cross-validation (at least "
            f"{max(min_rows, 2 * cv)} needed)",
            rubric_id="model-3",
        )
    Xl, yl = take_rows(X, idx), take_rows(y, idx)
    ylab = labels[idx]
    probe = factory(**params)
    met = resolve_metric(metric, probe, ylab)
    classification = infer_task(probe, ylab) == "classification"
    folds = kfold_indices(ylab, cv, seed, stratify=classification)
    scorer = _Scorer(factory, Xl, yl, folds, met)

    shipped = {**_defaults(factory, space_names=search_space), **params}
    space = {n: list(v) for n, v in search_space.items()}
    for name in space:
        if name in shipped and shipped[name] not in space[name]:
            space[name].append(shipped[name])
    pool: dict[Params, dict[str, Any]] = {}
    for cand in _candidates(space, n_iter, seed):
        pool.setdefault(_key({**shipped, **cand}), {**shipped, **cand})
    for name, values in space.items():
        for v in values:
            pool.setdefault(_key({**shipped, name: v}), {**shipped, name: v})
    pool.setdefault(_key(shipped), shipped)
    if racing:
        dropped = _race(scorer, pool, _key(shipped), met, tolerance, relative_tolerance)
    else:
        for cand_params in pool.values():
            scorer(cand_params)
    sensitivity = []
    for name, values in space.items():
        keys = [(v, _key({**shipped, name: v})) for v in values]
        keys = [(v, key) for v, key in keys if scorer.scored(key)]
        common = min((scorer.scored(key) for _, key in keys), default=cv)
        alone = [(v, scorer.summary(key, common)[0]) for v, key in keys]
        sensitivity.append((name, alone, common))
    shipped_score = scorer(shipped)  # already scored on every fold: no fit

    done = {k: scorer.summary(k) for k in scorer.values if scorer.scored(k) == cv}
    notes = []
    if scorer.errors:
        example = next(iter(scorer.errors.items()))
        notes.append(
            f"{len(scorer.errors)} candidate(s) failed to fit and were left out, e.g. "
            f"{scorer.params[example[0]]}: {example[1]}"
        )
    warned = scorer.warned
    if warned:
        notes.append(
            "warnings while fitting: "
            + ", ".join(f"{name} x{count}" for name, count in sorted(warned.items()))
        )
    full_fits = len(pool) * cv
    if racing:
        data = (
            f"{len(idx)} rows, {cv}-fold CV (seed {seed}), {len(pool)} candidates raced over the "
            f"folds ({len(done)} scored on every fold)"
        )
        notes.append(_racing_note(dropped, len(pool), cv, scorer.fits, full_fits))
    else:
        data = f"{len(idx)} rows, {cv}-fold CV (seed {seed}), {len(done)} candidates"
    if shipped_score is None:
        return CheckResult(
            CHECK,
            "fail",
            f"the shipped parameters {shipped} fail to fit: {scorer.errors[_key(shipped)]}",
            rubric_id="model-3",
            notes=tuple(notes),
        )
    best_key = max(done, key=lambda k: (gain(met, done[k][0], 0.0), k == _key(shipped)))
    best_score = done[best_key][0]
    best = scorer.params[best_key]
    gap = allowed_gap(best_score, tolerance, relative_tolerance)
    shortfall = gain(met, best_score, shipped_score[0])

    rows = []
    for name, alone, common in sensitivity:
        vals = [s for _, s in alone]
        best_alone = max(alone, key=lambda vs: gain(met, vs[1], 0.0))[0] if alone else None
        rows.append(
            (
                name,
                _label(shipped.get(name, "<default>")),
                _label(best.get(name, "<default>")),
                _label(best_alone),
                min(vals) if vals else None,
                max(vals) if vals else None,
                (max(vals) - min(vals)) if vals else None,
                f"{common} of {cv}",
            )
        )
    rows.sort(key=lambda r: -(r[6] or 0.0))
    table = Table(
        (
            "parameter",
            "shipped",
            "in best found",
            "best varied alone",
            f"min {met.name}",
            f"max {met.name}",
            "range (sensitivity)",
            "folds",
        ),
        tuple(rows),
    )
    ranked = sorted(done.items(), key=lambda kv: -gain(met, kv[1][0], 0.0))[:5]
    top = Table(
        ("candidate", f"mean {met.name}", "sd over folds"),
        tuple(
            (
                ", ".join(f"{k}={_label(scorer.params[key].get(k, '<default>'))}" for k in space),
                s[0],
                s[1],
            )
            for key, s in ranked
        ),
    )
    title = "best candidates scored on every fold" if racing else "best candidates"
    notes.insert(0, f"{title}:\n{top.render()}")
    metrics = {
        "shipped_score": shipped_score[0],
        "best_score": best_score,
        "shortfall": shortfall,
        "allowed_gap": gap,
        "fits": float(scorer.fits),
        "full_search_fits": float(full_fits),
    }
    method = (
        f"mean {met.name} over {data}: shipped {shipped_score[0]:.4g}, best {best_score:.4g} "
        f"({', '.join(f'{k}={_label(v)}' for k, v in best.items() if k in space)}); allowed gap "
        f"{describe_gap(gap, tolerance, relative_tolerance)}"
    )
    if shortfall <= gap:
        lead = "shipped parameters are within tolerance of the best found"
        return CheckResult(
            CHECK, "pass", f"{lead}: {method}", table, "model-3", metrics, tuple(notes)
        )
    lead = f"shipped parameters score {shortfall:.4g} worse than the best found"
    return CheckResult(CHECK, "fail", f"{lead}: {method}", table, "model-3", metrics, tuple(notes))


# -- built-in check ----------------------------------------------------------------------------
def search_space_problem(space: Any, settings: Settings) -> str | None:
    """Every entry of ``search_space`` must be a non-empty array of candidate values."""
    for key, values in space.items():
        if not isinstance(values, list) or not values:
            return f"{key}: expected a non-empty array of values, got {values!r}"
    return None


def run_tuning(ctx: CheckContext) -> CheckResult:
    try:
        factory = load_callable(ctx.params["factory"])
    except ImportPathError as exc:
        raise AssetError(f"[tool.mltestscore.checks.model-3] factory: {exc}") from None
    space = ctx.params["search_space"]
    spec = ctx.assets.dataset_spec("training")
    frame = ctx.assets.frame("training")
    y = ctx.assets.y("training")
    X = frame[ctx.assets.features("training")]
    return (
        hyperparameters_tuned(
            factory,
            ctx.params["params"] or {},
            space,
            X[y.notna().to_numpy()],
            y[y.notna()],
            metric=ctx.params["metric"],
            cv=ctx.params["cv"],
            n_iter=ctx.params["n_iter"],
            relative_tolerance=ctx.params["relative_tolerance"],
            seed=ctx.settings.training_seed,
            racing=ctx.params["racing"],
        )
        if spec.target
        else CheckResult("model-3", "skip", "the training data has no target column")
    )


HYPERPARAMETERS_TUNED = BuiltinCheck(
    "model-3",
    "hyperparameters-tuned",
    "the shipped hyperparameters score within tolerance of a seeded search",
    (
        dataset("training", column="target"),
        param("factory", "no estimator factory"),
        param("search_space", "no search space"),
    ),
    run_tuning,
    (
        METRIC,
        Param(
            "factory",
            "string",
            None,
            "import path of a callable(**params) returning an unfitted estimator",
            check=import_path,
            imports=True,
        ),
        Param("params", "table", None, "the shipped hyperparameters"),
        Param(
            "search_space",
            "table",
            None,
            "parameter name -> array of candidate values",
            check=search_space_problem,
        ),
        Param("cv", "integer", 3, "cross-validation folds", 2),
        Param("n_iter", "integer", 20, "random-search candidates", 1),
        Param("relative_tolerance", "number", 0.02, "allowed shortfall relative to the best found"),
        Param(
            "racing",
            "bool",
            True,
            "race candidates over the folds (successive halving: a candidate outside the best "
            "third, behind the leader by more than the allowed gap and behind the shipped "
            "parameters by more than the gap plus 2 standard errors stops early); false scores "
            "every candidate on every fold",
        ),
    ),
    declines="too few labelled training rows for `cv` folds",
)
