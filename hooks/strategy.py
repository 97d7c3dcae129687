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


StrategyFactory = Callable[..., Strategy]
"""``factory(space, *, random_state, n_trials) -> Strategy``; ``space`` is the parsed search space."""

__all__ = ["Strategy", "StrategyFactory"]
