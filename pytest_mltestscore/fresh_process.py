"""Run a short Python script in a fresh interpreter, the way a training job or server would.

The child sees the parent's ``sys.path`` (through ``PYTHONPATH``) so that project modules and
test helpers import the same way, and talks back through JSON files only.

Where ``os.fork`` is safe (POSIX but macOS), a job does not start a new interpreter: it runs in a
child forked from a warm process (``zygote``) that was started clean, with the same environment,
and imported only heavy third-party libraries (numpy, pandas, scipy, scikit-learn, joblib; skops
when this process uses it) once. Each job gets its own child, which exits after it, with the
job's working directory, environment and ``sys.path``; this package and the project are imported
afresh in every job, and nothing of the pytest process reaches it.
``MLTESTSCORE_FRESH_PROCESSES=cold`` starts a new interpreter per job instead.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .cost import FRESH, spending
from .zygote import WHEN_USED

DEFAULT_TIMEOUT = 300.0
MODE_VARIABLE = "MLTESTSCORE_FRESH_PROCESSES"
MODES = ("warm", "cold")
#: Warm processes kept at once (one per distinct environment, e.g. per ``PYTHONHASHSEED``).
MAX_WARM = 3
# Not part of what a warm process is started for: each job gets its own values.
_PER_JOB_VARIABLES = frozenset({"PYTHONPATH", "PYTEST_CURRENT_TEST", MODE_VARIABLE})
_HASH_SEED = "PYTHONHASHSEED"
_KILL_GRACE = 10.0
_START_LIMIT = 120.0  # seconds a warm process may take to import its libraries


@dataclass(frozen=True)
class ChildResult:
    """What the child wrote back (``None`` when it failed) and why it failed."""

    ok: bool
    payload: dict[str, Any] | None
    error: str | None


def mode() -> str:
    """``warm`` (the default: jobs forked from a warm process) or ``cold`` (a new interpreter
    per job), from ``MLTESTSCORE_FRESH_PROCESSES``; ``ValueError`` naming it otherwise."""
    value = os.environ.get(MODE_VARIABLE, "").strip().lower() or "warm"
    if value not in MODES:
        raise ValueError(
            f"{MODE_VARIABLE}={os.environ[MODE_VARIABLE]!r}: expected 'warm' (fresh processes "
            "forked from one warm process, the default) or 'cold' (a new interpreter each)"
        )
    return value


def warm_supported() -> bool:
    """Whether jobs can be forked: POSIX, but not macOS, whose system libraries are not safe to
    use in a forked child (the reason multiprocessing spawns there)."""
    return hasattr(os, "fork") and sys.platform != "darwin"


def _child_env(overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    if os.getcwd() not in paths:
        paths.insert(0, os.getcwd())
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([*paths, *([existing] if existing else [])])
    env.update(overrides or {})
    return env


def run_script(
    script: str,
    args: dict[str, Any],
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict[str, str] | None = None,
) -> ChildResult:
    """Run ``script`` in a fresh Python process; it reads ``ARGS`` and must call ``reply(dict)``.

    The script body runs with ``ARGS`` (the JSON-decoded ``args``) and a ``reply`` function
    that writes the JSON answer; an exception in the child becomes ``ChildResult.error`` with
    the last lines of its traceback.
    """
    args_file = workdir / "child-args.json"
    out_file = workdir / "child-reply.json"
    args_file.write_text(json.dumps(args), encoding="utf-8")
    prelude = (
        "import json, sys\n"
        f"ARGS = json.loads(open({str(args_file)!r}, encoding='utf-8').read())\n"
        "def reply(obj):\n"
        f"    with open({str(out_file)!r}, 'w', encoding='utf-8') as fh:\n"
        "        json.dump(obj, fh)\n"
    )
    with spending(FRESH):
        return _run_job(prelude + script, _child_env(env), workdir, out_file, timeout)


def _run_job(
    source: str, child_env: dict[str, str], workdir: Path, out_file: Path, timeout: float
) -> ChildResult:
    """One job: forked from a warm process when it can be, else in a new interpreter."""
    if mode() == "warm" and warm_supported():
        ran = _POOL.run(source, child_env, workdir / "child-stderr.txt", timeout)
        if ran is not None:
            status, stderr = ran
            return _result(status, stderr, out_file, timeout)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", source],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _result(None, "", out_file, timeout)
    return _result(proc.returncode, proc.stderr or "", out_file, timeout)


def _result(status: int | None, stderr: str, out_file: Path, timeout: float) -> ChildResult:
    if status is None:
        return ChildResult(False, None, f"the fresh Python process did not finish in {timeout:g} s")
    if status != 0 or not out_file.is_file():
        tail = "\n".join(stderr.strip().splitlines()[-6:])
        return ChildResult(
            False, None, f"the fresh Python process exited with status {status}: {tail}"
        )
    return ChildResult(True, json.loads(out_file.read_text(encoding="utf-8")), None)


def prestart(env: dict[str, str] | None = None, *, uses: Sequence[str] = ()) -> None:
    """Start, without waiting, the warm process that jobs with these ``env`` overrides need, so
    that several start side by side (a check that trains under two hash seeds).

    ``uses``: libraries of :data:`~pytest_mltestscore.zygote.WHEN_USED` its jobs will import
    (``skops.io`` for skops files), for a warm process started before this process imports them
    itself (by default it preloads those this process has already imported)."""
    if mode() == "warm" and warm_supported():
        _POOL.prestart(_child_env(env), tuple(uses))


def release_unused() -> None:
    """Stop, without waiting for their imports to finish, the warm processes no job has used
    (started ahead for checks that were then left out of the run)."""
    _POOL.release_unused()


def warm_pids() -> list[int]:
    """Process ids of the warm processes running now (for tests and diagnostics)."""
    return _POOL.pids()


def shutdown() -> None:
    """Stop every warm process (the plugin calls this at the end of the session)."""
    _POOL.close()


class _Broken(Exception):
    """The warm process died or stopped answering: the job runs cold instead."""


class _Zygote:
    """One warm process and its pipes; runs one job at a time."""

    def __init__(self, env: dict[str, str], tmp: Path, uses: Sequence[str] = ()) -> None:
        self.env = env
        self.used = False  # whether a job has been sent to it
        self._log_path = tmp / f"zygote-{len(list(tmp.iterdir()))}.log"
        self._log: IO[bytes] = self._log_path.open("wb")
        source = (Path(__file__).with_name("zygote.py")).read_text(encoding="utf-8")
        # Libraries imported only when this process uses them (its models are skops files).
        used = [m for m in WHEN_USED if m in uses or m.partition(".")[0] in sys.modules]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", source, *used],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=tmp,  # nothing to import there while it preloads
        )
        self._buf = bytearray()
        self.ready = False

    def _message(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None at the deadline; ``_Broken`` when the process ended."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _Broken(self._log_tail())
            self._buf += chunk
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf[:] = rest
        message: dict[str, Any] = json.loads(line)
        return message

    def _send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(obj) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _Broken(self._log_tail()) from exc

    def _log_tail(self) -> str:
        self._log.flush()
        text = self._log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.strip().splitlines()[-6:])

    def run(self, source: str, env: dict[str, str], stderr: Path, timeout: float) -> int | None:
        """The job's exit code, or None when it did not finish in ``timeout`` (then killed).

        The timeout starts with the job, not with the warm process: its imports may cover more
        than the job needs, and must not make a job time out that a cold process would finish.
        """
        if not self.ready:
            if self._message(time.monotonic() + max(timeout, _START_LIMIT)) is None:
                raise _Broken("the warm process did not start")
            self.ready = True
        deadline = time.monotonic() + timeout
        self.used = True
        job = {
            "op": "run",
            "source": source,
            "cwd": os.getcwd(),
            "env": env,
            "path": env["PYTHONPATH"].split(os.pathsep),
            "stderr": str(stderr),
        }
        self._send(job)
        started = self._message(time.monotonic() + _KILL_GRACE)
        if started is None:
            raise _Broken("the warm process did not fork the job")
        done = self._message(deadline)
        if done is None:
            self._send({"op": "kill"})
            if self._message(time.monotonic() + _KILL_GRACE) is None:
                raise _Broken("the warm process did not stop the job")
            return None
        status: int = done["status"]
        return status

    def kill(self) -> None:
        """Stop it now (it runs no job: nothing of a job's to let finish)."""
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._log.close()

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the zygote exits at the end of its stdin
        try:
            self.proc.wait(_KILL_GRACE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


class _WarmPool:
    """The warm processes of this Python process, one per environment, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zygotes: list[_Zygote] = []
        self._tmp: Path | None = None
        self._broken = False

    def _matching(self, env: dict[str, str]) -> _Zygote | None:
        want = _key(env)
        seed = env.get(_HASH_SEED, "random")
        for z in self._zygotes:
            # A job that leaves the hash seed random may run under any fixed one.
            if _key(z.env) == want and (seed == "random" or z.env.get(_HASH_SEED) == seed):
                return z
        return None

    def _start(self, env: dict[str, str], uses: Sequence[str] = ()) -> _Zygote:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="mltestscore-warm-"))
        while len(self._zygotes) >= MAX_WARM:
            self._zygotes.pop(0).close()
        zygote_env = {k: v for k, v in env.items() if k not in _PER_JOB_VARIABLES}
        if os.environ.get("PYTHONPATH"):
            zygote_env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        zygote = _Zygote(zygote_env, self._tmp, uses)
        self._zygotes.append(zygote)
        return zygote

    def prestart(self, env: dict[str, str], uses: Sequence[str] = ()) -> None:
        with self._lock:
            if not self._broken and self._matching(env) is None:
                self._start(env, uses)

    def release_unused(self) -> None:
        with self._lock:
            for zygote in [z for z in self._zygotes if not z.used]:
                self._zygotes.remove(zygote)
                zygote.kill()

    def run(
        self, source: str, env: dict[str, str], stderr: Path, timeout: float
    ) -> tuple[int | None, str] | None:
        """(exit code or None on timeout, stderr), or None when the job must run cold."""
        with self._lock:
            if self._broken:
                return None
            zygote = self._matching(env) or self._start(env)
            try:
                status = zygote.run(source, env, stderr, timeout)
            except _Broken:
                self._zygotes.remove(zygote)
                zygote.close()
                self._broken = not zygote.ready  # could not even start: stay cold
                return None
            except BaseException:  # e.g. KeyboardInterrupt mid-job: its answers would be stale
                self._zygotes.remove(zygote)
                zygote.close()  # the end of its input makes it kill the job's child, then exit
                raise
        text = stderr.read_text(encoding="utf-8", errors="replace") if stderr.is_file() else ""
        return status, text

    def pids(self) -> list[int]:
        # Without the lock, so that it answers while a job runs.
        return [z.proc.pid for z in list(self._zygotes) if z.proc.poll() is None]

    def close(self) -> None:
        with self._lock:
            while self._zygotes:
                self._zygotes.pop().close()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
            self._broken = False


def _key(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted((k, v) for k, v in env.items() if k not in _PER_JOB_VARIABLES | {_HASH_SEED})
    )


_POOL = _WarmPool()
atexit.register(_POOL.close)
