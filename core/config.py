"""The run configuration (DESIGN section 5): the one carrier of every run setting.

A config file and the Python API build the same validated models: :func:`load_config` from a TOML
file, :meth:`RunConfig.from_api` from ``Session.tune``/``train`` keyword arguments. The runner reads
its settings from these models and plugins get ``RunConfig.to_plain()`` in ``run-started`` and
``trainhooks_configure``, the same shape whichever way the run came in. Adding a setting is one
field here plus its line in docs/configuration.md.

Every bad field becomes one line naming its dotted path (``search.space.alpha.low: must be < high``).
Plugin tables under ``[plugins.<name>]`` are kept as they are and checked by their plugins in
``trainhooks_configure``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from trainhooks.hooks import SettingsError, did_you_mean, validate_settings

from .dispatch import DEFAULT_HOOK_TIMEOUT_S
from .errors import ConfigError
from .extras import EXTRAS
from .space import Categorical, Integer, Real, SearchSpace, parse_dimension, to_plain

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_N_JOBS = 1024
"""Trials in flight at most (a Dask cluster's slots); a process pool is also held to
``PROCESSES_PER_CORE`` workers per core of this machine."""

PROCESSES_PER_CORE = 4

IN_MEMORY_DATA = "in_memory_data"
"""Validation context flag: the data comes as arrays from Python, not from ``[data]``."""


class _Section(BaseModel):
    """A config table: unknown keys refused, no silent type conversion (``true`` is not an int),
    finite numbers only."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ExperimentConfig(_Section):
    name: str = Field(default="default", min_length=1)
    tracking_uri: str | None = None


class DataConfig(_Section):
    dataset: str | None = None
    path: str | None = None
    target: str | None = None
    test_size: float = Field(default=0.2, ge=0.0, lt=1.0)
    random_state: int | None = 0

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo) -> DataConfig:
        in_memory = bool(info.context and info.context.get(IN_MEMORY_DATA))
        if in_memory:
            if self.dataset is not None or self.path is not None:
                raise ValueError("the data is given as X and y; 'dataset' and 'path' are for config files")
            return self
        if (self.dataset is None) == (self.path is None):
            raise ValueError("give exactly one of 'dataset' or 'path'")
        if self.path is not None and not self.target:
            raise ValueError("'target' is required with 'path'")
        return self


AUTO = "auto"
"""The estimator name of the automatic preprocessing step (see trainhooks.pipelines.auto_preprocessor)."""

PIPELINE_PARAMS = frozenset({"memory", "steps", "transform_input", "verbose"})
"""Names a Pipeline step cannot take: they are the Pipeline's own parameters."""


class _Shown(_Section):
    """A table shown to plugins as written: keys that were not given (None) are left out."""

    @model_serializer(mode="wrap")
    def _given_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


def _step_name(value: str) -> str:
    if "__" in value:
        raise ValueError("must not contain '__' (it separates step and parameter in search keys)")
    if value in PIPELINE_PARAMS:
        raise ValueError(f"{value!r} is a Pipeline parameter; choose another step name")
    return value


class TransformerConfig(_Shown):
    """One entry of a ColumnTransformer step's ``transformers``: what to apply (an estimator,
    ``"drop"``, ``"passthrough"``, or a small pipeline of ``steps``) to which columns (``columns`` by
    name or position, or a dtype/name selector, sklearn's ``make_column_selector``)."""

    name: str = Field(min_length=1)
    estimator: str | None = Field(default=None, min_length=1)
    params: dict[str, Any] | None = None
    steps: list[StepConfig] | None = Field(default=None, min_length=1)
    columns: list[str | int] | None = None
    dtype_include: list[str] | None = Field(default=None, min_length=1)
    dtype_exclude: list[str] | None = Field(default=None, min_length=1)
    pattern: str | None = None

    @field_validator("name")
    @classmethod
    def _usable_name(cls, value: str) -> str:
        return _step_name(value)

    @model_validator(mode="after")
    def _what_and_where(self) -> TransformerConfig:
        if (self.estimator is None) == (self.steps is None):
            raise ValueError("give exactly one of 'estimator' or 'steps'")
        if self.steps is not None and self.params is not None:
            raise ValueError("'params' goes with 'estimator'; with 'steps' give each step its params")
        selector = (self.dtype_include, self.dtype_exclude, self.pattern) != (None, None, None)
        if (self.columns is None) == (not selector):
            raise ValueError("give either 'columns' or a selector ('dtype_include', 'dtype_exclude', 'pattern')")
        return self


