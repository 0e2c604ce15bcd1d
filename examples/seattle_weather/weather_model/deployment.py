"""The forecast model as deployed: served by MLServer (scikit-learn runtime), called by URL.

:func:`serve` starts a real MLServer on a free loopback port with ``models/model.skops`` (written
as the joblib file MLServer's scikit-learn runtime loads), waits until the model is ready, and
stops it at the end. The ``deployed`` model in pyproject.toml calls it at the URL this puts in
``WEATHER_MODEL_URL`` (the Open Inference Protocol, ``kserve-v2``). MLServer runs from its own
virtualenv, ``$MLTESTSCORE_MODEL_SERVERS_DIR/mlserver`` (``/opt/mltestscore/mlserver``, as
``.ci/start_servers.sh`` installs it), or from ``mlserver`` on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .stream import MODEL

MODEL_URL_ENV = "WEATHER_MODEL_URL"
MODEL_NAME = "weather"
START_TIMEOUT = 120.0


def mlserver_executable() -> Path | None:
    """MLServer's command from its own virtualenv, else from PATH, else None."""
    servers = Path(os.environ.get("MLTESTSCORE_MODEL_SERVERS_DIR", "/opt/mltestscore"))
    candidate = servers / "mlserver" / "bin" / "mlserver"
    if candidate.exists():
        return candidate
    found = shutil.which("mlserver")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serve(workdir: Path, executable: Path) -> Iterator[str]:
    """Serve the forecast model; yields its URL (``http://127.0.0.1:PORT/v2/models/weather``)."""
    import joblib
    import skops.io as sio

    folder = workdir / MODEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(sio.load(MODEL, trusted=[]), folder / "model.joblib")
    (folder / "model-settings.json").write_text(
        json.dumps(
            {
                "name": MODEL_NAME,
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib"},
            }
        )
    )
    port = _free_port()
    (workdir / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": port,
                "grpc_port": _free_port(),
                "metrics_endpoint": None,
                "parallel_workers": 0,
            }
        )
    )
    url = f"http://127.0.0.1:{port}/v2/models/{MODEL_NAME}"
    env = {**os.environ, "PATH": f"{executable.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with (workdir / "mlserver.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(executable), "start", str(workdir)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _ready(f"{url}/ready"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"MLServer did not start (see {workdir / 'mlserver.log'})")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
