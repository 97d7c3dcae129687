"""Run trials in ``n_jobs`` worker processes on this machine (``executor = "process"``).

Each worker is a long-lived process with its own duplex pipe to the driver. The driver waits on
all pipes and process sentinels at once (``multiprocessing.connection.wait``), so in one thread it
relays epoch reports to the plugins, answers each report with the plugins' stop decision, collects
results and notices a dead worker the moment it dies. A worker that dies is replaced by a fresh
one and its trial comes back as failed "worker lost" (the search loop retries it once); the pool
itself never becomes unusable, unlike ``concurrent.futures.ProcessPoolExecutor``.

Epoch reports are synchronous: the worker waits for the driver's answer before it trains the next
epoch. A stop decision therefore ends the trial at exactly the epoch it was given for, as in the
sequential executor, which keeps early-stopped results reproducible.

Workers start with the ``forkserver`` method where the platform has it (``spawn`` elsewhere): no
fork of a driver that may run MLflow or Dask threads. As with any ``multiprocessing`` code, a
script that starts a process search must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any

from trainhooks.hooks import StopDecision

from ..trial import TrialResult, TrialTask, run_trial
from .common import data_key, decode_decision, encode_decision, with_data, without_data, worker_lost

PRELOAD = ["trainhooks.trial"]
"""Modules the fork server imports once, so every worker starts with scikit-learn loaded."""


class _PipeChannel:
    """Worker side: send each epoch report to the driver and wait for its stop decision."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def report(self, trial_id: int, epoch: int, metrics: dict[str, Any]) -> StopDecision | None:
        self.conn.send(("epoch", trial_id, epoch, metrics))
        kind, payload = self.conn.recv()
        assert kind == "decision", kind
        return decode_decision(payload)


def _worker_main(conn: Connection) -> None:
    """A worker's life: keep the latest data, run each task it is sent, send back the result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the driver, which closes us
    data: dict[Any, tuple[Any, Any, Any]] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "data":
            data = {message[1]: message[2]}  # one run's data at a time
        elif kind == "task":
            task = with_data(message[2], data[message[1]])
            result = run_trial(task, _PipeChannel(conn))
            result.worker = f"pid {os.getpid()}"
            conn.send(("result", result))


class _Worker:
    """Driver side of one worker process."""

    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="trainhooks-worker")
        self.process.start()
        child.close()
        self.task: TrialTask | None = None
        self.data_key: Any = None
        self.epochs = 0  # epochs the current trial has reported

    def send(self, message: tuple[Any, ...]) -> None:
        self.conn.send(message)

    def exit_detail(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        return f"process {self.process.pid} {how}"

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(("stop",))
        self.process.join(timeout=2 if self.task is None else 0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def default_start_method() -> str:
    """``forkserver`` where available (Linux, macOS), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ProcessExecutor:
    """``n_jobs`` worker processes on this machine; survives workers that die.

    :param n_jobs: number of worker processes, i.e. trials in flight at once.
    :param start_method: a ``multiprocessing`` start method; default :func:`default_start_method`.
    """

    def __init__(self, n_jobs: int, *, start_method: str | None = None) -> None:
        self.slots = max(1, int(n_jobs))
        self._ctx = multiprocessing.get_context(start_method or default_start_method())
        if self._ctx.get_start_method() == "forkserver":
            self._ctx.set_forkserver_preload(PRELOAD)
        self._workers: list[_Worker] = [_Worker(self._ctx) for _ in range(self.slots)]
        self._queue: deque[TrialTask] = deque()
        self._ready: deque[TrialResult] = deque()

    def submit(self, task: TrialTask) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        for worker in self._workers:
            if not self._queue:
                return
            if worker.task is None:
                task = self._queue.popleft()
                worker.task, worker.epochs = task, 0
                try:
                    key = data_key(task)
                    if worker.data_key != key:
                        worker.send(("data", key, (task.X, task.y, task.folds)))
                        worker.data_key = key
                    worker.send(("task", key, without_data(task)))
                except OSError:  # the worker died between tasks
                    self._replace(worker)
                except Exception as exc:  # the task or data cannot be pickled: a failed trial, not retried
                    worker.task = None
                    error = f"{type(exc).__name__}: cannot send the trial to a worker process: {exc}"
                    self._ready.append(TrialResult(task.trial_id, dict(task.params), "failed", error=error))

    def _replace(self, worker: _Worker) -> None:
        """Report the dead worker's trial as lost and start a fresh worker in its place."""
        task = worker.task
        detail = worker.exit_detail()
        worker.task = None
        worker.stop()
        self._workers[self._workers.index(worker)] = _Worker(self._ctx)
        if task is not None:
            self._ready.append(worker_lost(task, detail, worker.epochs))

    def next_result(self, on_epoch: Any) -> TrialResult:
        """Block until a trial finishes (or its worker dies), answering epoch reports meanwhile."""
        while True:
            if self._ready:  # lost or unsendable trials, reported without waiting
                result = self._ready.popleft()
                self._dispatch()
                return result
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                raise RuntimeError("next_result() called with no trial in flight")
            by_handle: dict[Any, _Worker] = {}
            for worker in busy:
                by_handle[worker.conn] = worker
                by_handle[worker.process.sentinel] = worker
            ready = wait(list(by_handle))
            handled: set[int] = set()
            for handle in ready:
                worker = by_handle[handle]
                if id(worker) in handled or worker.task is None:
                    continue
                handled.add(id(worker))
                result = self._handle(worker, on_epoch)
                if result is not None:
                    self._dispatch()
                    return result

    def _handle(self, worker: _Worker, on_epoch: Any) -> TrialResult | None:
        """Read one message from ``worker`` (or bury it); a finished trial's result is returned."""
        try:
            if not worker.conn.poll():
                if worker.process.is_alive():
                    return None
                raise EOFError
            message = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
            return None
        if message[0] == "epoch":
            _, trial_id, epoch, metrics = message
            worker.epochs = epoch
            decision = on_epoch(trial_id, epoch, metrics)
            try:
                worker.send(("decision", encode_decision(decision)))
            except (OSError, ValueError):
                self._replace(worker)
            return None
        result: TrialResult = message[1]
        worker.task = None
        return result

    def close(self) -> None:
        """Stop every worker; trials still running are abandoned (their processes are killed)."""
        self._queue.clear()
        for worker in self._workers:
            worker.stop()
        self._workers = []


__all__ = ["ProcessExecutor", "default_start_method"]
