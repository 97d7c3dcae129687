"""The ``tpe`` strategy: Optuna's Tree-structured Parzen Estimator through its ask/tell API.

Users get Optuna's sampler together with trainhooks' epochs, pruning, executors and tracking: the
strategy lives in the driver, asks Optuna for points and tells it every result. Optuna comes with
the ``optuna`` extra (``pip install 'trainhooks[optuna]'``) and is imported only here, when a run
chooses ``tpe``; without it the run is refused before any trial with one line naming the extra.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict, deque
from collections.abc import Mapping
from typing import Any

from trainhooks.hooks import SearchSpace, SettingsError
from trainhooks.hooks.space import Categorical, Integer, Real, plain_params

from .config import TpeSettings
from .extras import EXTRAS


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=repr)


def _distributions(space: SearchSpace) -> dict[str, Any]:
    """Optuna distributions for the space; categorical choices are asked by index (any plain value)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, dim in space.dimensions.items():
        if isinstance(dim, Categorical):
            out[name] = CategoricalDistribution(tuple(range(len(dim.choices))))
        elif isinstance(dim, Integer):
            out[name] = IntDistribution(dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Real):
            out[name] = FloatDistribution(dim.low, dim.high, log=dim.log)
        else:
            raise SettingsError(
                f"search.space.{name}: tpe takes lists of choices and low/high ranges, "
                f"not {type(dim).__name__.lower()} dimensions (scipy or skopt objects)"
            )
    return out


class TpeStrategy:
    """Optuna's ``TPESampler`` (seeded, constant liar for parallel batches) as a trainhooks strategy.

    A complete trial is told its score (maximised). A pruned or failed one (``score=None``: the
    ask/tell protocol does not say which) is told in Optuna's ``PRUNED`` state, never a made-up
    value: TPE ranks it below every complete trial, so the region counts as poor (as ``bayes``
    tells it the worst score seen). ``ask_many`` asks ``n`` trials before
    any is told: Optuna's constant liar treats the running ones as bad, so a batch spreads out,
    and the core's synchronous batches (:class:`trainhooks.hooks.BatchStrategy`) keep a parallel
    search reproducible for a seed. Optuna's own log lines are silenced.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        random_state: int | None = None,
        n_trials: int | None = None,
        settings: TpeSettings | None = None,
    ) -> None:
        EXTRAS["optuna"].require("search.strategy", '"tpe"')
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        settings = settings or TpeSettings()
        self._distributions = _distributions(space)
        self._choices = {name: dim.choices for name, dim in space.dimensions.items() if isinstance(dim, Categorical)}
        sampler = optuna.samplers.TPESampler(
            seed=random_state,
            n_startup_trials=settings.n_startup_trials,
            multivariate=settings.multivariate,
            constant_liar=True,
        )
        self._study = optuna.create_study(sampler=sampler, direction="maximize")
        self._pending: dict[str, deque[Any]] = defaultdict(deque)  # asked, not yet told, by params

    def _ask(self) -> dict[str, Any]:
        trial = self._study.ask(self._distributions)
        params = plain_params(
            {
                name: self._choices[name][value] if name in self._choices else value
                for name, value in trial.params.items()
            }
        )
        self._pending[_key(params)].append(trial)
        return params

    def ask(self) -> dict[str, Any]:
        return self._ask()

    def ask_many(self, n: int) -> list[dict[str, Any]]:
        """``n`` points at once: the :class:`trainhooks.hooks.BatchStrategy` protocol."""
        return [self._ask() for _ in range(n)]

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        from optuna.trial import TrialState

        waiting = self._pending.get(_key(plain_params(params)))
        if not waiting:
            return  # not asked by this study (e.g. replayed from a journal before it was asked)
        trial = waiting.popleft()
        if score is not None and math.isfinite(score):
            self._study.tell(trial, float(score))
        else:
            self._study.tell(trial, state=TrialState.PRUNED)


__all__ = ["TpeStrategy"]
