"""Resolve ``"pkg.module:callable"`` import paths, load model artifacts safely, and read when an
artifact was made.

Pickle-based files (joblib, pickle) run arbitrary code when loaded, so they are refused unless
the caller says the file is trusted; skops files are loaded with an explicit list of trusted
types, which by default only admits the types of scikit-learn, numpy and scipy.

A model's creation time (its age, for the staleness checks) is read from metadata stored with
the artifact: a sidecar file ``<artifact>.meta.json`` written by :func:`write_artifact_metadata`
(``{"created": "2026-03-01T12:00:00+00:00", "version": "1.4.0"}``: ``created`` is an ISO 8601
date or date-time, a time without offset means UTC), else the save time recorded inside a skops
archive, else, as a last resort, the file's modification time (see :func:`artifact_created`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import json
import os
import pickle
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import clock

SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
SUPPORTED_SUFFIXES = SKOPS_SUFFIXES + PICKLE_SUFFIXES

# Modules whose types a skops file may contain without the user trusting the file.
SAFE_TYPE_ROOTS = frozenset({"sklearn", "numpy", "scipy"})

SKOPS_HINT = "pip install pytest-mltestscore[skops]"


class ImportPathError(ValueError):
    """An import path such as ``"pkg.module:callable"`` could not be resolved."""


class ArtifactError(ValueError):
    """A model artifact is missing, has an unsupported format or could not be loaded."""


class UntrustedArtifactError(ArtifactError):
    """Loading the artifact would run code (or build types) the caller has not trusted."""


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"pkg.module:attr"`` (``attr`` may be dotted) and return it; it must be callable."""
    obj = load_object(path)
    if not callable(obj):
        raise ImportPathError(f"{path!r} is a {type(obj).__name__}, not a callable")
    return obj


