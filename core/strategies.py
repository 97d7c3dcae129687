"""The built-in search strategies (grid, random, bayes; tpe in :mod:`trainhooks.tpe`), offered by a hook.

They are registered by :class:`BuiltinStrategies`, an essential plugin, exactly the way a
third-party plugin adds its own strategy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

from trainhooks.hooks import SearchSpace, StrategyFactory, hookimpl
from trainhooks.hooks.space import plain_params

from .bayes_lookahead import Hedge, Proposal, Proposer, Request, fitted_optimizer, snapshot_lies
from .config import BayesSettings
from .tpe import TpeStrategy


class GridStrategy:
    """Every combination of the listed values, in sklearn's ``ParameterGrid`` order."""

    def __init__(self, space: SearchSpace, *, random_state: int | None = None, n_trials: int | None = None) -> None:
        self._points: Iterator[dict[str, Any]] = iter(ParameterGrid(space.grid()))

    def ask(self) -> dict[str, Any] | None:
        point = next(self._points, None)
        return None if point is None else plain_params(point)

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        """Grid search does not learn from results."""


class RandomStrategy:
    """Seeded independent draws from the space's distributions (sklearn ``ParameterSampler``)."""

    def __init__(self, space: SearchSpace, *, random_state: int | None = None, n_trials: int | None = None) -> None:
        n_iter = n_trials if n_trials is not None else 1000
        self._points = iter(ParameterSampler(space.distributions(), n_iter=n_iter, random_state=random_state))

    def ask(self) -> dict[str, Any] | None:
        point = next(self._points, None)
        return None if point is None else plain_params(point)

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        """Random search does not learn from results."""


