"""One trial as a pure function of (estimator spec, params, data, folds).

:func:`run_trial` never touches plugins: it reports each epoch through an
:class:`EpochChannel` and obeys the stop decision it gets back, so the same function runs in this
process, in a process pool or on a Dask worker. Cross-validation folds train in lockstep: every
fold finishes epoch *e* before any starts *e + 1*, so each report carries the mean, spread and
per-fold validation scores of that epoch. With ``eval_every = k`` the folds are scored (and the
epoch reported) only every *k* epochs and after the last one: scoring is most of an epoch's cost
for fast ``partial_fit`` estimators, and a learning curve sampled every few epochs is often enough.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from threadpoolctl import threadpool_limits

from trainhooks.hooks import StopDecision

from .epoch_trainer import EpochTrainer, classes_for
from .estimators import build_estimator, report_plan

Fold = tuple[np.ndarray, np.ndarray]


class EpochChannel(Protocol):
    """Where a running trial sends its epoch reports and hears about stop decisions."""

    def report(self, trial_id: int, epoch: int, metrics: dict[str, Any]) -> StopDecision | None:
        """Report one finished epoch; a returned decision stops the trial now."""


@dataclass(frozen=True)
class TrialTask:
    """Everything a trial needs; picklable, so it can travel to another process."""

    trial_id: int
    estimator: Any  # an estimator class or an unfitted instance (cloned, never mutated)
    params: dict[str, Any]
    X: Any
    y: Any
    folds: Sequence[Fold]
    scoring: Any = None
    max_epochs: int = 1
    eval_every: int = 1  # score and report every k-th epoch (and always the last one)
    blas_threads: int | None = None
    fold_keys: Sequence[str] | None = None  # names each fold's rows: trials on a fold share preprocessing (prep_cache)


@dataclass
class TrialResult:
    """What a trial produced; the driver turns it into a ``trial-ended`` event and a table row."""

    trial_id: int
    params: dict[str, Any]
    state: str  # "complete", "pruned" or "failed"
    score: float | None = None
    score_std: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    epochs: int = 0  # epochs trained
    best_epoch: int = 0  # the epoch whose scores are reported (== epochs unless restore_best)
    history: dict[int, dict[str, Any]] = field(default_factory=dict)  # metrics of each scored epoch
    fit_time_s: float = 0.0
    duration_s: float = 0.0
    error: str | None = None
    stop_reason: str | None = None
    worker: str | None = None


def _rows(data: Any, index: np.ndarray) -> Any:
    return data.iloc[index] if hasattr(data, "iloc") else data[index]


def run_trial(task: TrialTask, channel: EpochChannel) -> TrialResult:
    """Train and score one parameter set over all folds, epoch by epoch, in lockstep."""
    started = time.perf_counter()
    result = TrialResult(trial_id=task.trial_id, params=dict(task.params), state="complete")
    limits = threadpool_limits(limits=task.blas_threads) if task.blas_threads else nullcontext()
    try:
        with limits, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _train_folds(task, channel, result)
    except Exception as exc:
        result.state = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
    if result.state == "failed":
        result.score = result.score_std = None
    result.duration_s = time.perf_counter() - started
    return result


def _validated_once() -> AbstractContextManager[None]:
    """Skip scikit-learn's per-call input and parameter checks for calls that repeat a checked one.

    The data was checked once before any trial (finite, numeric) and the parameters by the first
    epoch's fit, so re-checking them on every epoch and every scoring call only costs time: on
    small folds the checks take about a third of an epoch (benchmarks/overhead.py).
    """
    return sklearn.config_context(assume_finite=True, skip_parameter_validation=True)


def _train_folds(task: TrialTask, channel: EpochChannel, result: TrialResult) -> None:
    splits = [(_rows(task.X, tr), _rows(task.y, tr), _rows(task.X, va), _rows(task.y, va)) for tr, va in task.folds]
    folds: Sequence[str | None] = task.fold_keys or [None] * len(task.folds)
    first = build_estimator(task.estimator, task.params)
    scorer = check_scoring(first, scoring=task.scoring)
    classes = classes_for(first, task.y)
    if report_plan(first, task.max_epochs, len(splits)).unit == "fold":
        _train_per_fold(task, channel, result, splits, folds, scorer, classes)
        return
    estimators = [first, *(build_estimator(task.estimator, task.params) for _ in splits[1:])]
    trainers = [
        EpochTrainer(est, task.max_epochs, X_tr, y_tr, classes, fold=fold)
        for est, (X_tr, y_tr, _, _), fold in zip(estimators, splits, folds, strict=True)
    ]
    views: list[tuple[BaseEstimator, Any]] = []  # what each fold scores: transformed once, after epoch 1
    n_epochs = trainers[0].n_epochs
    for epoch in range(1, n_epochs + 1):
        tick = time.perf_counter()
        with _validated_once() if epoch > 1 else nullcontext():
            for trainer in trainers:
                trainer.step(epoch)
        result.fit_time_s += time.perf_counter() - tick
        result.epochs = epoch
        if epoch % task.eval_every and epoch < n_epochs:
            continue
        if not views:
            views = [t.scoring_view(X_va) for t, (_, _, X_va, _) in zip(trainers, splits, strict=True)]
        with _validated_once():
            fold_scores = [
                float(scorer(est, X_va, y_va)) for (est, X_va), (_, _, _, y_va) in zip(views, splits, strict=True)
            ]
        metrics = _fold_metrics(fold_scores)
        result.history[epoch] = metrics
        if _applied(result, epoch, metrics, channel.report(task.trial_id, epoch, metrics), where=f"at epoch {epoch}"):
            return


def _train_per_fold(
    task: TrialTask,
    channel: EpochChannel,
    result: TrialResult,
    splits: list[Any],
    folds: Sequence[str | None],
    scorer: Any,
    classes: Any,
) -> None:
    """Train a one-epoch trial fold after fold, reporting the running mean after each fold.

    Report *k* (``unit = "fold"``) carries the mean, spread and scores of folds 1..k, so a pruner
    can stop a poor trial before its last fold. A stop decision before the last fold ends the trial
    "pruned" whatever it asked (a mean over some folds is not a finished trial's score), and
    ``use_epoch`` means nothing here: the trial has one epoch.
    """
    fold_scores: list[float] = []
    for fold, ((X_tr, y_tr, X_va, y_va), key) in enumerate(zip(splits, folds, strict=True), start=1):
        est = build_estimator(task.estimator, task.params)
        trainer = EpochTrainer(est, task.max_epochs, X_tr, y_tr, classes, fold=key)
        tick = time.perf_counter()
        trainer.step(1)
        result.fit_time_s += time.perf_counter() - tick
        result.epochs = 1
        est, X_view = trainer.scoring_view(X_va)
        with _validated_once():
            fold_scores.append(float(scorer(est, X_view, y_va)))
        metrics = _fold_metrics(fold_scores)
        result.history[1] = metrics  # the trial's one epoch, over the folds done
        decision = channel.report(task.trial_id, fold, metrics)
        if decision is not None:
            decision = replace(decision, prune=decision.prune or fold < len(splits), use_epoch=None)
        if _applied(result, 1, metrics, decision, where=f"after fold {fold}"):
            return


def _fold_metrics(fold_scores: list[float]) -> dict[str, Any]:
    """The metrics of one report: mean, population spread and the scores themselves."""
    with np.errstate(invalid="ignore"):
        return {
            "score": float(np.mean(fold_scores)),
            "score_std": float(np.std(fold_scores)),
            "fold_scores": list(fold_scores),
        }


def _applied(
    result: TrialResult, epoch: int, metrics: dict[str, Any], decision: StopDecision | None, *, where: str
) -> bool:
    """Take a reported epoch's metrics and the answer to its report; True when the trial ends here.

    A non-finite score ends the trial (failed, unless the decision prunes it or restores an earlier,
    finite epoch); a stop decision ends it "pruned" or "complete", at ``use_epoch`` if it names a
    scored epoch.
    """
    if not all(math.isfinite(s) for s in metrics["fold_scores"]):
        _end_non_finite(result, epoch, decision, where)
        return True
    _use_epoch(result, epoch)
    if decision is None:
        return False
    result.stop_reason = decision.reason
    result.state = "pruned" if decision.prune else "complete"
    if decision.use_epoch in result.history:
        _use_epoch(result, decision.use_epoch)
    return True


def _end_non_finite(result: TrialResult, epoch: int, decision: StopDecision | None, where: str) -> None:
    """End a trial whose score is not finite at ``epoch``.

    It fails, unless a plugin's decision restores an earlier epoch (``use_epoch``: the trial is then
    "complete" with that epoch's scores) or prunes it. Either way the non-finite score is never the
    trial's score, so it never reaches the optimizer.
    """
    restore = decision.use_epoch if decision is not None else None
    if decision is not None and restore in result.history and restore != epoch:  # earlier ones were all finite
        result.state, result.stop_reason = "complete", decision.reason
        _use_epoch(result, restore)
    elif decision is not None and decision.prune:
        result.state, result.stop_reason = "pruned", decision.reason
    else:
        result.state = "failed"
        result.error = f"score is not finite {where}: {list(result.history[epoch]['fold_scores'])}"


def _use_epoch(result: TrialResult, epoch: int) -> None:
    metrics = result.history[epoch]
    result.best_epoch = epoch
    result.score, result.score_std = metrics["score"], metrics["score_std"]
    result.fold_scores = list(metrics["fold_scores"])


def fit_for_epochs(
    estimator: Any, params: dict[str, Any], X: Any, y: Any, epochs: int, max_epochs: int
) -> BaseEstimator:
    """Fit a fresh estimator on all of ``X, y`` for ``epochs`` epochs (the refit of the best trial).

    A Pipeline is trained as in its trials (preprocessing fitted once, the final step per epoch)
    and comes back fitted as a whole.
    """
    est = build_estimator(estimator, params)
    trainer = EpochTrainer(est, max_epochs, X, y, classes_for(est, y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(1, min(max(1, epochs), trainer.n_epochs) + 1):
            trainer.step(epoch)
    return est


__all__ = ["EpochChannel", "EpochTrainer", "TrialResult", "TrialTask", "fit_for_epochs", "run_trial"]
