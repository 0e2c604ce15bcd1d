"""Real model servers on loopback for the live-serving tests: the MLflow scoring server and
MLServer (scikit-learn runtime, or a runtime of the test's own), each run from its own
virtualenv that ``.ci/start_servers.sh`` installs under ``/opt/mltestscore``.

A test asks for a server with the model it needs; the server is started on a free port, waited
for, and stopped (its process group, which this helper started) at the end. When the install is
absent the test is skipped with the reason, or fails under ``MLTESTSCORE_REQUIRE_SERVERS=1``
(:func:`_servers.unavailable`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _servers import unavailable

SERVERS_DIR = Path(os.environ.get("MLTESTSCORE_MODEL_SERVERS_DIR", "/opt/mltestscore"))
START_TIMEOUT = 180.0  # seconds; a guard against a server that never comes up


def _install(name: str, executable: str) -> Path:
    """The bin directory of a server's virtualenv, or skip/fail when it is not installed."""
    bin_dir = SERVERS_DIR / name / "bin"
    if not (bin_dir / executable).exists():
        unavailable(f"{name} (model server)", f"{bin_dir / executable} is not installed")
    return bin_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


@contextmanager
def _running(cmd: list[str], env: Mapping[str, str], ready: list[str], log: Path) -> Iterator[None]:
    """Start ``cmd`` in its own process group, wait until each ``ready`` URL answers 200, and
    stop the group at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        for url in ready:
            while _status(url) != 200:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{cmd[0]} did not come up at {url}:\n{tail}")
                time.sleep(0.3)
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def check_sklearn(bin_dir: Path) -> None:
    """The server's scikit-learn must be the suite's, or pickled models may not load."""
    import sklearn

    theirs = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if theirs != sklearn.__version__:
        unavailable(
            f"model server in {bin_dir.parent}",
            f"it has scikit-learn {theirs or '?'}, the suite {sklearn.__version__}; rerun "
            ".ci/start_servers.sh after installing the suite",
        )


@contextmanager
def mlflow_server(model: Any, workdir: Path) -> Iterator[str]:
    """The MLflow scoring server serving ``model`` (saved with mlflow.sklearn): its base URL."""
    import joblib

    bin_dir = _install("mlflow", "mlflow")
    check_sklearn(bin_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, workdir / "model.joblib")
    save = textwrap.dedent(
        """
        import sys, joblib, mlflow.sklearn
        mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2],
                                  serialization_format="cloudpickle")
        """
    )
    target = workdir / "mlflow_model"
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", save, str(workdir / "model.joblib"), str(target)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow.sklearn.save_model failed:\n{done.stderr[-3000:]}")
    port = free_port()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(target), "--env-manager",
           "local", "-h", "127.0.0.1", "-p", str(port), "--workers", "1"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with _running(cmd, env, [f"{base}/ping"], workdir / "mlflow.log"):
        yield base


RUNTIME = '''
"""A scikit-learn runtime that misbehaves on request, for the live-serving tests."""
import asyncio
import json
import os
import time

from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceResponse
from mlserver_sklearn import SKLearnModel


class TestRuntime(SKLearnModel):
    async def predict(self, payload):
        extra = self.settings.parameters.extra or {}
        log = extra["log"]
        with open(log, "a") as out:
            out.write(json.dumps({"time": time.time(), "rows": payload.inputs[0].shape[0]}) + "\\n")
        with open(log) as f:
            count = sum(1 for _ in f)
        delay = float(extra.get("delay", 0))
        if delay:
            await asyncio.sleep(delay)
        fail = extra.get("fail_first", 0)
        if count <= fail:
            raise MLServerError("failing on purpose", status_code=int(extra.get("status", 503)))
        response = await super().predict(payload)
        if extra.get("wrong_shape"):
            out = response.outputs[0]
            out.data = out.data[:-1]
            out.shape = [len(out.data), 1]
        return response
'''


def requests_logged(log: Path) -> list[dict[str, float]]:
    """What the test runtime wrote for each request it received (time, rows)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@contextmanager
def mlserver(
    models: Mapping[str, Any],
    workdir: Path,
    behaviours: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[str]:
    """MLServer serving each model under its name; yields the base URL (models are at
    ``BASE/v2/models/NAME``).

    A model with a behaviour (``delay`` seconds, ``fail_first`` requests answered with
    ``status``, ``wrong_shape``; ``{}`` for none) runs in the test runtime above, which logs
    every request it receives to ``workdir/requests-NAME.jsonl``.
    """
    import joblib

    bin_dir = _install("mlserver", "mlserver")
    check_sklearn(bin_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "test_runtime.py").write_text(RUNTIME)
    for name, model in models.items():
        folder = workdir / name
        folder.mkdir(exist_ok=True)
        joblib.dump(model, folder / "model.joblib")
        settings: dict[str, Any] = {
            "name": name,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib"},
        }
        if behaviours is not None and name in behaviours:
            settings["implementation"] = "test_runtime.TestRuntime"
            settings["parameters"]["extra"] = {
                **behaviours[name],
                "log": str(workdir / f"requests-{name}.jsonl"),
            }
        (folder / "model-settings.json").write_text(json.dumps(settings))
    http, grpc = free_port(), free_port()
    (workdir / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": http,
                "grpc_port": grpc,
                "metrics_endpoint": None,
                "parallel_workers": 0,
            }
        )
    )
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(workdir),
    }
    cmd = [str(bin_dir / "mlserver"), "start", str(workdir)]
    base = f"http://127.0.0.1:{http}"
    ready = [f"{base}/v2/models/{name}/ready" for name in models]
    with _running(cmd, env, ready, workdir / "mlserver.log"):
        yield base
