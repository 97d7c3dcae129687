"""Pieces the parallel executors share: "worker lost" results, stop-decision wire format, data keys.

A trial whose worker dies (killed process, lost Dask worker) does not raise in the driver: the
executor hands back a failed :class:`~trainhooks.trial.TrialResult` whose ``error`` starts with
:data:`WORKER_LOST`, and the search loop retries it once (see ``Runner._search``). A trial that
raises inside ``run_trial`` is an ordinary failed trial and is never retried.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from trainhooks.hooks import StopDecision

from ..trial import TrialResult, TrialTask, fit_for_epochs

WORKER_LOST = "worker lost"
"""Prefix of ``TrialResult.error`` when the process or Dask worker running the trial died."""


def worker_lost(task: TrialTask, detail: str, epochs: int = 0) -> TrialResult:
    """The failed result of a trial whose worker died after reporting ``epochs`` epochs.

    ``detail`` says how it died (exit code, worker address).
    """
    return TrialResult(
        trial_id=task.trial_id,
        params=dict(task.params),
        state="failed",
        epochs=epochs,
        error=f"{WORKER_LOST}: {detail}",
    )


def is_worker_lost(result: TrialResult) -> bool:
    """True for results made by :func:`worker_lost` (and only those: trial errors start with a type name)."""
    return result.state == "failed" and (result.error or "").startswith(WORKER_LOST)


def encode_decision(decision: StopDecision | None) -> dict[str, Any] | None:
    """A stop decision as plain data (msgpack/pickle friendly) for the trip to a worker."""
    if decision is None:
        return None
    return {"reason": decision.reason, "prune": bool(decision.prune), "use_epoch": decision.use_epoch}


def decode_decision(data: dict[str, Any] | None) -> StopDecision | None:
    """The inverse of :func:`encode_decision`."""
    if data is None:
        return None
    return StopDecision(reason=str(data["reason"]), prune=bool(data["prune"]), use_epoch=data.get("use_epoch"))


def data_key(task: TrialTask) -> tuple[int, int, int]:
    """Identity of a task's training data: every trial of one run shares the same X, y and folds objects.

    Executors ship the data to a worker once per key instead of once per trial. The key is only
    valid while the run holds the objects, which it does for the executor's whole life.
    """
    return (id(task.X), id(task.y), id(task.folds))


def without_data(task: TrialTask) -> TrialTask:
    """The task minus its data (sent separately, once per worker)."""
    return dataclasses.replace(task, X=None, y=None, folds=())


def with_data(task: TrialTask, data: tuple[Any, Any, Any]) -> TrialTask:
    """Put the data a worker keeps back into a task that travelled without it."""
    X, y, folds = data
    return dataclasses.replace(task, X=X, y=y, folds=folds)


@dataclasses.dataclass(frozen=True)
class RefitFailed:
    """What a worker sends back instead of a model when the refit raised (the driver then refits)."""

    error: str


def refit_model(task: TrialTask, epochs: int) -> Any:
    """The refit of a best trial on all its training data, where a worker runs it.

    ``task`` is the trial's task (its data is the whole training set, which the folds index);
    the fit is :func:`~trainhooks.trial.fit_for_epochs`, as in the driver, with the trial's BLAS
    thread limit so it does not oversubscribe the cores the last trials still use.
    """
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=task.blas_threads) if task.blas_threads else nullcontext()
    with limits:
        return fit_for_epochs(task.estimator, task.params, task.X, task.y, epochs, task.max_epochs)


__all__ = [
    "WORKER_LOST",
    "RefitFailed",
    "data_key",
    "decode_decision",
    "encode_decision",
    "is_worker_lost",
    "refit_model",
    "with_data",
    "without_data",
    "worker_lost",
]
