"""Models called where they are deployed, against real servers on loopback: the MLflow scoring
server and MLServer (scikit-learn runtime, and a runtime that misbehaves on request).

Each protocol predicts what the model predicts in process; an endpoint that is down, slow,
fails once, always fails, or answers with a wrong shape gives a clear error naming the server;
the rate limit holds (the server counts and times the requests it receives); tokens are masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _model_servers import free_port, mlflow_server, mlserver, requests_logged

from pytest_mltestscore.endpoints import (
    EndpointModel,
    EndpointResponseError,
    EndpointUnavailable,
)
from pytest_mltestscore.settings import ConfigError, EndpointSpec, TableReader, parse_models

pytest.importorskip("sklearn")
pytest.importorskip("urllib3")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def forest(data: tuple[pd.DataFrame, pd.Series]) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    X, y = data
    return RandomForestClassifier(n_estimators=15, random_state=0).fit(X, y)


def _model(url: str, protocol: str, **kw: Any) -> EndpointModel:
    return EndpointModel(EndpointSpec(url=url, protocol=protocol, **kw), key="[models.deployed]")


@pytest.fixture(scope="module")
def mlflow_url(forest: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(forest, tmp_path_factory.mktemp("mlflow")) as url:
        yield url


BEHAVIOURS = {
    "slow": {"delay": 3.0},
    "flaky": {"fail_first": 1, "status": 500},
    "down": {"fail_first": 1000, "status": 503},
    "short": {"wrong_shape": True},
    "counted": {},
}


@pytest.fixture(scope="module")
def server(forest: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One MLServer: ``cancer`` with the scikit-learn runtime, and one model per misbehaviour
    in the test runtime (which logs the requests it receives)."""
    workdir = tmp_path_factory.mktemp("mlserver")
    models = {"cancer": forest, **dict.fromkeys(BEHAVIOURS, forest)}
    with mlserver(models, workdir, BEHAVIOURS) as base:
        yield base, workdir


@pytest.fixture(scope="module")
def kserve_url(server: tuple[str, Path]) -> str:
    return f"{server[0]}/v2/models/cancer"


# -- each protocol predicts what the model predicts -----------------------------------------------
def test_mlflow_protocol(mlflow_url: str, forest: Any, data: tuple) -> None:
    X = data[0].iloc[:230]
    model = _model(mlflow_url, "mlflow", batch_size=100)
    model.probe()
    assert np.array_equal(model.predict(X), forest.predict(X))
    assert model.requests == 1 + 3  # the probe, then 230 rows in batches of 100
    assert not hasattr(model, "predict_proba")


def test_kserve_v2_protocol_with_probabilities(kserve_url: str, forest: Any, data: tuple) -> None:
    X = data[0].iloc[:120]
    model = _model(kserve_url, "kserve-v2", batch_size=50, proba="predict_proba")
    model.probe()
    assert np.array_equal(model.predict(X), forest.predict(X))
    assert np.allclose(model.predict_proba(X), forest.predict_proba(X), rtol=0, atol=1e-12)
    assert model.requests == 1 + 3  # predict_proba of the same rows asks nothing more


def test_json_protocol_maps_request_and_response(mlflow_url: str, forest: Any, data: tuple) -> None:
    """The generic mapping, here to the MLflow server's records format."""
    X = data[0].iloc[:40]
    model = _model(f"{mlflow_url}/invocations", "json", request_key="dataframe_records")
    model.probe()
    assert np.array_equal(model.predict(X), forest.predict(X))


def test_kserve_unknown_model_is_named(kserve_url: str) -> None:
    model = _model(kserve_url.replace("/cancer", "/no-such-model"), "kserve-v2")
    with pytest.raises(EndpointUnavailable, match=r"the model is not on this server \(HTTP 404"):
        model.probe()


# -- failures -----------------------------------------------------------------------------------
def test_endpoint_down(data: tuple) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    model = _model(url, "mlflow", retries=1)
    with pytest.raises(
        EndpointUnavailable, match=rf"{url}: cannot connect: .*refused.* \(after 2 attempts\)"
    ):
        model.predict(data[0].iloc[:3])
    with pytest.raises(EndpointUnavailable, match="cannot connect"):
        model.probe()


def test_slow_endpoint_times_out(server: tuple[str, Path], data: tuple) -> None:
    model = _model(f"{server[0]}/v2/models/slow", "kserve-v2", timeout=0.5, retries=3)
    with pytest.raises(EndpointUnavailable, match=r"no answer within the timeout of 0.5 s"):
        model.predict(data[0].iloc[:5])
    assert model.requests == 1  # a timeout is not retried: a slow service stays slow


def test_500_then_200_is_retried(server: tuple[str, Path], forest: Any, data: tuple) -> None:
    X = data[0].iloc[:30]
    model = _model(f"{server[0]}/v2/models/flaky", "kserve-v2")
    assert np.array_equal(model.predict(X), forest.predict(X))
    assert len(requests_logged(server[1] / "requests-flaky.jsonl")) == 2


