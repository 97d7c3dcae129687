"""Search spaces (``trainhooks.space``): re-exported from the plugin contract, :mod:`trainhooks.hooks.space`.

The dimension types, :class:`SearchSpace` and its parsing live in the contract because every
strategy, built-in or from a plugin, receives them; this module keeps the long-standing import path.
"""

from __future__ import annotations

from trainhooks.hooks.space import (
    GRID_INT_LIMIT,
    Categorical,
    Dimension,
    Distribution,
    Integer,
    Real,
    SearchSpace,
    SkoptDimension,
    parse_dimension,
    plain_params,
    to_plain,
)

__all__ = [
    "GRID_INT_LIMIT",
    "Categorical",
    "Dimension",
    "Distribution",
    "Integer",
    "Real",
    "SearchSpace",
    "SkoptDimension",
    "parse_dimension",
    "plain_params",
    "to_plain",
]
