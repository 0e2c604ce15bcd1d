"""What a built-in check declares, and what it sees when it runs.

A built-in check is one function of a :class:`CheckContext` returning a
:class:`~pytest_mltestscore.result.CheckResult`, declared beside it, in the module of its rubric
section under ``pytest_mltestscore/checks/``, as a module-level :class:`BuiltinCheck`: the rubric
item it earns, what it needs (predicates that say, in words, what is missing), its parameters
(tuned under ``[tool.mltestscore.checks.ID]``) and, for the few that need them, capabilities:

* ``session``: a :class:`SessionJudge` measured over the whole session and judged at its end
  (not as a test item), with its measurements carried from xdist workers to the controller;
* ``freeze``: a command (``pytest --ml-score-freeze-...``) that writes the checked-in file the
  check compares against;
* ``after_run``: extra JSON-safe properties a run leaves on its test report (for the history);
* ``expand``: a template that becomes one check per configured entry (SLOs);
* ``watch``: called once collection is done, before any check runs, to register what the check
  wants to see of each dataset's one streaming pass (``Assets.watch``), so that it needs no read
  of its own (the PII scan rides the profile pass);
* ``prepare``: called at the same moment, to start in the background what the check will need
  when it runs (the warm process a fresh-process check forks from imports its libraries while
  the checks before it run).

The registry (:mod:`pytest_mltestscore.registry`) finds the declarations and validates their
parameters; the pytest glue collects one item per check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .result import CheckResult
from .result import NotJudged as NotJudged  # where checks find it

if TYPE_CHECKING:
    import pandas as pd

    from .assets import Assets, ModelTrial
    from .history import HistoryStore
    from .settings import Settings


@dataclass(frozen=True)
class Param:
    """One tunable parameter of a check: its TOML type, default and meaning."""

    name: str
    kind: str  # number | integer | string | bool | strings | datetime | table
    default: Any
    help: str
    lo: float = 0.0
    hi: float | None = None
    choices: tuple[str, ...] | Callable[[], Sequence[str]] | None = None  # for strings
    check: Callable[[Any, Settings], str | None] | None = None  # a configured value's problem
    # the check imports user code: under xdist validated once, by the first worker
    imports: bool = False

    def allowed(self) -> Sequence[str] | None:
        """The values a string parameter may take, or None when any string will do."""
        return self.choices() if callable(self.choices) else self.choices


def configured_dataset(value: Any, settings: Settings) -> str | None:
    """A parameter naming a dataset must name a configured one."""
    if value in settings.datasets:
        return None
    known = ", ".join(sorted(settings.datasets)) or "none"
    return f"no dataset {value!r} is configured (configured: {known})"


def import_path(value: Any, settings: Settings) -> str | None:
    """A parameter naming a callable must import (user code is imported once, at start)."""
    from .loading import ImportPathError, load_callable

    try:
        load_callable(str(value))
    except ImportPathError as exc:
        return str(exc)
    return None


def _metric_names() -> list[str]:
    from .metrics import METRICS

    return sorted(METRICS)


METRIC = Param(
    "metric",
    "string",
    None,
    "quality metric (accuracy, roc_auc, log_loss, rmse...; default: by task)",
    choices=_metric_names,
)
"""The ``metric`` parameter most model checks share."""


@dataclass
class CheckContext:
    """What a running check sees: the assets, the settings, its own parameters and the history."""

    assets: Assets
    settings: Settings
    params: Mapping[str, Any]
    check_id: str = ""
    history: Callable[[], HistoryStore | None] = lambda: None  # opens the store, or None

    @property
    def root(self) -> Path:
        return self.settings.root

    @property
    def schema_path(self) -> Path:
        assert self.settings.schema_path is not None
        return self.settings.schema_path

    # -- what checks feed the model ----------------------------------------------------------
    def model(self, name: str = "default") -> Any:
        """The configured model, once it has been seen to take a few rows of the training data.

        Raises :class:`NotJudged` when it cannot (the check cannot judge a model that cannot
        take its input; the summary tells once how to make it take them).
        """
        model = self.assets.model(name)
        trial = self.assets.trial(name)
        if not trial.ok:
            raise ModelRejectsData(trial)
        return model

    def model_inputs(self, model_name: str, ds: str) -> pd.DataFrame:
        """The dataset's columns the model was fitted on (``feature_names_in_``), else its
        features; the model has passed its trial."""
        self.model(model_name)
        return self.assets.model_inputs(model_name, ds)

    def labelled(self, model_name: str, ds: str) -> tuple[pd.DataFrame, pd.Series]:
        """Model inputs and labels of the rows of ``ds`` that carry a label."""
        X = self.model_inputs(model_name, ds)
        y = self.assets.y(ds)
        keep = y.notna().to_numpy()
        return X[keep], y[keep]

    def holdout_name(self) -> str:
        """The labelled held-out dataset: ``validation`` (when available), else ``serving``."""
        available = self.assets.unavailable("dataset", "validation") is None
        return "validation" if "validation" in self.assets.datasets and available else "serving"

    def fit_function(self) -> Callable[..., Any]:
        """The configured ``[tool.mltestscore.training] fit`` callable."""
        from .assets import AssetError
        from .loading import ImportPathError, load_callable

        assert self.settings.training_fit is not None
        from .cost import counted_trainer

        try:
            return counted_trainer(load_callable(self.settings.training_fit))
        except ImportPathError as exc:
            raise AssetError(f"[tool.mltestscore.training] fit: {exc}") from None


class ModelRejectsData(NotJudged):
    """A model failed its trial: it cannot take the columns of the data it would be fed."""

    def __init__(self, trial: ModelTrial) -> None:
        super().__init__(trial.reason())
        self.explanation = trial.explain()


Needs = Callable[[CheckContext], "str | None"]
"""A predicate on the context: None when met, else the reason (what to configure) in words.
Its docstring's first line names the need in the README's table of checks."""


def dataset(name: str, *, column: str | None = None) -> Needs:
    """Needs dataset ``name``, and when ``column`` is a role (target, id, timestamp), that role."""

    def need(ctx: CheckContext) -> str | None:
        spec = ctx.assets.datasets.get(name)
        if spec is None:
            return f"no dataset {name!r} configured ([tool.mltestscore.datasets.{name}])"
        if (absent := ctx.assets.unavailable("dataset", name)) is not None:
            return f"dataset {name!r} is optional and not available: {absent}"
        if column is not None and getattr(spec, column) is None:
            return f"dataset {name!r} names no {column} column ([{spec.key}] {column} = ...)"
        return None

    need.__doc__ = f"`{name}` dataset" + (f" with `{column}`" if column else "")
    return need


def model(name: str, *, artifact: bool = False) -> Needs:
    """Needs model ``name`` (and with ``artifact``, loaded from a file rather than code)."""

    def need(ctx: CheckContext) -> str | None:
        spec = ctx.assets.models.get(name)
        if spec is None:
            return f"no model {name!r} configured ([tool.mltestscore.models.{name}])"
        if (absent := ctx.assets.unavailable("model", name)) is not None:
            return f"model {name!r} is optional and not available: {absent}"
        if artifact and spec.path is None:
            how = "called at an endpoint" if spec.endpoint is not None else "loaded by import path"
            return f"model {name!r} is {how}; this check needs an artifact file (path = ...)"
        return None

    need.__doc__ = f"`{name}` model" + (" (artifact file)" if artifact else "")
    return need


def setting(attr: str, key: str) -> Needs:
    """Needs the setting ``attr`` (written ``key`` in ``[tool.mltestscore]``) to be non-empty."""

    def need(ctx: CheckContext) -> str | None:
        if getattr(ctx.settings, attr):
            return None
        return f"no {key} configured in [tool.mltestscore]"

    need.__doc__ = f"`{key}`" if key.startswith("[") else f"`{attr}`"
    return need


def param(name: str, what: str) -> Needs:
    """Needs the check's own parameter ``name``; ``what`` says what is missing without it."""

    def need(ctx: CheckContext) -> str | None:
        if ctx.params.get(name) is not None:
            return None
        return f"{what} (set {name} under [tool.mltestscore.checks.{ctx.check_id}])"

    need.__doc__ = f"`{name}` parameter"
    return need


