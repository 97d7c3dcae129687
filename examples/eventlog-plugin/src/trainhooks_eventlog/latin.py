"""A Latin-hypercube search strategy: spreads ``n_trials`` points evenly over every range."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy.stats import qmc

from trainhooks.hooks import Categorical, Integer, Real, SearchSpace, SettingsError


class LatinHypercubeStrategy:
    """Ask/tell strategy over lists and ``{low, high, log}`` ranges."""

    def __init__(self, space: SearchSpace, *, random_state: int | None = None, n_trials: int | None = None) -> None:
        self.space = space
        n = n_trials or 10
        sample = qmc.LatinHypercube(d=len(space.dimensions), seed=random_state).random(n)
        self._points = [self._point(row) for row in sample]

    def _point(self, row: Any) -> dict[str, Any]:
        point: dict[str, Any] = {}
        for u, (name, dim) in zip(row, self.space.dimensions.items(), strict=True):
            if isinstance(dim, Categorical):
                point[name] = dim.choices[min(int(u * len(dim.choices)), len(dim.choices) - 1)]
            elif isinstance(dim, (Real, Integer)):
                if dim.log:
                    value = math.exp(math.log(dim.low) + u * (math.log(dim.high) - math.log(dim.low)))
                else:
                    value = dim.low + u * (dim.high - dim.low)
                point[name] = round(value) if isinstance(dim, Integer) else float(value)
            else:
                raise SettingsError(f"search.space.{name}: the latin strategy needs a list or a range")
        return point

    def ask(self) -> dict[str, Any] | None:
        return self._points.pop(0) if self._points else None

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        """A fixed design: results do not change the next points."""
