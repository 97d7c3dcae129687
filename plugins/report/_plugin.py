"""``ReportPlugin``: saves a run's trials and curves as it goes and draws its figures off the critical path.

What it writes, to ``<dir>/<run_id>/report/`` (``[plugins.report] dir``, else the run's ``[run] dir``):
``run.json`` at ``run-started``; a line of ``trials.jsonl`` per ended trial and of ``epochs.jsonl``
per scored epoch; ``holdout.json`` and ``evaluation.json`` (held-out metrics) at ``model-fitted``;
the PNG figures (see :mod:`._figures`) and ``figures.json``; ``summary.json`` at ``run-ended``.
``trainhooks report RUN_ID`` turns that folder into one HTML page.

Figures are drawn by a low-priority child process (:mod:`._drawing`), started once the search is
over (the search needs the spare core until then): the search figures as soon as the last planned
trial ends (during the refit), the model figure at ``model-fitted``. The run never waits for them:
at its end the plugin queues the last drawing and ``figures.json`` (written last: the figures are
complete once it exists), and the child finishes behind the user. ``trainhooks report`` and
:meth:`ReportPlugin.wait` wait for that file.

The figures reach trackers through the contract, not through another plugin: at ``run-started``
the plugin emits ``artifacts-written`` naming the figure files, ``artifact_path = "report"`` and
``ready_file = figures.json``; at ``model-fitted`` another one with ``evaluation.json`` and the
held-out metrics (``test_accuracy``, ``test_f1/<class>``, ... or ``test_mae``, ...). The built-in
``mlflow`` plugin logs both on the parent run, the figures once ``figures.json`` exists: its writer
process does that after the run (and the driver's process) ended, so no run waits for the drawing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from trainhooks.hooks import (
    ArtifactsWritten,
    EpochEnded,
    ModelFitted,
    RunContext,
    RunEnded,
    RunFailed,
    RunStarted,
    TrialEnded,
    hookimpl,
    signals,
    thaw,
)

from . import _store as store
from ._drawing import DrawingProcess, Redraws
from ._evaluation import held_out_metrics, metric_notes, metric_values
from ._settings import ReportSettings, parse_settings, runs_dir

log = logging.getLogger("trainhooks.plugins.report")


def _planned_trials(config: Mapping[str, Any], kind: str) -> int | None:
    """How many trials the run plans (``search.n_trials``; one for a train run)."""
    if kind == "train":
        return 1
    n_trials = (config.get("search") or {}).get("n_trials")
    return n_trials if isinstance(n_trials, int) else None


class ReportPlugin:
    """Draws a run's optimisation history, importances, partial dependence, curves and model evaluation.

    After a run, :attr:`folder` is where its report files are; its figures are drawn in the
    background, :meth:`wait` returns once they are complete.
    """

    def __init__(self) -> None:
        self.settings = ReportSettings()
        self._runs_dir = ""
        self.folder: Path | None = None
        self._process = DrawingProcess()
        self._run: RunContext | None = None
        self._run_id: str | None = None
        self._trials: IO[str] | None = None
        self._epochs: IO[str] | None = None
        self._redraws: Redraws | None = None
        self._finished: Redraws | None = None  # the last run's drawing, for wait()

    # -- setup ---------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        """Read ``[plugins.report]``; writes nothing yet (the run may still be refused)."""
        self._close_files()
        self.settings = parse_settings(config)
        self._runs_dir = runs_dir(config, self.settings)
        self._run, self.folder, self._redraws, self._finished = run, None, None, None
        self._run_id = run.run_id

    @hookimpl
    def trainhooks_cli_commands(self) -> list[Any]:
        from ._cli import report_command

        return [report_command]

    # -- during the run ------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        folder = store.report_dir(self._runs_dir, event.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / store.FIGURES_FILE).unlink(missing_ok=True)  # a resumed run's: its figures are redrawn
        # readers wait while this process lives: it starts the drawing process once the search is over
        store.write_json(folder / store.DRAWING_FILE, {"pid": os.getpid()})
        self.folder = folder
        config = thaw(event.config)
        store.write_json(
            folder / store.RUN_FILE,
            {
                "run_id": event.run_id,
                "kind": event.kind,
                "experiment": (config.get("experiment") or {}).get("name"),
                "started": event.timestamp,
                "config": config,
            },
        )
        self._trials = (folder / store.TRIALS_FILE).open("w", encoding="utf-8")
        self._epochs = (folder / store.EPOCHS_FILE).open("w", encoding="utf-8")
        signals.epoch_ended.connect(self._on_epoch_end)
        self._redraws = Redraws(self._process, folder, self.settings.dpi, _planned_trials(config, event.kind))
        self._note(
            f"report: {folder} (figures drawn in the background; "
            f"`trainhooks report {event.run_id} -o report.html` waits for them)"
        )
        self._emit([folder / name for name in store.FIGURES], ready_file=folder / store.FIGURES_FILE)

    # Epochs arrive on their signal, not as hooks: a hook call is a hand-off to the dispatcher's
    # worker thread, which has slept through the epoch (about 0.1 ms on an idle 2-core machine,
    # milliseconds on a busy one), and the quickstart has 200 epochs; a receiver is a plain call.
    # It only appends to a buffer, and never raises into the run.

    def _on_epoch_end(self, sender: Any, event: EpochEnded, **extra: Any) -> None:
        if event.run_id != self._run_id or self._epochs is None or getattr(event, "unit", "epoch") != "epoch":
            return  # another run's, or per-fold progress of a one-epoch trial (not a learning curve)
        metrics, epochs = event.metrics, self._epochs
        line = {
            "trial_id": event.trial_id,
            "epoch": event.epoch,
            "score": metrics.get("score"),
            "score_std": metrics.get("score_std"),
        }
        try:
            store.append_line(epochs, line, flush=False)  # flushed at trial end
        except Exception as exc:  # never raised into the run: the figures are drawn without learning curves
            log.warning(
                "report: saving an epoch failed (%s: %s); no learning curves for this run", type(exc).__name__, exc
            )
            self._disconnect()
            self._epochs = None
            with contextlib.suppress(Exception):
                epochs.close()

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        if self._trials is None or self._redraws is None:
            return
        if self._epochs is not None:
            self._epochs.flush()  # the trial's curve, before the line that says it ended
        store.append_line(
            self._trials,
            {
                "trial_id": event.trial_id,
                "params": thaw(event.params),
                "state": event.state,
                "score": event.score,
                "score_std": event.score_std,
                "epochs": event.epochs,
                "duration_s": event.duration_s,
                "stop_reason": event.stop_reason,
                "error": event.error,
            },
        )
        self._redraws.trial_ended()

    # -- the end -------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_model_fitted(self, event: ModelFitted) -> None:
        if self.folder is None or self._redraws is None:
            return
        if event.y_true is not None and event.y_pred is not None:
            holdout = {
                "y_true": thaw(event.y_true),
                "y_pred": thaw(event.y_pred),
                "y_score": thaw(event.y_score),
                "classes": thaw(event.classes),
            }
            store.write_json(self.folder / store.HOLDOUT_FILE, holdout)
            metrics = held_out_metrics(holdout["y_true"], holdout["y_pred"], holdout["classes"])
            evaluation = self.folder / store.EVALUATION_FILE
            store.write_json(evaluation, {"test_score": event.test_score, **metrics})
            for line in metric_notes(metrics):
                self._note(line)
            self._emit([evaluation], metrics=metric_values(metrics))
            self._redraws.model_fitted()

    # tryfirst: the last drawing is queued before other plugins end the run (mlflow hands the figures to its writer)
    @hookimpl(tryfirst=True)
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        if self.folder is None:
            return
        store.write_json(self.folder / store.SUMMARY_FILE, thaw(event.summary))
        self._close_files()  # flushed before the last drawing reads them
        self._finish_figures()

    @hookimpl(tryfirst=True)
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        self._close_files()
        self._finish_figures()  # what was drawn stays readable (and figures.json tells readers it is over)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the last run's figures are complete (its ``figures.json`` written).

        The run itself never waits for its drawing; call this before reading the figures in the
        same process (a test, a notebook). ``timeout_s`` defaults to ``[plugins.report] wait_s``.

        :return: False if the time was up first (or the run drew nothing).
        """
        if self._finished is None:
            return False
        return self._finished.wait(self.settings.wait_s if timeout_s is None else timeout_s)

    def _finish_figures(self) -> None:
        """Queue the last drawing and the finish (once per run); never waits."""
        redraws, self._redraws = self._redraws, None
        if redraws is not None:
            redraws.finish()
            self._finished = redraws

    def _emit(
        self, paths: list[Path], *, ready_file: Path | None = None, metrics: dict[str, float] | None = None
    ) -> None:
        """Tell trackers about files of the run (``artifacts-written``), to keep under ``report/``.

        Paths are absolute: a tracker may read them from another working directory (a writer
        process, a later ``runs sync``)."""
        if self._run is not None:
            self._run.emit(
                ArtifactsWritten,
                kind="report",
                paths=tuple(str(path.absolute()) for path in paths),
                artifact_path=store.REPORT_FOLDER,
                metrics=metrics or {},
                ready_file=str(ready_file.absolute()) if ready_file is not None else None,
            )

    def _note(self, text: str) -> None:
        log.info("%s", text)
        if self._run is not None:
            self._run.add_note(text)

    def _disconnect(self) -> None:
        signals.epoch_ended.disconnect(self._on_epoch_end)

    def _close_files(self) -> None:
        self._disconnect()
        for handle in (self._trials, self._epochs):
            if handle is not None:
                handle.close()
        self._trials = self._epochs = None


__all__ = ["ReportPlugin"]
