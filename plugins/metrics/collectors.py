"""The metrics of one run, in a :class:`prometheus_client.CollectorRegistry` of their own.

Names (all prefixed ``trainhooks_``; see ``docs/metrics.md``):

- ``events_total{event}``: lifecycle events by name (every event of the run, plugin-defined ones too)
- ``trials_total{state}``: finished trials by state (complete, pruned, failed)
- ``trial_duration_seconds``: histogram of trial durations
- ``epochs_total``: epochs trained, counted as ``epoch-ended`` events arrive (an event for epoch 10
  after one for epoch 5, as with ``search.eval_every = 5``, counts 5)
- ``plugin_errors_total{plugin}``: hook failures by plugin
- ``best_score``: best complete trial score so far (NaN until one completes)
- ``run_wall_time_seconds``: time since ``run-started``; the summary's ``wall_time_s`` at the end
- ``run_info{run_id,kind,experiment}``: 1, labels identify the run
"""

from __future__ import annotations

import math
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TRIAL_STATES = ("complete", "pruned", "failed")
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class RunMetrics:
    """Counters, gauges and a histogram for one run; :attr:`registry` is what gets exposed."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter("trainhooks_events", "Lifecycle events by name.", ["event"], registry=r)
        self.trials = Counter("trainhooks_trials", "Finished trials by state.", ["state"], registry=r)
        self.trial_duration = Histogram(
            "trainhooks_trial_duration_seconds", "Trial durations.", buckets=DURATION_BUCKETS, registry=r
        )
        self.epochs = Counter("trainhooks_epochs", "Epochs trained.", registry=r)
        self.plugin_errors = Counter("trainhooks_plugin_errors", "Hook failures by plugin.", ["plugin"], registry=r)
        self.best_score = Gauge("trainhooks_best_score", "Best complete trial score so far.", registry=r)
        self.wall_time = Gauge("trainhooks_run_wall_time_seconds", "Seconds since run-started.", registry=r)
        self.info = Gauge(
            "trainhooks_run_info", "1 for the run; labels identify it.", ["run_id", "kind", "experiment"], registry=r
        )
        self.best_score.set(math.nan)
        for state in TRIAL_STATES:
            self.trials.labels(state=state)  # export zeros, so "no failed trials" is a visible 0
        self._started: float | None = None
        self._best: float | None = None
        self._epochs_counted: dict[int, int] = {}  # running trial -> epochs already counted

    def run_started(self, run_id: str, kind: str, experiment: str) -> None:
        self.info.labels(run_id=run_id, kind=kind, experiment=experiment).set(1)
        self._started = time.perf_counter()
        self.wall_time.set_function(self._elapsed)

    def _elapsed(self) -> float:
        return 0.0 if self._started is None else time.perf_counter() - self._started

    def epoch_ended(self, trial_id: int, epoch: int) -> None:
        """Count the epochs trained since the trial's previous report."""
        self.epochs.inc(max(0, epoch - self._epochs_counted.get(trial_id, 0)))
        self._epochs_counted[trial_id] = epoch

    def trial_ended(self, trial_id: int, state: str, score: float | None, duration_s: float, epochs: int) -> None:
        self.epochs.inc(max(0, epochs - self._epochs_counted.pop(trial_id, 0)))  # trained after the last report
        self.trials.labels(state=state).inc()
        self.trial_duration.observe(duration_s)
        finite = state == "complete" and score is not None and math.isfinite(score)
        if finite and (self._best is None or score > self._best):
            self._best = score
            self.best_score.set(score)

    def run_finished(self, wall_time_s: float | None) -> None:
        """Freeze the wall time (the summary's value when there is one)."""
        final = self._elapsed() if wall_time_s is None else float(wall_time_s)
        self.wall_time.set_function(lambda: final)


__all__ = ["DURATION_BUCKETS", "TRIAL_STATES", "RunMetrics"]
