"""Search-level stopping: patience over trials and a target score.

Works on each trial's reported score (``trial-ended.score``), which scikit-learn scorers make
greater-is-better. Every ended trial counts towards ``search_patience``: a pruned or failed trial
is a trial without an improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._reasons import StopReason
from ._settings import EarlyStoppingSettings


@dataclass
class SearchMonitor:
    """Best complete score so far and trials since it last improved."""

    settings: EarlyStoppingSettings
    best: float | None = None
    wait: int = 0
    n_trials: int = 0

    def update(self, state: str, score: float | None) -> StopReason | None:
        """Take one ended trial; return why the search should stop now, or ``None``."""
        s = self.settings
        self.n_trials += 1
        scored = state == "complete" and score is not None and math.isfinite(score)
        if scored and (self.best is None or score - s.search_min_delta > self.best):  # type: ignore[operator]
            self.best, self.wait = score, 0
        else:
            self.wait += 1
        if s.target_score is not None and scored and score >= s.target_score:  # type: ignore[operator]
            return StopReason.TARGET_SCORE
        if s.search_patience is not None and self.wait >= s.search_patience:
            return StopReason.SEARCH_PATIENCE
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "n_trials": self.n_trials}

    def load(self, data: dict[str, Any]) -> None:
        best = data.get("best")
        self.best = None if best is None else float(best)
        self.wait = int(data.get("wait", 0))
        self.n_trials = int(data.get("n_trials", 0))


__all__ = ["SearchMonitor"]
