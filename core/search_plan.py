"""Which parameter sets to start next, and in which order the strategy hears about results.

The search loop (``Runner._search``) asks a :class:`SearchPlan` what to start whenever executor
slots are free, and tells it every finished trial. The plan makes a parallel search reproducible
for a given seed and number of slots, however the trials' finishing times interleave. The rules
are the contract's, documented on :class:`trainhooks.hooks.BatchStrategy`:

- A :class:`~trainhooks.hooks.BatchStrategy` (one with ``ask_many(n)``, such as the built-in
  ``bayes``) runs in synchronous batches when there is more than one slot: ask, run the batch,
  tell it in trial-id order, ask the next. A batch repeating points already asked is asked point
  by point.
- Any other strategy is asked one point per free slot, and told in trial-id order (a finished
  trial waits until every lower id has been told).
- With one slot both reduce to the sequential ask, run, tell.

A trial whose worker was lost is not told; its retry (a new trial id) is told in its place.
"""

from __future__ import annotations

import json
from typing import Any

from trainhooks.hooks import BatchStrategy, Strategy

from .trial import TrialResult


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=repr)


class SearchPlan:
    """Ask/tell bookkeeping for one search (see the module docstring for the rules)."""

    def __init__(self, strategy: Strategy, *, n_trials: int, slots: int) -> None:
        self.strategy = strategy
        self.n_trials = n_trials
        self.slots = max(1, slots)
        self._batch = strategy if self.slots > 1 and isinstance(strategy, BatchStrategy) else None
        self.batched = self._batch is not None
        self.asked = 0
        self.exhausted = False
        self._untold: list[int] = []  # trial ids started and not yet told, ascending
        self._finished: dict[int, TrialResult] = {}
        self._asked_points: set[str] = set()

    @property
    def done_asking(self) -> bool:
        return self.exhausted or self.asked >= self.n_trials

    def to_start(self, in_flight: int) -> list[dict[str, Any]]:
        """Parameter sets to start now, given ``in_flight`` trials running."""
        if self.done_asking:
            return []
        if self._batch is not None:
            if self._untold:  # the current batch is not fully told yet
                return []
            n = min(self.slots, self.n_trials - self.asked)
            points = [p for p in self._batch.ask_many(n) if p is not None]
            if any(_key(p) in self._asked_points for p in points):
                # a repeat means the optimizer learned nothing since (e.g. every trial so far failed
                # and skopt kept its cached batch): ask point by point, which draws fresh points
                points = [p for p in (self.strategy.ask() for _ in range(n)) if p is not None]
            self._asked_points.update(_key(p) for p in points)
            if not points:
                self.exhausted = True
            self.asked += len(points)
            return points
        points = []
        while in_flight + len(points) < self.slots and not self.done_asking:
            params = self.strategy.ask()
            if params is None:
                self.exhausted = True
                break
            points.append(params)
            self.asked += 1
        return points

    def started(self, trial_id: int) -> None:
        """A trial with this id was submitted; it will be told in id order."""
        self._untold.append(trial_id)
        self._untold.sort()

    def retried(self, lost_id: int, retry_id: int) -> None:
        """``lost_id``'s worker died and ``retry_id`` reruns its parameters; only the retry is told."""
        self._untold.remove(lost_id)
        self.started(retry_id)

    def finished(self, result: TrialResult) -> None:
        """Record a final result and tell, in id order, every result that may be told now.

        In batch mode nothing is told until the whole batch is done, so the optimizer's refits
        happen while no trial is waiting for the driver.
        """
        self._finished[result.trial_id] = result
        if self.batched and len(self._finished) < len(self._untold):
            return
        while self._untold and self._untold[0] in self._finished:
            done = self._finished.pop(self._untold.pop(0))
            self.strategy.tell(done.params, done.score if done.state == "complete" else None)


__all__ = ["SearchPlan"]