class BayesStrategy:
    """Gaussian-process Bayesian optimisation with scikit-optimize, its fits off the critical path.

    ``settings`` is the ``[search.bayes]`` table (surrogate, acquisition function and optimiser,
    initial random points, lookahead). Scores are maximised (sklearn's convention) by telling skopt
    their negation. A failed or pruned trial (``score=None``) is told the worst score seen so far, so
    the optimizer learns the region is poor without ever seeing NaN; before any score exists it is
    not told at all.

    Each point is computed by :func:`trainhooks.bayes_lookahead.propose` from a snapshot of the
    search (the results told so far, a constant-liar value for each asked point still running), so
    a tell only records the result. With ``lookahead`` on (the default) the snapshot is taken the
    moment a point is handed out and the next point is computed right away on the helper process,
    while the trial trains: point ``k + 1`` knows the results of trials ``0..k-1`` and a lie for
    ``k``. With it off, the snapshot is taken at the ask, after the previous result was told.
    Either way the points are a function of the seed and the order of asks and tells only, which
    is what ``--resume`` replays.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        random_state: int | None = None,
        n_trials: int | None = None,
        settings: BayesSettings | None = None,
    ) -> None:
        settings = settings or BayesSettings()
        self._names = space.names
        self._dimensions = space.skopt_dimensions()
        n_initial_points = settings.n_initial_points
        if n_initial_points is None:
            n_initial_points = max(2, min(10, (n_trials or 30) // 3))
        self._options: dict[str, Any] = {
            "base_estimator": settings.base_estimator,
            "n_initial_points": n_initial_points,
            "acq_func": settings.acq_func,
            "acq_optimizer": settings.acq_optimizer,
            "acq_optimizer_kwargs": {
                "n_restarts_optimizer": settings.n_restarts_optimizer,
                "n_points": settings.n_points,
            },
        }
        self._kernel_restarts = settings.kernel_restarts
        self._seed = random_state if random_state is not None else int(np.random.SeedSequence().generate_state(1)[0])
        self._n_trials = n_trials
        self._lookahead = settings.lookahead
        background = settings.lookahead and (n_trials is None or n_trials > n_initial_points)
        self._proposer = Proposer(background=background)
        self._X: list[list[Any]] = []  # told points (skopt's order of dimensions) and their values
        self._y: list[float] = []
        self._running: list[list[Any]] = []  # asked and not told yet: each is told a lie in snapshots
        self._asked = 0
        self._hedge: Hedge | None = None
        self._next: Future[Proposal] | None = None  # the lookahead: point ``self._asked``, being computed
        self._worst: float | None = None
        self.proposals: list[Proposal] = []
        """Every proposal handed out, in order (``where`` it was computed): for tests and benchmarks."""
        self.ready_at_ask = 0
        """How many asks found their model-based point already computed by the lookahead (no wait)."""

    def ask(self) -> dict[str, Any]:
        future, self._next = self._next, None
        ready = future is not None and future.done()
        proposal = (future or self._propose(1)).result()
        self.ready_at_ask += ready and proposal.modelled
        self._hedge = proposal.hedge
        self.proposals.append(proposal)
        params = self._params(proposal.points[0])
        self._asked += 1
        self._running.append([params[name] for name in self._names])
        if self._lookahead and (self._n_trials is None or self._asked < self._n_trials):
            self._next = self._propose(1)  # point k+1, from the snapshot now: trial k is a lie in it
        return params

    def ask_many(self, n: int) -> list[dict[str, Any]]:
        """``n`` points at once (constant liar): the :class:`trainhooks.hooks.BatchStrategy` protocol."""
        self._next = None  # a lookahead from point-by-point asks, if any: the batch replaces it
        proposal = self._propose(n).result()
        self._hedge = proposal.hedge
        self.proposals.append(proposal)
        self._asked += len(proposal.points)
        return [self._params(point) for point in proposal.points]

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        x = [params[name] for name in self._names]
        if x in self._running:
            self._running.remove(x)
        if score is not None and math.isfinite(score):
            self._worst = score if self._worst is None else min(self._worst, score)
        elif self._worst is not None:
            score = self._worst
        else:
            return
        self._X.append(x)
        self._y.append(-float(score))

    @property
    def lookahead(self) -> Future[Proposal] | None:
        """The next point while it is being computed in the background (``None`` when there is none)."""
        return self._next

    def close(self) -> None:
        """Stop the helper process (it also stops on its own when the driver exits)."""
        self._proposer.close()

    def optimizer(self) -> Any:
        """skopt's ``Optimizer`` as the next point would see it now (its ``models``, ``Xi``, ``yi``): for inspection."""
        return fitted_optimizer(self._request(1))

    def _propose(self, n_points: int) -> Future[Proposal]:
        return self._proposer.submit(self._request(n_points))

    def _request(self, n_points: int) -> Request:
        """The snapshot the next point is computed from: told results, and a lie for each running point."""
        lies = snapshot_lies(self._y, len(self._running))
        return Request(
            dimensions=self._dimensions,
            options=self._options,
            seed=self._seed,
            index=self._asked,
            X=self._X + self._running[: len(lies)],
            y=self._y + lies,
            hedge=self._hedge,
            n_points=n_points,
            kernel_restarts=self._kernel_restarts,
        )

    def _params(self, point: list[Any]) -> dict[str, Any]:
        return plain_params(dict(zip(self._names, point, strict=True)))


class FixedStrategy:
    """A single trial with the estimator's own parameters (what ``train`` runs)."""

    def __init__(self) -> None:
        self._asked = False

    def ask(self) -> dict[str, Any] | None:
        if self._asked:
            return None
        self._asked = True
        return {}

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        """Nothing to learn from a single trial."""


class BuiltinStrategies:
    """Essential plugin offering ``grid``, ``random``, ``bayes`` and ``tpe`` (with the optuna extra)."""

    @hookimpl(trylast=True)
    def trainhooks_register_strategies(self) -> dict[str, StrategyFactory]:
        return {"grid": GridStrategy, "random": RandomStrategy, "bayes": BayesStrategy, "tpe": TpeStrategy}


__all__ = ["BayesStrategy", "BuiltinStrategies", "FixedStrategy", "GridStrategy", "RandomStrategy"]
