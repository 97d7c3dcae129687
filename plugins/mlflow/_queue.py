"""A single background writer: MLflow writes leave the training loop and happen in order.

A SQLite commit costs tens of milliseconds and an HTTP request more; doing them inline would add
that to every trial. Hooks hand closures to :class:`WriteQueue`, one thread runs them in order
(still one writer in the driver process), and the plugin waits only when it needs an answer
(the model registry) or at the end of the run.

After the first failure the queue stops writing: later items are recorded as skipped, so a
tracking server that went away costs one timeout, not one per trial.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

_STOP = object()


@dataclass(frozen=True)
class Failure:
    """The first write that failed: what it was and the one-line error."""

    what: str
    error: str


def one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


class WriteQueue:
    """Runs submitted writes on one daemon thread, in submission order."""

    def __init__(self, wrap: Callable[[Callable[[], Any]], Any] | None = None, name: str = "trainhooks-mlflow") -> None:
        self._wrap = wrap or (lambda call: call())
        self._items: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.failure: Failure | None = None
        self.skipped: list[str] = []
        self._thread.start()

    def submit(self, what: str, write: Callable[[], Any]) -> Future[Any]:
        """Queue ``write``; the future gets its result, or the error (or ``None`` if it was skipped)."""
        future: Future[Any] = Future()
        self._items.put((what, write, future))
        return future

    def call(self, what: str, write: Callable[[], Any]) -> Any:
        """Queue ``write`` and wait for it; raises its error. ``None`` if skipped after a failure."""
        return self.submit(what, write).result()

    def drain(self) -> None:
        """Wait until every write queued so far has run (or was skipped)."""
        self.submit("drain", lambda: None).result()

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        self._items.put(_STOP)
        self._thread.join()

    def _work(self) -> None:
        while True:
            item = self._items.get()
            if item is _STOP:
                return
            what, write, future = item
            if self.failure is not None:
                if what != "drain":
                    self.skipped.append(what)
                future.set_result(None)
                continue
            try:
                future.set_result(self._wrap(write))
            except BaseException as exc:
                self.failure = Failure(what, one_line(exc))
                future.set_exception(exc)


__all__ = ["Failure", "WriteQueue", "one_line"]
