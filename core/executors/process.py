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

The first process search in a Python process also waits for the fork server to import
scikit-learn (about a second). Meanwhile the driver trains trials itself, one at a time on a
thread (:class:`_DriverSlot`), so the first core is not idle while the second imports; the worker
processes take over once the pool is up. Those trials run ``run_trial`` on the same task, so their
results are the ones a worker would return.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any

from trainhooks.hooks import StopDecision

from ..trial import TrialResult, TrialTask, run_trial
from .common import (
    RefitFailed,
    data_key,
    decode_decision,
    encode_decision,
    refit_model,
    with_data,
    without_data,
    worker_lost,
)

PRELOAD = ["trainhooks.executors._preload"]
"""Modules the fork server imports once, so every worker starts with scikit-learn loaded (with the
collector paused and the heap frozen: ~12% less CPU than a plain import, see ``_preload``)."""

STARTING_POLL_S = 0.02
"""While the pool starts, how often the driver looks whether it is up (to hand it the queued trials)."""

FORK_SERVER_ATTEMPTS, FORK_SERVER_RETRY_S = 5, 0.1
"""How often, and how far apart, a worker start is tried when the fork server has died."""

_fork_server_up = False
"""True once a pool of this Python process has started through the fork server: later pools start
in tens of milliseconds, so the driver does not train trials itself while they start."""


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
        elif kind == "refit":
            try:
                model = refit_model(with_data(message[2], data[message[1]]), message[3])
                conn.send(("refit", model))
            except Exception as exc:  # unpicklable model, failing fit: the driver refits itself
                conn.send(("refit", RefitFailed(f"{type(exc).__name__}: {exc}")))
        elif kind == "import":
            for module in message[1]:
                with contextlib.suppress(Exception):  # only a warm-up: the task's unpickling imports it anyway
                    importlib.import_module(module)


class _DriverSlot:
    """The driver's own trial slot while the pool starts: one trial at a time, on a thread.

    The trial reports its epochs through a pipe to the driver's main thread, exactly as a worker
    does, so plugins still run in the driver's main thread and a stop decision reaches the trial at
    the epoch it was given for. Closing the pipe abandons the trial at its next epoch report.
    """

    def __init__(self) -> None:
        self.conn, self._child = multiprocessing.Pipe(duplex=True)
        self.task: TrialTask | None = None
        self.epochs = 0

    @property
    def busy(self) -> bool:
        return self.task is not None

    def start(self, task: TrialTask) -> None:
        self.task, self.epochs = task, 0
        threading.Thread(target=self._run, args=(task,), name="trainhooks-driver-trial", daemon=True).start()

    def _run(self, task: TrialTask) -> None:
        try:
            result = run_trial(task, _PipeChannel(self._child))
        except BaseException as exc:  # whatever run_trial lets through: never leave the driver waiting
            result = TrialResult(task.trial_id, dict(task.params), "failed", error=f"{type(exc).__name__}: {exc}")
        result.worker = "driver"
        with contextlib.suppress(OSError, ValueError):  # closed: the run no longer wants it
            self._child.send(("result", result))

    def close(self) -> None:
        self.conn.close()


