"""Overhead of calling a deployed model through the endpoint client, per 1,000 rows, against
direct HTTP calls with the same batching.

A real server on loopback (MLServer with its scikit-learn runtime for ``kserve-v2``, the MLflow
scoring server for ``mlflow``; installed by ``.ci/start_servers.sh``) serves a random forest on
the breast-cancer data (30 numeric columns). For ``--rows`` rows in batches of ``--batch``:

* baseline: a loop of urllib3 POSTs of the protocol's request body (built with
  ``DataFrame.to_dict``/``tolist``), ``json.loads`` of each answer, the predictions concatenated;
* client: ``EndpointModel.predict`` (batching, JSON encoding with NaN as null, rate limiter
  and retry bookkeeping, shape checks), the rate limit set high enough never to wait;
* check: ``deployment_agreement`` (infra-6) of the same model in process against the endpoint,
  against the baseline plus the in-process model's ``predict`` and ``predict_proba``.

Interleaved, best of ``--repeat``; seconds per 1,000 rows and ratios to the baseline.

    python benchmarks/endpoints.py [--rows 1000] [--batch 100] [--repeat 7] [--protocols kserve-v2,mlflow]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def direct(url: str, protocol: str, X: Any, batch: int, pool: Any) -> np.ndarray:
    """The baseline: the same requests, written by hand."""
    out = []
    for start in range(0, len(X), batch):
        part = X.iloc[start : start + batch]
        if protocol == "mlflow":
            body = {"dataframe_split": part.to_dict(orient="split", index=False)}
            target = f"{url}/invocations"
        else:
            body = {
                "inputs": [
                    {"name": c, "shape": [len(part), 1], "datatype": "FP64",
                     "data": part[c].tolist()}
                    for c in part.columns
                ],
                "parameters": {"content_type": "pd"},
                "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
            }  # fmt: skip
            target = f"{url}/infer"
        resp = pool.request(
            "POST", target, body=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        answer = json.loads(resp.data)
        preds = answer["predictions"] if protocol == "mlflow" else answer["outputs"][0]["data"]
        out.append(np.asarray(preds))
    return np.concatenate(out)


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(
    url: str, protocol: str, spec: Any, model: Any, rows: Any, batch: int, repeat: int, pool: Any
) -> tuple[float, float, float, float]:
    """Best seconds of the baseline, the client, the check and the in-process model,
    interleaved ``repeat`` times."""
    from pytest_mltestscore.checks.infra.deployment import deployment_agreement
    from pytest_mltestscore.endpoints import EndpointModel

    def local() -> None:
        model.predict(rows)
        model.predict_proba(rows)

    runs: dict[str, list[float]] = {"base": [], "client": [], "check": [], "local": []}
    for _ in range(repeat):
        runs["base"].append(timed(lambda: direct(url, protocol, rows, batch, pool)))
        runs["client"].append(timed(lambda: EndpointModel(spec).predict(rows)))
        runs["local"].append(timed(local))
        check = lambda: deployment_agreement(model, EndpointModel(spec), rows, sample=len(rows))  # noqa: E731
        runs["check"].append(timed(check))
    return min(runs["base"]), min(runs["client"]), min(runs["check"]), min(runs["local"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--protocols", default="kserve-v2,mlflow")
    opts = parser.parse_args()

    import urllib3
    from _model_servers import mlflow_server, mlserver
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    from pytest_mltestscore.endpoints import EndpointModel
    from pytest_mltestscore.settings import EndpointSpec

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    rows = X.sample(n=opts.rows, replace=True, random_state=0).reset_index(drop=True)
    per = 1000 / opts.rows
    print(
        f"{opts.rows} rows of {X.shape[1]} columns, batches of {opts.batch}, best of "
        f"{opts.repeat}, seconds per 1,000 rows"
    )
    print(
        f"{'protocol':<10} {'baseline':>9} {'client':>9} {'x':>6} {'check':>9} {'vs base+local':>14}"
    )
    for protocol in opts.protocols.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if protocol == "mlflow":
                server = mlflow_server(model, Path(tmp))
            else:
                server = mlserver({"bench": model}, Path(tmp))
            with server as base:
                url = base if protocol == "mlflow" else f"{base}/v2/models/bench"
                spec = EndpointSpec(
                    url=url,
                    protocol=protocol,
                    batch_size=opts.batch,
                    max_requests_per_second=1e6,
                    proba="predict_proba" if protocol == "kserve-v2" else None,
                )
                client = EndpointModel(spec)
                pool = urllib3.PoolManager(maxsize=1)
                expected = direct(url, protocol, rows, opts.batch, pool)
                assert np.array_equal(client.predict(rows), expected.ravel())

                base_s, client_s, check_s, local_s = measure(
                    url, protocol, spec, model, rows, opts.batch, opts.repeat, pool
                )
                print(
                    f"{protocol:<10} {base_s * per:>9.3f} {client_s * per:>9.3f} "
                    f"{client_s / base_s:>6.2f} {check_s * per:>9.3f} "
                    f"{check_s / (base_s + local_s):>14.2f}"
                )


if __name__ == "__main__":
    main()
