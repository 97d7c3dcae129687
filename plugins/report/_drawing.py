"""Drawing off the run's critical path: a separate, low-priority process draws the figures.

Trials of a sequential search run in the driver process, so drawing there (or on a thread, which
would compete for the GIL) would slow training. A long-lived child process per plugin instance,
``python -m trainhooks.plugins.report._drawing``, lowers its own priority (:func:`lower_priority`:
on a busy machine training goes first), imports matplotlib and scikit-learn, then draws on request,
reading the run's saved files itself, so a request is one short JSON line (``{"id", "job",
"folder", "dpi"}``) and so is its answer (``{"id", "outcome", "error", "seconds"}``). Requests are
served in order.

It starts with the first drawing, once the search is over: when the last planned trial ends,
else at the run's end. Nobody waits for the figures (the ``mlflow`` plugin logs them after the
run), so nothing is gained by starting it sooner, and its imports (about 0.8 s of CPU) ran beside
the search's busy processes (the trial in the driver, the lookahead's next point in its helper,
the ``mlflow`` plugin's writer) and made trials slower however low its priority: +4.6% and +5.2%
at nice 10 and 19 started with the first trials, 2-6% with MLflow on started with the last trial.

The run never waits for it. At the run's end the plugin queues a ``finish`` request: the child
writes ``figures.json`` (:data:`~._store.FIGURES_FILE`, which figures were drawn and why others
were not) after everything queued before it, so that file's presence means the figures are
complete. The child outlives the driver if it must: it is in its own session (a terminal's Ctrl-C
is the driver's), serves what is queued after its stdin closes, and ignores a reader that went away.
:func:`wait_for_figures` waits for a folder's figures from any process (``trainhooks report``), and
draws them itself if no drawing process is left to do it.

It is started with ``subprocess``, not ``multiprocessing``, so a user's script without a
``__main__`` guard is never re-imported.
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

from trainhooks.gc_tuning import heavy_imports, quick_exit_teardown

from . import _store as store

Reply = dict[str, Any]

NICENESS = 10
"""How much the drawing process lowers its priority (``os.nice``): training goes first."""

JOB_FIGURES = {
    "search": ("history.png", "importance.png", "partial_dependence.png", "learning_curves.png"),
    "model": ("evaluation.png",),
}
"""Which figures each drawing job draws (a failed job gives them its error as the reason)."""


class DrawingProcess:
    """The driver's handle on one drawing child process (started on first use, restarted if it died)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[Reply], None]] = {}
        self._next_id = 0
        self.generation = 0
        """How many child processes were started: a new number means the queue of the last one is lost."""

    @property
    def pid(self) -> int | None:
        """The child's process id (``None`` before it started)."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the child now (it warms up its imports before the first request); a no-op if it is alive."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self.generation += 1
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
            weakref.finalize(self, _let_go, self._proc)

    def submit(self, job: str, folder: Path, dpi: int, callback: Callable[[Reply], None]) -> None:
        """Queue ``job`` (``search``, ``model``, ``finish``, ``all``) on ``folder``; ``callback(reply)`` when done."""
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
        """Let the child finish its queue and exit (closing its stdin); never waits for it."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            _let_go(proc)

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with contextlib.suppress(ValueError):
                reply = json.loads(line)
                self._settle(int(reply["id"]), reply)
        proc.wait()  # reaps it (no zombie while the driver lives on)
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


def _let_go(proc: subprocess.Popen[str]) -> None:
    """Close the child's stdin: it serves what is queued, then exits on its own (the reader thread reaps it)."""
    with contextlib.suppress(OSError, ValueError):
        if proc.stdin is not None:
            proc.stdin.close()