class StepConfig(_Shown):
    """One step of ``[model] steps``: a named estimator with its params; ``estimator = "auto"`` is
    the automatic preprocessing; a ColumnTransformer step lists its ``transformers``."""

    name: str = Field(min_length=1)
    estimator: str = Field(min_length=1)
    params: dict[str, Any] | None = None
    transformers: list[TransformerConfig] | None = Field(default=None, min_length=1)

    @field_validator("name")
    @classmethod
    def _usable_name(cls, value: str) -> str:
        return _step_name(value)

    @model_validator(mode="after")
    def _auto_alone(self) -> StepConfig:
        if self.estimator == AUTO and (self.params is not None or self.transformers is not None):
            raise ValueError(
                "estimator 'auto' takes no params or transformers (search its settings by name, "
                "e.g. '<step>__num__impute__strategy', or write a ColumnTransformer step)"
            )
        return self


class ModelConfig(_Shown):
    """``[model]``: one ``estimator`` (optionally behind ``preprocess = "auto"``), or a Pipeline of ``steps``."""

    estimator: str | None = Field(default=None, min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    preprocess: Literal["auto"] | None = None
    steps: list[StepConfig] | None = Field(default=None, min_length=1)

    @model_serializer(mode="wrap")
    def _given_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        shown = {key: value for key, value in handler(self).items() if value is not None}
        if self.steps is not None:
            del shown["params"]  # each step has its own
        return shown

    @model_validator(mode="after")
    def _estimator_or_steps(self) -> ModelConfig:
        if (self.estimator is None) == (self.steps is None):
            raise ValueError("give exactly one of 'estimator' or 'steps'")
        if self.steps is not None and self.params:
            raise ValueError("'params' goes with 'estimator'; with 'steps' give each step its params")
        if self.steps is not None and self.preprocess is not None:
            raise ValueError("'preprocess' goes with 'estimator'; with 'steps' add a step with estimator = 'auto'")
        return self


TransformerConfig.model_rebuild()


def _scorer_names() -> list[str]:
    from sklearn.metrics import get_scorer_names

    return list(get_scorer_names())


def space_to_plain(space: SearchSpace) -> dict[str, Any]:
    """The search space as a config file writes it: lists of choices and ``{low, high, log, type}``
    ranges; a scipy distribution or skopt dimension from Python appears as its repr."""
    plain: dict[str, Any] = {}
    for name, dim in space.dimensions.items():
        if isinstance(dim, Categorical):
            plain[name] = to_plain(list(dim.choices))
        elif isinstance(dim, (Real, Integer)):
            kind = "int" if isinstance(dim, Integer) else "float"
            plain[name] = {"low": dim.low, "high": dim.high, "log": dim.log, "type": kind}
        else:
            plain[name] = repr(getattr(dim, "dist", None) or getattr(dim, "dimension", dim))
    return plain


class BayesSettings(_Section):
    """``[search.bayes]``: the scikit-optimize ``Optimizer`` behind ``strategy = "bayes"``.

    The defaults are skopt's own (a Gaussian process, ``gp_hedge``, its kernel fit with 2 restarts)
    except the acquisition search, which is 10x smaller (``n_points`` 1000 instead of 10000, 2 L-BFGS
    starts instead of 5): half the CPU per point for the same search quality, measured with
    ``benchmarks/bayes_settings.py`` (docs/tuning.md, "Bayesian optimisation settings").
    """

    base_estimator: Literal["GP", "RF", "ET"] = "GP"
    """The surrogate: Gaussian process, random forest or extra trees (skopt's GBRT fails with current scikit-learn)."""
    acq_func: Literal["gp_hedge", "EI", "PI", "LCB"] = "gp_hedge"
    """The acquisition function; ``gp_hedge`` picks among EI, PI and LCB as the search goes."""
    acq_optimizer: Literal["auto", "sampling", "lbfgs"] = "auto"
    """How the acquisition is maximised: ``lbfgs`` (GP only) or random ``sampling``; ``auto`` lets skopt choose."""
    n_restarts_optimizer: int = Field(default=2, ge=1)
    """L-BFGS starts when maximising the acquisition (``acq_optimizer = "lbfgs"``)."""
    n_points: int = Field(default=1000, ge=1)
    """Random samples the acquisition is evaluated at: the best start L-BFGS (or are the answer, with ``sampling``)."""
    kernel_restarts: int = Field(default=2, ge=0)
    """GP only: random restarts of the kernel-hyperparameter fit, on top of its first start."""
    n_initial_points: int | None = Field(default=None, ge=1)
    """Random points before the surrogate is used; ``None``: a third of ``n_trials``, at least 2, at most 10."""
    lookahead: bool = True
    """Compute the next point while the current trial trains (it then does not know that trial's result)."""

    @model_validator(mode="after")
    def _lbfgs_needs_a_gradient(self) -> BayesSettings:
        if self.acq_optimizer == "lbfgs" and self.base_estimator != "GP":
            raise ValueError(
                f'acq_optimizer = "lbfgs" needs base_estimator = "GP" (tree surrogates have no gradient), '
                f"got {self.base_estimator!r}"
            )
        return self


class TpeSettings(_Section):
    """``[search.tpe]``: Optuna's ``TPESampler`` behind ``strategy = "tpe"`` (Optuna's defaults)."""

    n_startup_trials: int = Field(default=10, ge=1)
    """Random trials before the Parzen estimators are used."""
    multivariate: bool = False
    """Model the parameters jointly instead of one by one (Optuna's multivariate TPE)."""


STRATEGY_SETTINGS: dict[str, str] = {"bayes": "bayes", "tpe": "tpe"}
"""Strategies with a settings table of their own: strategy name -> ``[search]`` key of that table."""


class SearchConfig(_Section):
    """``[search]``: how trials are proposed, trained, scored and run (see docs/configuration.md).

    ``cv`` and ``scoring`` also take what only Python can give: a scikit-learn splitter and a
    scorer callable; plugins then see their repr.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    strategy: str = "random"
    n_trials: int = Field(default=10, gt=0)
    cv: Any = 5
    scoring: Any = None
    random_state: int | None = 0
    n_jobs: int = Field(default=1, ge=1, le=MAX_N_JOBS)
    executor: Literal["sequential", "process", "dask"] = "sequential"
    dask_address: str | None = None
    max_epochs: int = Field(default=10, ge=1)
    eval_every: int = Field(default=1, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    blas_threads: int | None = Field(default=None, ge=1)
    refit: bool = True
    bayes: BayesSettings = Field(default_factory=BayesSettings)
    tpe: TpeSettings = Field(default_factory=TpeSettings)
    space: Any = None

    @field_validator("cv", mode="before")
    @classmethod
    def _folds_or_splitter(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 2:
                raise ValueError("needs at least 2 folds")
            return value
        if hasattr(value, "split") and hasattr(value, "get_n_splits"):
            return value
        raise ValueError(f"must be a number of folds (>= 2) or a scikit-learn splitter, got {value!r}")

    @field_validator("executor")
    @classmethod
    def _executor_installed(cls, value: str) -> str:
        if value == "dask":  # refused before the run starts, naming the extra that provides it
            EXTRAS["dask"].require("search.executor", '"dask"')
        return value

    @model_validator(mode="after")
    def _process_pool_fits_this_machine(self) -> SearchConfig:
        limit = PROCESSES_PER_CORE * (os.cpu_count() or 1)
        if self.executor == "process" and self.n_jobs > limit:
            raise SettingsError(
                f"search.n_jobs: at most {limit} worker processes on this machine "
                f'({PROCESSES_PER_CORE} per core), got {self.n_jobs}; use executor = "dask" for more'
            )
        return self

    @field_validator("scoring", mode="before")
    @classmethod
    def _known_scorer(cls, value: Any) -> Any:
        if value is None or (callable(value) and not isinstance(value, str)):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be a scorer name or a scorer callable, got {value!r}")
        names = _scorer_names()
        if value not in names:
            raise ValueError(
                f"unknown scorer {value!r}{did_you_mean(value, names)} (see sklearn.metrics.get_scorer_names())"
            )
        return value

    @field_validator("space", mode="before")
    @classmethod
    def _parsed_space(cls, value: Any) -> SearchSpace | None:
        """Parse the space once; every bad dimension is its own error line, named in full."""
        if value is None or isinstance(value, SearchSpace):
            return value
        if not isinstance(value, Mapping) or not value:
            return SearchSpace.parse(value)  # its one-line refusal of a non-table or an empty one
        dimensions, problems = {}, []
        for name, spec in value.items():
            try:
                dimensions[str(name)] = parse_dimension(f"search.space.{name}", spec)
            except SettingsError as exc:
                problems.append(str(exc))
        if problems:
            raise SettingsError("\n".join(problems))
        return SearchSpace(dimensions)

    def strategy_settings(self) -> dict[str, Any]:
        """Keyword arguments for the chosen strategy's factory: ``settings=`` its table, if it has one."""
        key = STRATEGY_SETTINGS.get(self.strategy)
        # only a table that was written: a plugin replacing "bayes" is then called as the contract says
        return {"settings": getattr(self, key)} if key in self.model_fields_set else {}

    @field_serializer("cv", "scoring")
    def _plain_or_repr(self, value: Any) -> Any:
        return value if value is None or isinstance(value, (int, str)) else repr(value)

    @field_serializer("space")
    def _plain_space(self, value: SearchSpace | None) -> dict[str, Any] | None:
        return None if value is None else space_to_plain(value)


class PluginsConfig(BaseModel):
    """``[plugins]``: the loader's settings; ``[plugins.<name>]`` tables are extra keys."""

    model_config = ConfigDict(extra="allow", strict=True)

    disable: list[str] = Field(default_factory=list)
    on_error: Literal["warn", "raise", "disable"] = "warn"
    max_failures: int = Field(default=3, ge=1)
    hook_timeout_s: float = Field(default=DEFAULT_HOOK_TIMEOUT_S, gt=0, allow_inf_nan=False)
    """Seconds one hook call may take; a plugin that takes longer is reported and gets no more calls."""

    @model_validator(mode="after")
    def _tables_only(self) -> PluginsConfig:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, Mapping):
                raise ValueError(f"'{key}' must be a table [plugins.{key}] of that plugin's settings")
        return self

    def table(self, name: str) -> dict[str, Any]:
        """The settings table of plugin ``name`` (empty if absent)."""
        return dict((self.model_extra or {}).get(name, {}))

    @property
    def tables(self) -> list[str]:
        """Names of the plugins that have a ``[plugins.<name>]`` table."""
        return list(self.model_extra or {})


