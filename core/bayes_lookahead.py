"""The next Bayesian point, computed by a pure function, on the spare core while a trial trains.

``strategy = "bayes"`` spends 40-90 ms of CPU a point in scikit-optimize with the default settings
(one Gaussian-process fit and an acquisition search, growing with the trials).
:class:`~trainhooks.strategies.BayesStrategy` takes that off the critical path with a one-step
lookahead: as soon as it hands out point ``k``, it asks this module for point ``k + 1``, computed
from the results told so far plus a *lie* for each point still running (the best score seen,
skopt's ``cl_min``), and only waits for it at the next ask if it is not ready yet.

Reproducible for a seed whatever the timing, because a point is a pure function of its inputs:
:func:`propose` builds a fresh skopt ``Optimizer`` seeded from the run's seed and the point's index,
tells it the snapshot in one call (one fit), and reads its next point. The only state skopt carries
from fit to fit, ``gp_hedge``'s gains, travels in and out with the request (:class:`Hedge`). So it
does not matter where or when a proposal runs: in this process or in the helper process, early or
late, the same snapshot gives the same point.

Where it runs, by measurement (``benchmarks/bayes_overhead.py``, docs/tuning.md): a *child
process*. The sequential executor trains in the driver process, and a GP fit is mostly Python
(scikit-learn's kernel algebra on 30x30 matrices, SciPy's L-BFGS loop) that holds the GIL, so on a
thread it slowed the trial it was meant to hide behind. The process is started with ``python -c``
(it never imports the user's script), pinned to one BLAS thread, ignores Ctrl-C (the driver
handles it), reads pickled requests from its stdin and exits when that closes, so it dies with the
driver; the strategy kills it when it is closed or dropped (nothing it still computes is wanted).
Its start (``import skopt``, ~1 s, done before the first request) overlaps the first trials,
which are random and need no fit (they are computed here, at once). If it cannot start or dies,
the same function runs here instead: slower, same points.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import warnings
import weakref
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .gc_tuning import heavy_imports, quick_exit_teardown

log = logging.getLogger("trainhooks.bayes")


@dataclass(frozen=True)
class Hedge:
    """``gp_hedge``'s memory between fits: the gains of EI, PI and LCB and their last proposals."""

    gains: np.ndarray
    next_xs: list[np.ndarray]


@dataclass(frozen=True)
class Request:
    """Everything point ``index`` depends on: a snapshot of the search, the optimizer's settings."""

    dimensions: list[Any]
    options: dict[str, Any]
    """``skopt.Optimizer`` keyword arguments (``base_estimator``, ``acq_func``, ``n_initial_points``...)."""
    seed: int
    index: int
    X: list[list[Any]]
    y: list[float]
    hedge: Hedge | None = None
    n_points: int = 1
    kernel_restarts: int = 2
    """Random restarts of the GP's kernel-hyperparameter fit (skopt's own choice is 2)."""

    @property
    def fits(self) -> bool:
        """True when the surrogate is fitted (enough points told); otherwise the points are random."""
        return len(self.y) >= self.options["n_initial_points"]


@dataclass(frozen=True)
class Proposal:
    points: list[list[Any]]
    hedge: Hedge | None = None
    modelled: bool = False
    """True when the points came from the fitted surrogate (False: random initial points)."""
    where: str = field(default="here", compare=False)
    """``"here"`` (the driver) or ``"process"`` (the helper process): for tests and benchmarks."""


def point_seed(seed: int, index: int) -> int:
    """The seed of point ``index``'s optimizer: independent streams per point, fixed by the run's seed."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def fitted_optimizer(request: Request) -> Any:
    """A fresh skopt ``Optimizer`` seeded for point ``request.index`` and told the snapshot (one fit)."""
    from skopt import Optimizer

    rng = np.random.RandomState(point_seed(request.seed, request.index))
    options = dict(request.options)
    if options["base_estimator"] == "GP":
        options["base_estimator"] = gp_estimator(request, rng)
    optimizer = Optimizer(request.dimensions, random_state=rng, **options)
    if request.hedge is not None and request.fits and optimizer.acq_func == "gp_hedge":
        optimizer.gains_ = request.hedge.gains.copy()
        optimizer.next_xs_ = list(request.hedge.next_xs)
    if request.X:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the GP's convergence notes: skopt silences them the same way
            optimizer.tell(request.X, request.y)
    return optimizer


def gp_estimator(request: Request, rng: np.random.RandomState) -> Any:
    """skopt's own GP (``cook_estimator``) with ``request.kernel_restarts`` restarts of its kernel fit.

    It draws its seed from ``rng`` exactly as ``Optimizer`` does when given ``"GP"``, so the
    Optimizer's random stream (its initial points, acquisition samples) is the same either way.
    """
    from skopt.utils import cook_estimator

    return cook_estimator(
        "GP",
        space=request.dimensions,
        random_state=rng.randint(0, np.iinfo(np.int32).max),
        n_restarts_optimizer=request.kernel_restarts,
    )


def propose(request: Request) -> Proposal:
    """The next point(s) for a snapshot, and gp_hedge's memory after it (see the module docstring)."""
    optimizer = fitted_optimizer(request)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "evaluated at this point before": a lie repeats a point on purpose
        points = [optimizer.ask()] if request.n_points == 1 else optimizer.ask(request.n_points, strategy="cl_min")
    hedge = request.hedge
    if optimizer.models and optimizer.acq_func == "gp_hedge":
        hedge = Hedge(optimizer.gains_.copy(), list(optimizer.next_xs_))
    return Proposal([list(p) for p in points], hedge, modelled=bool(optimizer.models))


