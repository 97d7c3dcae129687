"""Per-trial early stopping on one monitored metric, epoch by epoch (no plugin machinery).

:class:`TrialMonitor` follows Keras' ``EarlyStopping`` and Lightning's semantics so the
parameters mean what users expect: the wait counter grows on every monitored epoch and is reset
by an improvement of more than ``min_delta`` that also beats ``baseline``; the trial stops once the
counter reaches ``patience``. Thresholds stop at once, and so do non-finite values with
``check_finite``; without it a non-finite value is an epoch without improvement, as in Keras
(NaN compares false), and never becomes the best value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._reasons import StopReason
from ._settings import EarlyStoppingSettings


def better(value: float, reference: float, direction: str, delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``reference`` by more than ``delta`` in ``direction`` ("max"/"min")."""
    return value - delta > reference if direction == "max" else value + delta < reference


@dataclass
class TrialMonitor:
    """The early-stopping state of one trial: best value, its epoch and the wait counter."""

    settings: EarlyStoppingSettings
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0

    def update(self, epoch: int, value: float) -> StopReason | None:
        """Take the monitored value of ``epoch`` (1-based); return why to stop now, or ``None``."""
        s, direction = self.settings, self.settings.direction
        finite = math.isfinite(value)
        if not finite and s.check_finite:
            return StopReason.NON_FINITE
        if epoch <= s.start_from_epoch:
            return None
        self.wait += 1
        improved = finite and (self.best is None or better(value, self.best, direction, s.min_delta))
        if improved:
            self.best, self.best_epoch = value, epoch
            if s.baseline is None or better(value, s.baseline, direction, s.min_delta):
                self.wait = 0
        if s.stopping_threshold is not None and better(value, s.stopping_threshold, direction):
            return StopReason.STOPPING_THRESHOLD
        if s.divergence_threshold is not None and better(s.divergence_threshold, value, direction):
            return StopReason.DIVERGENCE_THRESHOLD
        if s.patience is not None and not improved and self.wait >= s.patience:
            beat_baseline = s.baseline is None or (
                self.best is not None and better(self.best, s.baseline, direction, s.min_delta)
            )
            return StopReason.PATIENCE if beat_baseline else StopReason.BASELINE
        return None


__all__ = ["TrialMonitor", "better"]
