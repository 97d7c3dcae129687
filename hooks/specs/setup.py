"""Setup and extension hooks: configuration, strategies, estimators and CLI commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..context import RunContext
from ..markers import hookspec
from ..strategy import StrategyFactory


@hookspec
def trainhooks_configure(config: Mapping[str, Any], run: RunContext) -> None:
    """Called before every run, before the permission check and ``run-started``.

    A plugin reads its own table, ``config["plugins"].get("<plugin name>", {})``, resets per-run
    state and keeps ``run`` if it needs to ask permission or emit events later. It must not write
    anything yet (the run may still be refused). Raise :class:`~trainhooks.hooks.SettingsError`
    naming the bad key (``plugins.<name>.<key>: ...``; :func:`~trainhooks.hooks.validate_settings`
    does this for a :class:`~trainhooks.hooks.PluginSettings` model) to refuse the run with exit
    code 2. Any other exception follows ``[plugins] on_error``: reported with your plugin's name and
    distribution, then the run goes on without your setup ("warn"), or stops (exit 1, "raise"); a
    required plugin always stops it (see docs/writing-plugins.md, "When a plugin fails").

    :param config: the whole validated run configuration, as a read-only plain mapping.
    :param run: the :class:`~trainhooks.hooks.RunContext` of the run about to start.

    The return value is ignored.
    """


@hookspec
def trainhooks_register_strategies() -> dict[str, StrategyFactory]:
    """Called at the start of every run that searches a space, to find ``search.strategy`` by name.

    It is asked before ``trainhooks_configure``, and the chosen factory is called right away.

    :return: a mapping of strategy name to factory ``factory(space, *, random_state, n_trials)``
        returning an object with ``ask()``/``tell(params, score)``. The built-in ``grid``,
        ``random`` and ``bayes`` come through this hook too (``trylast``): on a name clash
        a plugin registered later overrides the built-ins and plugins registered before it.
    """


@hookspec
def trainhooks_register_estimators() -> dict[str, type]:
    """Called when a run configuration (a TOML file) is resolved, to look up ``[model] estimator``.

    The Python API takes an estimator object and does not ask this hook.

    :return: a mapping of dotted name (as written in ``[model] estimator``) to an estimator class
        that follows the scikit-learn estimator API. Only names returned here, or classes from
        ``sklearn.*``, can be used from a config file.
    """


@hookspec
def trainhooks_cli_commands() -> list[Any]:
    """Called when the ``trainhooks`` command line is built.

    :return: a list of :class:`click.Command` objects to add as subcommands (for example the
        MLflow plugin's ``runs`` group). Names clashing with a core command are ignored; when two
        plugins offer the same name, the first one asked wins.
    """


@hookspec(firstresult=True)
def trainhooks_load_model(uri: str, tracking_uri: str | None) -> Any | None:
    """Called by ``trainhooks predict MODEL`` when MODEL is not a file: a model URI a plugin may know.

    The core reads model files itself and knows no model store; a plugin that does (the MLflow
    plugin answers ``runs:/<run_id>/model`` and ``models:/<name>@<alias>``) loads the model here.
    Return ``None`` for a URI that is not yours. For a URI that is yours but cannot be loaded (no
    such run, an unreachable server) raise a :class:`trainhooks.TrainhooksError` whose one-line
    message names the URI: it reaches the user as it is (``trainhooks.DataError``: exit 2).

    :param uri: the MODEL argument as the user wrote it.
    :param tracking_uri: the ``--tracking-uri`` option, or ``None`` (then use your own default).
    :return: the fitted estimator (an object with ``predict``, and ``predict_proba`` if it has one).

    Stops at first non-None result.
    """