class Proposer:
    """Runs :func:`propose` on the helper process (fitting requests) or here (random ones).

    Requests are answered in the order they were sent; a future's result is the :class:`Proposal`.
    The helper is started on a thread, so even its ``fork`` stays off the first trial's path.
    """

    def __init__(self, *, background: bool) -> None:
        self._process: _HelperProcess | None = None
        self._starting: threading.Thread | None = None
        if background:
            self._starting = threading.Thread(target=self._start, name="trainhooks-bayes-start", daemon=True)
            self._starting.start()

    def _start(self) -> None:
        try:
            self._process = _HelperProcess()
        except OSError as exc:  # cannot start a process here: compute in the driver
            log.debug("bayes lookahead runs in the driver: %s", exc)

    def submit(self, request: Request) -> Future[Proposal]:
        if request.fits and self._starting is not None:
            self._starting.join()
            if self._process is not None and self._process.alive:
                return self._process.submit(request)
        future: Future[Proposal] = Future()
        _compute_here(request, future)
        return future

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()
        if self._process is not None:
            self._process.close()


class _HelperProcess:
    """The driver's handle on the helper process: requests pickled to its stdin, replies read by a thread.

    The reader thread holds only the :class:`_Channel`, so dropping this handle stops the process.
    """

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the same trainhooks and skopt
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = "1"  # one spare core, not all of them
        proc = subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._channel = _Channel(proc)
        threading.Thread(target=self._channel.read_replies, name="trainhooks-bayes-reader", daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop, self._channel)

    @property
    def alive(self) -> bool:
        return self._channel.alive

    def submit(self, request: Request) -> Future[Proposal]:
        return self._channel.submit(request)

    def close(self) -> None:
        self._finalizer()


class _Channel:
    """The two pipes of the helper process and the requests it has not answered yet (in order).

    One thread submits (the search loop), one reads (``read_replies``): replies come in request order.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.alive = True
        self.closing = False  # stopped on purpose: unanswered requests are dropped, not computed here
        self._waiting: deque[tuple[Request, Future[Proposal]]] = deque()
        self._lock = threading.Lock()

    def submit(self, request: Request) -> Future[Proposal]:
        future: Future[Proposal] = Future()
        with self._lock:
            alive = self.alive
            if alive:
                self._waiting.append((request, future))
        if not alive:
            _compute_here(request, future)  # the process is gone: the same function, here
            return future
        try:  # not under ``_lock``: a big request may block until the helper reads, and replies need the lock
            assert self.proc.stdin is not None
            pickle.dump(request, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass  # it died: the reader sees the end of its output and computes what it was sent here
        return future

    def read_replies(self) -> None:
        assert self.proc.stdout is not None
        while True:
            try:
                status, payload = pickle.load(self.proc.stdout)
            except Exception:  # EOF: it exited or was closed
                break
            with self._lock:
                request, future = self._waiting.popleft()
            if status == "ok":
                future.set_result(replace(payload, where="process"))
            else:
                log.debug("bayes lookahead process failed, computing here: %s", payload)
                _compute_here(request, future)
        with self._lock:
            self.alive = False
            orphans, self._waiting = list(self._waiting), deque()
        for request, future in orphans:
            if self.closing:
                future.cancel()
            else:  # it died mid-request: the same points, computed here
                _compute_here(request, future)


def _compute_here(request: Request, future: Future[Proposal]) -> None:
    try:
        future.set_result(propose(request))
    except Exception as exc:  # raised to whoever waits for the point (the search's ask)
        future.set_exception(exc)


def _stop(channel: _Channel) -> None:
    """Stop the helper now: nothing it could still be computing is wanted. Reaped on a thread."""
    channel.closing = True
    proc = channel.proc
    with contextlib.suppress(OSError, ValueError):
        assert proc.stdin is not None
        proc.stdin.close()
    with contextlib.suppress(OSError):
        proc.kill()
    threading.Thread(target=proc.wait, name="trainhooks-bayes-reap", daemon=True).start()


def serve(stdin: Any = None, stdout: Any = None) -> None:
    """The helper process's loop: one pickled :class:`Request` in, one ``(status, Proposal)`` out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops us
    with heavy_imports():  # without the collector's heap walks: less CPU taken from the trials
        import skopt  # noqa: F401  (~0.8 s of imports while the random first trials run, not at the first fit)
    quick_exit_teardown()  # its exit comes with the run's end, beside the refit and the trackers

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    while True:
        try:
            request = pickle.load(stdin)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", propose(request))
        except Exception as exc:  # answered, not fatal: the driver computes this one itself
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
            stdout.flush()
        except (BrokenPipeError, OSError):  # the driver is gone
            return


def snapshot_lies(y: Sequence[float], pending: int) -> list[float]:
    """The constant-liar values for ``pending`` running points: the best (lowest) value told, or none."""
    return [min(y)] * pending if y and pending else []


__all__ = [
    "Hedge",
    "Proposal",
    "Proposer",
    "Request",
    "fitted_optimizer",
    "gp_estimator",
    "point_seed",
    "propose",
    "serve",
    "snapshot_lies",
]
