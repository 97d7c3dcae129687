"""Run trials on a Dask cluster (``executor = "dask"``).

With ``dask_address`` the executor connects to an existing scheduler; without one it starts a
``distributed.LocalCluster`` of ``n_jobs`` single-threaded worker processes bound to 127.0.0.1
(no dashboard) and shuts it down in :meth:`DaskExecutor.close`.

What runs where: the trial (:func:`trainhooks.trial.run_trial`) runs on a worker; plugins run only
in the driver. Each epoch report travels from the worker to the driver through a
``distributed.Queue`` on the scheduler; a background thread in the driver moves reports and
finished futures into a local inbox, and :meth:`DaskExecutor.next_result` handles them in the
driver's thread: it calls ``on_epoch`` and puts the plugins' stop decision on the trial's reply
queue, which the worker waits on before it trains the next epoch.

Lost workers: when the worker running a trial dies, the trial's future fails with
``KilledWorker`` (the LocalCluster started here sets ``allowed-failures`` to 0 so that this happens
at once) and the trial comes back failed "worker lost". On a cluster that reschedules the task
itself, the rerun is noticed when it reports an epoch out of order: it is told to abort and the
trial is reported lost, so the driver never sees a trial's epochs twice. The data is scattered to
the cluster once per run (and again after a loss).

Lost data: Dask's active memory manager drops the extra copies of scattered data that no running
task needs, so a dying worker can take the only copy with it, and the scheduler then cancels every
trial that needed it, also those queued on healthy workers. A cancelled trial that had not
reported an epoch is submitted again (once) with freshly scattered data: nothing of it reached
the plugins, so it is not a failure. One that had reported epochs is reported lost as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import uuid
from typing import Any

from trainhooks.hooks import StopDecision

from ..errors import ConfigError
from ..trial import TrialResult, TrialTask, run_trial
from .common import (
    data_key,
    decode_decision,
    encode_decision,
    refit_model,
    with_data,
    without_data,
    worker_lost,
)

REPLY_TIMEOUT_S = 600.0
"""How long a worker waits for the driver's answer to an epoch report before giving up."""

WORKER_WAIT_S = 60.0
"""How long to wait for a cluster to have at least one worker before giving up."""

ABORT = "abort"
STOP = "stop"


class _Aborted(BaseException):
    """Raised in a worker whose task was rerun by the scheduler after a loss (escapes run_trial)."""


class _QueueChannel:
    """Worker side: report through the run's report queue, wait for the answer on the trial's queue."""

    def __init__(self, prefix: str, attempt: str) -> None:
        from distributed import Queue

        self.reports = Queue(f"{prefix}-reports")
        self.replies = Queue(f"{prefix}-reply-{attempt}")
        self.attempt = attempt

    def report(self, trial_id: int, epoch: int, metrics: dict[str, Any]) -> StopDecision | None:
        self.reports.put([self.attempt, trial_id, epoch, metrics])
        answer = self.replies.get(timeout=REPLY_TIMEOUT_S)
        if answer == ABORT:
            raise _Aborted
        return decode_decision(answer)

    def close(self) -> None:
        for q in (self.reports, self.replies):
            with contextlib.suppress(Exception):  # the client is going away; the queue goes with it
                q.close()


def run_remote(task: TrialTask, X: Any, y: Any, folds: Any, prefix: str, attempt: str) -> TrialResult | str:
    """The Dask task: run one trial on a worker, relaying epochs to the driver. Returns ABORT if told to."""
    from distributed import get_worker

    channel = _QueueChannel(prefix, attempt)
    try:
        result = run_trial(with_data(task, (X, y, folds)), channel)
    except _Aborted:
        return ABORT
    finally:
        channel.close()
    result.worker = get_worker().address
    return result


def refit_remote(task: TrialTask, X: Any, y: Any, folds: Any, epochs: int) -> Any:
    """The Dask task of the refit of the best trial: the fitted model."""
    return refit_model(with_data(task, (X, y, folds)), epochs)


def _warm_up() -> None:
    """Run on each worker at start: load scikit-learn and the trial engine (fails if not installed)."""
    import trainhooks.trial  # noqa: F401


class _Attempt:
    """Driver side of one submitted trial."""

    def __init__(self, task: TrialTask, future: Any, key: str) -> None:
        self.task = task
        self.future = future
        self.key = key
        self.last_epoch = 0
        self.replies: Any = None


