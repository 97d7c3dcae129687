"""A :class:`Session` holds one set of loaded plugins and runs any number of tunes and trains.

``trainhooks.tune`` and ``trainhooks.train`` are one-shot conveniences over a fresh session.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sklearn.base import BaseEstimator

from trainhooks.hooks import PROJECT_NAME

from . import data as datamod
from .config import RunConfig, check_search_settings
from .dispatch import Dispatcher, OnError
from .errors import ConfigError
from .estimators import resolve_estimator
from .plugin_loader import PluginInfo, PluginLoader, new_plugin_manager
from .results import RunResult
from .runner import Runner, RunSpec
from .space import SearchSpace, to_plain


def current_user() -> str:
    """The operating-system user: the principal of CLI runs."""
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (some containers)
        return "unknown"


class Session:
    """Loaded plugins plus the dispatcher that calls them; reusable across runs.

    :param plugins: extra plugin instances to register (e.g. your own hook implementations).
    :param disable: plugin names to block before they are imported.
    :param strict_plugins: make a plugin that fails to load an error instead of a warning.
    :param autoload: load entry-point plugins (default: unless ``TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD=1``).
    :param on_error: what a failing notification hook does: "warn", "raise" or "disable".
    :param max_failures: with ``on_error="disable"``, failures before a plugin is unregistered.
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
    ) -> None:
        self.manager = new_plugin_manager()
        loader = PluginLoader(self.manager, blocked=disable, strict=strict_plugins, autoload=autoload)
        self.plugin_report: list[PluginInfo] = loader.load_all(extra=plugins)
        self.dispatcher = Dispatcher(self.manager, on_error=on_error, max_failures=max_failures, sender=self)
        self.principal = principal or current_user()

    @property
    def plugin_names(self) -> list[str]:
        return [info.name for info in self.plugin_report if info.status == "active"]

    def get_plugin(self, name: str) -> Any:
        """The registered plugin instance called ``name`` (or ``None``)."""
        return self.manager.get_plugin(name)

    def registered_estimators(self) -> dict[str, type]:
        registered: dict[str, type] = {}
        for answer in reversed(self.dispatcher.collect("trainhooks_register_estimators")):
            registered.update(answer.value)
        return registered

    def execute(self, spec: RunSpec) -> RunResult:
        """Run a prepared :class:`RunSpec` with this session's plugins."""
        return Runner(self.dispatcher, spec, principal=self.principal, plugin_names=self.plugin_names).run()

    # -- Python API ----------------------------------------------------------------------------

    def tune(
        self,
        estimator: Any,
        space: Mapping[str, Any],
        X: Any,
        y: Any,
        *,
        strategy: str = "random",
        n_trials: int = 10,
        cv: Any = 5,
        scoring: str | None = None,
        random_state: int | None = 0,
        max_epochs: int = 10,
        eval_every: int = 1,
        timeout_s: float | None = None,
        test_size: float | None = None,
        n_jobs: int = 1,
        executor: str = "sequential",
        dask_address: str | None = None,
        blas_threads: int | None = None,
        experiment: str = "default",
        plugin_config: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> RunResult:
        """Search ``space`` for the best parameters of ``estimator`` by cross-validation.

        ``space`` maps parameter names to lists of choices, ``{"low", "high", "log", "type"}``
        ranges, scipy.stats distributions or scikit-optimize dimensions. ``plugin_config`` holds
        each plugin's settings by plugin name (the ``[plugins.<name>]`` tables of a config file).
        With ``test_size``, that share of the rows is held out and the refit best model scored on it.
        ``eval_every = k`` scores the folds only every k-th epoch and after the last one: cheaper
        for fast ``partial_fit`` estimators, at the price of coarser learning curves and stop
        decisions (see docs/tuning.md).
        """
        parsed = SearchSpace.parse(space)
        search = {
            "strategy": strategy,
            "n_trials": n_trials,
            "random_state": random_state,
            "timeout_s": timeout_s,
            "n_jobs": n_jobs,
            "executor": executor,
            "space": {name: repr(dim) for name, dim in parsed.dimensions.items()},
        }
        config = _api_config(
            estimator, experiment, test_size, cv, scoring, max_epochs, eval_every, search, plugin_config
        )
        return self.execute(
            RunSpec(
                kind="tune",
                estimator=estimator,
                dataset=_prepare_data(X, y, estimator, test_size, random_state),
                config=config,
                space=parsed,
                strategy=strategy,
                n_trials=n_trials,
                cv=cv,
                scoring=scoring,
                random_state=random_state,
                max_epochs=max_epochs,
                eval_every=eval_every,
                timeout_s=timeout_s,
                n_jobs=n_jobs,
                executor=executor,
                dask_address=dask_address,
                blas_threads=blas_threads,
                experiment=experiment,
            )
        )

    def train(
        self,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        cv: Any = 5,
        scoring: str | None = None,
        random_state: int | None = 0,
        max_epochs: int = 10,
        eval_every: int = 1,
        test_size: float | None = None,
        blas_threads: int | None = None,
        experiment: str = "default",
        plugin_config: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> RunResult:
        """Cross-validate and fit ``estimator`` as it is (one trial), with the same events as a search."""
        config = _api_config(estimator, experiment, test_size, cv, scoring, max_epochs, eval_every, {}, plugin_config)
        return self.execute(
            RunSpec(
                kind="train",
                estimator=estimator,
                dataset=_prepare_data(X, y, estimator, test_size, random_state),
                config=config,
                space=None,
                strategy="fixed",
                n_trials=1,
                cv=cv,
                scoring=scoring,
                random_state=random_state,
                max_epochs=max_epochs,
                eval_every=eval_every,
                blas_threads=blas_threads,
                experiment=experiment,
            )
        )

    # -- config files --------------------------------------------------------------------------

    def run_config(self, config: RunConfig, kind: str = "tune") -> RunResult:
        """Run a validated :class:`RunConfig` (what ``trainhooks tune/train CONFIG`` does)."""
        spec = spec_from_config(config, kind, self.registered_estimators())
        return self.execute(spec)


def _api_config(
    estimator: Any,
    experiment: str,
    test_size: float | None,
    cv: Any,
    scoring: str | None,
    max_epochs: int,
    eval_every: int,
    search: Mapping[str, Any],
    plugin_config: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The run configuration plugins see for a Python-API run, shaped like a config file's.

    The keyword arguments are checked like a ``[search]`` table first (``cv`` and ``scoring`` only
    when given as a number and a name: splitters and scorer callables are the API's own).
    """
    settings = {k: v for k, v in search.items() if k != "space"}
    settings.update(max_epochs=max_epochs, eval_every=eval_every)
    settings.update({"cv": cv} if isinstance(cv, int) else {})
    settings.update({"scoring": scoring} if isinstance(scoring, str) else {})
    check_search_settings(settings)
    cls = estimator if isinstance(estimator, type) else type(estimator)
    params = {} if isinstance(estimator, type) else estimator.get_params(deep=False)
    return to_plain(
        {
            "experiment": {"name": experiment},
            "data": {"test_size": test_size},
            "model": {"estimator": f"{cls.__module__}.{cls.__qualname__}", "params": _jsonable(params)},
            "search": {
                **search,
                "cv": cv if isinstance(cv, int) else repr(cv),
                "scoring": scoring,
                "max_epochs": max_epochs,
                "eval_every": eval_every,
            },
            "plugins": {name: dict(table) for name, table in (plugin_config or {}).items()},
        }
    )


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Estimator parameters with non-JSON values (nested estimators, callables) as their repr."""
    plain = to_plain(dict(params))
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v) for k, v in plain.items()
    }


def _prepare_data(X: Any, y: Any, estimator: Any, test_size: float | None, random_state: int | None) -> datamod.Dataset:
    datamod.validate(X, y, estimator)
    return datamod.split(X, y, estimator, test_size, random_state)


def spec_from_config(config: RunConfig, kind: str, registered: Mapping[str, type]) -> RunSpec:
    """Turn a validated config into a :class:`RunSpec`; data and estimator errors raise here."""
    cls = resolve_estimator(config.model.estimator, registered)
    try:
        estimator: BaseEstimator = cls(**config.model.params)
    except TypeError as exc:
        raise ConfigError(f"model.params: {exc}") from None
    if config.data is None:
        raise ConfigError("data: required (a [data] table with 'dataset' or 'path')")
    if config.data.dataset is not None:
        X, y = datamod.load_builtin(config.data.dataset)
    else:
        X, y = datamod.load_table(config.data.path or "", config.data.target)
    search = config.search
    space = None
    if kind == "tune":
        if not search.space:
            raise ConfigError("search.space: required for tune (name at least one parameter)")
        space = SearchSpace.parse(search.space)
    return RunSpec(
        kind=kind,
        estimator=estimator,
        dataset=_prepare_data(X, y, estimator, config.data.test_size, config.data.random_state),
        config=config.to_plain(),
        space=space,
        strategy=search.strategy if kind == "tune" else "fixed",
        n_trials=search.n_trials if kind == "tune" else 1,
        cv=search.cv,
        scoring=search.scoring,
        random_state=search.random_state,
        max_epochs=search.max_epochs,
        eval_every=search.eval_every,
        timeout_s=search.timeout_s,
        n_jobs=search.n_jobs,
        executor=search.executor,
        dask_address=search.dask_address,
        blas_threads=search.blas_threads,
        experiment=config.experiment.name,
    )


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


__all__ = ["PROJECT_NAME", "Session", "current_user", "spec_from_config", "train", "tune"]
