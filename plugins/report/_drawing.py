"""Drawing off the run's critical path: a separate process draws the figures while trials run.

Trials of a sequential search run in the driver process, so drawing there (or on a thread, which
would compete for the GIL) would slow training. A long-lived child process per plugin instance,
``python -m trainhooks.plugins.report._drawing``, is started at ``run-started`` and imports
matplotlib and scikit-learn while the first trials run; it then draws on request, reading the
run's saved files itself, so a request is one short JSON line (``{"id", "job", "folder", "dpi"}``)
and so is its answer (``{"id", "outcome", "error", "seconds"}``). It is started with
``subprocess``, not ``multiprocessing``, so a user's script without a ``__main__`` guard is never
re-imported. When it draws is :class:`Redraws`' job.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

Reply = dict[str, Any]


class DrawingProcess:
    """The driver's handle on one drawing child process (started on first use, restarted if it died)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[Reply], None]] = {}
        self._next_id = 0

    def start(self) -> None:
        """Start the child now (it warms up its imports while trials run); a no-op if it is alive."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 -- lives with the child
            # one thread, no window: drawing never competes with training for more than one core
            env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "trainhooks.plugins.report._drawing"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                encoding="utf-8",
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C is the driver's; closing stdin ends the child
            )
            threading.Thread(target=self._read, args=(self._proc,), name="report-drawing", daemon=True).start()
            weakref.finalize(self, _stop, self._proc)

    def submit(self, job: str, folder: Path, dpi: int, callback: Callable[[Reply], None]) -> None:
        """Ask for ``job`` (a name of ``_figures.JOBS``) on ``folder``; ``callback(reply)`` runs when it is done."""
        self.start()
        with self._lock:
            job_id, self._next_id = self._next_id, self._next_id + 1
            self._callbacks[job_id] = callback
            proc = self._proc
        request = json.dumps({"id": job_id, "job": job, "folder": str(folder), "dpi": dpi})
        try:
            assert proc is not None and proc.stdin is not None
            proc.stdin.write(request + "\n")
            proc.stdin.flush()
        except (OSError, ValueError):
            self._settle(job_id, {"id": job_id, "outcome": {}, "error": f"drawing process gone{self._last_words()}"})

    def close(self) -> None:
        """Let the child finish its queue and exit (closing its stdin)."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with contextlib.suppress(ValueError):
                reply = json.loads(line)
                self._settle(int(reply["id"]), reply)
        proc.wait()
        with self._lock:
            orphans = list(self._callbacks) if proc is self._proc or self._proc is None else []
        for job_id in orphans:  # it died with requests unanswered
            self._settle(job_id, {"id": job_id, "outcome": {}, "error": f"drawing process died{self._last_words()}"})

    def _settle(self, job_id: int, reply: Reply) -> None:
        with self._lock:
            callback = self._callbacks.pop(job_id, None)
        if callback is not None:
            callback(reply)

    def _last_words(self) -> str:
        with contextlib.suppress(Exception):
            self._stderr.seek(0)
            lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
            if lines:
                return f": {lines[-1]}"
        return ""


def _stop(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        if proc.stdin is not None:
            proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class Redraws:
    """One run's figures: the search figures once the search is over, the model figure, a final wait.

    The search figures are drawn once, from every trial: as soon as the last planned trial ends
    (``expected_trials``, i.e. ``search.n_trials``), so the drawing overlaps the refit; otherwise
    (a grid with fewer points, a timeout, a stopped search) when :meth:`finish` is called. Redrawing
    as trials end would cost CPU beside training without shortening that last drawing, which
    always covers every trial. Trials that end after a drawing started (a lost worker's retry)
    get one more.
    """

    def __init__(self, process: DrawingProcess, folder: Path, dpi: int, expected_trials: int | None) -> None:
        self.process, self.folder, self.dpi = process, folder, dpi
        self.expected_trials = expected_trials
        self.outcome: dict[str, str | None] = {}
        self.errors: list[str] = []
        self._done = threading.Condition()
        self._ended = 0  # trials ended so far
        self._submitted = 0  # trials the running (or last) search drawing covers
        self._drawn = 0  # trials the last finished search drawing covered
        self._busy = False
        self._model_pending = False
        self._final = False  # the search is over

    def trial_ended(self) -> None:
        """A trial ended (its line is already saved); draw the search figures if it was the last planned one."""
        with self._done:
            self._ended += 1
        self._kick()

    def model_fitted(self) -> None:
        """The held-out predictions are saved: draw the model figure."""
        with self._done:
            self._model_pending = True
        self.process.submit("model", self.folder, self.dpi, self._model_done)

    def finish(self, timeout_s: float) -> bool:
        """The search is over: wait until the figures cover every ended trial (and the model).

        :return: False if ``timeout_s`` passed first.
        """
        with self._done:
            self._final = True
        self._kick()
        deadline = time.monotonic() + timeout_s
        with self._done:
            while self._model_pending or self._busy or self._drawn < self._ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._done.wait(remaining)
        return True

    def _kick(self) -> None:
        with self._done:
            over = self._final or (self.expected_trials is not None and self._ended >= self.expected_trials)
            if not over or self._busy or self._submitted >= self._ended:
                return
            self._busy, self._submitted = True, self._ended
        self.process.submit("search", self.folder, self.dpi, self._search_done)

    def _search_done(self, reply: Reply) -> None:
        with self._done:
            self._record(reply, "the search figures")
            self._busy, self._drawn = False, self._submitted
            self._done.notify_all()
        self._kick()

    def _model_done(self, reply: Reply) -> None:
        with self._done:
            self._record(reply, "the model figure")
            self._model_pending = False
            self._done.notify_all()

    def _record(self, reply: Reply, what: str) -> None:
        self.outcome.update(reply.get("outcome") or {})
        if reply.get("error"):
            self.errors.append(f"drawing {what} failed: {reply['error']}")


# -- the child process -----------------------------------------------------------------------------


def _draw(job: str, folder: Path, dpi: int) -> dict[str, str | None]:
    from ._figures import JOBS
    from ._store import RunFiles

    return JOBS[job](RunFiles.load(folder), folder, dpi)


def main() -> None:
    """Serve drawing requests from stdin until it closes; one JSON answer per request on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it closes our stdin when done
    for module in ("matplotlib.figure", "sklearn.ensemble", "sklearn.inspection", "sklearn.metrics", "pandas"):
        importlib.import_module(module)  # warm up while the first trials run

    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        reply: Reply = {"id": request["id"], "outcome": {}, "error": None}
        try:
            reply["outcome"] = _draw(request["job"], Path(request["folder"]), int(request["dpi"]))
        except Exception as exc:  # one failed drawing is reported, the next one is still served
            reply["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        reply["seconds"] = round(time.perf_counter() - started, 3)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()


__all__ = ["DrawingProcess", "Redraws"]