def needs_holdout(ctx: CheckContext) -> str | None:
    """labelled `validation` (or `serving`) dataset"""
    for name in ("validation", "serving"):
        spec = ctx.assets.datasets.get(name)
        labelled = spec is not None and spec.target is not None
        if labelled and ctx.assets.unavailable("dataset", name) is None:
            return None
    return (
        "no labelled held-out data: configure a 'validation' dataset (or 'serving') with a target"
    )


def needs_some_data(ctx: CheckContext) -> str | None:
    """`training` or `serving` dataset"""
    if "training" in ctx.assets.datasets or "serving" in ctx.assets.datasets:
        return None
    return "no 'training' or 'serving' dataset configured"


def needs_history(ctx: CheckContext) -> str | None:
    """run history (on by default)"""
    if ctx.settings.history is None:
        return "run history is off (history = false in [tool.mltestscore])"
    return None


class SessionJudge(Protocol):
    """A check measured over the whole session and judged once at its end.

    Created when the session is configured, in every process (before test modules are imported),
    and started (:meth:`start`) in each process that runs tests.
    Under pytest-xdist each worker's :meth:`payload` (a JSON-safe value) reaches the controller,
    which :meth:`receive` s it; the controller then calls :meth:`judge` once. ``partial`` names
    why the run is not a whole run of the suite (tests deselected, the session stopped early),
    or is None.
    """

    def start(self) -> None:
        """Begin measuring: called in each process that runs tests (serially, or on each xdist
        worker; not on the controller, which runs none)."""

    def payload(self) -> Any: ...

    def receive(self, payload: Any) -> None: ...

    def judge(self, partial: str | None) -> CheckResult: ...


