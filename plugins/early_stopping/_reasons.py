"""Why a trial or a search was stopped: a small string-valued enum.

The values are what ``trial-ended.stop_reason``, ``search-stopped.reason`` and the summary's
``stop_reason`` show, so they are short, stable, snake_case words.
"""

from __future__ import annotations

from enum import Enum


class StopReason(str, Enum):
    """Every reason the ``early_stopping`` plugin gives (``str(reason)`` is its value)."""

    # per-trial early stopping: the trial ends "complete"
    PATIENCE = "patience"
    BASELINE = "baseline"
    STOPPING_THRESHOLD = "stopping_threshold"
    DIVERGENCE_THRESHOLD = "divergence_threshold"
    MAX_EPOCHS = "max_epochs"  # ran its whole budget; only given to restore the best epoch
    # non-finite monitored value: "complete" at the best epoch with restore_best, else "pruned"
    NON_FINITE = "non_finite"
    # pruning across trials: the trial ends "pruned"
    PRUNED_MEDIAN = "pruned_median"
    PRUNED_ASHA = "pruned_asha"
    # search-level stopping
    SEARCH_PATIENCE = "search_patience"
    TARGET_SCORE = "target_score"

    def __str__(self) -> str:
        return self.value


__all__ = ["StopReason"]