def load_object(path: str) -> Any:
    """Import ``"pkg.module:attr"`` and return the attribute, callable or not."""
    if not isinstance(path, str) or path.count(":") != 1:
        raise ImportPathError(
            f"import path {path!r}: expected 'package.module:name' (one colon between the "
            "module and the attribute), e.g. 'myproject.train:fit'"
        )
    module_name, _, attr_path = path.partition(":")
    module_name, attr_path = module_name.strip(), attr_path.strip()
    if not module_name or not attr_path:
        raise ImportPathError(f"import path {path!r}: both the module and the name are required")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise ImportPathError(
                f"import path {path!r}: module {missing!r} not found (is the project on "
                "sys.path, or the package installed?)"
            ) from None
        raise ImportPathError(
            f"import path {path!r}: importing {module_name!r} failed: {exc}"
        ) from exc
    except Exception as exc:
        raise ImportPathError(
            f"import path {path!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    obj: Any = module
    walked = module_name
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise ImportPathError(
                f"import path {path!r}: {walked!r} has no attribute {part!r}{hint}"
            )
        obj = getattr(obj, part)
        walked = f"{walked}.{part}" if walked != module_name else f"{module_name}:{part}"
    return obj


def import_path_of(fn: Callable[..., Any]) -> str | None:
    """The ``"module:qualname"`` a fresh interpreter can import ``fn`` from, if there is one."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def _type_root(type_name: str) -> str:
    return type_name.split(".", 1)[0]


def load_model_artifact(path: str | Path, trusted: bool | Sequence[str] = False) -> Any:
    """Load a model file: ``.skops`` safely, ``.joblib``/``.pkl``/``.pickle`` only if trusted.

    ``trusted`` is ``True`` (the file is trusted: load any type it holds), ``False`` (skops
    files may only hold scikit-learn, numpy and scipy types; pickles are refused), or a list of
    fully qualified type names to admit in a skops file in addition to those.
    """
    if not isinstance(trusted, bool) and (
        isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted)
    ):
        raise ValueError("trusted must be True, False or a list of type names such as 'pkg.Cls'")
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ArtifactError(
            f"model artifact {str(p)!r}: unsupported extension {p.suffix or '(none)'!r}; "
            f"expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not p.is_file():
        raise ArtifactError(f"model artifact {str(p)!r} not found")
    if suffix in SKOPS_SUFFIXES:
        return _load_skops(p, trusted)
    if trusted is not True:
        raise UntrustedArtifactError(
            f"refusing to load {str(p)!r}: {suffix} files are pickles, and unpickling runs "
            "arbitrary code from the file. Load it only if you produced it yourself: mark the "
            "model trusted (trusted = true in its [tool.mltestscore.models.NAME] table, or "
            "trusted=True), or save it with skops (.skops), which loads without running code."
        )
    try:
        try:
            import joblib
        except ImportError:
            joblib = None
        if joblib is not None:
            # joblib reads plain pickles too, and its own files are often named .pkl.
            return joblib.load(p)
        if suffix == ".joblib":
            raise ArtifactError(f"loading {str(p)!r} needs joblib: pip install joblib")
        with p.open("rb") as fh:
            return pickle.load(fh)
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError(f"could not load {str(p)!r}: {type(exc).__name__}: {exc}") from exc


def _load_skops(p: Path, trusted: bool | Sequence[str]) -> Any:
    try:
        import skops.io as sio
    except ImportError:
        raise ArtifactError(f"loading {str(p)!r} needs skops: {SKOPS_HINT}") from None
    try:
        untrusted = list(sio.get_untrusted_types(file=p))
    except Exception as exc:
        raise ArtifactError(
            f"could not read {str(p)!r} as a skops file: {type(exc).__name__}: {exc}"
        ) from exc
    if trusted is True:
        allowed = untrusted
    else:
        extra = set() if trusted is False else set(trusted)
        allowed = [t for t in untrusted if _type_root(t) in SAFE_TYPE_ROOTS or t in extra]
        refused = [t for t in untrusted if t not in allowed]
        if refused:
            raise UntrustedArtifactError(
                f"refusing to load {str(p)!r}: it holds types outside scikit-learn, numpy and "
                f"scipy that skops does not trust by default: {', '.join(refused)}. Review them; "
                "if you trust this file, mark the model trusted (or pass trusted=[...] with "
                "these type names)."
            )
    try:
        return sio.load(p, trusted=allowed)
    except Exception as exc:
        raise ArtifactError(
            f"could not load {str(p)!r} with skops: {type(exc).__name__}: {exc}"
        ) from exc


def save_model_artifact(model: Any, path: str | Path) -> Path:
    """Write ``model`` in the format its extension names (``.skops``, ``.joblib``, ``.pkl``)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(
            f"cannot save to {str(p)!r}: expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if suffix in SKOPS_SUFFIXES:
        try:
            import skops.io as sio
        except ImportError:
            raise ArtifactError(f"saving {str(p)!r} needs skops: {SKOPS_HINT}") from None
        sio.dump(model, p)
    elif suffix == ".joblib":
        import joblib

        joblib.dump(model, p)
    else:
        with p.open("wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return p


def skops_available() -> bool:
    """Whether skops can be imported (for choosing a safe format for our own files)."""
    try:
        import skops.io  # noqa: F401
    except ImportError:
        return False
    return True


# -- artifact metadata: when a model was made ---------------------------------------------
SIDECAR_SUFFIX = ".meta.json"


def as_utc(value: dt.date | dt.datetime) -> dt.datetime:
    """A date means midnight UTC; a naive date-time is taken as UTC."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


def _parse_created(text: str, where: str) -> dt.datetime:
    try:
        if len(text) == 10:
            return as_utc(dt.date.fromisoformat(text))
        # Python 3.10 does not read a trailing "Z".
        return as_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f'{where}: "created" is {text!r}; expected an ISO 8601 date or date-time such as '
            "2026-03-01 or 2026-03-01T12:00:00+00:00"
        ) from None


def sidecar_path(artifact: str | os.PathLike[str]) -> Path:
    """Where the metadata sidecar of an artifact lives: ``<artifact>.meta.json``."""
    path = Path(artifact)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_artifact_metadata(
    artifact: str | os.PathLike[str],
    created: dt.date | dt.datetime | None = None,
    **extra: Any,
) -> Path:
    """Write ``<artifact>.meta.json`` with ``created`` (default: now, UTC) and extra JSON keys.

    Call it right after saving a model so its age survives copies, clones and checkouts.
    """
    when = as_utc(created) if created is not None else clock.now()
    if "created" in extra:
        raise ValueError("pass the creation time as created=, not as an extra key")
    payload = {"created": when.isoformat(), **extra}
    target = sidecar_path(artifact)
    target.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return target


def _skops_saved(path: Path) -> dt.datetime | None:
    """The save time recorded in a skops (zip) archive's ``schema.json`` entry, when usable."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("schema.json")
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    if info.date_time[0] <= 1980:  # the zip epoch: tools that strip times write this
        return None
    # Zip times are local wall-clock times of the machine that saved; read as UTC (<= 1 day off).
    return dt.datetime(*info.date_time, tzinfo=dt.timezone.utc)


def artifact_created(path: str | os.PathLike[str]) -> tuple[dt.datetime, str]:
    """When an artifact was created (UTC) and the source, for :func:`model_staleness`.

    Returns ``(created, source)`` with ``source`` one of ``"metadata:<sidecar path>"``,
    ``"metadata:skops archive <path>"`` or ``"mtime:<path>"`` (the last resort). A sidecar that
    is unreadable or lacks a valid ``created`` raises ValueError naming the file.
    """
    artifact = Path(path)
    if not artifact.exists():
        raise FileNotFoundError(f"model artifact {str(artifact)!r} does not exist")
    meta = sidecar_path(artifact)
    if meta.exists():
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{meta}: not readable as JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("created"), str):
            raise ValueError(
                f'{meta}: expected a JSON object with a "created" date string, '
                f'e.g. {{"created": "2026-03-01"}}'
            )
        return _parse_created(data["created"], str(meta)), f"metadata:{meta}"
    if artifact.suffix == ".skops":
        saved = _skops_saved(artifact)
        if saved is not None:
            return saved, f"metadata:skops archive {artifact}"
    mtime = dt.datetime.fromtimestamp(artifact.stat().st_mtime, tz=dt.timezone.utc)
    return mtime, f"mtime:{artifact}"
