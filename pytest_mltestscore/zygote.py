"""The warm process that fresh-process jobs are forked from (run as ``python -c <this source>``).

It imports heavy third-party libraries once (never this package, never the project: ``PRELOAD``,
and those of ``WHEN_USED`` named in its arguments), then, for
each job read from its stdin, forks a child that runs the job the way ``python -c`` would in a
new interpreter: its own ``__main__``, the job's working directory, environment and
``sys.path``, stdin and stdout on the null device, stderr to the job's file. Every child exits
after its job, so no job sees another's state. It imports nothing of this package (it is not
even on the path here) and speaks one JSON object a line:

- to the parent: ``{"ready": pid}`` once imports are done, ``{"started": pid}`` and
  ``{"done": pid, "status": exit code}`` per job (negative: killed by that signal);
- from the parent: ``{"op": "run", "source", "cwd", "env", "path", "stderr"}`` and
  ``{"op": "kill"}`` (kill the running job). End of stdin: kill the job if any, and exit.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import sys
import warnings
from typing import Any, NoReturn

#: Imported once here when installed; a job imports anything else itself. Public modules only,
#: none that changes another module when imported (``sklearn.experimental.enable_*`` would).
PRELOAD = (
    "numpy",
    "pandas",
    "scipy",
    "scipy.sparse",
    "scipy.special",
    "scipy.stats",
    "sklearn",
    "sklearn.base",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.tree",
    "joblib",
)
#: Preloaded only when the process that starts the zygote uses them (names them in its
#: arguments): skops.io costs about half as much again as all of the above.
WHEN_USED = ("skops.io",)

Job = dict[str, Any]


def _send(fd: int, obj: dict[str, Any]) -> None:
    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _read_line(fd: int, buf: bytearray, block: bool) -> tuple[dict[str, Any] | None, bool]:
    """The next message in ``buf`` (reading ``fd`` when ``block``) and whether stdin ended."""
    while b"\n" not in buf:
        if not block and not select.select([fd], [], [], 0)[0]:
            return None, False
        chunk = os.read(fd, 65536)
        if not chunk:
            return None, True
        buf += chunk
        block = True
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return json.loads(line), False


def _wait_child(pid: int, rfd: int, buf: bytearray) -> tuple[int, bool]:
    """Wait for the job's child (its exit code, and whether stdin ended meanwhile); kill it on a
    kill message or at the end of stdin."""
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+: poll
        pidfd = None
    ended = False
    try:
        while True:
            watched = [] if pidfd is None else [pidfd]
            if not ended:
                watched.append(rfd)
            readable = select.select(watched, [], [], 0.02 if pidfd is None else None)[0]
            while rfd in readable and not ended:
                msg, ended = _read_line(rfd, buf, block=False)
                if ended or (msg is not None and msg.get("op") == "kill"):
                    os.kill(pid, signal.SIGKILL)
                if msg is None:
                    break
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return os.waitstatus_to_exitcode(status), ended
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _preload(extra: list[str]) -> None:
    for name in (*PRELOAD, *(m for m in extra if m in WHEN_USED)):
        # Not installed or broken: a job that needs it imports it itself, as a cold one would.
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def serve() -> Job | None:
    """Preload, then fork one child per job; returns the job in a child, None at the end."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the zygote without a traceback
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # what imports print must not mix with the messages
    zygote = os.getpid()
    extra = sys.argv[1:]
    del sys.argv[1:]  # a job sees ["-c"], as in ``python -c``
    _preload(extra)
    gc.freeze()  # the collector of a job leaves the preloaded objects (and their pages) alone
    buf = bytearray()
    try:
        _send(wfd, {"ready": os.getpid()})
        while True:
            msg, ended = _read_line(rfd, buf, block=True)
            if ended:
                return None
            if msg is None or msg.get("op") != "run":
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            with warnings.catch_warnings():
                # Python 3.12+ warns when forking with threads (BLAS pools) alive; the child
                # only runs Python code and starts its own threads.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:
                os.close(rfd)
                os.close(wfd)
                return {**msg, "zygote": zygote}
            _send(wfd, {"started": pid})
            status, ended = _wait_child(pid, rfd, buf)
            _send(wfd, {"done": pid, "status": status})
            if ended:
                return None
    except BrokenPipeError:  # the parent is gone
        return None


def _clean_path(entries: list[str]) -> list[str]:
    """Absolute and without repeats, the way ``site`` leaves ``sys.path`` at startup."""
    out: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        path = os.path.abspath(entry)
        key = os.path.normcase(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def _die_with_parent(parent: int) -> None:
    """On Linux, have the kernel kill this child if the zygote dies (killed, out of memory)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that
        os._exit(1)


def run_job(job: Job, base_path: list[str]) -> None:
    """In the forked child: become the fresh interpreter ``python -c SOURCE`` would be."""
    import builtins
    import types

    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(err, 2)
    os.close(null)
    os.close(err)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _die_with_parent(job["zygote"])
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    sys.path[:] = ["", *_clean_path([*job["path"], *base_path])]
    importlib.invalidate_caches()
    if "numpy.random" in sys.modules:
        # A fresh interpreter seeds numpy's global generator from the OS; forked children
        # would all share the zygote's stream (Python's random reseeds itself at fork).
        sys.modules["numpy.random"].seed()
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    code = compile(job["source"], "<string>", "exec")
    status = 0
    try:
        exec(code, main.__dict__)
    except SystemExit as exc:
        status = _exit_status(exc)
    except BaseException as exc:
        tb = exc.__traceback__
        tb = tb.tb_next if tb is not None else None  # from the script's frame, as cold
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        status = 1
    _exit(status)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _exit(status: int) -> NoReturn:
    """End the child as an interpreter ends (non-daemon threads joined, ``atexit`` handlers run,
    streams flushed) but without tearing down every module the zygote imported: that would
    write to all its memory pages, copying them from the zygote (about half a second)."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    _BASE_PATH = list(sys.path[1:])
    _JOB = serve()
    if _JOB is not None:
        run_job(_JOB, _BASE_PATH)  # the child: never returns
    # The end of stdin, no job running: exit at once, without tearing down every preloaded
    # module (the parent waits for this exit at the end of its session: 0.17 s on penguins).
    sys.stderr.flush()
    os._exit(0)
