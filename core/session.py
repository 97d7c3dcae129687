"""A :class:`Session` holds one set of loaded plugins and runs any number of tunes and trains.

``trainhooks.tune`` and ``trainhooks.train`` are one-shot conveniences over a fresh session.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trainhooks.hooks import PROJECT_NAME

from . import data as datamod
from .config import RunConfig
from .data_validation import DataValidation
from .dispatch import DEFAULT_HOOK_TIMEOUT_S, Dispatcher, OnError
from .errors import ConfigError
from .pipelines import as_table, build_model, describe_model, explicit_params, shown_model
from .plugin_loader import PluginInfo, PluginLoader, check_plugin_tables, new_plugin_manager
from .results import RunResult
from .runner import Runner, RunSpec
from .validation import (
    check_estimator_params,
    check_scorer,
    check_space,
)


def current_user() -> str:
    """The operating-system account running this process: the principal of CLI runs.

    On POSIX it is the account of the *effective* uid (``pwd.getpwuid(os.geteuid())``), or the uid as
    a string when it has no passwd entry (some containers). No environment variable changes it:
    ``getpass.getuser()`` reads ``LOGNAME``/``USER`` first, so ``LOGNAME=admin`` would forge it.
    Elsewhere (Windows) it is ``os.getlogin()``, the account of the process token, or ``"unknown"``.
    """
    try:
        import pwd
    except ImportError:  # not POSIX
        try:
            return os.getlogin()
        except OSError:
            return "unknown"
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class Session:
    """Loaded plugins plus the dispatcher that calls them; reusable across runs.

    :param plugins: extra plugin instances to register (e.g. your own hook implementations).
    :param disable: plugin names to block before they are imported.
    :param strict_plugins: make a plugin that fails to load an error instead of a warning.
    :param autoload: load entry-point plugins (default: unless ``TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD=1``).
    :param on_error: what a failing notification hook does: "warn", "raise" or "disable".
    :param max_failures: with ``on_error="disable"``, failures before a plugin is unregistered.
    :param hook_timeout_s: seconds one hook call may take before its plugin is reported and dropped.
    :param principal: who runs (checked by ``trainhooks_check_permission``); default the OS user.
    """

    def __init__(
        self,
        *,
        plugins: Sequence[object] = (),
        disable: Iterable[str] = (),
        strict_plugins: bool = False,
        autoload: bool | None = None,
        on_error: OnError = "warn",
        max_failures: int = 3,
        principal: str | None = None,
        hook_timeout_s: float = DEFAULT_HOOK_TIMEOUT_S,
    ) -> None:
        disable = list(disable)
        self.manager = new_plugin_manager()
        loader = PluginLoader(self.manager, blocked=disable, strict=strict_plugins, autoload=autoload)
        self.plugin_report: list[PluginInfo] = loader.load_all(extra=plugins)
        self.dispatcher = Dispatcher(
            self.manager,
            on_error=on_error,
            max_failures=max_failures,
            sender=self,
            hook_timeout_s=hook_timeout_s,
            plugins=self.plugin_report,
            protected=loader.protected,
        )
        self.principal = principal or current_user()
        self.plugin_settings = {
            "disable": disable,
            "on_error": on_error,
            "max_failures": max_failures,
            "hook_timeout_s": hook_timeout_s,
        }
        """The ``[plugins]`` loader settings this session was made with (part of every API run's config)."""

    @property
    def plugin_names(self) -> list[str]:
        return [info.name for info in self.plugin_report if info.status == "active"]

    def get_plugin(self, name: str) -> Any:
        """The registered plugin instance called ``name`` (or ``None``)."""
        return self.manager.get_plugin(name)

    def registered_estimators(self) -> dict[str, type]:
        """Estimator classes plugins offer by name; a failing plugin follows ``on_error`` (core/dispatch.py)."""
        registered: dict[str, type] = {}
        for answer in reversed(self.dispatcher.collect("trainhooks_register_estimators")):
            registered.update(answer.value)
        return registered

    def execute(self, spec: RunSpec) -> RunResult:
        """Run a prepared :class:`RunSpec` with this session's plugins.

        Raises :class:`~trainhooks.results.AllTrialsFailed` (carrying the result) after the run
        ended normally if every trial failed: there is no best model to return.
        """
        runner = Runner(self.dispatcher, spec, principal=self.principal, plugin_names=self.plugin_names)
        return runner.run().raise_if_all_failed()

    # -- Python API ----------------------------------------------------------------------------

    def tune(
        self,
        estimator: Any,
        space: Mapping[str, Any],
        X: Any,
        y: Any,
        *,
        experiment: str = "default",
        tracking_uri: str | None = None,
        test_size: float | None = None,
        plugin_config: Mapping[str, Mapping[str, Any]] | None = None,
        run: Mapping[str, Any] | None = None,
        resume: str | None = None,
        **settings: Any,
    ) -> RunResult:
        """Search ``space`` for the best parameters of ``estimator`` by cross-validation.

        ``space`` maps parameter names to lists of choices, ``{"low", "high", "log", "type"}``
        ranges, scipy.stats distributions or scikit-optimize dimensions. Every other keyword is a
        ``[search]`` setting of a config file (``strategy``, ``n_trials``, ``cv``, ``scoring``,
        ``random_state``, ``max_epochs``, ``eval_every``, ``timeout_s``, ``n_jobs``, ``executor``,
        ``dask_address``, ``blas_threads``; see docs/configuration.md), validated by the same
        rules; ``cv`` may also be a scikit-learn splitter and ``scoring`` a scorer callable.
        ``plugin_config`` holds each plugin's settings by plugin name (the ``[plugins.<name>]``
        tables). ``experiment`` and ``tracking_uri`` are the ``[experiment]`` table. With
        ``test_size``, that share of the rows is held out and the refit best model scored on it.
        If every trial fails, :class:`trainhooks.AllTrialsFailed` is raised; its ``result`` holds
        the run (trials, errors, summary). ``run`` is the ``[run]`` table (``dir``, ``journal``).
        ``resume`` continues the interrupted run with that id from its journal, given the same
        estimator, space, data and settings (docs/durability.md); it is ``run["resume"]``.
        """
        experiment_table = {"name": experiment, "tracking_uri": tracking_uri}
        run_table = {**(run or {}), **({"resume": resume} if resume is not None else {})}
        config = self._api_config(
            estimator, experiment_table, test_size, {**settings, "space": space}, plugin_config, run_table
        )
        if config.search.space is None:
            raise ConfigError("search.space: required for tune (name at least one parameter)")
        return self.execute(build_spec("tune", config, estimator, X, y, checks=self.data_validation(config)))

    def train(
        self,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        experiment: str = "default",
        tracking_uri: str | None = None,
        test_size: float | None = None,
        plugin_config: Mapping[str, Mapping[str, Any]] | None = None,
        **settings: Any,
    ) -> RunResult:
        """Cross-validate and fit ``estimator`` as it is (one trial), with the same events as a search.

        Keywords are the ``[search]`` settings that apply to one trial: ``cv``, ``scoring``,
        ``random_state``, ``max_epochs``, ``eval_every`` and ``blas_threads``.
        """
        searching = sorted(set(settings) & SEARCH_ONLY)
        if searching:
            raise ConfigError(f"{searching[0]}: not a train setting (train runs the estimator as it is, once)")
        experiment_table = {"name": experiment, "tracking_uri": tracking_uri}
        config = self._api_config(estimator, experiment_table, test_size, settings, plugin_config)
        return self.execute(build_spec("train", config, estimator, X, y, checks=self.data_validation(config)))

    def _api_config(
        self,
        estimator: Any,
        experiment: Mapping[str, Any],
        test_size: float | None,
        settings: Mapping[str, Any],
        plugin_config: Mapping[str, Mapping[str, Any]] | None,
        run: Mapping[str, Any] | None = None,
    ) -> RunConfig:
        config = RunConfig.from_api(
            model=describe_model(estimator),
            experiment=experiment,
            test_size=test_size,
            settings=settings,
            plugins={**self.plugin_settings, **(plugin_config or {})},
            run=run,
        )
        self.check_plugin_tables(config)
        return config

    # -- config files --------------------------------------------------------------------------

    def run_config(self, config: RunConfig, kind: str = "tune", *, source: str | None = None) -> RunResult:
        """Run a validated :class:`RunConfig` (what ``trainhooks tune/train CONFIG`` does).

        :param source: where the run was described, the config file's path for the CLI; plugins see it
            as ``RunStarted.source`` (MLflow's ``mlflow.source.name``). ``None``: the running script.
        """
        self.check_plugin_tables(config)
        checks = self.data_validation(config)
        spec = spec_from_config(config, kind, self.registered_estimators(), checks=checks)
        spec.source = source
        return self.execute(spec)

    def data_validation(self, config: RunConfig) -> DataValidation:
        """The data-validation step of a run of ``config``: asks this session's plugins about its data."""
        return DataValidation(self.dispatcher, config.to_plain())

    def check_plugin_tables(self, config: RunConfig) -> None:
        """Refuse a ``[plugins.<name>]`` table that no loaded plugin reads (before anything runs)."""
        check_plugin_tables(config.plugins.tables, self.plugin_report)


SEARCH_ONLY = frozenset(
    {"strategy", "n_trials", "space", "timeout_s", "n_jobs", "executor", "dask_address", "bayes", "tpe"}
)
"""``[search]`` settings that only a tune uses (a train run is one trial in this process)."""


def build_spec(
    kind: str, config: RunConfig, estimator: Any, X: Any, y: Any, *, checks: DataValidation | None = None
) -> RunSpec:
    """Check everything that can be checked before the first trial; hold out the test split.

    The core's data guards, the held-out split, then the data-validation plugins (``checks``: all
    their problems at once), then the estimator's parameters, every value of the search space and
    the scorer against the task: each problem is one line (exit 2), before any event or file. The
    plugins' data warnings become the run's first summary notes. Without ``checks`` only the
    core's guards judge the data.
    """
    data = config.data
    assert data is not None
    datamod.validate(X, y)
    random_state = data.random_state if data.random_state is not None else config.search.random_state
    dataset = datamod.split(X, y, estimator, data.test_size, random_state)
    if checks is not None:
        checks.check_dataset(dataset, estimator, config.search.cv)
    instance = estimator() if isinstance(estimator, type) else estimator
    check_estimator_params(instance)
    if kind == "tune" and config.search.space is not None:
        check_space(instance, config.search.space)
    check_scorer(config.search.scoring, instance, y)
    notes = list(checks.warnings) if checks is not None else []
    return RunSpec(kind=kind, config=config, estimator=estimator, dataset=dataset, notes=notes)


def spec_from_config(
    config: RunConfig, kind: str, registered: Mapping[str, type], *, checks: DataValidation | None = None
) -> RunSpec:
    """Turn a validated config into a :class:`RunSpec`; data and estimator errors raise here.

    The estimator (or Pipeline) is built from ``[model]`` (core/pipelines.py); plugins see its table
    as written, with each params table as the built estimator's explicit parameters.
    """
    if config.data is None:
        raise ConfigError("data: required (a [data] table with 'dataset' or 'path')")
    if kind == "tune" and config.search.space is None:
        raise ConfigError("search.space: required for tune (name at least one parameter)")
    if config.data.dataset is not None:
        X, y = datamod.load_builtin(config.data.dataset)
    else:
        # described first: the data-validation plugins may refuse a file (too large) before it is read
        source = datamod.describe_file(config.data.path or "", config.data.target)
        if checks is not None:
            checks.check_source(source)
        X, y = datamod.read_table(source)
    X = as_table(config.model, X)
    estimator = build_model(config.model, registered, y)
    model = shown_model(config.model, estimator)
    return build_spec(kind, config.model_copy(update={"model": model}), estimator, X, y, checks=checks)


def tune(
    estimator: Any,
    space: Mapping[str, Any],
    X: Any,
    y: Any,
    *,
    plugins: Sequence[object] = (),
    disable: Iterable[str] = (),
    principal: str | None = None,
    **kwargs: Any,
) -> RunResult:
    """Search hyperparameters with a fresh :class:`Session`; see :meth:`Session.tune` for arguments."""
    session = Session(plugins=plugins, disable=disable, principal=principal)
    return session.tune(estimator, space, X, y, **kwargs)


def train(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    plugins: Sequence[object] = (),
    disable: Iterable[str] = (),
    principal: str | None = None,
    **kwargs: Any,
) -> RunResult:
    """Cross-validate and fit one estimator with a fresh :class:`Session`; see :meth:`Session.train`."""
    session = Session(plugins=plugins, disable=disable, principal=principal)
    return session.train(estimator, X, y, **kwargs)


__all__ = [
    "PROJECT_NAME",
    "SEARCH_ONLY",
    "Session",
    "build_spec",
    "current_user",
    "explicit_params",
    "spec_from_config",
    "train",
    "tune",
]
