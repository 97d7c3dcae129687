"""Run trials one after another in the driver process (the default executor)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trainhooks.hooks import StopDecision

if TYPE_CHECKING:  # the trial engine (scikit-learn) loads when the first trial runs
    from ..trial import TrialResult, TrialTask


class _DirectChannel:
    """Epoch reports go straight to the driver; its decision applies at once."""

    def __init__(self, on_epoch: Callable[[int, int, dict[str, Any]], StopDecision | None]) -> None:
        self.on_epoch = on_epoch

    def report(self, trial_id: int, epoch: int, metrics: dict[str, Any]) -> StopDecision | None:
        return self.on_epoch(trial_id, epoch, metrics)


class SequentialExecutor:
    """One trial at a time, in this process and thread."""

    slots = 1

    def __init__(self) -> None:
        self._queue: deque[TrialTask] = deque()

    def submit(self, task: TrialTask) -> None:
        self._queue.append(task)

    def next_result(self, on_epoch: Callable[[int, int, dict[str, Any]], StopDecision | None]) -> TrialResult:
        from ..trial import run_trial

        return run_trial(self._queue.popleft(), _DirectChannel(on_epoch))

    def close(self) -> None:
        self._queue.clear()
