"""Models called where they are deployed: an HTTP endpoint that stands wherever a model does.

:class:`EndpointModel` has ``predict`` (and ``predict_proba`` when the configuration says where
the probabilities are), so every check that takes a model takes a deployed one. It speaks three
protocols:

* ``mlflow``: the MLflow scoring server, ``POST /invocations`` with ``{"dataframe_split":
  {"columns": [...], "data": [[...], ...]}}``, answered by ``{"predictions": [...]}``;
* ``kserve-v2``: the Open Inference Protocol (MLServer, KServe, Triton), ``POST
  /v2/models/NAME/infer`` with one input tensor per column (``parameters.content_type = "pd"``,
  MLServer's pandas codec); the output named ``predict`` (else the first) holds the predictions,
  and ``proba = "predict_proba"`` also requests that output;
* ``json``: a generic mapping, ``POST url`` with ``{request_key: [{column: value, ...}, ...]}``
  (default key ``instances``), answered by ``{response_key: [...]}`` (default ``predictions``) or
  a bare list; ``proba = "KEY"`` reads probabilities from that key of the answer.

A check must never flood a production service: rows go in batches of at most ``batch_size``,
requests start at most ``max_requests_per_second`` a second (shared by the pytest-xdist
workers: each takes its share), each waits at most ``timeout`` seconds, and a 429 or 5xx answer
(503 above all) or a refused connection is retried at most ``retries`` times with exponential
backoff (honouring ``Retry-After``). A timeout is not retried. TLS certificates are verified
unless ``verify = false`` (or ``verify`` names a CA bundle). Header values and the URL may hold
``${VAR}``, read from the environment when the first request is made; every message masks them.

Failures are :class:`EndpointError` s whose messages name the server (masked):
:class:`EndpointUnavailable` when it cannot be reached or does not answer in time,
:class:`EndpointResponseError` when it answers wrongly (an error status, malformed JSON, a wrong
number of predictions): the latter is a finding about the service.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .cost import HTTP, spending
from .masking import MissingVariable, expand, mask, mask_url, url_secrets

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

    from .settings import EndpointSpec

INSTALL_HINT = "pip install 'pytest-mltestscore[serving]'"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
_BODY_PREVIEW = 200


class EndpointError(Exception):
    """A deployed model could not be called; the message names the server (masked)."""


class EndpointUnavailable(EndpointError):
    """The server cannot be reached, refuses the login, or does not answer in time."""


class EndpointResponseError(EndpointError):
    """The server answered, but wrongly: an error status, malformed JSON, a wrong shape."""


class RateLimiter:
    """Start at most ``per_second`` requests a second (the pacing of a token bucket of one)."""

    def __init__(self, per_second: float) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second must be positive, got {per_second!r}")
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Sleep until the next request may start; return the seconds slept."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        slept = start - now
        if slept > 0:
            time.sleep(slept)
        return slept


def workers() -> int:
    """pytest-xdist workers sharing the rate limit (1 outside xdist)."""
    try:
        return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


@dataclass(frozen=True)
class _Call:
    """One answered request: its JSON, and the seconds the request took (all attempts)."""

    body: Any
    seconds: float


def _urllib3() -> Any:
    try:
        import urllib3
    except ImportError:
        raise EndpointError(f"calling a deployed model needs urllib3: {INSTALL_HINT}") from None
    return urllib3


def _kserve_base(url: str) -> str:
    """``http://host/v2/models/NAME[/versions/V]`` from a URL that may end in ``/infer``."""
    base = url.rstrip("/")
    for suffix in ("/infer", "/ready"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def _mlflow_base(url: str) -> str:
    base = url.rstrip("/")
    return base[: -len("/invocations")] if base.endswith("/invocations") else base


class EndpointModel:
    """A deployed model behind ``spec.url``, called with ``predict`` like any other model.

    ``key`` is the configuration table (for messages). Counts every request it sends
    (``requests``) and the seconds of HTTP the last ``predict`` took (``last_call_seconds``,
    waits imposed by the rate limit and backoff excluded: the latency a caller would see).
    """

    def __init__(self, spec: EndpointSpec, key: str = "") -> None:
        self.spec = spec
        self.key = key
        self.url = spec.url
        self.shown = mask_url(spec.url)
        self.requests = 0
        self.last_call_seconds = 0.0
        self.limiter = RateLimiter(spec.max_requests_per_second / workers())
        self._pool: Any = None
        self._target: str | None = None
        self._headers: dict[str, str] | None = None
        self._secrets: list[str] = []
        self._last: tuple[Any, npt.NDArray[Any], npt.NDArray[np.float64] | None] | None = None
        if spec.features is not None:
            self.feature_names_in_ = np.asarray(spec.features, dtype=object)

    def __repr__(self) -> str:
        return f"EndpointModel({self.spec.protocol} at {self.shown})"

    # -- what checks call ---------------------------------------------------------------------
    def predict(self, X: Any) -> npt.NDArray[Any]:
        return self._outputs(X)[0]

    @property
    def predict_proba(self) -> Any:
        """Present only when the configuration says where probabilities are (``proba``)."""
        if self.spec.proba is None:
            raise AttributeError("predict_proba")
        return self._predict_proba

    def _predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        proba = self._outputs(X)[1]
        assert proba is not None
        return proba

    def call_seconds(self, X: Any) -> float:
        """Predict ``X`` afresh (never from the kept answer) and return the seconds of HTTP it
        took: the client-side latency, without the waits of the rate limit and the backoff."""
        self._outputs(X, fresh=True)
        return self.last_call_seconds

    def _outputs(
        self, X: Any, fresh: bool = False
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64] | None]:
        """Predictions (and probabilities) for every row of ``X``, in batches; the answer to
        the last frame is kept, so ``predict`` then ``predict_proba`` sends one set of requests."""
        import pandas as pd

        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        fingerprint = _fingerprint(frame)
        if not fresh and self._last is not None and self._last[0] == fingerprint:
            return self._last[1], self._last[2]
        preds: list[npt.NDArray[Any]] = []
        probas: list[npt.NDArray[np.float64]] = []
        seconds = 0.0
        size = self.spec.batch_size
        for start in range(0, len(frame), size):
            batch = frame.iloc[start : start + size]
            pred, proba, took = self._call(batch)
            seconds += took
            preds.append(pred)
            if proba is not None:
                probas.append(proba)
        if not preds:
            raise EndpointError(f"{self.shown}: no rows to send")
        self.last_call_seconds = seconds
        pred_all = np.concatenate(preds) if len(preds) > 1 else preds[0]
        proba_all = None
        if self.spec.proba is not None:
            proba_all = np.concatenate(probas) if len(probas) > 1 else probas[0]
        self._last = (fingerprint, pred_all, proba_all)
        return pred_all, proba_all

    def probe(self) -> None:
        """One cheap request: the server answers and knows the model (no rows sent).

        ``mlflow``: ``GET /ping``; ``kserve-v2``: ``GET /v2/models/NAME/ready``; ``json``: a
        ``GET`` of the URL, where any answer but 401/403/404 shows a server listening.
        """
        protocol = self.spec.protocol
        if protocol == "mlflow":
            url, ok = _mlflow_base(self._resolved()) + "/ping", {200}
        elif protocol == "kserve-v2":
            url, ok = _kserve_base(self._resolved()) + "/ready", {200}
        else:
            url, ok = self._resolved(), None
        status, body = self._send("GET", url, None)
        if status in (401, 403):
            raise EndpointUnavailable(
                f"{self.shown}: the server refused the credentials (HTTP {status}); set the "
                "headers (e.g. Authorization) in the model's headers"
            )
        if ok is not None and status not in ok:
            what = "the model is not on this server" if status == 404 else "not ready"
            raise EndpointUnavailable(
                f"{self.shown}: {what} (HTTP {status} from {mask_url(self._mask(url))}: "
                f"{self._preview(body)})"
            )
        if ok is None and status == 404:
            raise EndpointUnavailable(f"{self.shown}: no such path on the server (HTTP 404)")

    # -- requests -------------------------------------------------------------------------------
    def _resolved(self) -> str:
        if self._target is None:
            try:
                url, secrets = expand(self.spec.url)
                headers = {}
                for name, value in self.spec.headers.items():
                    headers[name], found = expand(value)
                    secrets += found
                    if name.lower() in ("authorization", "proxy-authorization", "x-api-key"):
                        secrets.append(headers[name])
            except MissingVariable as exc:
                raise EndpointUnavailable(
                    f"{self.shown}: environment variable {exc.name} (named in url or headers) "
                    "is not set"
                ) from None
            if not url.startswith(("http://", "https://")) or (
                self.spec.protocol == "kserve-v2" and "/v2/models/" not in url
            ):
                where = (
                    "http://host:port/v2/models/NAME"
                    if self.spec.protocol == "kserve-v2"
                    else "an http(s) URL"
                )
                raise EndpointUnavailable(
                    f"{self.shown}: the url, once expanded, is {mask_url(mask(url, secrets))!r}; "
                    f"expected {where}"
                )
            self._secrets = secrets + url_secrets(url)
            self._headers = {"Content-Type": "application/json", **headers}
            self._target = url
        return self._target

    def _mask(self, text: str) -> str:
        return mask(text, self._secrets)

    def _preview(self, body: bytes) -> str:
        text = body[:_BODY_PREVIEW].decode("utf-8", "replace")
        return self._mask(" ".join(text.split())) or "empty body"

    def _pool_manager(self) -> Any:
        if self._pool is None:
            urllib3 = _urllib3()
            verify = self.spec.verify
            kwargs: dict[str, Any] = {"retries": False, "maxsize": 1}
            if verify is False:
                kwargs["cert_reqs"] = "CERT_NONE"
            elif isinstance(verify, str):
                kwargs["cert_reqs"] = "CERT_REQUIRED"
                kwargs["ca_certs"] = verify
            self._pool = urllib3.PoolManager(**kwargs)
        return self._pool

    def _send(self, method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        """One request with the rate limit and the retries; returns status and body."""
        status, data, _ = self._send_timed(method, url, body)
        return status, data

    def _send_timed(self, method: str, url: str, body: bytes | None) -> tuple[int, bytes, float]:
        with spending(HTTP):
            return self._send_with_retries(method, url, body)

    def _send_with_retries(
        self, method: str, url: str, body: bytes | None
    ) -> tuple[int, bytes, float]:
        urllib3 = _urllib3()
        pool = self._pool_manager()
        self._resolved()
        timeout = urllib3.Timeout(total=self.spec.timeout)
        seconds = 0.0
        attempt = 0
        while True:
            self.limiter.wait()
            self.requests += 1
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    # verify = false is the user's explicit choice: no warning per request
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                    resp = pool.request(
                        method, url, body=body, headers=self._headers, timeout=timeout
                    )
                seconds += time.perf_counter() - t0
            except urllib3.exceptions.TimeoutError as exc:
                if isinstance(exc, urllib3.exceptions.NewConnectionError):  # refused: not slow
                    seconds += time.perf_counter() - t0
                    if attempt < self.spec.retries:
                        self._backoff(attempt, None)
                        attempt += 1
                        continue
                    raise self._unreachable(exc, attempt) from None
                raise EndpointUnavailable(
                    f"{self.shown}: no answer within the timeout of {self.spec.timeout:g} s "
                    f"({method} {mask_url(self._mask(url))})"
                ) from None
            except urllib3.exceptions.HTTPError as exc:
                seconds += time.perf_counter() - t0
                if attempt < self.spec.retries and not _is_tls(exc):
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise self._unreachable(exc, attempt) from None
            if resp.status in RETRY_STATUSES and attempt < self.spec.retries:
                self._backoff(attempt, resp.headers.get("Retry-After"))
                attempt += 1
                continue
            return resp.status, resp.data, seconds

    def _unreachable(self, exc: BaseException, attempt: int) -> EndpointUnavailable:
        return EndpointUnavailable(
            f"{self.shown}: cannot connect: {self._mask(_exc_reason(exc))}"
            + (f" (after {attempt + 1} attempts)" if attempt else "")
        )

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = BACKOFF_SECONDS * (2**attempt)
        if retry_after:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own delay
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, MAX_BACKOFF_SECONDS))

    def _call(
        self, batch: pd.DataFrame
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64] | None, float]:
        protocol = self.spec.protocol
        url = self._resolved()
        if protocol == "mlflow":
            url = _mlflow_base(url) + "/invocations"
            payload: Any = {
                "dataframe_split": {
                    "columns": [str(c) for c in batch.columns],
                    "data": _rows(batch),
                }
            }
        elif protocol == "kserve-v2":
            url = _kserve_base(url) + "/infer"
            payload = _kserve_request(batch, self.spec.proba)
        else:
            columns = [str(c) for c in batch.columns]
            payload = {
                self.spec.request_key: [dict(zip(columns, r, strict=True)) for r in _rows(batch)]
            }
        status, data, seconds = self._send_timed("POST", url, _dumps(payload))
        if status >= 400:
            raise EndpointResponseError(
                f"{self.shown}: HTTP {status} for {len(batch)} rows"
                + (" after retries" if status in RETRY_STATUSES and self.spec.retries else "")
                + f": {self._preview(data)}"
            )
        try:
            answer = json.loads(data)
        except ValueError:
            raise EndpointResponseError(
                f"{self.shown}: the answer is not JSON: {self._preview(data)}"
            ) from None
        pred, proba = self._decode(answer, len(batch))
        return pred, proba, seconds

    def _decode(
        self, answer: Any, n: int
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64] | None]:
        protocol = self.spec.protocol
        proba_key = self.spec.proba
        proba: Any = None
        if protocol == "kserve-v2":
            pred, proba = _kserve_outputs(answer, proba_key, self.shown)
        elif isinstance(answer, list):
            pred = answer
        elif isinstance(answer, dict):
            key = "predictions" if protocol == "mlflow" else self.spec.response_key
            if key not in answer:
                raise EndpointResponseError(
                    f"{self.shown}: the answer has no {key!r} (keys: {', '.join(map(str, answer))})"
                )
            pred = answer[key]
            if proba_key is not None:
                if proba_key not in answer:
                    raise EndpointResponseError(
                        f"{self.shown}: the answer has no {proba_key!r} (proba = {proba_key!r})"
                    )
                proba = answer[proba_key]
        else:
            raise EndpointResponseError(f"{self.shown}: unexpected answer {str(answer)[:80]!r}")
        pred_arr = _as_predictions(pred, n, self.shown)
        proba_arr = None
        if proba_key is not None:
            try:
                proba_arr = np.asarray(proba, dtype=float)
            except (TypeError, ValueError):
                raise EndpointResponseError(
                    f"{self.shown}: the probabilities ({proba_key}) are not numbers"
                ) from None
            if proba_arr.ndim != 2 or proba_arr.shape[0] != n:
                raise EndpointResponseError(
                    f"{self.shown}: probabilities ({proba_key}) of shape {proba_arr.shape} "
                    f"for {n} rows, expected ({n}, classes)"
                )
        return pred_arr, proba_arr


