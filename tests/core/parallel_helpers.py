"""Shared pieces of the parallel tests (no tests here).

They live in an importable module, not in the test files' local scopes, because worker processes
and Dask workers unpickle the estimators by module and class name.
"""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict
from typing import Any

import numpy as np
from builders import breast_cancer
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import SGDClassifier

from trainhooks import RunResult, StopDecision, hookimpl
from trainhooks.testing import EventRecorder, make_session


def data(rows: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """A standardised slice of breast_cancer: small enough for fast trials."""
    return breast_cancer(rows)


SPACE = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}}


def tune(recorder: EventRecorder, *plugins: object, estimator: object = None, **kwargs: object) -> RunResult:
    """A small random search on an isolated session (options overridable by keyword)."""
    X, y = data()
    options: dict = {"strategy": "random", "n_trials": 4, "cv": 2, "max_epochs": 4, "scoring": "accuracy"}
    options.update(kwargs)
    session = make_session(recorder, *plugins)
    return session.tune(estimator or SGDClassifier(random_state=0), SPACE, X, y, **options)


class FragileSGD(ClassifierMixin, BaseEstimator):
    """An SGD classifier trained by ``partial_fit`` that can kill its own worker or raise.

    :param die_marker: path of a file; the first trial to reach epoch ``die_at`` creates it
        atomically and SIGKILLs its own process (a worker dying mid-trial). Later trials see the
        file and train normally, so exactly one worker dies per search.
    :param raise_if_alpha_above: a trial with a larger ``alpha`` raises ``ValueError`` at epoch 1.
    :param delay_s: sleep this long in every epoch (to make one trial finish after another).
    """

    def __init__(
        self,
        alpha: float = 1e-4,
        die_marker: str | None = None,
        die_at: int = 2,
        raise_if_alpha_above: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.alpha = alpha
        self.die_marker = die_marker
        self.die_at = die_at
        self.raise_if_alpha_above = raise_if_alpha_above
        self.delay_s = delay_s

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> FragileSGD:
        self.epochs_ = getattr(self, "epochs_", 0) + 1
        if self.raise_if_alpha_above is not None and self.alpha > self.raise_if_alpha_above:
            raise ValueError(f"alpha {self.alpha} is too large")
        if self.die_marker and self.epochs_ == self.die_at:
            try:
                os.close(os.open(self.die_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.delay_s)
        if not hasattr(self, "model_"):
            self.model_ = SGDClassifier(alpha=self.alpha, random_state=0)
        self.model_.partial_fit(X, y, classes=classes)
        self.classes_ = self.model_.classes_
        return self

    def fit(self, X: Any, y: Any) -> FragileSGD:
        for attr in ("model_", "epochs_"):
            self.__dict__.pop(attr, None)
        return self.partial_fit(X, y, classes=np.unique(y))

    def predict(self, X: Any) -> Any:
        return self.model_.predict(X)


class WhereFittedSGD(SGDClassifier):
    """An SGDClassifier that records the process id it was last trained in (``fitted_in_pid_``)."""

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> WhereFittedSGD:
        self.fitted_in_pid_ = os.getpid()
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def fit(self, X: Any, y: Any, coef_init: Any = None, intercept_init: Any = None, sample_weight: Any = None) -> Any:
        self.fitted_in_pid_ = os.getpid()
        return super().fit(X, y, coef_init=coef_init, intercept_init=intercept_init, sample_weight=sample_weight)


class StopTrial:
    """A plugin that stops (prunes) one trial at one epoch, as an early-stopping plugin would."""

    def __init__(self, trial_id: int, epoch: int) -> None:
        self.trial_id = trial_id
        self.epoch = epoch

    @hookimpl
    def trainhooks_should_stop_trial(self, event: Any) -> StopDecision | None:
        if event.trial_id == self.trial_id and event.epoch == self.epoch:
            return StopDecision("test-stop", prune=True)
        return None


class ScriptedStrategy:
    """A strategy plugin's strategy that proposes a fixed list of points and records every call."""

    def __init__(self, points: list[dict[str, Any]], calls: list[tuple[str, Any]], batch: bool) -> None:
        self.points = list(points)
        self.calls = calls
        if batch:
            self.ask_many = self._ask_many

    def ask(self) -> dict[str, Any] | None:
        self.calls.append(("ask", None))
        return self.points.pop(0) if self.points else None

    def _ask_many(self, n: int) -> list[dict[str, Any]]:
        self.calls.append(("ask_many", n))
        taken, self.points = self.points[:n], self.points[n:]
        return taken

    def tell(self, params: Any, score: float | None) -> None:
        self.calls.append(("tell", dict(params)))


class ScriptedStrategies:
    """A plugin registering ``scripted`` (one point per call, told in order) and ``scripted_batch``."""

    def __init__(self, points: list[dict[str, Any]]) -> None:
        self.points = points
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    def trainhooks_register_strategies(self) -> dict[str, Any]:
        def make(batch: bool) -> Any:
            return lambda space, **_: ScriptedStrategy(self.points, self.calls, batch)

        return {"scripted": make(False), "scripted_batch": make(True)}


def assert_run_order(events: list[Any]) -> dict[int, list[Any]]:
    """Check DESIGN section 2's order for a run; return each trial's events by trial id.

    ``run-started`` first and ``run-ended`` last (once each), ``seq`` strictly increasing, and per
    trial: ``trial-started``, its ``epoch-ended`` events for epochs 1, 2, ... and one ``trial-ended``
    whose ``epochs`` equals the number of epochs seen.
    """
    names = [e.name for e in events]
    assert names[0] == "run-started" and names[-1] == "run-ended"
    assert names.count("run-started") == names.count("run-ended") == 1
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    per_trial: dict[int, list[Any]] = defaultdict(list)
    for event in events:
        if event.name in ("trial-started", "epoch-ended", "trial-ended"):
            per_trial[event.trial_id].append(event)
    for trial_id, trial_events in per_trial.items():
        kinds = [e.name for e in trial_events]
        assert kinds[0] == "trial-started", (trial_id, kinds)
        assert kinds[-1] == "trial-ended" and kinds.count("trial-ended") == 1, (trial_id, kinds)
        epochs = [e.epoch for e in trial_events if e.name == "epoch-ended"]
        assert epochs == list(range(1, len(epochs) + 1)), (trial_id, epochs)
        assert kinds[1:-1] == ["epoch-ended"] * len(epochs), (trial_id, kinds)
        assert trial_events[-1].epochs == len(epochs), (trial_id, trial_events[-1].epochs, epochs)
    return dict(per_trial)


def table(result: Any) -> list[tuple[Any, ...]]:
    """The parts of a trials table that must be identical between reproducible runs."""
    return [
        (row["trial_id"], row["state"], tuple(sorted(row["params"].items())), row["mean_test_score"], row["epochs"])
        for row in result.trials
    ]
