"""Models and datasets described once in ``[tool.mltestscore]``, loaded lazily and cached.

``[tool.mltestscore.models.NAME]`` and ``[tool.mltestscore.datasets.NAME]`` are parsed into
frozen specs when the session starts (so a typo is a usage error); nothing is loaded until a
test or a built-in check asks. :class:`Assets` loads each model and dataset once per process and
keeps their profiles, so that every data check reads a dataset at most once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .settings import DatasetSpec, ModelSpec

if TYPE_CHECKING:
    import pandas as pd

    from .profiles import DatasetProfile


class AssetError(Exception):
    """A configured model or dataset could not be loaded; the message names key and file."""


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

    # -- models ----------------------------------------------------------------------------
    def model_spec(self, name: str) -> ModelSpec:
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise AssetError(
                f"no model {name!r} is configured: add [tool.mltestscore.models.{name}] "
                f"(configured: {known})"
            )
        return self.models[name]

    def model(self, name: str = "default") -> Any:
        if name not in self._models:
            self._models[name] = self._load_model(self.model_spec(name))
        return self._models[name]

    def _load_model(self, spec: ModelSpec) -> Any:
        """The model, composed with its transform when the config names one (one object that
        takes the raw frame, as serving does: see :mod:`pytest_mltestscore.prepared`)."""
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
        raise AssetError(
            f"[{spec.key}]: the model's age is unknown; set created = 2026-10-01 (the date it "
            "was trained) or load it from an artifact file"
        )

    # -- datasets --------------------------------------------------------------------------
    def dataset_spec(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            known = ", ".join(sorted(self.datasets)) or "none"
            raise AssetError(
                f"no dataset {name!r} is configured: add [tool.mltestscore.datasets.{name}] "
                f"(configured: {known})"
            )
        return self.datasets[name]

    def _files(self, spec: DatasetSpec) -> list[Path]:
        from .readers import ReaderError, resolve_paths

        assert spec.path is not None
        try:
            return resolve_paths(spec.path, self.root)
        except ReaderError as exc:
            raise AssetError(f"[{spec.key}] path = {spec.path!r}: {exc}") from None

    def chunks(self, name: str) -> Iterator[pd.DataFrame]:
        """The dataset as a stream of DataFrame chunks (bounded memory for large files)."""
        spec = self.dataset_spec(name)
        if spec.load is not None or spec.sample is not None:
            yield self.frame(name)
            return
        from .readers import ReaderError, iter_chunks

        try:
            yield from iter_chunks(self._files(spec), chunk_rows=spec.chunk_rows, fmt=spec.format)
        except ReaderError as exc:
            raise AssetError(f"[{spec.key}]: {exc}") from None

    def frame(self, name: str) -> pd.DataFrame:
        """The whole dataset as one DataFrame (sampled to ``sample`` rows when set)."""
        if name in self._frames:
            return self._frames[name]
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
        else:
            from .readers import ReaderError, iter_chunks

            try:
                parts = list(
                    iter_chunks(self._files(spec), chunk_rows=spec.chunk_rows, fmt=spec.format)
                )
            except ReaderError as exc:
                raise AssetError(f"[{spec.key}]: {exc}") from None
            df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        missing = [c for c in (*spec.role_columns, *(spec.features or ())) if c not in df.columns]
        if missing:
            raise AssetError(
                f"[{spec.key}]: column(s) {', '.join(missing)} named in the config are not in "
                f"the data (columns: {', '.join(map(str, df.columns[:20]))})"
            )
        if spec.sample is not None and len(df) > spec.sample:
            df = df.sample(n=spec.sample, random_state=spec.seed).sort_index()
        self._frames[name] = df
        return df

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
        for chunk in self.chunks(name):
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
        return dict(self.dataset_spec(name).kinds)

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
            try:
                if spec.engine != "local" and spec.sample is None:
                    self._profiles[key] = self._profile_distributed(spec, ref, options)
                else:
                    self._profiles[key] = profile_chunks(
                        self._feature_chunks(name), reference=ref, **options
                    )
            except ValueError as exc:
                spec = self.dataset_spec(name)
                raise AssetError(f"[{spec.key}]: cannot profile the data: {exc}") from None
        self._latest[(name, reference)] = self._profiles[key]
        return self._profiles[key]


def _fingerprint(tokens: Sequence[str]) -> str:
    import hashlib

    return hashlib.sha1("\n".join(tokens).encode("utf-8", "surrogatepass")).hexdigest()