class DaskExecutor:
    """Trials as Dask tasks, ``n_jobs`` in flight at once.

    :param n_jobs: trials in flight at once (and the LocalCluster's worker count when one is started).
    :param address: scheduler address of an existing cluster, e.g. ``"tcp://10.0.0.5:8786"``;
        ``None`` starts a LocalCluster on 127.0.0.1. TLS settings come from Dask's own configuration.
    """

    def __init__(self, n_jobs: int, *, address: str | None = None) -> None:
        import dask
        from distributed import Client, LocalCluster, Queue

        self.slots = max(1, int(n_jobs))
        self._cluster: Any = None
        if address is None:
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self._cluster = LocalCluster(
                    n_workers=self.slots,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # the scheduler keeps a small HTTP (health) server: any free port, localhost only
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(address)  # waits distributed.comm.timeouts.connect (30 s)
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"search.dask_address: cannot connect to {address!r}: {exc}") from None
        try:
            self._client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            self._client.run(_warm_up)  # load the trial engine on every worker now, not in the first trials
        except (ImportError, TimeoutError) as exc:
            self.close_client()
            why = "has no workers" if isinstance(exc, TimeoutError) else f"has workers without trainhooks: {exc}"
            raise ConfigError(f"search.dask_address: the cluster at {address!r} {why}") from None
        self._prefix = f"trainhooks-{uuid.uuid4().hex}"
        self._reports = Queue(f"{self._prefix}-reports", client=self._client)
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._attempts: dict[str, _Attempt] = {}
        self._data: tuple[Any, list[Any]] | None = None
        self._resubmitted: set[int] = set()  # trials already submitted again after losing their data
        self._refit: tuple[Any, Any] | None = None  # (key, future) of the refit started
        self._closing = threading.Event()
        self._pump = threading.Thread(target=self._pump_reports, name="trainhooks-dask-reports", daemon=True)
        self._pump.start()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` in use (e.g. to look at the cluster)."""
        return self._client

    def _pump_reports(self) -> None:
        """Background thread: move epoch reports from the scheduler's queue into the local inbox."""
        while not self._closing.is_set():
            try:
                message = self._reports.get()  # close() puts a STOP message to wake us up
            except Exception:
                return
            if message == STOP:
                return
            self._inbox.put(("epoch", message))

    def _scattered(self, task: TrialTask) -> list[Any]:
        key = data_key(task)
        if self._data is None or self._data[0] != key:
            futures = self._client.scatter([task.X, task.y, task.folds], broadcast=True, hash=False)
            self._data = (key, futures)
        return self._data[1]

    def submit(self, task: TrialTask) -> None:
        X, y, folds = self._scattered(task)
        attempt = uuid.uuid4().hex
        key = f"trainhooks-trial-{task.trial_id}-{attempt}"
        future = self._client.submit(
            run_remote, without_data(task), X, y, folds, self._prefix, attempt, key=key, pure=False, retries=0
        )
        self._attempts[attempt] = _Attempt(task, future, key)
        future.add_done_callback(lambda _f, a=attempt: self._inbox.put(("done", a)))

    def start_refit(self, key: Any, task: TrialTask, epochs: int) -> bool:
        """Refit ``task``'s parameters on the scattered data for ``epochs`` epochs as a Dask task.

        ``key`` names it for :meth:`refit_result`; a refit still running is left to finish unused.
        """
        X, y, folds = self._scattered(task)
        future = self._client.submit(
            refit_remote, without_data(task), X, y, folds, epochs,
            key=f"trainhooks-refit-{uuid.uuid4().hex}", pure=False, retries=0,
        )  # fmt: skip
        self._refit = (key, future)
        return True

    def refit_result(self, key: Any) -> Any:
        """The model of the refit started as ``key`` (waiting for it); ``None`` if none or it failed."""
        if self._refit is None or self._refit[0] != key:
            return None
        try:
            return self._refit[1].result()
        except (Exception, asyncio.CancelledError):  # a lost worker or a failing fit: the driver refits
            return None

    def next_result(self, on_epoch: Any) -> TrialResult:
        """Block until a trial finishes (or its worker is lost), answering epoch reports meanwhile."""
        while True:
            if not self._attempts:
                raise RuntimeError("next_result() called with no trial in flight")
            try:
                kind, payload = self._inbox.get(timeout=0.5)  # a timeout keeps Ctrl-C responsive
            except queue.Empty:
                continue
            result = self._on_report(payload, on_epoch) if kind == "epoch" else self._on_done(payload)
            if result is not None:
                return result

    def _on_report(self, message: list[Any], on_epoch: Any) -> TrialResult | None:
        attempt_id, trial_id, epoch, metrics = message
        attempt = self._attempts.get(attempt_id)
        if attempt is None:  # a trial already reported lost (or finished) is still running somewhere
            self._answer(attempt_id, ABORT)
            return None
        if epoch <= attempt.last_epoch:  # the scheduler reran the task after losing its worker (steps
            # only grow within one attempt; with search.eval_every = k they may skip, so a gap is no rerun)
            self._answer(attempt_id, ABORT)
            return self._lost(attempt_id, f"task rerun by the scheduler after its worker was lost (epoch {epoch})")
        attempt.last_epoch = epoch
        decision = on_epoch(trial_id, epoch, metrics)
        self._answer(attempt_id, encode_decision(decision))
        return None

    def _answer(self, attempt_id: str, answer: Any) -> None:
        """Put the driver's answer on the trial's reply queue (the worker is waiting on it)."""
        from distributed import Queue

        attempt = self._attempts.get(attempt_id)
        if attempt is None:  # a stray rerun: answer through a short-lived handle
            replies = Queue(f"{self._prefix}-reply-{attempt_id}", client=self._client)
            replies.put(answer)
            replies.close()
            return
        if attempt.replies is None:
            attempt.replies = Queue(f"{self._prefix}-reply-{attempt_id}", client=self._client)
        attempt.replies.put(answer)

    def _lost(self, attempt_id: str, detail: str) -> TrialResult:
        attempt = self._forget(attempt_id)
        attempt.future.cancel()
        self._data = None  # scatter again: the lost worker may have held the only copy
        return worker_lost(attempt.task, detail, attempt.last_epoch)

    def _forget(self, attempt_id: str) -> _Attempt:
        attempt = self._attempts.pop(attempt_id)
        if attempt.replies is not None:
            with contextlib.suppress(Exception):
                attempt.replies.close()
        return attempt

    def _on_done(self, attempt_id: str) -> TrialResult | None:
        attempt = self._attempts.get(attempt_id)
        if attempt is None:  # already reported (lost, then the old future finished or was cancelled)
            return None
        future = attempt.future
        if future.status == "finished":
            value = future.result()
            if value == ABORT:
                return self._lost(attempt_id, "task aborted after a rerun")
            self._forget(attempt_id)
            return value
        if future.status == "cancelled":
            if attempt.last_epoch == 0 and attempt.task.trial_id not in self._resubmitted:
                self._forget(attempt_id)  # its input data was lost with a worker before it reported anything
                self._resubmitted.add(attempt.task.trial_id)
                self._data = None
                self.submit(attempt.task)
                return None
            return self._lost(attempt_id, "task cancelled by the cluster")
        error = future.exception()
        from distributed import KilledWorker

        if isinstance(error, KilledWorker) or type(error).__name__ in ("CommClosedError", "FutureCancelledError"):
            return self._lost(attempt_id, str(error) or type(error).__name__)
        self._forget(attempt_id)  # the task itself failed (e.g. a result that cannot be pickled): not retried
        task = attempt.task
        return TrialResult(task.trial_id, dict(task.params), "failed", error=f"{type(error).__name__}: {error}")

    def close(self) -> None:
        """Cancel running trials, close the client and the LocalCluster this executor started."""
        self._closing.set()
        futures = [a.future for a in self._attempts.values()]
        if self._refit is not None:
            futures.append(self._refit[1])
        self._attempts.clear()
        with contextlib.suppress(Exception):
            if futures:
                self._client.cancel(futures, force=True)
            self._reports.put(STOP)
        self._pump.join(timeout=5)
        with contextlib.suppress(Exception):
            self._reports.close()
        self.close_client()

    def close_client(self) -> None:
        """Close the client and, if this executor started it, the LocalCluster."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


__all__ = ["DaskExecutor", "run_remote"]
