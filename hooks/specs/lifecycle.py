"""Notification hooks: called once per lifecycle event, in the driver process.

Return values are ignored. Each plugin is called on its own: one that raises never stops the
others from receiving the same event; what happens to it follows ``[plugins] on_error``.
"""

from __future__ import annotations

from ..events import (
    ArtifactsWritten,
    EpochEnded,
    ModelFitted,
    ModelRegistered,
    PluginFailed,
    RunEnded,
    RunFailed,
    RunStarted,
    SearchStopped,
    TrialEnded,
    TrialStarted,
)
from ..markers import hookspec

# -------------------------------------------------------------------------
# run
# -------------------------------------------------------------------------


@hookspec
def trainhooks_on_run_start(event: RunStarted) -> None:
    """A tune or train run has started, after permission was granted and before any trial.

    :param event: the ``run-started`` event: ``kind`` ("tune" or "train") and ``config``.

    The return value is ignored.
    """


@hookspec
def trainhooks_on_run_end(event: RunEnded) -> None:
    """The run finished: every trial ran, the search was stopped early, or Ctrl-C interrupted it.

    Always the last event of a run that did not fail (after Ctrl-C during the search it follows a
    ``search-stopped`` with reason "interrupted"). Close what you opened.

    :param event: the ``run-ended`` event, whose ``summary`` has the fixed summary keys (see
        :class:`~trainhooks.hooks.RunEnded`).

    The return value is ignored.
    """


@hookspec
def trainhooks_on_run_error(event: RunFailed) -> None:
    """The run ended with an exception; always the last event. Close what you opened.

    The exception propagates to the caller after this hook. A Ctrl-C outside the search loop ends
    the run here too (``error_type`` "KeyboardInterrupt").

    :param event: the ``run-failed`` event with ``error`` and ``error_type``.

    The return value is ignored.
    """


# -------------------------------------------------------------------------
# trials
# -------------------------------------------------------------------------


@hookspec
def trainhooks_on_trial_start(event: TrialStarted) -> None:
    """A trial is about to start (it may train in a worker; this hook runs in the driver).

    :param event: the ``trial-started`` event with ``trial_id`` and ``params``.

    The return value is ignored.
    """


@hookspec
def trainhooks_on_epoch_end(event: EpochEnded) -> None:
    """A trial finished and scored one more epoch on every fold (or, with one epoch, one more fold).

    Called for every epoch, or with ``search.eval_every = k`` for every k-th epoch and the last,
    in epoch order, before ``trainhooks_should_stop_trial`` is asked about the same event. A trial
    with one epoch is reported after each fold instead (``event.unit == "fold"``).

    :param event: the ``epoch-ended`` event; ``metrics`` has ``score`` (mean validation score over
        folds, or over the folds done with ``unit = "fold"``), ``score_std`` and ``fold_scores``;
        ``planned_epochs`` and ``is_last`` say how many epochs (or folds) the trial will report and
        whether this is the last one.

    The return value is ignored.
    """


@hookspec
def trainhooks_on_trial_end(event: TrialEnded) -> None:
    """A trial is over (complete, pruned or failed); exactly once per trial.

    :param event: the ``trial-ended`` event with the final score, state, epochs and error.

    The return value is ignored.
    """


@hookspec
def trainhooks_on_search_stopped(event: SearchStopped) -> None:
    """The search is ending before its trial budget (a plugin, the timeout or Ctrl-C stopped it).

    :param event: the ``search-stopped`` event with ``reason`` and ``by``.

    The return value is ignored.
    """


# -------------------------------------------------------------------------
# models and plugins
# -------------------------------------------------------------------------


@hookspec
def trainhooks_on_model_fitted(event: ModelFitted) -> None:
    """The best parameters were refit on the training split (after the search, before ``run-ended``).

    :param event: the ``model-fitted`` event; ``model_path`` is a pickle of the refit model that
        stays readable until the run's last event, ``test_score`` its held-out score (or ``None``).

    The return value is ignored.
    """


@hookspec
def trainhooks_on_model_registered(event: ModelRegistered) -> None:
    """A model version was registered, and possibly given an alias.

    :param event: the ``model-registered`` event.

    The return value is ignored.
    """


@hookspec
def trainhooks_on_artifacts_written(event: ArtifactsWritten) -> None:
    """A plugin wrote (or is writing) files that belong to the run; keep them if you keep runs' files.

    Sent when a plugin emits ``artifacts-written`` (the ``report`` plugin does at ``run-started`` for
    its figures and at ``model-fitted`` for the held-out evaluation), always before ``run-ended``.

    :param event: the ``artifacts-written`` event: ``paths``, ``artifact_path``, ``metrics``, and
        ``ready_file`` when the files are still being written (wait for it before reading them;
        the producer writes it once they are complete).

    The return value is ignored.
    """


@hookspec
def trainhooks_on_plugin_error(event: PluginFailed) -> None:
    """Another plugin raised in a hook; sent to every plugin except the one that failed.

    :param event: the ``plugin-failed`` event naming the plugin, the hook and the error.

    The return value is ignored.
    """