class RunSettings(_Section):
    """``[run]``: where a run keeps its files, and which interrupted run to continue (docs/durability.md)."""

    dir: str = Field(default="trainhooks-runs", min_length=1)
    """The root of the runs' directories: run ``<run_id>`` keeps its journal (and plugins their files)
    in ``<dir>/<run_id>/``. A relative path is taken from the working directory."""
    journal: bool = True
    """Write the run journal (``<dir>/<run_id>/journal.jsonl``); without it a run cannot be resumed."""
    resume: str | None = Field(default=None, min_length=1)
    """The id of an interrupted run to continue (``tune --resume RUN_ID``); ``None`` starts a new run."""


class RunConfig(_Section):
    """A whole run: what to train, on which data, how to search, and plugin settings."""

    experiment: ExperimentConfig = Field(default_factory=ExperimentConfig)
    data: DataConfig | None = None
    model: ModelConfig
    search: SearchConfig = Field(default_factory=SearchConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    run: RunSettings = Field(default_factory=RunSettings)

    def to_plain(self) -> dict[str, Any]:
        """The configuration as a plain JSON-ready dict (what ``run-started`` carries)."""
        return to_plain(self.model_dump(mode="json"))

    @classmethod
    def from_api(
        cls,
        *,
        model: Mapping[str, Any],
        experiment: Mapping[str, Any],
        test_size: float | None,
        settings: Mapping[str, Any],
        plugins: Mapping[str, Any],
        run: Mapping[str, Any] | None = None,
    ) -> RunConfig:
        """The config of a Python-API run, validated by the same rules as a config file.

        ``settings`` are ``Session.tune``/``train`` keyword arguments, each a ``[search]`` key
        (``tune(max_epochs=0)`` fails like ``max_epochs = 0`` in a file would, before any event).
        The data comes as arrays, so ``[data]`` holds only the held-out share (none by default)
        and the seed that splits it (the search's ``random_state``). ``experiment`` and ``plugins``
        are the ``[experiment]`` and ``[plugins]`` tables (the session's loader settings and each
        plugin's table).
        ``model`` is the ``[model]`` table describing the Python estimator
        (:func:`trainhooks.pipelines.describe_model`).
        """
        random_state = settings.get("random_state", SearchConfig.model_fields["random_state"].default)
        data = {
            "experiment": dict(experiment),
            "data": {"test_size": float(test_size or 0.0), "random_state": random_state},
            "model": dict(model),
            "search": dict(settings),
            "plugins": dict(plugins),
            "run": dict(run or {}),
        }
        return parse_config(data, in_memory_data=True)


def parse_config(data: Mapping[str, Any], *, in_memory_data: bool = False) -> RunConfig:
    """Validate a configuration mapping; every problem becomes one line of the ConfigError."""
    try:
        return validate_settings(RunConfig, data, context={IN_MEMORY_DATA: in_memory_data})
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw TOML table of a configuration file (not yet validated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"]["c"] = value`` for ``dotted == "a.b.c"``, creating tables as needed."""
    *parents, last = dotted.split(".")
    table = data
    for key in parents:
        child = table.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: {key!r} is not a table")
        table = child
    table[last] = value


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read and validate a TOML run configuration, after applying dotted-path ``overrides``.

    Every error line names the file and the field.
    """
    data = read_config_file(path)
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value)
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None


__all__ = [
    "AUTO",
    "MAX_N_JOBS",
    "PROCESSES_PER_CORE",
    "STRATEGY_SETTINGS",
    "BayesSettings",
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "PluginsConfig",
    "RunConfig",
    "RunSettings",
    "SearchConfig",
    "StepConfig",
    "TpeSettings",
    "TransformerConfig",
    "load_config",
    "parse_config",
    "read_config_file",
    "set_path",
    "space_to_plain",
]
