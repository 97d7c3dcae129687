"""Drives the ``early_stopping`` plugin through its real hooks with hand-made events, like the core does.

Shared by this folder's tests (pytest puts the folder on ``sys.path``); not a test module.
"""

from __future__ import annotations

from typing import Any

from trainhooks.hooks import EpochEnded, TrialEnded, TrialStarted
from trainhooks.plugins.early_stopping import EarlyStoppingPlugin


class FakeRun:
    """A RunContext that only collects notes (the plugin needs nothing else from it here)."""

    run_id, kind, principal, experiment = "r", "tune", "tester", "default"

    def __init__(self) -> None:
        self.notes: list[str] = []

    def add_note(self, note: str) -> None:
        self.notes.append(note)


class Driver:
    """Runs a plugin through configure / trial-started / epoch-ended / trial-ended like the core does."""

    def __init__(self, table: dict[str, Any] | None, *, max_epochs: int = 10, plugin: Any = None) -> None:
        self.plugin = plugin or EarlyStoppingPlugin()
        self.run = FakeRun()
        config = {"plugins": {"early_stopping": table} if table else {}}
        self.plugin.trainhooks_configure(config=config, run=self.run)
        self.seq = 0
        self.max_epochs = max_epochs

    def _stamp(self) -> dict[str, Any]:
        self.seq += 1
        return {"run_id": "r", "timestamp": 0.0, "seq": self.seq}

    def start(self, trial_id: int) -> None:
        self.plugin.trainhooks_on_trial_start(event=TrialStarted(**self._stamp(), trial_id=trial_id, params={}))

    def epoch(self, trial_id: int, epoch: int, score: float, **metrics: Any) -> Any:
        event = EpochEnded(
            **self._stamp(),
            trial_id=trial_id,
            epoch=epoch,
            metrics={"score": score, "score_std": 0.0, **metrics},
            planned_epochs=self.max_epochs,
            is_last=epoch == self.max_epochs,
        )
        self.plugin.trainhooks_on_epoch_end(event=event)
        return self.plugin.trainhooks_should_stop_trial(event=event)

    def end(self, trial_id: int, state: str, score: float | None, epochs: int) -> Any:
        event = TrialEnded(
            **self._stamp(),
            trial_id=trial_id,
            params={},
            state=state,
            score=score,
            score_std=0.0,
            fold_scores=(),
            epochs=epochs,
            duration_s=0.0,
        )
        self.plugin.trainhooks_on_trial_end(event=event)
        return self.plugin.trainhooks_should_stop_search(event=event)

    def trial(self, trial_id: int, scores: list[float], epochs: list[int] | None = None) -> tuple[str, int, Any]:
        """Run one trial sequentially like the core: returns (state, epochs, decision).

        ``scores`` are reported at ``epochs`` (default 1, 2, ...; with ``search.eval_every`` the
        core reports only some epochs).
        """
        reported = dict(zip(epochs or range(1, len(scores) + 1), scores, strict=True))
        self.start(trial_id)
        decision = None
        for epoch, score in reported.items():
            decision = self.epoch(trial_id, epoch, score)
            if decision is not None:
                break
        state = "pruned" if decision is not None and decision.prune else "complete"
        final = reported[decision.use_epoch if decision and decision.use_epoch else epoch]
        self.end(trial_id, state, None if state == "pruned" else final, epoch)
        return state, epoch, decision