def test_503_beyond_the_retries_names_the_status(server: tuple[str, Path], data: tuple) -> None:
    model = _model(f"{server[0]}/v2/models/down", "kserve-v2", retries=2)
    with pytest.raises(EndpointResponseError, match=r"HTTP 503 for 5 rows after retries"):
        model.predict(data[0].iloc[:5])
    assert len(requests_logged(server[1] / "requests-down.jsonl")) == 3


def test_wrong_shape_is_a_response_error(server: tuple[str, Path], data: tuple) -> None:
    model = _model(f"{server[0]}/v2/models/short", "kserve-v2")
    with pytest.raises(EndpointResponseError, match=r"returned 9 predictions for 10 rows"):
        model.predict(data[0].iloc[:10])


def test_rate_limit_holds(server: tuple[str, Path], data: tuple) -> None:
    """50 rows, batches of 10, at most 4 requests a second: 5 requests, 0.25 s apart at least
    as the server receives them (the first request starts at once)."""
    model = _model(
        f"{server[0]}/v2/models/counted", "kserve-v2", batch_size=10, max_requests_per_second=4
    )
    model.predict(data[0].iloc[:50])
    seen = requests_logged(server[1] / "requests-counted.jsonl")
    assert [r["rows"] for r in seen] == [10] * 5
    gaps = np.diff([r["time"] for r in seen])
    assert gaps.min() >= 0.25 - 0.03, gaps  # 30 ms of scheduling slack on a loaded machine


def test_rate_limit_is_shared_by_xdist_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    model = _model("http://127.0.0.1:1", "mlflow", max_requests_per_second=8)
    assert model.limiter.interval == pytest.approx(0.5)


def test_tokens_from_the_environment_are_masked(
    kserve_url: str, monkeypatch: pytest.MonkeyPatch, data: tuple
) -> None:
    monkeypatch.setenv("MLTS_TEST_TOKEN", "tok-5ecret-123")
    model = _model(
        kserve_url.replace("/cancer", "/nope"),
        "kserve-v2",
        headers={"Authorization": "Bearer ${MLTS_TEST_TOKEN}"},
    )
    with pytest.raises(EndpointResponseError) as caught:
        model.predict(data[0].iloc[:2])
    assert "tok-5ecret-123" not in str(caught.value)
    assert model._headers is not None
    assert model._headers["Authorization"] == "Bearer tok-5ecret-123"  # sent as configured
    monkeypatch.delenv("MLTS_TEST_TOKEN")
    unset = _model(kserve_url, "kserve-v2", headers={"X-Api-Key": "${MLTS_TEST_TOKEN}"})
    with pytest.raises(EndpointUnavailable, match="environment variable MLTS_TEST_TOKEN"):
        unset.probe()


# -- configuration ------------------------------------------------------------------------------
def _parse(entry: dict) -> Any:
    reader = TableReader(Path("pyproject.toml"), "tool.mltestscore.models", {"deployed": entry})
    return parse_models(reader, Path("."))["deployed"]


def test_config_of_a_deployed_model() -> None:
    spec = _parse(
        {"url": "https://ml.example.org/v2/models/rain", "protocol": "kserve-v2",
         "headers": {"Authorization": "Bearer ${TOKEN}"}, "max_requests_per_second": 2,
         "batch_size": 64, "timeout": 3, "retries": 0, "verify": "/etc/ssl/ca.pem",
         "proba": "predict_proba"}
    )  # fmt: skip
    ep = spec.endpoint
    assert (ep.protocol, ep.batch_size, ep.max_requests_per_second, ep.retries) == (
        "kserve-v2", 64, 2.0, 0
    )  # fmt: skip
    assert ep.verify == "/etc/ssl/ca.pem" and ep.timeout == 3.0
    assert _parse({"url": "http://h/invocations", "protocol": "mlflow"}).endpoint.verify is True


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "http://h"}, "missing; a model given by url needs its protocol"),
        ({"url": "http://h", "protocol": "mlfow"}, "unknown protocol 'mlfow'; did you mean 'mlflow'"),
        ({"url": "ftp://h", "protocol": "mlflow"}, "expected an http:// or https:// URL"),
        ({"url": "http://h/infer", "protocol": "kserve-v2"}, "http://host:port/v2/models/NAME"),
        ({"url": "http://h", "protocol": "mlflow", "proba": "p"}, "probabilities need kserve-v2"),
        ({"url": "http://h", "protocol": "mlflow", "request_key": "x"}, "only the json protocol"),
        ({"path": "m.skops", "timeout": 3}, "only a model given by url .* takes timeout"),
        ({"url": "http://h", "protocol": "json", "max_requests_per_second": 0}, "a number of at least"),
        ({"url": "http://h", "protocol": "json", "headers": {"A": 1}}, "a table of strings"),
        ({"path": "m.skops", "url": "http://h", "protocol": "json"}, "exactly one of 'load'"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"\[tool\.mltestscore\.models\.deployed\] .*" + message):
        _parse(entry)