class Redraws:
    """One run's figures: the search figures once the search is over, the model figure, the finish.

    The drawing process is started by the first drawing queued; it is named in the folder's
    :data:`~._store.DRAWING_FILE`.

    The search figures are drawn from every trial: as soon as the last planned trial ends
    (``expected_trials``, i.e. ``search.n_trials``), so the drawing overlaps the refit; otherwise
    (a grid with fewer points, a timeout, a stopped search) at :meth:`finish`. Redrawing as trials
    end would cost CPU beside training without shortening that last drawing, which always covers
    every trial. :meth:`finish` never waits: it queues what is left and the ``finish`` request;
    :meth:`wait` is for whoever needs the figures in this process (tests, a notebook).
    """

    def __init__(self, process: DrawingProcess, folder: Path, dpi: int, expected_trials: int | None) -> None:
        self.process, self.folder, self.dpi = process, folder, dpi
        self.expected_trials = expected_trials
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ended = 0  # trials ended so far
        self._submitted = 0  # trials the last queued search drawing covers
        self._redo = False  # a drawing came back with an error (the child may have died with it): redo all
        self._sent_to: int | None = None  # the process generation the drawings went to
        self._retried = False
        self._pid: int | None = None  # the drawing process named in the folder's drawing file

    def trial_ended(self) -> None:
        """A trial ended (its line is already saved); draw the search figures if it was the last planned one."""
        with self._lock:
            self._ended += 1
            if self.expected_trials is None or self._ended < self.expected_trials:
                return
        self._draw_search()

    def model_fitted(self) -> None:
        """The held-out predictions are saved: draw the model figure."""
        self._submit("model")

    def finish(self) -> None:
        """The run is over: queue a search drawing covering every trial (unless one is queued) and the finish.

        After a failed drawing (a drawing process that died takes its queue with it) everything is
        drawn again, by a fresh process if need be.
        """
        self._start()  # a fresh one if the last died
        if self._redo or self._sent_to not in (None, self.process.generation):
            self.process.submit("all", self.folder, self.dpi, self._finished)
            return
        self._draw_search()
        self.process.submit("finish", self.folder, self.dpi, self._finished)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the finish was served (``figures.json`` written); False if ``timeout_s`` passed first."""
        return self._done.wait(timeout_s)

    def _draw_search(self) -> None:
        with self._lock:
            if self._submitted >= self._ended:
                return
            self._submitted = self._ended
        self._submit("search")

    def _start(self) -> None:
        """Start the drawing process unless it is alive, and name it in the folder's drawing file."""
        self.process.start()
        if self.process.pid != self._pid:
            self._pid = self.process.pid
            store.write_json(self.folder / store.DRAWING_FILE, {"pid": self._pid})

    def _submit(self, job: str) -> None:
        self._start()
        self.process.submit(job, self.folder, self.dpi, self._drawn)
        self._sent_to = self.process.generation

    def _drawn(self, reply: Reply) -> None:
        if reply.get("error"):  # its reason is in figures.json; the figures are drawn again at the finish
            self._redo = True

    def _finished(self, reply: Reply) -> None:
        if reply.get("error") and not self._retried:  # the child died on the way: a fresh one draws it all
            self._retried = True
            self.process.submit("all", self.folder, self.dpi, self._finished)
            return
        self._done.set()


# -- the child process (and trainhooks report) ------------------------------------------------------


