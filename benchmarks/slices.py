"""Cost of model-6's sampling allowance: ``slice_quality`` with the bootstrap on and off.

Breast-cancer data (scikit-learn's bundled copy), a logistic regression trained on one half,
the other half (285 rows) cut into 7 random slices of about 40 rows. Each configuration is run
``--repeat`` times in this process; the ratio is allowance on (``confidence = 0.95``,
``n_bootstrap`` resamples per slice) over off (``confidence = 0``, point values only).

    python benchmarks/slices.py [--repeat 3] [--n-bootstrap 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-bootstrap", type=int, default=200)
    opts = parser.parse_args()

    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pytest_mltestscore.checks.model.slices import slice_quality

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(Xtr, ytr)
    X_held, y_held = Xte.reset_index(drop=True), yte.to_numpy()
    slices = pd.DataFrame({"draw": np.random.default_rng(0).permutation(len(X_held)) % 7})

    print(
        f"{len(X_held)} held-out rows, 7 slices, {opts.n_bootstrap} resamples, best of "
        f"{opts.repeat}"
    )
    print(f"{'metric':<10} {'off s':>8} {'on s':>8} {'on / off':>9}")
    for metric in ("accuracy", "roc_auc", "log_loss"):
        best = {}
        for confidence in (0.0, 0.95):
            times = []
            for _ in range(opts.repeat):
                start = time.perf_counter()
                slice_quality(
                    model,
                    X_held,
                    y_held,
                    ["draw"],
                    attributes=slices,
                    metric=metric,
                    confidence=confidence,
                    n_bootstrap=opts.n_bootstrap,
                )
                times.append(time.perf_counter() - start)
            best[confidence] = min(times)
        off, on = best[0.0], best[0.95]
        print(f"{metric:<10} {off:8.4f} {on:8.4f} {on / off:9.1f}")


if __name__ == "__main__":
    main()
