"""The ask/tell interface every search strategy implements (built-in or from a plugin)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Strategy(Protocol):
    """A search strategy proposes parameters (``ask``) and learns from results (``tell``).

    ``ask`` returns a plain dict of JSON values, or ``None`` when the strategy has nothing left to
    propose (a finished grid). ``tell`` receives the trial's final score (greater is better, as
    sklearn scorers are) or ``None`` for a failed or pruned trial; strategies must not feed
    ``None`` or a non-finite value to an optimizer.
    """

    def ask(self) -> dict[str, Any] | None: ...

    def tell(self, params: Mapping[str, Any], score: float | None) -> None: ...


@runtime_checkable
class BatchStrategy(Strategy, Protocol):
    """A strategy that can also propose several points at once; optional, for learning strategies.

    When the search has more than one executor slot (``n_jobs > 1``), the core runs a strategy
    with ``ask_many`` in synchronous batches: it asks ``ask_many(n)`` with ``n`` = the free slots
    (never more than the trials left), runs the whole batch, then calls ``tell`` for every trial of
    the batch in trial-id order, and only then asks the next batch. The strategy therefore sees the
    same history on every run with the same seed and slots, however trials' finishing times
    interleave, and a parallel search is reproducible. A strategy without ``ask_many`` is asked one
    point per free slot instead, and told in trial-id order as results arrive. With one slot both
    reduce to ask, run, tell.

    ``ask_many`` returns up to ``n`` distinct parameter sets (plain dicts of JSON values, as
    ``ask`` returns); an empty list means nothing is left to propose. If a batch repeats a point
    already asked (the strategy learned nothing since, e.g. every trial so far failed), the core
    asks that batch point by point with ``ask`` instead. The built-in ``bayes`` implements it with
    scikit-optimize's constant liar.
    """

    def ask_many(self, n: int) -> list[dict[str, Any]]: ...


StrategyFactory = Callable[..., Strategy]
"""``factory(space, *, random_state, n_trials) -> Strategy``.

``space`` is the parsed :class:`trainhooks.hooks.SearchSpace`; ``random_state`` (int or ``None``)
seeds the strategy; ``n_trials`` is the number of trials the search will ask for. A factory that
cannot use the space (e.g. a continuous range for a grid) raises
:class:`trainhooks.hooks.SettingsError` naming the dimension.
"""

__all__ = ["BatchStrategy", "Strategy", "StrategyFactory"]
