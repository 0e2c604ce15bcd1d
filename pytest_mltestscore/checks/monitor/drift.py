"""Drift between a reference profile and a current profile, gated on effect sizes.

p-values collapse at large n (every column "drifts" at a million rows), so every flag here needs
an effect size above a practical floor, and above a few times what chance alone gives at the
sample sizes in hand; p-values and other distances are reported as information only.

* Numeric columns: the Wasserstein-1 distance between the two distributions, with values
  clipped at the reference's 0.1% and 99.9% quantiles, divided by the standard deviation of the
  clipped reference (``W1/sd``: "by how many reference SDs did the mass move on average"). A
  mean shift of d SD gives ``W1/sd = d``; a 30% change of spread gives about 0.3 * 0.8 = 0.24
  for a normal column; moving the support by 10% of its range moves every value that far.
  Flagged above ``max(w1_floor, w1_multiple * E0)``, ``E0`` being the expected ``W1/sd``
  between two samples of these sizes from the reference distribution itself,
  ``sqrt(2/pi) * sqrt(1/n + 1/m) * integral(sqrt(F(1 - F))) / sd`` (the mean absolute
  Brownian bridge). The floor 0.05 sits 5x above irrelevant 0.01-SD shifts and 5x below the
  0.25-SD shifts that matter; at 10k rows per side ``E0`` is about 0.011 for a normal column.
* Categorical columns: the largest change of one known category's share, flagged above
  ``max(share_floor, share_sigmas * SE)``; the share of rows with categories the reference never
  saw, flagged above ``max(unseen_floor, Good-Turing chance + unseen_sigmas * SE)``.
* Text columns: the characters and the tokens per text, each by ``W1/sd`` as a numeric column;
  the vocabulary by the Jensen-Shannon distance (base 2, in [0, 1]) between the token shares
  over the reference's ``vocabulary_head`` most frequent tokens plus one "other" bucket, flagged
  above ``max(js_floor, js_multiple * (mean + 3 SD))`` of its no-change distribution, drawn
  (seeded) from multinomial samples of these token counts from the pooled shares. Tokens of a
  text are not independent draws, so real no-change distances run above that multinomial
  expectation (on tweets by 2-5%); ``js_multiple`` (1.5, a design effect of 2.25) covers longer,
  burstier texts too. The out-of-vocabulary share is flagged when it rises above what the
  reference shows against itself by split halves (one half's tokens against the other half's
  capped vocabulary) by more than ``max(oov_floor, oov_sigmas * SE)`` (texts as the unit).
  The failure names the tokens whose share moved most.
* Identifier columns are never drift-tested (their values are meant to be new); columns of
  values no check reads (lists, bytes...) are listed as not judged.
* Every column: the null rate, flagged when it rises by more than ``max(null_floor,
  null_sigmas * SE)`` and either at least doubles (``null_ratio``) or rises ``null_jump``.

All statistics come from the profiles' shared histograms and category counts, so comparing 25
columns costs milliseconds whatever the row count. Profile the current data with
``reference=`` the reference profile so both histograms share bins exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ...profile_figures import column_figures
from ...profiles import (
    ColumnProfile,
    DatasetProfile,
    FloatArray,
    NumericSummary,
    TextSummary,
    common_histograms,
)
from ...result import CheckResult, Table, Verdict, library_check


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds of the drift rules; the defaults are justified in the module docstring."""

    w1_floor: float = 0.05
    w1_multiple: float = 5.0
    clip_quantile: float = 0.001
    share_floor: float = 0.02
    share_sigmas: float = 4.0
    unseen_floor: float = 0.005
    unseen_sigmas: float = 4.0
    null_floor: float = 0.001
    null_sigmas: float = 4.0
    null_ratio: float = 2.0
    null_jump: float = 0.05
    min_values: int = 100
    js_floor: float = 0.05
    js_multiple: float = 1.5
    oov_floor: float = 0.02
    oov_sigmas: float = 4.0
    vocabulary_head: int = 1000
    null_draws: int = 40

    def __post_init__(self) -> None:
        for name in (
            "w1_floor",
            "share_floor",
            "unseen_floor",
            "null_floor",
            "null_jump",
            "js_floor",
            "oov_floor",
        ):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        for name in (
            "w1_multiple",
            "share_sigmas",
            "unseen_sigmas",
            "null_sigmas",
            "js_multiple",
            "oov_sigmas",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 <= self.clip_quantile < 0.5:
            raise ValueError(f"clip_quantile must be in [0, 0.5), got {self.clip_quantile!r}")
        if self.null_ratio <= 1:
            raise ValueError(f"null_ratio must be > 1, got {self.null_ratio!r}")
        if self.min_values < 1:
            raise ValueError(f"min_values must be >= 1, got {self.min_values!r}")
        if self.vocabulary_head < 1 or self.null_draws < 10:
            raise ValueError("vocabulary_head must be >= 1 and null_draws >= 10")


@dataclass(frozen=True)
class ColumnDrift:
    """One test on one column: ``drifted`` is None when the test could not be run."""

    column: str
    test: str
    method: str
    statistic: float
    threshold: float
    drifted: bool | None
    why: str
    info: dict[str, float] = field(default_factory=dict)

    def row(self) -> tuple[object, ...]:
        flag = "skip" if self.drifted is None else "DRIFT" if self.drifted else "ok"
        extra = ", ".join(f"{k} {v:.3g}" for k, v in self.info.items())
        return (self.column, self.method, self.statistic, self.threshold, flag, self.why, extra)


TABLE_COLUMNS = ("column", "method", "statistic", "threshold", "drift", "why", "information")


def compare_profiles(
    reference: DatasetProfile,
    current: DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    settings: DriftSettings | None = None,
) -> list[ColumnDrift]:
    """Every drift test on every column of ``columns`` (default: the reference's columns)."""
    s = settings or DriftSettings()
    names = list(reference.columns) if columns is None else list(columns)
    unknown = [c for c in names if c not in reference.columns]
    if unknown:
        raise ValueError(f"columns not in the reference profile: {', '.join(map(repr, unknown))}")
    out: list[ColumnDrift] = []
    for name in names:
        ref = reference.columns[name]
        cur = current.columns.get(name)
        if cur is None:
            out.append(
                ColumnDrift(
                    name, "column", "presence", 0.0, 1.0, True, "absent from the current data"
                )
            )
            continue
        out.extend(_column_drift(ref, cur, s))
    return out


@library_check
def check_drift(
    reference: DatasetProfile,
    current: DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    settings: DriftSettings | None = None,
    check: str = "drift",
    rubric_id: str | None = None,
    names: tuple[str, str] = ("reference", "current"),
) -> CheckResult:
    """Drift of every column as a :class:`CheckResult` (fails when any column drifted).

    Its figures show each drifted column, then a few others, in both profiles (``names``
    labels them in the plots, e.g. training and serving)."""
    s = settings or DriftSettings()
    if current.n_rows == 0:
        return CheckResult(
            check,
            "fail",
            "the current data has no rows (an empty file or an empty sample?)",
            rubric_id=rubric_id,
            metrics={"rows": 0.0},
        )
    if reference.n_rows == 0:
        return CheckResult(check, "skip", "the reference data has no rows", rubric_id=rubric_id)
    results = compare_profiles(reference, current, columns=columns, settings=s)
    drifted = [r for r in results if r.drifted]
    # Null rates alone do not make a verdict: without a distribution test, skip.
    decided = [r for r in results if r.drifted is not None and r.test != "nulls"]
    drifted_columns = sorted({r.column for r in drifted}, key=[r.column for r in results].index)
    n_columns = len({r.column for r in results})
    rules = (
        f"numeric W1/sd > max({s.w1_floor:g}, {s.w1_multiple:g}x no-change expectation); "
        f"category share change > max({100 * s.share_floor:g} points, {s.share_sigmas:g} SE); "
        f"unseen > max({100 * s.unseen_floor:g}%, chance + {s.unseen_sigmas:g} SE); "
        f"null rate up {s.null_ratio:g}x and > {s.null_sigmas:g} SE"
    )
    if any(r.test == "vocabulary" for r in results):
        rules += (
            f"; text: lengths by W1/sd, vocabulary JS distance > max({s.js_floor:g}, "
            f"{s.js_multiple:g}x no-change expectation), out-of-vocabulary share up > max("
            f"{100 * s.oov_floor:g} points, {s.oov_sigmas:g} SE)"
        )
    verdict: Verdict
    if drifted:
        verdict = "fail"
        summary = (
            f"{len(drifted_columns)} of {n_columns} columns drifted "
            f"({', '.join(drifted_columns[:10])}{', ...' if len(drifted_columns) > 10 else ''}); "
            f"{rules}"
        )
    elif decided:
        verdict = "pass"
        summary = f"none of {n_columns} columns drifted; {rules}"
    else:
        verdict = "skip"
        small = min(reference.n_rows, current.n_rows)
        summary = (
            f"no drift test could run on {n_columns} columns: a distribution is compared from "
            f"{s.min_values} values of each side on, and the data has {reference.n_rows} "
            f"reference and {current.n_rows} current rows"
            + (
                "; give the smaller dataset more rows (a longer serving window, or no sample)"
                if small < s.min_values
                else " (too few non-null values in every column)"
            )
        )
    ordered = drifted + [r for r in results if not r.drifted]
    metrics: dict[str, float] = {
        "columns": float(n_columns),
        "columns_drifted": float(len(drifted_columns)),
        "rows": float(current.n_rows),
    }
    for r in results:
        if r.drifted is not None and math.isfinite(r.statistic):
            metrics[f"{r.column}:{r.test}"] = float(r.statistic)
    why: dict[str, list[str]] = {}
    for r in drifted:
        why.setdefault(r.column, []).append(f"{r.method} {r.statistic:.3g} > {r.threshold:.3g}")
    figures = column_figures(
        {column: "; ".join(reasons) for column, reasons in why.items()},
        {names[0]: reference, names[1]: current},
        others=[r.column for r in results],
    )
    return CheckResult(
        check,
        verdict,
        summary,
        Table(TABLE_COLUMNS, tuple(r.row() for r in ordered)),
        rubric_id,
        metrics,
        figures=figures,
    )


# --------------------------------------------------------------------------------------------
# Per column


def _column_drift(ref: ColumnProfile, cur: ColumnProfile, s: DriftSettings) -> list[ColumnDrift]:
    out: list[ColumnDrift] = []
    name = ref.name
    ref_kind, cur_kind = ref.majority_kind, cur.majority_kind
    if cur_kind not in ("empty", ref_kind) or (cur.kind == "mixed" and ref.kind != "mixed"):
        seen = ", ".join(f"{c} {t}" for t, c in cur.types.items() if c)
        out.append(
            ColumnDrift(
                name,
                "type",
                "value types",
                0.0,
                0.0,
                True,
                f"reference {ref.kind}, current {cur.kind} ({seen})",
            )
        )
    if ref_kind == "identifier":
        why = "identifiers are never drift-tested (monitor-2 validates their nulls and repeats)"
        return [
            ColumnDrift(name, "distribution", "none (identifier)", math.nan, math.nan, None, why)
        ]
    if ref_kind == "unsupported":
        kinds = ", ".join(f"{n} {t}" for t, n in ref.nested.items())
        why = f"values no check reads ({kinds or 'nested or binary'})"
        return [
            ColumnDrift(name, "distribution", "none (unsupported)", math.nan, math.nan, None, why)
        ]
    if ref_kind == "numeric" and ref.numeric is not None and cur.numeric is not None:
        out.append(_numeric(name, ref.numeric, cur.numeric, s))
    elif ref_kind == "text" and ref.text is not None:
        if cur.text is not None:
            out.extend(_text(name, ref.text, cur.text, s))
        else:
            why = "the current data was not profiled as text (profile it against the reference)"
            out.append(
                ColumnDrift(name, "vocabulary", "JS distance", math.nan, math.nan, None, why)
            )
    elif ref_kind in ("categorical", "bool") and ref.categorical is not None:
        if cur.categorical is not None:
            out.extend(_categorical(name, ref, cur, s))
    elif ref_kind == "datetime":
        out.append(
            ColumnDrift(
                name,
                "distribution",
                "none (datetime)",
                math.nan,
                math.nan,
                None,
                "timestamps move by design; staleness is checked elsewhere",
            )
        )
    out.append(_nulls(name, ref, cur, s))
    return out


def _nulls(name: str, ref: ColumnProfile, cur: ColumnProfile, s: DriftSettings) -> ColumnDrift:
    n, m = ref.count, cur.count
    if n < s.min_values or m < s.min_values:
        why = f"too few rows (reference {n}, current {m}; need {s.min_values})"
        return ColumnDrift(name, "nulls", "null rate", math.nan, math.nan, None, why)
    r0, r1 = ref.nulls / n, cur.nulls / m
    p = min(1.0, max(r0, 1.0 / n))
    se = math.sqrt(p * (1 - p) * (1 / n + 1 / m))
    rise = max(s.null_floor, s.null_sigmas * se, min(s.null_jump, (s.null_ratio - 1) * r0))
    threshold = min(1.0, r0 + rise)
    drifted = r1 > threshold
    why = (
        f"reference {100 * r0:.3g}%; flagged above +max({100 * s.null_floor:g} points, "
        f"{s.null_sigmas:g} SE {100 * se:.2g} points, "
        f"{s.null_ratio:g}x or +{100 * s.null_jump:g} points)"
    )
    return ColumnDrift(
        name,
        "nulls",
        "null rate",
        r1,
        threshold,
        drifted,
        why,
        {"ratio": r1 / r0 if r0 else math.inf},
    )


def _knots(
    grid_edges: FloatArray, counts: np.ndarray, n: int, lo: float, hi: float
) -> tuple[FloatArray, FloatArray]:
    xs = np.concatenate(([min(lo, grid_edges[0])], grid_edges, [max(hi, grid_edges[-1])]))
    np.clip(xs, lo, hi, out=xs)
    cum = np.concatenate(([0.0], np.cumsum(counts, dtype=np.float64))) / n
    return xs, cum


def _abs_integral(x: FloatArray, d: FloatArray) -> float:
    """Integral of |f| for f piecewise linear through ``(x, d)``, sign changes included."""
    h = np.diff(x)
    a, b = d[:-1], d[1:]
    same = a * b >= 0
    abs_a, abs_b = np.abs(a), np.abs(b)
    total = abs_a + abs_b
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(total > 0, (a * a + b * b) / (2 * total), 0.0)
    return float(np.sum(h * np.where(same, total / 2, crossing)))


def _clipped_moments(x: FloatArray, F: FloatArray) -> tuple[float, float]:
    """Mean and SD of the clipped distribution whose CDF is piecewise linear through (x, F)."""
    mass = np.diff(F)
    mid = (x[:-1] + x[1:]) / 2
    h = np.diff(x)
    atoms_x = np.array([x[0], x[-1]])
    atoms_m = np.array([F[0], 1.0 - F[-1]])
    total = mass.sum() + atoms_m.sum()
    mean = (np.sum(mass * mid) + np.sum(atoms_m * atoms_x)) / total
    second = np.sum(mass * ((mid - mean) ** 2 + h * h / 12)) + np.sum(
        atoms_m * (atoms_x - mean) ** 2
    )
    return float(mean), math.sqrt(max(float(second / total), 0.0))


def numeric_drift_statistics(
    ref: NumericSummary, cur: NumericSummary, clip_quantile: float = 0.001
) -> dict[str, float]:
    """``W1/sd`` on clipped values and companions, from the two histograms alone.

    Keys: ``w1_sd`` (the statistic), ``sd`` (clipped reference SD), ``e0`` (expected ``w1_sd``
    with no change at these sizes), ``mean_shift_sd``, ``spread_ratio``, ``ks`` (largest CDF
    gap), ``ks_pvalue`` (asymptotic, information only), ``psi`` (on reference deciles), and
    ``exact_bins`` (1 when both histograms share bins exactly).
    """
    grid, cr, cc, exact = common_histograms(ref, cur)
    edges = grid.edges()
    xr, Fr = _knots(edges, cr, ref.n, ref.min, ref.max)
    xc, Fc = _knots(edges, cc, cur.n, cur.min, cur.max)
    q_lo, q_hi = (float(v) for v in ref.quantile([clip_quantile, 1 - clip_quantile]))
    # Every knot of either CDF: the shared edges plus both minima and maxima (one sort of an
    # almost sorted array instead of set unions).
    all_pts = np.sort(np.concatenate((edges, [ref.min, ref.max, cur.min, cur.max])))
    inner = all_pts[(all_pts > q_lo) & (all_pts < q_hi)]
    pts = np.concatenate(([q_lo], inner, [q_hi]))
    fr = np.interp(pts, xr, Fr)
    fc = np.interp(pts, xc, Fc)
    w1 = _abs_integral(pts, fr - fc)
    mean_r, sd = _clipped_moments(pts, fr)
    mean_c, sd_c = _clipped_moments(pts, fc)
    n, m = ref.n, cur.n
    root = np.sqrt(np.clip(fr * (1 - fr), 0, None))
    bridge = float(np.sum((root[:-1] + root[1:]) / 2 * np.diff(pts)))
    scale = math.sqrt(2 / math.pi) * math.sqrt(1 / n + 1 / m)
    ks = float(np.max(np.abs(np.interp(all_pts, xr, Fr) - np.interp(all_pts, xc, Fc))))
    eff = n * m / (n + m)
    ks_p = _kolmogorov_pvalue(ks * math.sqrt(eff))
    deciles = np.interp(np.linspace(0.1, 0.9, 9), Fr, xr)  # information only: no bounds
    pr = np.diff(np.concatenate(([0.0], np.interp(deciles, xr, Fr), [1.0])))
    pc = np.diff(np.concatenate(([0.0], np.interp(deciles, xc, Fc), [1.0])))
    return {
        "w1_sd": w1 / sd if sd > 0 else math.nan,
        "sd": sd,
        "e0": scale * bridge / sd if sd > 0 else math.nan,
        "mean_shift_sd": (mean_c - mean_r) / sd if sd > 0 else math.nan,
        "spread_ratio": sd_c / sd if sd > 0 else math.nan,
        "ks": ks,
        "ks_pvalue": ks_p,
        "psi": _psi(pr, pc),
        "exact_bins": 1.0 if exact else 0.0,
        "q_lo": q_lo,
        "q_hi": q_hi,
    }


def _kolmogorov_pvalue(t: float) -> float:
    """Asymptotic P(sqrt(n_eff) * D > t) of the two-sample Kolmogorov-Smirnov statistic."""
    if t < 0.3:
        return 1.0
    k = np.arange(1, 101)
    return float(min(1.0, max(0.0, 2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k * k * t * t)))))


