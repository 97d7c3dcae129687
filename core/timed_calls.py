"""Call plugin code with a deadline, on one long-lived worker thread.

Python cannot kill a thread, so a hook that never returns can only be *abandoned*: the call runs on
a daemon worker thread, the caller waits at most ``timeout`` seconds for it, and on a miss the
caller raises :class:`CallTimedOut` and leaves the call running on that thread (it ends when the
plugin's code returns, or with the process; its answer is ignored). The next call gets a fresh
worker. Keeping one worker per :class:`TimedCaller`, instead of a thread per call, keeps the cost
of a call to a queue hand-off and a lock (a few microseconds; see docs/writing-plugins.md).

- A call made *from* the worker (a hook that emits an event or asks permission through its
  ``RunContext``) runs inline, under the deadline of the call that contains it.
- Ctrl-C: the waiting caller gets ``KeyboardInterrupt`` at once; the interrupted call finishes on
  its worker, and the next call waits for it first (up to that call's own deadline), so a plugin
  is never called twice at the same time. If it misses its deadline, ``on_abandoned`` is told.
- Any exception of the call, ``KeyboardInterrupt`` included, is raised again in the caller.
"""

from __future__ import annotations

import _thread
import queue
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any


class CallTimedOut(Exception):
    """A call did not return within its deadline and was abandoned."""

    def __init__(self, label: Hashable, seconds: float) -> None:
        super().__init__(f"did not return within {seconds:g} s (the call was abandoned)")
        self.label = label
        self.seconds = seconds


class _Job:
    """One call: its function and arguments, then its outcome; ``done`` is released when it ends."""

    __slots__ = ("args", "deadline", "done", "error", "finished", "func", "label", "result")

    def __init__(self, label: Hashable, func: Callable[..., Any], args: tuple[Any, ...], deadline: float) -> None:
        self.label = label
        self.func = func
        self.args = args
        self.deadline = deadline
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished = False  # set by the worker: whoever holds ``done`` may have taken it already
        self.done = _thread.allocate_lock()
        self.done.acquire()


def _work(jobs: queue.SimpleQueue[_Job | None]) -> None:
    """The worker loop: run jobs until the ``None`` sentinel (it holds no reference to its owner)."""
    while (job := jobs.get()) is not None:
        try:
            job.result = job.func(*job.args)
        except BaseException as exc:  # handed to the caller, KeyboardInterrupt included
            job.error = exc
        job.finished = True
        job.done.release()
        del job


class _Worker:
    def __init__(self, name: str) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=_work, args=(self.jobs,), name=name, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Let the thread end after its current call (now, when idle)."""
        self.jobs.put(None)


class TimedCaller:
    """Runs calls one at a time on a worker thread and waits at most ``timeout`` seconds for each.

    :param timeout: seconds a call may take (> 0).
    :param name: the worker thread's name (seen in debuggers and ``threading.enumerate()``).
    :param on_abandoned: ``on_abandoned(label, seconds)`` for a call interrupted by Ctrl-C that then
        missed its deadline (a call that times out while waited for raises instead).
    """

    def __init__(
        self,
        timeout: float,
        *,
        name: str = "trainhooks-hooks",
        on_abandoned: Callable[[Hashable, float], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self.name = name
        self.on_abandoned = on_abandoned
        self._worker: _Worker | None = None
        self._pending: _Job | None = None  # a call whose caller was interrupted

    def call(self, label: Hashable, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` on the worker; its result or exception, or :class:`CallTimedOut`."""
        worker = self._worker
        if worker is not None and threading.current_thread() is worker.thread:
            return func(*args)  # nested in a call already running (and timed) on the worker
        if self._pending is not None:
            self._settle_pending()
        if self._worker is None:
            self._worker = _Worker(self.name)
            weakref.finalize(self, self._worker.stop)
        job = _Job(label, func, args, time.monotonic() + self.timeout)
        self._worker.jobs.put(job)
        self._pending = job
        finished = job.done.acquire(timeout=self.timeout)  # KeyboardInterrupt leaves the job pending
        self._pending = None
        if not finished:
            self._abandon()
            raise CallTimedOut(label, self.timeout)
        if job.error is not None:
            raise job.error
        return job.result

    def _settle_pending(self) -> None:
        """Wait for an interrupted call to end (until its deadline) before starting another."""
        job = self._pending
        assert job is not None
        # Ctrl-C may have hit just after the caller took ``done``: then the job finished already
        if not job.finished and not job.done.acquire(timeout=max(0.0, job.deadline - time.monotonic())):
            self._abandon()
            if self.on_abandoned is not None:
                self.on_abandoned(job.label, self.timeout)
        self._pending = None

    def _abandon(self) -> None:
        """Leave the stuck call to its thread (told to end after it) and start afresh next time."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None


__all__ = ["CallTimedOut", "TimedCaller"]
