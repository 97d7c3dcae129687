"""``ReportPlugin``: saves a run's trials and curves as it goes and draws its figures off the critical path.

What it writes, to ``<dir>/<run_id>/report/`` (``[plugins.report] dir``, else the run's ``[run] dir``):
``run.json`` at ``run-started``; a line of ``trials.jsonl`` per ended trial and of ``epochs.jsonl``
per scored epoch; ``holdout.json`` and ``evaluation.json`` (held-out metrics) at ``model-fitted``;
the PNG figures (see :mod:`._figures`) and ``figures.json``; ``summary.json`` at ``run-ended``.
``trainhooks report RUN_ID`` turns that folder into one HTML page.

Figures are drawn by a child process (:mod:`._drawing`), started at ``run-started``: the search
figures as soon as the last planned trial ends (during the refit), the model figure at
``model-fitted``; the run waits for them at ``model-fitted`` (or at ``run-ended`` when no model was
refit), at most ``wait_s`` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from trainhooks.hooks import (
    EpochEnded,
    ModelFitted,
    RunContext,
    RunEnded,
    RunFailed,
    RunStarted,
    TrialEnded,
    hookimpl,
    thaw,
)

from . import _store as store
from ._drawing import DrawingProcess, Redraws
from ._evaluation import held_out_metrics, metric_notes
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

    After a run, :attr:`folder` is where its report files are.
    """

    def __init__(self) -> None:
        self.settings = ReportSettings()
        self._runs_dir = ""
        self.folder: Path | None = None
        self._process = DrawingProcess()
        self._run: RunContext | None = None
        self._trials: IO[str] | None = None
        self._epochs: IO[str] | None = None
        self._redraws: Redraws | None = None

    # -- setup ---------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        """Read ``[plugins.report]``; writes nothing yet (the run may still be refused)."""
        self._close_files()
        self.settings = parse_settings(config)
        self._runs_dir = runs_dir(config, self.settings)
        self._run, self.folder, self._redraws = run, None, None

    @hookimpl
    def trainhooks_cli_commands(self) -> list[Any]:
        from ._cli import report_command

        return [report_command]

    # -- during the run ------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        self._process.start()  # imports matplotlib and scikit-learn while the first trials run
        folder = store.report_dir(self._runs_dir, event.run_id)
        folder.mkdir(parents=True, exist_ok=True)
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
        self._redraws = Redraws(self._process, folder, self.settings.dpi, _planned_trials(config, event.kind))
        log.info("report: %s (one HTML page: trainhooks report %s -o report.html)", folder, event.run_id)

    @hookimpl
    def trainhooks_on_epoch_end(self, event: EpochEnded) -> None:
        if self._epochs is None or getattr(event, "unit", "epoch") != "epoch":
            return  # per-fold progress of a one-epoch trial is not a learning curve
        metrics = event.metrics
        store.append_line(
            self._epochs,
            {
                "trial_id": event.trial_id,
                "epoch": event.epoch,
                "score": metrics.get("score"),
                "score_std": metrics.get("score_std"),
            },
        )

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        if self._trials is None or self._redraws is None:
            return
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
            store.write_json(self.folder / store.EVALUATION_FILE, {"test_score": event.test_score, **metrics})
            for line in metric_notes(metrics):
                self._note(line)
            self._redraws.model_fitted()
        self._finish_figures()

    @hookimpl
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        if self.folder is None:
            return
        self._finish_figures()  # no model-fitted (interrupted, every trial failed, refit off): draw now
        store.write_json(self.folder / store.SUMMARY_FILE, thaw(event.summary))
        self._close_files()

    @hookimpl
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        self._close_files()

    def _finish_figures(self) -> None:
        """Wait for the figures to cover every trial (once per run), then save which were drawn."""
        redraws, self._redraws = self._redraws, None
        if redraws is None or self.folder is None:
            return
        if not redraws.finish(self.settings.wait_s):
            self._note(f"report: figures not finished within plugins.report.wait_s = {self.settings.wait_s:g} s")
        for error in redraws.errors:
            self._note(f"report: {error}")
        figures = {
            name: {"title": title, "drawn": (self.folder / name).is_file(), "why_not": redraws.outcome.get(name)}
            for name, title in store.FIGURES.items()
        }
        store.write_json(self.folder / store.FIGURES_FILE, figures)

    def _note(self, text: str) -> None:
        log.info("%s", text)
        if self._run is not None:
            self._run.add_note(text)

    def _close_files(self) -> None:
        for handle in (self._trials, self._epochs):
            if handle is not None:
                handle.close()
        self._trials = self._epochs = None


__all__ = ["ReportPlugin"]