def _psi(p: FloatArray, q: FloatArray, eps: float = 1e-4) -> float:
    p = np.clip(p, eps, None)
    q = np.clip(q, eps, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _numeric(name: str, ref: NumericSummary, cur: NumericSummary, s: DriftSettings) -> ColumnDrift:
    method = "W1/sd"
    if ref.n < s.min_values or cur.n < s.min_values:
        return ColumnDrift(
            name,
            "distribution",
            method,
            math.nan,
            math.nan,
            None,
            f"too few values (reference {ref.n}, current {cur.n}; need {s.min_values})",
        )
    stats = numeric_drift_statistics(ref, cur, s.clip_quantile)
    if not stats["sd"] > 0:
        return _constant_reference(name, ref, cur, stats, s)
    e0 = stats["e0"]
    threshold = max(s.w1_floor, s.w1_multiple * e0)
    statistic = stats["w1_sd"]
    binding = (
        f"floor {s.w1_floor:g} > {s.w1_multiple:g}x no-change expectation {e0:.2g}"
        if s.w1_floor >= s.w1_multiple * e0
        else f"{s.w1_multiple:g}x no-change expectation {e0:.2g} > floor {s.w1_floor:g}"
    )
    why = (
        f"clipped at reference q{100 * s.clip_quantile:g}%/q{100 - 100 * s.clip_quantile:g}%; "
        f"{binding} at n={ref.n}, m={cur.n}"
    )
    if not stats["exact_bins"]:
        why += "; bins re-aligned approximately (profile the current data against the reference)"
    info = {
        "mean shift/sd": stats["mean_shift_sd"],
        "spread ratio": stats["spread_ratio"],
        "KS": stats["ks"],
        "KS p": stats["ks_pvalue"],
        "PSI": stats["psi"],
    }
    return ColumnDrift(
        name, "distribution", method, statistic, threshold, statistic > threshold, why, info
    )


def _constant_reference(
    name: str, ref: NumericSummary, cur: NumericSummary, stats: dict[str, float], s: DriftSettings
) -> ColumnDrift:
    """A reference that is (nearly) one value: the share of current values away from it.

    "Away" means outside the histogram bin holding the reference's value (exact when the
    current data was profiled against the reference grid).
    """
    value = stats["q_lo"]
    _, cr, cc, _ = common_histograms(ref, cur)
    slot = int(np.argmax(cr))
    away_ref = 1.0 - cr[slot] / ref.n
    away_cur = 1.0 - cc[slot] / cur.n
    p = min(1.0, away_ref + 1 / ref.n)
    se = math.sqrt(p * (1 - p) * (1 / ref.n + 1 / cur.n))
    threshold = max(s.unseen_floor, away_ref + s.unseen_sigmas * se)
    why = (
        f"reference is {value:.6g} in {100 * (1 - away_ref):.4g}% of values; flagged above "
        f"max({100 * s.unseen_floor:g}%, reference share + {s.unseen_sigmas:g} SE)"
    )
    return ColumnDrift(
        name,
        "distribution",
        "share away from reference value",
        away_cur,
        threshold,
        away_cur > threshold,
        why,
    )


def _categorical(
    name: str, ref: ColumnProfile, cur: ColumnProfile, s: DriftSettings
) -> list[ColumnDrift]:
    assert ref.categorical is not None and cur.categorical is not None
    rc, cc = ref.categorical, cur.categorical
    n, m = rc.n, cc.n
    if n < s.min_values or m < s.min_values:
        why = f"too few values (reference {n}, current {m}; need {s.min_values})"
        return [
            ColumnDrift(name, "distribution", "max share change", math.nan, math.nan, None, why),
            ColumnDrift(name, "unseen", "unseen share", math.nan, math.nan, None, why),
        ]
    keys = list(rc.counts)
    p = np.array([rc.counts[k] for k in keys], dtype=np.float64) / n
    q = np.array([cc.counts.get(k, 0) for k in keys], dtype=np.float64) / m
    pooled = (p * n + q * m) / (n + m)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    thresholds = np.maximum(s.share_floor, s.share_sigmas * se)
    delta = q - p
    ratio = np.abs(delta) / thresholds
    worst = int(np.argmax(ratio)) if keys else 0
    stat = float(abs(delta[worst])) if keys else 0.0
    thr = float(thresholds[worst]) if keys else s.share_floor
    binding = (
        f"floor {100 * s.share_floor:g} points"
        if thr <= s.share_floor
        else f"{s.share_sigmas:g} SE {100 * thr:.2g} points > floor {100 * s.share_floor:g}"
    )
    why = (
        f"largest move: {keys[worst]!r} {100 * p[worst]:.3g}% -> {100 * q[worst]:.3g}%; {binding}; "
        f"{len(keys)} categories, n={n}, m={m}"
        if keys
        else "no reference categories"
    )
    known = set(keys)
    unseen = sorted(
        ((k, c) for k, c in cc.counts.items() if k not in known), key=lambda kv: (-kv[1], kv[0])
    )
    unseen_rows = sum(c for _, c in unseen) + cc.other_rows
    # Shares of known categories in the current data (the rest is unseen) for the information.
    q_full = np.append(q, unseen_rows / m)
    p_full = np.append(p, rc.other_rows / n)
    info = {"PSI": _psi(p_full, q_full), "JS distance": _js_distance(p_full, q_full)}
    chi_p = _chi2_pvalue(p_full * n, q_full * m)
    if chi_p is not None:
        info["chi2 p"] = chi_p
    share = ColumnDrift(
        name,
        "distribution",
        "max share change",
        stat,
        thr,
        bool(np.any(np.abs(delta) > thresholds)),
        why,
        info,
    )
    expected = rc.singletons / n
    pu = min(1.0, expected + 1 / n)
    se_u = math.sqrt(pu * (1 - pu) * (1 / n + 1 / m))
    thr_u = max(s.unseen_floor, expected + s.unseen_sigmas * se_u)
    unseen_share = unseen_rows / m
    examples = ", ".join(f"{k!r} ({c})" for k, c in unseen[:3])
    why_u = (
        f"flagged above max({100 * s.unseen_floor:g}%, reference singleton share "
        f"{100 * expected:.2g}% + {s.unseen_sigmas:g} SE)"
        + (f"; e.g. {examples}" if examples else "")
    )
    return [
        share,
        ColumnDrift(
            name, "unseen", "unseen share", unseen_share, thr_u, unseen_share > thr_u, why_u
        ),
    ]


def _js_distance(p: FloatArray, q: FloatArray) -> float:
    mid = (p + q) / 2

    def kl(a: FloatArray, b: FloatArray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    return math.sqrt(max(0.0, (kl(p, mid) + kl(q, mid)) / 2))


def _chi2_pvalue(a: FloatArray, b: FloatArray) -> float | None:
    """Chi-square test of homogeneity on two count vectors (information only).

    Computed here rather than with ``scipy.stats.chi2_contingency``: importing ``scipy.stats``
    costs one to two seconds, more than profiling a million rows, for a figure no verdict reads.
    """
    table = np.vstack([a, b]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or table.sum() <= 0:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return chi2_sf(statistic, table.shape[1] - 1)


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for a chi-square variable with ``dof`` degrees of freedom: the regularized upper
    incomplete gamma function Q(dof/2, x/2), by its series below a + 1 and its continued fraction
    above (Numerical Recipes 6.2), to about 1e-12 relative error."""
    if x <= 0:
        return 1.0
    a, z = dof / 2.0, x / 2.0
    log_front = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1.0:  # P(a, z) by its series; Q = 1 - P
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= z / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300  # Q(a, z) by Lentz's continued fraction
    b = z + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


# --------------------------------------------------------------------------------------------
# Text


def _text(name: str, ref: TextSummary, cur: TextSummary, s: DriftSettings) -> list[ColumnDrift]:
    out = []
    for test, what, r, c in (
        ("length", "characters", ref.chars, cur.chars),
        ("tokens per text", "tokens", ref.tokens, cur.tokens),
    ):
        result = _numeric(name, r, c, s)
        out.append(replace(result, test=test, method=f"W1/sd, {what} per text"))
    if ref.n < s.min_values or cur.n < s.min_values:
        why = f"too few texts (reference {ref.n}, current {cur.n}; need {s.min_values})"
        out.append(ColumnDrift(name, "vocabulary", "JS distance", math.nan, math.nan, None, why))
        out.append(
            ColumnDrift(name, "oov", "out-of-vocabulary share", math.nan, math.nan, None, why)
        )
        return out
    out.append(_vocabulary(name, ref, cur, s))
    out.append(_oov(name, ref, cur, s))
    return out


@dataclass(frozen=True)
class VocabularyDrift:
    """How far a text column's token shares moved (see :func:`vocabulary_statistics`)."""

    js: float
    null_mean: float
    null_sd: float
    chi2_p: float | None
    head: int
    moved: tuple[tuple[str, float, float], ...]  # (token, reference share, current share)


N_MOVED = 5
"""Tokens whose share moved most, named in a vocabulary drift's row."""


def vocabulary_statistics(
    ref: TextSummary, cur: TextSummary, *, head: int = 1000, draws: int = 40, seed: int = 0
) -> VocabularyDrift:
    """Jensen-Shannon distance of the token shares over the reference's ``head`` most frequent
    tokens plus "other"; its no-change distribution at these token counts (``draws`` seeded
    multinomial pairs from the pooled shares); the chi-square p-value (information only); and
    the tokens whose share moved most."""
    keys = [t for t, _ in ref.vocabulary.top(head)]
    n, m = ref.token_total, cur.token_total
    rc = np.array([ref.vocabulary.counts[k] for k in keys], dtype=np.float64)
    cc = np.array([cur.vocabulary.counts.get(k, 0) for k in keys], dtype=np.float64)
    a = np.append(rc, max(n - rc.sum(), 0.0))
    b = np.append(cc, max(m - cc.sum(), 0.0))
    js = _js_distance(a / a.sum(), b / b.sum())
    pooled = (a + b) / (a.sum() + b.sum())
    rng = np.random.default_rng(seed)
    sa = rng.multinomial(n, pooled, size=draws) / n
    sb = rng.multinomial(m, pooled, size=draws) / m
    null = np.array([_js_distance(x, y) for x, y in zip(sa, sb, strict=True)])
    candidates = set(keys) | {t for t, _ in cur.vocabulary.top(head)}
    moved = sorted(
        (
            (t, ref.vocabulary.counts.get(t, 0) / n, cur.vocabulary.counts.get(t, 0) / m)
            for t in candidates
        ),
        key=lambda t: (-abs(t[2] - t[1]), t[0]),
    )
    return VocabularyDrift(
        js,
        float(null.mean()),
        float(null.std(ddof=1)),
        _chi2_pvalue(a, b),
        len(keys),
        tuple(moved[:N_MOVED]),
    )


def _vocabulary(name: str, ref: TextSummary, cur: TextSummary, s: DriftSettings) -> ColumnDrift:
    stats = vocabulary_statistics(ref, cur, head=s.vocabulary_head, draws=s.null_draws)
    chance = s.js_multiple * (stats.null_mean + 3 * stats.null_sd)
    threshold = max(s.js_floor, chance)
    moved = ", ".join(f"{t!r} {100 * p:.2g}% -> {100 * q:.2g}%" for t, p, q in stats.moved)
    binding = (
        f"floor {s.js_floor:g}"
        if threshold == s.js_floor
        else f"{s.js_multiple:g}x no-change expectation {stats.null_mean:.3g} (+3 SD)"
    )
    why = (
        f"moved most: {moved}; {stats.head} most frequent reference tokens + other; "
        f"{binding} at {ref.token_total} / {cur.token_total} tokens"
    )
    info = {"JS no-change mean": stats.null_mean}
    if stats.chi2_p is not None:
        info["chi2 p"] = stats.chi2_p
    return ColumnDrift(
        name, "vocabulary", "JS distance", stats.js, threshold, stats.js > threshold, why, info
    )


def _oov(name: str, ref: TextSummary, cur: TextSummary, s: DriftSettings) -> ColumnDrift:
    if cur.oov is not None and cur.vocabulary_id == ref.fingerprint:
        share, exact = cur.oov / cur.token_total if cur.token_total else 0.0, True
    else:
        share, exact = cur.oov_share(ref.vocabulary_set)
    expected = ref.split_half_oov()
    p = min(max(expected, 1.0 / ref.n), 1.0)
    se = math.sqrt(p * (1 - p) * (1 / ref.n + 1 / cur.n))
    threshold = min(1.0, expected + max(s.oov_floor, s.oov_sigmas * se))
    why = (
        f"reference against itself by split halves {100 * expected:.3g}%; flagged above "
        f"+max({100 * s.oov_floor:g} points, {s.oov_sigmas:g} SE {100 * se:.2g} points, "
        f"texts as the unit); vocabulary of {len(ref.vocabulary.counts)} tokens"
        + ("" if exact else "; current share read from capped counts (at most)")
    )
    return ColumnDrift(
        name, "oov", "out-of-vocabulary share", share, threshold, share > threshold, why
    )
