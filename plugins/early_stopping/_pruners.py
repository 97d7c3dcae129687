"""Pruning across trials: compare a trial with what other trials did at the same point.

:class:`Histories` keeps each trial's monitored value per epoch and, for ASHA, the value it was
judged by at each rung it reached, keyed by ``trial_id`` while the trial runs (so interleaved
trials from a parallel executor never mix) and moved to a list of finished trials when it ends.
The median pruner only reads it; ASHA adds a trial's rung records as it judges them, as Optuna's
``SuccessiveHalvingPruner`` stores ``completed_rung_{i}`` on the trial.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._monitor import better
from ._reasons import StopReason
from ._settings import EarlyStoppingSettings


@dataclass
class FinishedTrial:
    """One ended trial: its final state and monitored value per epoch."""

    trial_id: int
    state: str
    values: dict[int, float]
    rungs: list[float] = field(default_factory=list)
    """ASHA: the value the trial was judged by at rung 0, 1, ... (empty with the median pruner)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "state": self.state,
            "values": [[e, v] for e, v in sorted(self.values.items())],
            "rungs": list(self.rungs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinishedTrial:
        values = {int(e): float(v) for e, v in data["values"]}
        return cls(int(data["trial_id"]), str(data["state"]), values, [float(v) for v in data["rungs"]])


@dataclass
class Histories:
    """Monitored values and rung records of running trials (by ``trial_id``) and of finished ones."""

    running: dict[int, dict[int, float]] = field(default_factory=dict)
    running_rungs: dict[int, list[float]] = field(default_factory=dict)
    finished: list[FinishedTrial] = field(default_factory=list)

    def record(self, trial_id: int, epoch: int, value: float) -> None:
        self.running.setdefault(trial_id, {})[epoch] = value

    def finish(self, trial_id: int, state: str) -> None:
        values, rungs = self.running.pop(trial_id, {}), self.running_rungs.pop(trial_id, [])
        self.finished.append(FinishedTrial(trial_id, state, values, rungs))

    def rungs_done(self, trial_id: int) -> int:
        """How many rungs the running trial has been judged at (the next one is its index)."""
        return len(self.running_rungs.get(trial_id, ()))

    def record_rung(self, trial_id: int, value: float) -> None:
        """Record ``value`` as the running trial's score at its next rung."""
        self.running_rungs.setdefault(trial_id, []).append(value)

    def rung_values(self, rung: int, exclude: int) -> list[float]:
        """Recorded values at ``rung`` of every trial, in any state, other than ``exclude``."""
        finished = [t.rungs[rung] for t in self.finished if len(t.rungs) > rung]
        running = [r[rung] for trial_id, r in self.running_rungs.items() if trial_id != exclude and len(r) > rung]
        return finished + running

    def finished_values(self, epoch: int, states: tuple[str, ...]) -> list[float]:
        """Finite values at ``epoch`` of finished trials in one of ``states``."""
        return [
            t.values[epoch] for t in self.finished if t.state in states and math.isfinite(t.values.get(epoch, math.nan))
        ]


class Pruner(Protocol):
    """Decides whether a trial's value at an epoch is bad enough to prune it."""

    def should_prune(self, histories: Histories, trial_id: int, epoch: int, value: float) -> StopReason | None: ...


class MedianPruner:
    """Prune when the value at epoch *e* is worse than the median of completed trials at *e*.

    No pruning in the first ``warmup_epochs`` epochs, nor while fewer than ``min_trials``
    completed trials reached epoch *e*. Pruned and failed trials are not part of the median.
    """

    def __init__(self, settings: EarlyStoppingSettings) -> None:
        self.direction = settings.direction
        self.warmup_epochs = settings.warmup_epochs
        self.min_trials = settings.min_trials

    def should_prune(self, histories: Histories, trial_id: int, epoch: int, value: float) -> StopReason | None:
        if epoch <= self.warmup_epochs:
            return None
        reference = histories.finished_values(epoch, ("complete",))
        if len(reference) < self.min_trials:
            return None
        return StopReason.PRUNED_MEDIAN if better(statistics.median(reference), value, self.direction) else None


class ASHAPruner:
    """Asynchronous successive halving, deciding exactly as Optuna's ``SuccessiveHalvingPruner``.

    Rung *k* is at epoch ``min_epochs * reduction_factor**k``. The first scored epoch at or past
    a rung judges the trial there with that epoch's value; one epoch that crosses several rungs
    judges them in order, with the same value, and stops at the first it fails. At rung *k* the
    trial competes with every other trial that was judged at rung *k* (so only trials that
    survived rung *k-1*), whatever their state now, and goes on only if its value is among the
    best ``max(1, n // reduction_factor)`` of the ``n`` competitors (itself included; ties go
    on). A rung where fewer than ``min_trials`` other trials were judged lets the trial go on.
    """

    def __init__(self, settings: EarlyStoppingSettings) -> None:
        self.direction = settings.direction
        self.reduction_factor = settings.reduction_factor
        self.min_epochs = settings.min_epochs
        self.min_trials = settings.min_trials

    def rung_epoch(self, rung: int) -> int:
        """The epoch of rung ``rung`` (0-based)."""
        return self.min_epochs * self.reduction_factor**rung

    def should_prune(self, histories: Histories, trial_id: int, epoch: int, value: float) -> StopReason | None:
        """Judge every rung from the trial's next one up to ``epoch``; record each (Histories.record_rung)."""
        rung = histories.rungs_done(trial_id)
        while self.rung_epoch(rung) <= epoch:
            others = histories.rung_values(rung, exclude=trial_id)
            histories.record_rung(trial_id, value)
            if len(others) >= self.min_trials and not self._promotable(value, others):
                return StopReason.PRUNED_ASHA
            rung += 1
        return None

    def _promotable(self, value: float, others: list[float]) -> bool:
        competitors = sorted([*others, value], reverse=self.direction == "max")
        cutoff = competitors[max(1, len(competitors) // self.reduction_factor) - 1]
        return not better(cutoff, value, self.direction)


def make_pruner(settings: EarlyStoppingSettings) -> Pruner | None:
    """The pruner named by ``settings.pruner`` (or ``None``)."""
    if settings.pruner == "median":
        return MedianPruner(settings)
    if settings.pruner == "asha":
        return ASHAPruner(settings)
    return None


__all__ = ["ASHAPruner", "FinishedTrial", "Histories", "MedianPruner", "Pruner", "make_pruner"]
