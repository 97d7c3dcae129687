"""Pruning across trials: compare a trial's value at an epoch with other trials at that epoch.

:class:`Histories` keeps each trial's monitored value per epoch, keyed by ``trial_id`` while
the trial runs (so interleaved trials from a parallel executor never mix) and moved to a list of
finished trials when it ends. The pruners read it and never change it.
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "state": self.state,
            "values": [[e, v] for e, v in sorted(self.values.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinishedTrial:
        return cls(int(data["trial_id"]), str(data["state"]), {int(e): float(v) for e, v in data["values"]})


@dataclass
class Histories:
    """Monitored values of running trials (by ``trial_id``) and of finished ones."""

    running: dict[int, dict[int, float]] = field(default_factory=dict)
    finished: list[FinishedTrial] = field(default_factory=list)

    def record(self, trial_id: int, epoch: int, value: float) -> None:
        self.running.setdefault(trial_id, {})[epoch] = value

    def previous_epoch(self, trial_id: int, epoch: int) -> int:
        """The running trial's last recorded epoch before ``epoch`` (0 if none)."""
        return max((e for e in self.running.get(trial_id, {}) if e < epoch), default=0)

    def finish(self, trial_id: int, state: str) -> None:
        self.finished.append(FinishedTrial(trial_id, state, self.running.pop(trial_id, {})))

    def finished_values(self, epoch: int, states: tuple[str, ...]) -> list[float]:
        """Finite values at ``epoch`` of finished trials in one of ``states``."""
        return [
            t.values[epoch] for t in self.finished if t.state in states and math.isfinite(t.values.get(epoch, math.nan))
        ]

    def running_values(self, epoch: int, exclude: int) -> list[float]:
        """Finite values at ``epoch`` of running trials other than ``exclude``."""
        return [
            values[epoch]
            for trial_id, values in self.running.items()
            if trial_id != exclude and math.isfinite(values.get(epoch, math.nan))
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
    """Asynchronous successive halving: at rung epochs only the top 1/``reduction_factor`` go on.

    Rungs are at ``min_epochs * reduction_factor**k`` (k = 0, 1, ...). At a rung, the trial competes
    with every other trial that reached that epoch (running, complete or pruned; not failed) and
    continues only if its value is among the best ``max(1, n // reduction_factor)`` of the ``n``
    competitors (itself included). Rungs with fewer than ``min_trials`` other trials never prune.
    """

    def __init__(self, settings: EarlyStoppingSettings) -> None:
        self.direction = settings.direction
        self.reduction_factor = settings.reduction_factor
        self.min_epochs = settings.min_epochs
        self.min_trials = settings.min_trials

    def reaches_rung(self, previous: int, epoch: int) -> bool:
        """Whether a report at ``epoch``, after one at ``previous``, is the first at or past a rung.

        With ``search.eval_every = k`` trials report only every k-th epoch, so a rung that is not
        a reported epoch is decided at the next reported one; every trial reports the same epochs,
        so they still compete like for like.
        """
        rung = self.min_epochs
        while rung <= previous:
            rung *= self.reduction_factor
        return rung <= epoch

    def should_prune(self, histories: Histories, trial_id: int, epoch: int, value: float) -> StopReason | None:
        if not self.reaches_rung(histories.previous_epoch(trial_id, epoch), epoch):
            return None
        others = histories.finished_values(epoch, ("complete", "pruned")) + histories.running_values(epoch, trial_id)
        if len(others) < self.min_trials:
            return None
        competitors = sorted([*others, value], reverse=self.direction == "max")
        keep = max(1, len(competitors) // self.reduction_factor)
        cutoff = competitors[keep - 1]
        return StopReason.PRUNED_ASHA if better(cutoff, value, self.direction) else None


def make_pruner(settings: EarlyStoppingSettings) -> Pruner | None:
    """The pruner named by ``settings.pruner`` (or ``None``)."""
    if settings.pruner == "median":
        return MedianPruner(settings)
    if settings.pruner == "asha":
        return ASHAPruner(settings)
    return None


__all__ = ["ASHAPruner", "FinishedTrial", "Histories", "MedianPruner", "Pruner", "make_pruner"]
