"""Models and datasets described once in ``[tool.mltestscore]``, loaded lazily and cached.

``[tool.mltestscore.models.NAME]`` and ``[tool.mltestscore.datasets.NAME]`` are parsed into
frozen specs when the session starts (so a typo is a usage error); nothing is loaded until a
test or a built-in check asks. :class:`Assets` loads each model and dataset once per process and
keeps their profiles, so that every data check reads a dataset at most once.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .cost import LOAD, PREDICT, PROFILE, READ, SQL, metered_chunks, spending
from .result import NotJudged
from .settings import DatasetSpec, ModelSpec
from .suite_only import plugin_work

if TYPE_CHECKING:
    import pandas as pd

    from .profiles import DatasetProfile
    from .shared_cache import SharedCache
    from .sql import SQLSource


class AssetError(Exception):
    """A configured model or dataset could not be loaded; the message names key and file."""


TRIAL_ROWS = 5


class ChunkWatcher(Protocol):
    """Something that sees every chunk of a dataset's one streaming pass (all its columns,
    before the feature columns are picked), so that it needs no read of its own."""

    def feed(self, chunk: pd.DataFrame) -> None: ...


@dataclass(frozen=True)
class ModelTrial:
    """What happened when a model was called on a few rows of a dataset before its checks."""

    model: str
    dataset: str | None  # None: no dataset to try it on
    columns: tuple[str, ...]
    error: str | None  # the exception, in a line; None: the model took the rows
    key: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def reason(self) -> str:
        """The one-line reason a check gives for not judging."""
        return (
            f"model {self.model!r} cannot take the columns of dataset {self.dataset!r} "
            f"({self.error}); see 'models that cannot take their data' in the summary"
        )

    def explain(self) -> str:
        """The whole story, told once per session."""
        shown = ", ".join(self.columns[:20]) + (", ..." if len(self.columns) > 20 else "")
        return (
            f"model {self.model!r} ([{self.key}]) was called on {TRIAL_ROWS} rows of dataset "
            f"{self.dataset!r} with the column(s) {shown or '(none)'} and raised:\n"
            f"    {self.error}\n"
            "Every built-in check that feeds it data is not judged. Make the model take the "
            "data's columns as serving does: save a scikit-learn Pipeline that includes the "
            "preprocessing (e.g. the vectorizer or ColumnTransformer before the estimator), or "
            'build it with load = "pkg.module:callable" returning an object whose predict '
            "takes these columns; if the model needs fewer columns, list them in features = "
            "[...] under the dataset."
        )


class Assets:
    """Lazy, cached access to the configured models, datasets and their profiles."""

    def __init__(
        self,
        models: Mapping[str, ModelSpec],
        datasets: Mapping[str, DatasetSpec],
        root: Path,
    ) -> None:
        self.models = dict(models)
        self.datasets = dict(datasets)
        self.root = root
        self._models: dict[str, Any] = {}
        self._frames: dict[str, pd.DataFrame] = {}
        self._profiles: dict[tuple[Any, ...], DatasetProfile] = {}
        self._latest: dict[tuple[str, str | None], DatasetProfile] = {}
        self._unavailable: dict[str, str | None] = {}
        self._trials: dict[str, ModelTrial] = {}
        # dataset -> key -> a watcher factory; a watcher fed a whole dataset moves to _watched
        self._watchers: dict[str, dict[str, Callable[[], ChunkWatcher]]] = {}
        self._watched: dict[tuple[str, str], ChunkWatcher] = {}
        self._identities: dict[str, str] = {}
        # under pytest-xdist: frames and profiles computed once per session, by one worker
        self.shared: SharedCache | None = None

    # -- can the configuration work? ---------------------------------------------------------
    def problems(self, *, quick: bool = True, slow: bool = True) -> dict[str, str]:
        """What cannot work, by config key: a dataset path matching no file, a database that
        cannot be reached or lacks the table or columns, a model artifact missing or unreadable,
        an endpoint that does not answer, an import path that does not import. Entries marked
        ``optional`` are left out (their checks are not judged instead). No dataset is read.

        ``quick`` problems are found on the file system alone (paths and globs); ``slow`` ones
        take imports, model loads or a connection.
        """
        found: dict[str, str] = {}
        for spec in self.datasets.values():
            if spec.optional or not (quick if spec.path is not None else slow):
                continue
            if (problem := self._dataset_problem(spec)) is not None:
                found[spec.key] = problem
        for name, mspec in self.models.items():
            if mspec.optional:
                continue
            if mspec.path is not None:  # a file: is it there (quick), does it load (slow)
                if (problem := self._model_problem(mspec)) is not None:
                    if quick:
                        found[mspec.key] = problem
                    continue
                if slow:
                    try:
                        self.model(name)
                    except AssetError as exc:
                        found[mspec.key] = str(exc)
            elif slow and (problem := self._model_problem(mspec)) is not None:
                found[mspec.key] = problem  # an import path, or a deployed model's endpoint
        return found

    def unavailable(self, kind: str, name: str) -> str | None:
        """Why an ``optional`` dataset or model (``kind``) cannot be used now, or None."""
        key = f"{kind}:{name}"
        if key not in self._unavailable:
            reason: str | None = None
            if kind == "dataset" and name in self.datasets and self.datasets[name].optional:
                reason = self._dataset_problem(self.datasets[name])
            elif kind == "model" and name in self.models and self.models[name].optional:
                reason = self._model_problem(self.models[name])
            self._unavailable[key] = reason
        return self._unavailable[key]

    def _dataset_problem(self, spec: DatasetSpec) -> str | None:
        if spec.url is not None:  # a database: connect, log in, prepare the statement
            try:
                self.probe_dataset(spec.name)
            except AssetError as exc:
                return str(exc)
            return None
        if spec.path is not None:
            try:
                self._files(spec)
            except AssetError as exc:
                return str(exc)
            return None
        assert spec.load is not None
        return _import_problem(spec.key, spec.load)

    def _model_problem(self, spec: ModelSpec) -> str | None:
        if spec.endpoint is not None:  # a deployed model: one request that sends no rows
            try:
                self.probe_model(spec.name)
            except AssetError as exc:
                return str(exc)
            return None
        if spec.path is not None:
            if not spec.path.is_file():
                return (
                    f"[{spec.key}] path = {str(spec.path)!r}: no such file "
                    "(expected a model artifact such as models/model.skops)"
                )
            return None
        assert spec.load is not None
        return _import_problem(spec.key, spec.load)

    # -- models ----------------------------------------------------------------------------
    def model_spec(self, name: str) -> ModelSpec:
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise AssetError(
                f"no model {name!r} is configured: add [tool.mltestscore.models.{name}] "
                f"(configured: {known})"
            )
        if (absent := self.unavailable("model", name)) is not None:
            raise NotJudged(f"model {name!r} is optional and not available: {absent}")
        return self.models[name]

    def model(self, name: str = "default") -> Any:
        if name not in self._models:
            with spending(LOAD), plugin_work():
                self._models[name] = self._load_model(self.model_spec(name))
        return self._models[name]

    def _load_model(self, spec: ModelSpec) -> Any:
        """The model, composed with its transform when the config names one (one object that
        takes the raw frame, as serving does: see :mod:`pytest_mltestscore.prepared`)."""
        if spec.endpoint is not None:
            from .endpoints import EndpointModel

            return EndpointModel(spec.endpoint, key=spec.key)
        from .loading import (
            ArtifactError,
            ImportPathError,
            load_callable,
            load_model_artifact,
        )
        from .prepared import prepared_model

        try:
            if spec.load is not None:
                factory = load_callable(spec.load)
                try:
                    model = factory()
                except Exception as exc:
                    raise AssetError(
                        f"[{spec.key}] load = {spec.load!r}: calling it raised "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
            else:
                assert spec.path is not None
                model = load_model_artifact(spec.path, trusted=spec.trusted)
            return prepared_model(
                model,
                transform=spec.transform,
                transform_path=spec.transform_path,
                inputs=spec.inputs,
                trusted=spec.trusted,
                root=self.root,
            )
        except (ImportPathError, ArtifactError, ValueError) as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None
        except ImportError as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None

    def model_created(self, name: str = "default") -> tuple[dt.datetime, str]:
        """When the model was made, and where that date came from (config, metadata, mtime)."""
        spec = self.model_spec(name)
        if spec.created is not None:
            return spec.created, f"config:[{spec.key}] created"
        if spec.path is not None:
            from .loading import artifact_created

            return artifact_created(spec.path)
        raise NotJudged(
            f"the age of model {name!r} is unknown: it is built by load = {spec.load!r}; set "
            f"created = 2026-10-01 (the date it was trained) under [{spec.key}], or load it "
            "from an artifact file with a <artifact>.meta.json sidecar"
        )

    def model_inputs(self, model_name: str, ds: str) -> pd.DataFrame:
        """The dataset's columns the model was fitted on (``feature_names_in_``), else its
        features."""
        from .modeling import feature_names

        frame = self.frame(ds)
        names = feature_names(self.model(model_name), self.features(ds))
        assert names is not None
        missing = [n for n in names if n not in frame.columns]
        if missing:
            spec = self.dataset_spec(ds)
            raise AssetError(
                f"[{spec.key}]: the model {model_name!r} expects column(s) {', '.join(missing)}, "
                "which the data lacks"
            )
        return frame[names]

    def trial(self, name: str) -> ModelTrial:
        """Call model ``name`` once on a few rows of the training data (else validation, else
        serving), as every check will; cached. A model that cannot take them cannot be judged
        by any check that feeds it that data."""
        if name not in self._trials:
            self._trials[name] = self._try_model(name)
        return self._trials[name]

    def _try_model(self, name: str) -> ModelTrial:
        spec = self.model_spec(name)
        candidates = [d for d in ("training", "validation", "serving") if d in self.datasets]
        usable = [d for d in candidates if self.unavailable("dataset", d) is None]
        if not usable:
            return ModelTrial(name, None, (), None)
        ds = usable[0]
        model = self.model(name)
        from .modeling import feature_names

        frame = self.frame(ds)
        names = feature_names(model, self.features(ds)) or []
        missing = [n for n in names if n not in frame.columns]
        if missing:
            error = (
                f"it was fitted on column(s) {', '.join(missing)}, which the data lacks "
                f"(columns: {', '.join(map(str, frame.columns[:20]))})"
            )
            return ModelTrial(name, ds, tuple(names), error, spec.key)
        rows = frame[names].head(TRIAL_ROWS)
        try:
            with warnings.catch_warnings():  # only an exception says the model cannot take them
                warnings.simplefilter("ignore")
                with spending(PREDICT, rows):
                    model.predict(rows)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            return ModelTrial(name, ds, tuple(names), f"{type(exc).__name__}: {first}", spec.key)
        return ModelTrial(name, ds, tuple(names), None, spec.key)

    # -- datasets --------------------------------------------------------------------------
    def dataset_spec(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            known = ", ".join(sorted(self.datasets)) or "none"
            raise AssetError(
                f"no dataset {name!r} is configured: add [tool.mltestscore.datasets.{name}] "
                f"(configured: {known})"
            )
        if (absent := self.unavailable("dataset", name)) is not None:
            raise NotJudged(f"dataset {name!r} is optional and not available: {absent}")
        return self.datasets[name]

    def available(self, kind: str, name: str) -> bool:
        """Whether dataset or model (``kind``) ``name`` is configured and can be used now (an
        ``optional`` one may be configured and absent)."""
        configured = self.datasets if kind == "dataset" else self.models
        return name in configured and self.unavailable(kind, name) is None

    def _files(self, spec: DatasetSpec) -> list[Path]:
        from .readers import ReaderError, resolve_paths

        assert spec.path is not None
        try:
            return resolve_paths(spec.path, self.root)
        except ReaderError as exc:
            raise AssetError(f"[{spec.key}] path = {spec.path!r}: {exc}") from None

    def _sql_source(self, spec: DatasetSpec) -> SQLSource:
        from .sql import SQLSource

        assert spec.url is not None
        return SQLSource(
            spec.url,
            query=spec.query,
            table=spec.table,
            timestamp=spec.timestamp,
            window=spec.window,
            chunk_rows=spec.chunk_rows,
            root=self.root,
        )

    def _sql_chunks(self, spec: DatasetSpec) -> Iterator[pd.DataFrame]:
        from .sql import SQLError, iter_sql_chunks

        try:
            yield from metered_chunks(SQL, iter_sql_chunks(self._sql_source(spec)))
        except SQLError as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None

    def probe_dataset(self, name: str) -> None:
        """Cheap proof that a dataset read from a database can be read: connect, log in, and
        run its statement with ``WHERE 1 = 0`` (the table and the named columns exist).

        Raises :class:`AssetError` naming the key and the server (password masked). Datasets
        read from files or by import path are not probed here (nothing is done).
        """
        spec = self.datasets[name] if name in self.datasets else self.dataset_spec(name)
        if spec.url is None:
            return
        from .sql import SQLError, probe

        try:
            probe(self._sql_source(spec), [*spec.role_columns, *(spec.features or ())])
        except SQLError as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None

    def probe_model(self, name: str) -> None:
        """Cheap proof that a deployed model (``url = ...``) answers: one request that sends no
        rows (``/ping``, ``/v2/models/NAME/ready``, or a ``GET`` of the URL).

        Raises :class:`AssetError` naming the key and the server (credentials masked). Models
        loaded from files or by import path are not probed here (nothing is done).
        """
        spec = self.models[name] if name in self.models else self.model_spec(name)
        if spec.endpoint is None:
            return
        from .endpoints import EndpointError

        try:  # not through model(): that asks whether an optional model is available
            if name not in self._models:
                self._models[name] = self._load_model(spec)
            self._models[name].probe()
        except EndpointError as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None

    def chunks(self, name: str) -> Iterator[pd.DataFrame]:
        """The dataset as a stream of DataFrame chunks (bounded memory for large files)."""
        spec = self.dataset_spec(name)
        if spec.load is not None or spec.sample is not None:
            yield self.frame(name)
            return
        if spec.url is not None:
            yield from self._sql_chunks(spec)
            return
        from .readers import ReaderError, iter_chunks

        try:
            yield from metered_chunks(
                READ, iter_chunks(self._files(spec), chunk_rows=spec.chunk_rows, fmt=spec.format)
            )
        except ReaderError as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None

    def frame(self, name: str) -> pd.DataFrame:
        """The whole dataset as one DataFrame (sampled to ``sample`` rows when set)."""
        if name not in self._frames:
            with spending(READ) as span, plugin_work():
                self._frames[name] = self._shared_frame(name)
                span.rows = len(self._frames[name])
        return self._frames[name]

    def _shared_frame(self, name: str) -> pd.DataFrame:
        spec = self.dataset_spec(name)
        if self.shared is not None and spec.path is None:
            # a load callable or a query: run once per session, every worker sees its result.
            # Files are read by each worker that needs them: a pickled copy costs its writing
            # (2 s for 1M rows x 25 columns) even when no other worker reads it.
            df: pd.DataFrame = self.shared.get_or_compute(
                "frame", self._identity(name), lambda: self._read_frame(name)
            )
            return df
        return self._read_frame(name)

    def _identity(self, name: str) -> str:
        """What determines dataset ``name`` in this session: its configuration and, for files,
        each file's path and SHA-256 (the key of the session cache shared by xdist workers)."""
        if name not in self._identities:
            from .shared_cache import file_digest

            spec = self.dataset_spec(name)
            files = (
                [(str(f), file_digest(f)) for f in self._files(spec)]
                if spec.path is not None
                else []
            )
            self._identities[name] = repr((spec, files))
        return self._identities[name]

    def _read_frame(self, name: str) -> pd.DataFrame:
        spec = self.dataset_spec(name)
        import pandas as pd

        if spec.load is not None:
            from .loading import ImportPathError, load_callable

            try:
                df = load_callable(spec.load)()
            except ImportPathError as exc:
                raise AssetError(f"[{spec.key}]: {exc}") from None
            except Exception as exc:
                raise AssetError(
                    f"[{spec.key}] load = {spec.load!r}: calling it raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(df, pd.DataFrame):
                raise AssetError(
                    f"[{spec.key}] load = {spec.load!r}: returned {type(df).__name__}, "
                    "expected a pandas DataFrame"
                )
        elif spec.url is not None:
            parts = list(self._sql_chunks(spec))
            df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        else:
            from .readers import ReaderError, iter_chunks

            try:
                parts = list(
                    iter_chunks(self._files(spec), chunk_rows=spec.chunk_rows, fmt=spec.format)
                )
            except ReaderError as exc:
                raise AssetError(f"[{spec.key}]: {exc}") from None
            df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if len(df) == 0:
            raise AssetError(f"[{spec.key}] {self._source(spec)}: the data has no rows")
        self.require_named_columns(name, df.columns)
        if spec.sample is not None and len(df) > spec.sample:
            df = df.sample(n=spec.sample, random_state=spec.seed).sort_index()
        return df

    def require_named_columns(self, name: str, columns: Collection[Any]) -> None:
        """Every column the config names for dataset ``name`` (roles and features) is among
        ``columns`` (those of its data), else an :class:`AssetError` naming key and column."""
        spec = self.dataset_spec(name)
        named = [
            (role, getattr(spec, role))
            for role in ("id", "timestamp", "target", "prediction")
            if getattr(spec, role) is not None
        ] + [("features", c) for c in spec.features or ()]
        missing = [(role, c) for role, c in named if c not in columns]
        if missing:
            said = ", ".join(f"{role} = {c!r}" for role, c in missing)
            raise AssetError(
                f"[{spec.key}] {said}: no such column in the data read by "
                f"{self._source(spec)} (columns: {', '.join(map(str, list(columns)[:20]))})"
            )

    # -- watchers of the one streaming pass --------------------------------------------------
    def watch(self, name: str, key: str, factory: Callable[[], ChunkWatcher]) -> None:
        """Have a watcher made by ``factory`` see every chunk of dataset ``name`` when it is
        next streamed (by its profile), so that what it computes costs no read of its own.
        Registering the same ``key`` again changes nothing."""
        if (name, key) not in self._watched:
            self._watchers.setdefault(name, {}).setdefault(key, factory)

    def watched(self, name: str, key: str) -> ChunkWatcher:
        """The watcher registered as ``key`` after it has seen all of dataset ``name``: from the
        profile pass when one was made since it was registered, else from a pass of its own over
        the chunks (bounded memory either way). Profile first to make it one pass."""
        if (name, key) in self._watched:
            return self._watched[(name, key)]
        if key not in self._watchers.get(name, {}):
            raise KeyError(f"no watcher {key!r} is registered for dataset {name!r}")
        for _ in self._watched_chunks(name, only=key):  # no pass fed it: one of its own
            pass
        return self._watched[(name, key)]

    def _watched_chunks(self, name: str, only: str | None = None) -> Iterator[pd.DataFrame]:
        """The dataset's chunks, each fed first to the watchers still waiting for it; they are
        kept once they have seen the last chunk (a pass that fails leaves them waiting)."""
        waiting = self._watchers.get(name, {})
        keys = [k for k in waiting if only is None or k == only]
        if not keys:
            yield from self.chunks(name)
            return
        spec = self.dataset_spec(name)
        live = {k: waiting[k]() for k in keys}
        rows = 0
        for chunk in self.chunks(name):
            rows += len(chunk)
            for k, watcher in list(live.items()):
                try:
                    watcher.feed(chunk)
                except Exception:  # its own pass, later, raises it for the check that wants it
                    if only is not None:
                        raise
                    del live[k]
            yield chunk
        if rows == 0:
            raise AssetError(f"[{spec.key}] {self._source(spec)}: the data has no rows")
        for k, watcher in live.items():
            self._watched[(name, k)] = watcher
            del waiting[k]

    def _source(self, spec: DatasetSpec) -> str:
        """Where a dataset comes from, in words: its files, its import path or its server."""
        if spec.path is not None:
            try:
                files = self._files(spec)
            except AssetError:
                return f"path = {spec.path!r}"
            names = ", ".join(str(f) for f in files[:3]) + (", ..." if len(files) > 3 else "")
            return f"path = {spec.path!r} ({names})"
        if spec.load is not None:
            return f"load = {spec.load!r}"
        from .masking import mask_url

        return f"url = {mask_url(spec.url or '')!r}"

    def features(self, name: str) -> list[str]:
        """The feature columns: ``features`` when set, else every column but the named roles."""
        spec = self.dataset_spec(name)
        if spec.features is not None:
            return list(spec.features)
        if name in self._frames:
            roles = set(spec.role_columns)
            return [str(c) for c in self._frames[name].columns if c not in roles]
        return list(self.profile(name).columns)

    def X(self, name: str) -> pd.DataFrame:
        return self.frame(name)[self.features(name)]

    def y(self, name: str) -> pd.Series:
        spec = self.dataset_spec(name)
        if spec.target is None:
            raise AssetError(f'[{spec.key}]: no target column is configured (target = "...")')
        return self.frame(name)[spec.target]

    def _feature_chunks(self, name: str) -> Iterator[pd.DataFrame]:
        spec = self.dataset_spec(name)
        for chunk in self._watched_chunks(name):
            if spec.features is not None:
                missing = [c for c in spec.features if c not in chunk.columns]
                if missing:
                    raise AssetError(
                        f"[{spec.key}] features: {', '.join(missing)} not in the data "
                        f"(columns: {', '.join(map(str, chunk.columns[:20]))})"
                    )
                yield chunk[list(spec.features)]
            else:
                yield chunk.drop(columns=[c for c in spec.role_columns if c in chunk.columns])

    def _profile_distributed(
        self, spec: DatasetSpec, ref: DatasetProfile | None, options: Mapping[str, Any]
    ) -> DatasetProfile:
        """Profile on Dask or Spark: each file where it lives; only profiles travel back."""
        from .engines import EngineError

        profile: Callable[..., DatasetProfile]
        where: dict[str, Any]
        if spec.engine == "dask":
            from .engines.dask import profile_dask

            profile, where = profile_dask, {"scheduler": spec.scheduler}
        else:
            from .engines.spark import profile_spark

            profile, where = profile_spark, {"master": spec.master}
        try:
            return profile(
                self._files(spec),
                reference=ref,
                columns=list(spec.features) if spec.features is not None else None,
                drop=spec.role_columns if spec.features is None else (),
                fmt=spec.format,
                chunk_rows=spec.chunk_rows,
                **options,
                **where,
            )
        except (EngineError, ImportError) as exc:
            raise AssetError(f"[{spec.key}] engine = {spec.engine!r}: {exc}") from None

    def declared_kinds(self, name: str) -> dict[str, str]:
        """Column kinds the config declares for dataset ``name`` (``kinds = {...}``)."""
        spec = self.datasets[name] if name in self.datasets else self.dataset_spec(name)
        return dict(spec.kinds)  # config alone: whether an optional dataset is there is moot

    def cached_profile(self, name: str, reference: str | None = None) -> DatasetProfile | None:
        """The profile if this process already computed it (never computes); with several
        (other column kinds), the last one computed."""
        return self._latest.get((name, reference))

    def profile(
        self,
        name: str,
        reference: str | None = None,
        *,
        kinds: Mapping[str, str] | None = None,
        vocabularies: Mapping[str, Sequence[str]] | None = None,
    ) -> DatasetProfile:
        """Profile of a dataset's feature columns (bins set from ``reference``), computed once.

        ``kinds`` declares column kinds (default: the dataset's ``kinds`` in the config) and
        ``vocabularies`` the vocabulary each text column's out-of-vocabulary tokens are counted
        against; the reference dataset is profiled with the same ones.
        """
        if kinds is None:
            kinds = self.declared_kinds(name)
        vocabularies = vocabularies or {}
        key = (
            name,
            reference,
            tuple(sorted(kinds.items())),
            tuple(sorted((c, _fingerprint(v)) for c, v in vocabularies.items())),
        )
        if key not in self._profiles:
            import functools

            compute = functools.partial(self._compute_profile, name, reference, kinds, vocabularies)
            if self.shared is not None:
                # the reference first, as computing does: the same error when both are absent
                ref_identity = self._identity(reference) if reference is not None else None
                identity = (self._identity(name), ref_identity, key[2:])
                self._profiles[key] = self.shared.get_or_compute("profile", repr(identity), compute)
            else:
                self._profiles[key] = compute()
        self._latest[(name, reference)] = self._profiles[key]
        return self._profiles[key]

    def _compute_profile(
        self,
        name: str,
        reference: str | None,
        kinds: Mapping[str, str],
        vocabularies: Mapping[str, Sequence[str]],
    ) -> DatasetProfile:
        from .profiles import profile_chunks

        ref = (
            self.profile(reference, kinds=kinds, vocabularies=vocabularies)
            if reference is not None
            else None
        )
        spec = self.dataset_spec(name)
        options: dict[str, Any] = {
            "kinds": kinds,
            "vocabularies": vocabularies,
            "vocabulary_cap": spec.vocabulary_cap,
        }
        with spending(PROFILE) as span:
            try:
                if spec.engine != "local" and spec.sample is None:
                    profile = self._profile_distributed(spec, ref, options)
                else:
                    profile = profile_chunks(self._feature_chunks(name), reference=ref, **options)
            except ValueError as exc:
                raise AssetError(f"[{spec.key}]: cannot profile the data: {exc}") from None
            span.rows = profile.n_rows
        if profile.n_rows == 0:
            raise AssetError(f"[{spec.key}] {self._source(spec)}: the data has no rows")
        return profile


def _import_problem(key: str, load: str) -> str | None:
    """Why ``load = "pkg.module:callable"`` under ``[key]`` does not import, or None."""
    from .loading import ImportPathError, load_callable

    try:
        load_callable(load)
    except ImportPathError as exc:
        return f"[{key}] load = {load!r}: {exc}"
    return None


def _fingerprint(tokens: Sequence[str]) -> str:
    import hashlib

    return hashlib.sha1("\n".join(tokens).encode("utf-8", "surrogatepass")).hexdigest()