def _fingerprint(frame: pd.DataFrame) -> tuple[Any, ...]:
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return (frame.shape, tuple(map(str, frame.columns)), int(hashed.sum()), int(hashed[:1].sum()))


def _is_tls(exc: BaseException) -> bool:
    return "SSL" in type(exc).__name__ or "CERTIFICATE" in str(exc).upper()


def _exc_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc)
    # urllib3 wraps: "<urllib3.connection.HTTPConnection object at 0x..>: Failed to ..."
    if "object at 0x" in text and ": " in text:
        text = text.split(": ", 1)[1]
    return " ".join(text.split())


def _column_values(series: pd.Series) -> list[Any]:
    """A column as JSON-safe Python values (NaN and NaT as null, times as ISO 8601)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.isoformat() for v in series]
    if pd.api.types.is_bool_dtype(series):
        return [None if pd.isna(v) else bool(v) for v in series]
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        out: list[Any] = values.tolist()
        if np.isnan(values).any():
            out = [None if math.isnan(v) else v for v in out]
        return out
    if pd.api.types.is_integer_dtype(series):
        if series.isna().any():
            return [None if pd.isna(v) else int(v) for v in series]
        return series.to_numpy().tolist()
    return [None if _is_missing(v) else _native(v) for v in series]


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _native(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _rows(frame: pd.DataFrame) -> list[list[Any]]:
    columns = [_column_values(frame[c]) for c in frame.columns]
    return (
        [list(r) for r in zip(*columns, strict=True)]
        if columns
        else [[] for _ in range(len(frame))]
    )


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")


def _kserve_datatype(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "BOOL"
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return "INT64"
    if pd.api.types.is_numeric_dtype(series):
        return "FP64"
    return "BYTES"


def _kserve_request(frame: pd.DataFrame, proba: str | None) -> dict[str, Any]:
    n = len(frame)
    inputs = [
        {
            "name": str(c),
            "shape": [n, 1],
            "datatype": _kserve_datatype(frame[c]),
            "data": _column_values(frame[c]),
        }
        for c in frame.columns
    ]
    request: dict[str, Any] = {"inputs": inputs, "parameters": {"content_type": "pd"}}
    if proba is not None:
        request["outputs"] = [{"name": "predict"}, {"name": proba}]
    return request


def _kserve_outputs(answer: Any, proba: str | None, shown: str) -> tuple[Any, Any]:
    outputs = answer.get("outputs") if isinstance(answer, dict) else None
    if not isinstance(outputs, list) or not outputs:
        raise EndpointResponseError(f"{shown}: the answer has no outputs")
    by_name = {o.get("name"): o for o in outputs if isinstance(o, dict)}
    main = by_name.get("predict") or next(o for o in outputs if o.get("name") != proba)
    got_proba = None
    if proba is not None:
        if proba not in by_name:
            raise EndpointResponseError(
                f"{shown}: the answer has no output {proba!r} (outputs: "
                f"{', '.join(map(str, by_name))})"
            )
        got_proba = _tensor(by_name[proba], shown)
    return _tensor(main, shown), got_proba


def _tensor(output: Mapping[str, Any], shown: str) -> npt.NDArray[Any]:
    data, shape = output.get("data"), output.get("shape")
    if not isinstance(data, list) or not isinstance(shape, list):
        raise EndpointResponseError(f"{shown}: output {output.get('name')!r} lacks data or shape")
    arr = np.asarray(data)
    try:
        return arr.reshape([int(s) for s in shape])
    except ValueError:
        raise EndpointResponseError(
            f"{shown}: output {output.get('name')!r} holds {arr.size} values for shape {shape}"
        ) from None


def _as_predictions(pred: Any, n: int, shown: str) -> npt.NDArray[Any]:
    if isinstance(pred, list) and pred and all(isinstance(p, dict) for p in pred):
        keys = {k for p in pred for k in p}
        if len(keys) != 1:
            raise EndpointResponseError(
                f"{shown}: predictions are records with several fields ({', '.join(sorted(keys))})"
            )
        (only,) = keys
        pred = [p.get(only) for p in pred]
    arr = np.asarray(pred)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 0 or arr.shape[0] != n:
        got = "a single value" if arr.ndim == 0 else f"{arr.shape[0]} predictions"
        raise EndpointResponseError(f"{shown}: returned {got} for {n} rows")
    return arr