@dataclass(frozen=True)
class Freeze:
    """A command that writes the checked-in file a check compares against, then ends the run.

    ``option`` is the command-line flag (its ``dest`` attribute on ``config.option`` must be
    true for the command to run); ``run`` writes the file and returns what it did, in words.
    Refusals are :class:`pytest.UsageError` s naming the option.
    """

    option: str
    run: Callable[[CheckContext], str]


@dataclass(frozen=True)
class BuiltinCheck:
    """The declaration of one built-in check (see the module docstring)."""

    rubric_id: str
    name: str
    summary: str
    needs: tuple[Needs, ...]
    run: Callable[[CheckContext], CheckResult] | None = None
    params: tuple[Param, ...] = ()
    session: Callable[[CheckContext], SessionJudge] | None = None
    freeze: Freeze | None = None
    after_run: Callable[[CheckContext], Sequence[tuple[str, object]]] | None = None
    expand: Callable[[Settings], tuple[BuiltinCheck, ...]] | None = None
    watch: Callable[[CheckContext], None] | None = None
    prepare: Callable[[CheckContext], None] | None = None
    declines: str = ""  # when, beyond its needs, it cannot judge (the README's table says)
    kinds: str = ""  # the column kinds it judges, in words (README's table); "" for none

    @property
    def collect(self) -> bool:
        """Collected as a test item (a template is collected as the checks it expands to).

        A session judge is collected too, so that -k selects it and pytest counts it, but it is
        judged, and reported, at the end of the run."""
        return self.expand is None

    def missing(self, ctx: CheckContext) -> list[str]:
        return [reason for need in self.needs if (reason := need(ctx)) is not None]

    def needs_text(self) -> str:
        """What the check needs, in words, from the docstrings of its need predicates."""
        return ", ".join((n.__doc__ or n.__name__).strip().splitlines()[0] for n in self.needs)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}
