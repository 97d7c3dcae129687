"""The built-in search strategies (grid, random, bayes; tpe in :mod:`trainhooks.tpe`), offered by a hook.

They are registered by :class:`BuiltinStrategies`, an essential plugin, exactly the way a
third-party plugin adds its own strategy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from sklearn.model_selection import ParameterGrid, ParameterSampler

from trainhooks.hooks import SearchSpace, StrategyFactory, hookimpl
from trainhooks.hooks.space import plain_params

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
    """Gaussian-process Bayesian optimisation with scikit-optimize's ``Optimizer``.

    ``settings`` is the ``[search.bayes]`` table (surrogate, acquisition function and optimiser,
    initial random points). Scores are maximised (sklearn's convention) by telling skopt their negation. A failed or
    pruned trial (``score=None``) is told the worst score seen so far, so the optimizer learns the
    region is poor without ever seeing NaN; before any score exists it is not told at all.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        random_state: int | None = None,
        n_trials: int | None = None,
        settings: BayesSettings | None = None,
    ) -> None:
        from skopt import Optimizer

        settings = settings or BayesSettings()
        self._names = space.names
        n_initial_points = settings.n_initial_points
        if n_initial_points is None:
            n_initial_points = max(2, min(10, (n_trials or 30) // 3))
        self._optimizer = Optimizer(
            space.skopt_dimensions(),
            base_estimator=settings.base_estimator,
            n_initial_points=n_initial_points,
            acq_func=settings.acq_func,
            acq_optimizer=settings.acq_optimizer,
            acq_optimizer_kwargs={"n_restarts_optimizer": settings.n_restarts_optimizer},
            random_state=random_state,
        )
        self._worst: float | None = None

    def ask(self) -> dict[str, Any]:
        return plain_params(dict(zip(self._names, self._optimizer.ask(), strict=True)))

    def ask_many(self, n: int) -> list[dict[str, Any]]:
        """``n`` points at once (constant liar): the :class:`trainhooks.hooks.BatchStrategy` protocol."""
        points = self._optimizer.ask(n_points=n, strategy="cl_min")
        return [plain_params(dict(zip(self._names, p, strict=True))) for p in points]

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        if score is not None and math.isfinite(score):
            self._worst = score if self._worst is None else min(self._worst, score)
        elif self._worst is not None:
            score = self._worst
        else:
            return
        self._optimizer.tell([params[name] for name in self._names], -float(score))


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
