"""Where trials run. Every executor runs :func:`trainhooks.trial.run_trial` unchanged.

An executor accepts trial tasks with :meth:`Executor.submit` and hands back finished results
with :meth:`Executor.next_result`; while it waits, it passes each epoch report to the driver's
``on_epoch`` callback (always in the driver's thread) and relays the stop decision it returns
to the running trial. Plugins therefore only ever run in the driver.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from trainhooks.hooks import StopDecision

from ..errors import ConfigError
from .sequential import SequentialExecutor

if TYPE_CHECKING:  # importing the trial engine loads scikit-learn: the fork server's preload does that itself
    from ..trial import TrialResult, TrialTask

EpochHandler = Callable[[int, int, dict[str, Any]], "StopDecision | None"]
"""``on_epoch(trial_id, epoch, metrics) -> StopDecision | None``, called in the driver."""


class Executor(Protocol):
    """Runs trial tasks and reports their epochs and results to the driver."""

    slots: int
    """How many trials may be in flight at once."""

    def submit(self, task: TrialTask) -> None:
        """Start (or queue) a trial."""

    def next_result(self, on_epoch: EpochHandler) -> TrialResult:
        """Block until some submitted trial finishes; call ``on_epoch`` for reports meanwhile."""

    def close(self) -> None:
        """Stop workers and release resources; running trials are abandoned."""


class RefitsInWorkers(Protocol):
    """An executor that can also run the refit of the best trial in one of its workers.

    The search loop uses it at the tail of a search, when a worker has no trial left to run: the
    refit of the best trial so far starts there while the last trials train, instead of in the
    driver after them. A refit whose trial is no longer the best at the end is simply not used.
    """

    def start_refit(self, key: Any, task: TrialTask, epochs: int) -> bool:
        """Start refitting ``task``'s params on its data for ``epochs`` epochs; ``False`` if it cannot now."""

    def refit_result(self, key: Any) -> Any:
        """The fitted model of refit ``key`` (waiting for it), or ``None`` if there is none to use."""


def estimator_modules(estimator: Any) -> list[str]:
    """Modules a worker needs to unpickle ``estimator`` (a class or instance, Pipeline steps included)."""
    if estimator is None:
        return []
    cls = estimator if isinstance(estimator, type) else type(estimator)
    modules = [cls.__module__]
    for _, step in getattr(estimator, "steps", None) or []:
        if step is not None and step != "passthrough":
            modules.append(type(step).__module__)
    return [m for m in dict.fromkeys(modules) if m != "__main__"]


BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
"""Environment variables by which a user caps native threads; the default never raises them."""


def default_blas_threads(n_jobs: int) -> int:
    """Native threads per trial so that ``n_jobs`` concurrent trials share the cores evenly, and
    never more than the user allowed with ``OMP_NUM_THREADS`` and the like."""
    share = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
    caps = [int(v) for v in (os.environ.get(name, "").strip() for name in BLAS_ENV) if v.isdigit() and int(v) > 0]
    return min([share, *caps])


def make_executor(name: str, *, n_jobs: int = 1, dask_address: str | None = None, estimator: Any = None) -> Executor:
    """The executor called ``name`` ("sequential", "process" or "dask").

    ``estimator`` (a class or instance) lets worker processes import its modules while they start.
    """
    if name == "sequential":
        return SequentialExecutor()
    if name == "process":
        from .process import ProcessExecutor

        return ProcessExecutor(n_jobs, warm=estimator_modules(estimator))
    if name == "dask":
        from .dask import DaskExecutor

        return DaskExecutor(n_jobs, address=dask_address)
    raise ConfigError(f"search.executor: unknown executor {name!r} (sequential, process or dask)")


__all__ = [
    "EpochHandler",
    "Executor",
    "RefitsInWorkers",
    "SequentialExecutor",
    "default_blas_threads",
    "estimator_modules",
    "make_executor",
]