class Drawer:
    """Draws jobs on run folders and remembers each figure's outcome until the folder's finish."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, str | None]] = {}

    def run(self, job: str, folder: Path, dpi: int) -> dict[str, str | None]:
        """Do one job; ``all`` draws the search, the model (if it was refit) and finishes."""
        if job == "finish":
            self.finish(folder)
            return {}
        if job == "all":
            outcome: dict[str, str | None] = {}
            for part in ("search", "model") if (folder / store.HOLDOUT_FILE).is_file() else ("search",):
                with contextlib.suppress(Exception):  # a failed part is its figures' reason in figures.json
                    outcome |= self.run(part, folder, dpi)
            self.finish(folder)
            return outcome
        from ._figures import JOBS

        try:
            outcome = JOBS[job](store.RunFiles.load(folder), folder, dpi)
        except Exception as exc:  # one failed drawing is reported in figures.json, the next is still served
            error = f"drawing failed: {type(exc).__name__}: {exc}".splitlines()[0]
            outcome = dict.fromkeys(JOB_FIGURES[job], error)
            self.outcomes.setdefault(str(folder), {}).update(outcome)
            raise
        self.outcomes.setdefault(str(folder), {}).update(outcome)
        return outcome

    def finish(self, folder: Path) -> None:
        """Write ``figures.json`` last: which figures are there, and why the others are not."""
        outcome = self.outcomes.pop(str(folder), {})
        figures = {
            name: {"title": title, "drawn": (folder / name).is_file(), "why_not": outcome.get(name)}
            for name, title in store.FIGURES.items()
        }
        store.write_json(folder / store.FIGURES_FILE, figures)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_figures(folder: Path, timeout_s: float, *, poll_s: float = 0.05) -> bool:
    """Wait until ``folder``'s figures are complete (``figures.json`` exists); draw them here if nobody will.

    While the process named in :data:`~._store.DRAWING_FILE` is alive (the run's own process until
    it starts the drawing process, then the drawing process) it is given up to ``timeout_s``; if it
    is gone (the machine rebooted, it was killed) or the time is up, the figures are drawn in this
    process. Returns False if they had to be drawn here.
    """
    deadline = time.monotonic() + timeout_s
    while not (folder / store.FIGURES_FILE).is_file():
        pid = (store.read_json(folder / store.DRAWING_FILE) or {}).get("pid")  # replaced when the drawing starts
        if not isinstance(pid, int) or not _alive(pid) or time.monotonic() > deadline:
            if (folder / store.FIGURES_FILE).is_file():  # it finished just now
                return True
            config = (store.read_json(folder / store.RUN_FILE) or {}).get("config") or {}
            dpi = ((config.get("plugins") or {}).get("report") or {}).get("dpi", 100)
            with contextlib.suppress(Exception):  # each failure is a reason in figures.json
                Drawer().run("all", folder, int(dpi))
            return False
        time.sleep(poll_s)
    return True


def lower_priority() -> None:
    """Make this process yield the CPU to training: ``nice`` it, and its scheduler autogroup on Linux.

    On a Linux with autogroups (most desktops and servers), ``nice`` only orders processes within
    one session; this process is in a session of its own (so that a terminal's Ctrl-C and hang-up
    are the driver's), so its session's group is niced too, else it would get as much CPU as the
    whole training session.
    """
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice (Windows)
        os.nice(NICENESS)
    if os.name == "posix" and os.getsid(0) == os.getpid():  # only a session of our own: never the caller's
        with contextlib.suppress(OSError):  # no autogroups (other systems, kernels built without them)
            Path("/proc/self/autogroup").write_text(f"{NICENESS}\n", encoding="ascii")


def main() -> None:
    """Serve drawing requests from stdin until it closes; one JSON answer per request on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it closes our stdin when done
    lower_priority()
    with heavy_imports():  # a sixth less CPU: no collections walking the growing heap
        for module in ("matplotlib.figure", "sklearn.ensemble", "sklearn.inspection", "sklearn.metrics", "pandas"):
            importlib.import_module(module)  # before the first drawing is read
    quick_exit_teardown()

    drawer, out = Drawer(), sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        reply: Reply = {"id": request["id"], "outcome": {}, "error": None}
        try:
            reply["outcome"] = drawer.run(request["job"], Path(request["folder"]), int(request["dpi"]))
        except Exception as exc:
            reply["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        reply["seconds"] = round(time.perf_counter() - started, 3)
        if out is not None:
            try:
                out.write(json.dumps(reply) + "\n")
                out.flush()
            except OSError:  # the driver is gone (it never waits for us): go on drawing for the files
                out = None
    sys.stdout = None  # type: ignore[assignment]  # nothing left to flush to a reader that went away


if __name__ == "__main__":
    main()


__all__ = ["NICENESS", "Drawer", "DrawingProcess", "Redraws", "wait_for_figures"]