class _Worker:
    """Driver side of one worker process."""

    def __init__(self, ctx: Any, warm: list[str]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="trainhooks-worker")
        self.process.start()
        child.close()
        self.task: TrialTask | None = None
        self.refitting = False  # running the refit of the best trial (not a trial)
        self.data_key: Any = None
        self.epochs = 0  # epochs the current trial has reported
        if warm:
            self.send(("import", warm))  # loads the estimator's modules while the driver sets up

    @property
    def busy(self) -> bool:
        return self.task is not None or self.refitting

    def send_data(self, task: TrialTask) -> Any:
        """Ship ``task``'s data unless this worker holds it already; returns the data key."""
        key = data_key(task)
        if self.data_key != key:
            self.send(("data", key, (task.X, task.y, task.folds)))
            self.data_key = key
        return key

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
        self.process.join(timeout=0 if self.busy else 2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def default_start_method() -> str:
    """``forkserver`` where available (Linux, macOS), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def start_fork_server(warm: list[str] | None = None) -> None:
    """Start this Python process's fork server now, in the background (a no-op where there is none).

    The fork server imports scikit-learn (and the ``warm`` modules) once, about a second in a fresh
    interpreter; started as soon as a run is known to use the process executor (e.g. right after
    the command line read its config), that happens while plugins and data load instead of before
    the first trial. It ends with this process.
    """
    if default_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload([*PRELOAD, *(warm or [])])
    threading.Thread(target=forkserver.ensure_running, name="trainhooks-fork-server", daemon=True).start()


class ProcessExecutor:
    """``n_jobs`` worker processes on this machine; survives workers that die.

    The workers start in a background thread, so creating the executor returns at once and the
    pool (and, the first time in a Python process, the fork server importing scikit-learn) starts
    while the driver finishes setting up the run. The first time, the driver also trains the
    first trials itself until the pool is up (:class:`_DriverSlot`); later pools start in tens of
    milliseconds and the first :meth:`submit` waits for them.

    :param n_jobs: number of worker processes, i.e. trials in flight at once.
    :param start_method: a ``multiprocessing`` start method; default :func:`default_start_method`.
    :param warm: modules each worker imports as soon as it starts (e.g. the estimator's), so the
        first trial does not pay for them.
    """

    def __init__(self, n_jobs: int, *, start_method: str | None = None, warm: list[str] | None = None) -> None:
        self.slots = max(1, int(n_jobs))
        self._ctx = multiprocessing.get_context(start_method or default_start_method())
        self._warm = list(warm or [])
        if self._ctx.get_start_method() == "forkserver":
            # only takes effect when this Python process starts its fork server (the first search)
            self._ctx.set_forkserver_preload([*PRELOAD, *self._warm])
        self._workers: list[_Worker] = []
        self._start_error: BaseException | None = None
        cold = self._ctx.get_start_method() == "forkserver" and not _fork_server_up
        self._slot: _DriverSlot | None = _DriverSlot() if cold else None
        self._data_checked: Any = None  # the data key whose data is known to pickle
        self._starter: threading.Thread | None = threading.Thread(
            target=self._start_workers, name="trainhooks-pool-start", daemon=True
        )
        self._starter.start()
        self._queue: deque[TrialTask] = deque()
        self._ready: deque[TrialResult] = deque()
        self._refit: tuple[Any, Any] | None = None  # (key, model or RefitFailed) of the refit sent

    def _start_workers(self) -> None:
        global _fork_server_up
        try:
            for _ in range(self.slots):
                self._workers.append(self._new_worker())
            _fork_server_up = _fork_server_up or self._ctx.get_start_method() == "forkserver"
        except BaseException as exc:  # re-raised in the driver's thread by _started()
            self._start_error = exc

    def _new_worker(self) -> _Worker:
        """A fresh worker; if the fork server died (killed, even while it imported), it is started again.

        ``multiprocessing`` starts a new fork server once it sees the old one has exited, which
        takes a moment after a kill: a few attempts, :data:`FORK_SERVER_RETRY_S` apart.
        """
        for _ in range(FORK_SERVER_ATTEMPTS - 1):
            try:
                return _Worker(self._ctx, self._warm)
            except (EOFError, OSError):
                time.sleep(FORK_SERVER_RETRY_S)
        return _Worker(self._ctx, self._warm)

    def _starting(self) -> bool:
        """True while the pool is still starting and the driver may train trials itself meanwhile."""
        return self._slot is not None and self._starter is not None and self._starter.is_alive()

    def _started(self) -> list[_Worker]:
        """The workers, once the background start finished (re-raising what failed there)."""
        if self._starter is not None:
            self._starter.join()
            self._starter = None
            if self._start_error is not None:
                raise self._start_error
        return self._workers

    def submit(self, task: TrialTask) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        if self._starting():
            if self._queue and self._slot is not None and not self._slot.busy:
                task = self._queue.popleft()
                failed = self._unsendable(task)
                if failed is not None:
                    self._ready.append(failed)
                else:
                    self._slot.start(task)
            return
        for worker in self._started():
            if not self._queue:
                return
            if not worker.busy:
                task = self._queue.popleft()
                worker.task, worker.epochs = task, 0
                try:
                    worker.send(("task", worker.send_data(task), without_data(task)))
                except OSError:  # the worker died between tasks
                    self._replace(worker)
                except Exception as exc:  # the task or data cannot be pickled: a failed trial, not retried
                    worker.task = None
                    self._ready.append(_cannot_send(task, exc))

    def _unsendable(self, task: TrialTask) -> TrialResult | None:
        """The failed result a worker's pipe would give ``task`` (unpicklable), or ``None`` if it pickles.

        A trial the driver trains must fail exactly where it would have failed in a worker, so the
        driver pickles what it would send: the task, and its data once per run (numpy buffers out of
        band, so the data is not copied).
        """
        try:
            pickle.dumps(without_data(task), protocol=pickle.HIGHEST_PROTOCOL)
            key = data_key(task)
            if self._data_checked != key:
                pickle.dumps((task.X, task.y, task.folds), protocol=5, buffer_callback=lambda _: False)
                self._data_checked = key
        except Exception as exc:
            return _cannot_send(task, exc)
        return None

    def start_refit(self, key: Any, task: TrialTask, epochs: int) -> bool:
        """Refit ``task``'s parameters on its whole data for ``epochs`` epochs in an idle worker.

        ``key`` names the refit for :meth:`refit_result`. Returns ``False`` (nothing started) when
        no worker is idle, trials are queued, or a refit is still running.
        """
        if self._starting() or self._queue or any(w.refitting for w in self._started()):
            return False
        for worker in self._workers:
            if not worker.busy:
                try:
                    worker.send(("refit", worker.send_data(task), without_data(task), epochs))
                except Exception:  # a dead worker or unpicklable data: the driver refits instead
                    return False
                worker.refitting = True
                self._refit = (key, None)
                return True
        return False

    def refit_result(self, key: Any) -> Any:
        """The model of the refit started as ``key``, waiting for it; ``None`` if there is none.

        ``None`` also when the refit failed or its worker died: the caller refits in the driver.
        """
        if self._refit is None or self._refit[0] != key:
            return None
        while self._refit[1] is None:
            worker = next((w for w in self._workers if w.refitting), None)
            if worker is None:  # its worker died
                return None
            wait([worker.conn, worker.process.sentinel])
            self._handle(worker, _no_trial_running)
        model = self._refit[1]
        return None if isinstance(model, RefitFailed) else model

    def _replace(self, worker: _Worker) -> None:
        """Report the dead worker's trial as lost and start a fresh worker in its place."""
        task = worker.task
        detail = worker.exit_detail()
        worker.task, worker.refitting = None, False
        worker.stop()
        self._workers[self._workers.index(worker)] = self._new_worker()
        if task is not None:
            self._ready.append(worker_lost(task, detail, worker.epochs))

    def next_result(self, on_epoch: Any) -> TrialResult:
        """Block until a trial finishes (or its worker dies), answering epoch reports meanwhile."""
        while True:
            if self._ready:  # lost or unsendable trials, reported without waiting
                result = self._ready.popleft()
                self._dispatch()
                return result
            starting = self._starting()
            if not starting and self._queue:  # the pool just came up: hand it what queued meanwhile
                self._dispatch()
            busy = [] if starting else [w for w in self._started() if w.busy]
            slot = self._slot if self._slot is not None and self._slot.busy else None
            if slot is None and not any(w.task is not None for w in busy) and not self._queue:
                raise RuntimeError("next_result() called with no trial in flight")
            by_handle: dict[Any, _Worker | _DriverSlot] = {}
            for worker in busy:
                by_handle[worker.conn] = worker
                by_handle[worker.process.sentinel] = worker
            if slot is not None:
                by_handle[slot.conn] = slot
            ready = wait(list(by_handle), timeout=STARTING_POLL_S if starting else None)
            handled: set[int] = set()
            for handle in ready:
                owner = by_handle[handle]
                if id(owner) in handled or not owner.busy:
                    continue
                handled.add(id(owner))
                if isinstance(owner, _DriverSlot):
                    result = self._handle_slot(owner, on_epoch)
                else:
                    result = self._handle(owner, on_epoch)
                if result is not None:
                    self._dispatch()
                    return result

    def _handle_slot(self, slot: _DriverSlot, on_epoch: Any) -> TrialResult | None:
        """Read one message from the driver's own trial thread (as :meth:`_handle` does for a worker)."""
        message = slot.conn.recv()
        if message[0] == "epoch":
            _, trial_id, epoch, metrics = message
            slot.epochs = epoch
            slot.conn.send(("decision", encode_decision(on_epoch(trial_id, epoch, metrics))))
            return None
        slot.task = None
        result: TrialResult = message[1]
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
            self._dispatch()
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
        if message[0] == "refit":
            worker.refitting = False
            assert self._refit is not None
            self._refit = (self._refit[0], message[1])
            self._dispatch()  # a retried trial may have queued behind the refit
            return None
        result: TrialResult = message[1]
        worker.task = None
        return result

    def close(self) -> None:
        """Stop every worker; trials still running are abandoned (their processes are killed)."""
        self._queue.clear()
        if self._slot is not None:
            self._slot.close()  # a trial still training on the driver's thread stops at its next epoch
        with contextlib.suppress(BaseException):  # a pool that failed to start has nothing more to stop
            self._started()
        for worker in self._workers:
            worker.stop()
        self._workers = []


def _cannot_send(task: TrialTask, exc: Exception) -> TrialResult:
    """The failed trial whose task or data cannot be pickled for a worker (not retried)."""
    error = f"{type(exc).__name__}: cannot send the trial to a worker process: {exc}"
    return TrialResult(task.trial_id, dict(task.params), "failed", error=error)


def _no_trial_running(trial_id: int, epoch: int, metrics: dict[str, Any]) -> StopDecision | None:
    raise AssertionError(f"trial {trial_id} reported epoch {epoch} while only the refit should run")


__all__ = ["ProcessExecutor", "default_start_method", "start_fork_server"]
