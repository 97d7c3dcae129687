"""Drawing off the run's critical path: a separate process draws the figures while trials run.

Trials of a sequential search run in the driver process, so drawing there (or on a thread, which
would compete for the GIL) would slow training. A long-lived child process (two of them, see
:class:`Redraws`), ``python -m trainhooks.plugins.report._drawing``, imports matplotlib and
scikit-learn as the first trials run and then draws on request; it reads the run's saved files
itself, so a request is one short JSON line (``{"id", "job", "folder", "dpi"}``) and so is its
answer (``{"id", "outcome", "error", "seconds"}``). It is started with ``subprocess``, not
``multiprocessing``, so a user's script without a ``__main__`` guard is never re-imported.

:class:`Redraws` keeps the search figures current while the run goes: after each ended trial it
asks for a redraw unless one is already under way (then one more follows when it is done, with
every trial that ended meanwhile), and rests between redraws as long as the last one took, so it
uses at most about half a core beside training; at the end only the last redraw is left, split
between two drawing processes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
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

MIN_REST_S = 1.0
"""While trials run, the drawing process rests this long (or as long as its last redraw took) between redraws."""


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


class _Stream:
    """One kind of search redraw (``job``) on one drawing process, and how far it got."""

    def __init__(self, process: DrawingProcess, job: str) -> None:
        self.process, self.job = process, job
        self.submitted = 0  # trials the running (or last) redraw covers
        self.drawn = 0  # trials the last finished redraw covered
        self.busy = False
        self.not_before = 0.0  # no redraw before this time (monotonic) while trials run
        self.timer: threading.Timer | None = None


class Redraws:
    """Keeps one run's figures current: coalesced search redraws, one model figure, and a final wait.

    The search figures are two jobs on two drawing processes (history and curves; the surrogate's
    importance and partial dependence), and the model figure follows the first, so the redraw left
    at the end of the search is split between two cores.
    """

    def __init__(self, processes: tuple[DrawingProcess, DrawingProcess], folder: Path, dpi: int) -> None:
        self.folder, self.dpi = folder, dpi
        self.outcome: dict[str, str | None] = {}
        self.errors: list[str] = []
        self._done = threading.Condition()
        self._ended = 0  # trials ended so far
        self._streams = [_Stream(processes[0], "trials"), _Stream(processes[1], "surrogate")]
        self._model = processes[0]
        self._model_pending = False
        self._final = False  # the search is over: redraw at once

    def trial_ended(self) -> None:
        """A trial ended (its line is already saved): redraw the search figures soon."""
        with self._done:
            self._ended += 1
        for stream in self._streams:
            self._kick(stream)

    def model_fitted(self) -> None:
        """The held-out predictions are saved: draw the model figure."""
        with self._done:
            self._model_pending = True
        self._model.submit("model", self.folder, self.dpi, self._model_done)

    def finish(self, timeout_s: float) -> bool:
        """Wait until the figures cover every ended trial (and the model); False if ``timeout_s`` passed."""
        with self._done:
            self._final = True
        for stream in self._streams:
            self._kick(stream)
        deadline = time.monotonic() + timeout_s
        with self._done:
            while self._model_pending or any(s.busy or s.drawn < self._ended for s in self._streams):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._done.wait(remaining)
        return True

    def _kick(self, stream: _Stream) -> None:
        """Ask for ``stream``'s redraw if trials ended since its last one and none is under way.

        While trials run a redraw waits until its process has rested as long as its last redraw
        took (at least :data:`MIN_REST_S`), so drawing uses at most about half a core beside
        training; once the search is over (:meth:`finish`) it goes at once.
        """
        with self._done:
            if stream.busy or stream.submitted >= self._ended:
                return
            rest = stream.not_before - time.monotonic()
            if rest > 0 and not self._final:
                if stream.timer is None:
                    stream.timer = threading.Timer(rest, self._wake, args=(stream,))
                    stream.timer.daemon = True
                    stream.timer.start()
                return
            stream.busy, stream.submitted = True, self._ended
        stream.process.submit(stream.job, self.folder, self.dpi, lambda reply: self._redrawn(stream, reply))

    def _wake(self, stream: _Stream) -> None:
        with self._done:
            stream.timer = None
        self._kick(stream)

    def _redrawn(self, stream: _Stream, reply: Reply) -> None:
        with self._done:
            self._record(reply, f"the {stream.job} figures")
            stream.busy, stream.drawn = False, stream.submitted
            stream.not_before = time.monotonic() + max(MIN_REST_S, float(reply.get("seconds") or 0.0))
            self._done.notify_all()
        self._kick(stream)

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
