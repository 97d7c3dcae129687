"""Search spaces: the parsed form every strategy receives, for TOML tables and Python values alike.

A dimension is written as

- a list of choices: ``["l2", "l1"]`` (categorical; the only form a grid accepts besides integer ranges);
- a range table: ``{low = 1e-6, high = 1e-1, log = true}`` (real), with ``type = "int"`` for integers;
- in Python also a scipy.stats distribution (random search only) or a scikit-optimize dimension.

A strategy's factory gets a :class:`SearchSpace`: its ``dimensions`` map each parameter name to
one of :class:`Categorical`, :class:`Real`, :class:`Integer`, :class:`Distribution` or
:class:`SkoptDimension`, and :meth:`SearchSpace.grid`, :meth:`SearchSpace.distributions` and
:meth:`SearchSpace.skopt_dimensions` convert it for sklearn and scikit-optimize. Problems raise
:class:`~trainhooks.hooks.SettingsError` naming the dimension (``search.space.alpha: ...``).
scipy and scikit-optimize are imported only by the methods that need them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SettingsError

GRID_INT_LIMIT = 1000
"""An integer range with more values than this is refused by grid search."""


@dataclass(frozen=True)
class Categorical:
    """One of a list of plain values."""

    choices: tuple[Any, ...]


@dataclass(frozen=True)
class Real:
    """A float in ``[low, high]``, uniform or (``log``) log-uniform."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Integer:
    """An int in ``[low, high]`` (both included), uniform or (``log``) log-uniform."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Distribution:
    """A scipy.stats frozen distribution (anything with ``rvs``), for random search."""

    dist: Any


@dataclass(frozen=True)
class SkoptDimension:
    """A scikit-optimize dimension given directly in Python."""

    dimension: Any


Dimension = Categorical | Real | Integer | Distribution | SkoptDimension
"""One dimension of a :class:`SearchSpace`, as a strategy finds it in ``space.dimensions``."""


def to_plain(value: Any) -> Any:
    """Convert numpy scalars (and containers of them) into plain JSON-friendly Python values."""
    numpy = sys.modules.get("numpy")  # no numpy loaded means no numpy scalars to convert
    if numpy is not None and isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _range(path: str, spec: Mapping[str, Any]) -> Dimension:
    unknown = set(spec) - {"low", "high", "log", "type"}
    if unknown:
        raise SettingsError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected low, high, log, type)")
    if "low" not in spec or "high" not in spec:
        raise SettingsError(f"{path}: a range needs both 'low' and 'high'")
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    kind = spec.get("type", "int" if isinstance(low, int) and isinstance(high, int) else "float")
    for key, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SettingsError(f"{path}.{key}: must be a finite number, got {value!r}")
    if kind not in ("int", "float"):
        raise SettingsError(f"{path}.type: must be 'int' or 'float', got {kind!r}")
    if not low < high:
        raise SettingsError(f"{path}.low: must be < high ({low!r} >= {high!r})")
    if log and low <= 0:
        raise SettingsError(f"{path}.low: must be > 0 for a log range, got {low!r}")
    if kind == "int":
        if int(low) != low or int(high) != high:
            raise SettingsError(f"{path}: an int range needs whole numbers, got {low!r}..{high!r}")
        return Integer(int(low), int(high), log)
    return Real(float(low), float(high), log)


def parse_dimension(path: str, spec: Any) -> Dimension:
    """Parse one dimension; ``path`` (e.g. ``search.space.alpha``) names it in errors."""
    if isinstance(spec, (Categorical, Real, Integer, Distribution, SkoptDimension)):
        return spec
    if isinstance(spec, Mapping):
        return _range(path, spec)
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise SettingsError(f"{path}: needs at least one choice")
        return Categorical(tuple(to_plain(list(spec))))
    if type(spec).__module__.startswith("skopt."):  # before rvs: skopt dimensions have rvs too
        return SkoptDimension(spec)
    if hasattr(spec, "rvs"):
        return Distribution(spec)
    raise SettingsError(
        f"{path}: expected a list of choices or a range {{low, high}}, got {type(spec).__name__} {spec!r}"
    )


@dataclass(frozen=True)
class SearchSpace:
    """Named dimensions in a stable order."""

    dimensions: dict[str, Dimension]

    @classmethod
    def parse(cls, space: Mapping[str, Any] | SearchSpace, path: str = "search.space") -> SearchSpace:
        """Parse a mapping of parameter names to dimensions (a ``SearchSpace`` is returned as is)."""
        if isinstance(space, SearchSpace):
            return space
        if not isinstance(space, Mapping):
            raise SettingsError(f"{path}: must be a table of parameter names, got {type(space).__name__}")
        if not space:
            raise SettingsError(f"{path}: is empty; name at least one parameter to search")
        return cls({str(name): parse_dimension(f"{path}.{name}", spec) for name, spec in space.items()})

    @property
    def names(self) -> list[str]:
        """Parameter names, in the order they were given."""
        return list(self.dimensions)

    def grid(self) -> dict[str, list[Any]]:
        """Values per parameter for sklearn's ``ParameterGrid``; only lists and small int ranges."""
        grid = {}
        for name, dim in self.dimensions.items():
            if isinstance(dim, Categorical):
                grid[name] = list(dim.choices)
            elif isinstance(dim, Integer) and not dim.log and dim.high - dim.low < GRID_INT_LIMIT:
                grid[name] = list(range(dim.low, dim.high + 1))
            else:
                raise SettingsError(f"search.space.{name}: grid search needs a list of values, not a continuous range")
        return grid

    def distributions(self) -> dict[str, Any]:
        """Lists and scipy.stats distributions for sklearn's ``ParameterSampler``."""
        from scipy import stats

        out: dict[str, Any] = {}
        for name, dim in self.dimensions.items():
            if isinstance(dim, Categorical):
                out[name] = list(dim.choices)
            elif isinstance(dim, Real):
                out[name] = (
                    stats.loguniform(dim.low, dim.high) if dim.log else stats.uniform(dim.low, dim.high - dim.low)
                )
            elif isinstance(dim, Integer):
                out[name] = _LogInt(dim.low, dim.high) if dim.log else stats.randint(dim.low, dim.high + 1)
            elif isinstance(dim, Distribution):
                out[name] = dim.dist
            else:
                out[name] = _SkoptSampler(dim.dimension)
        return out

    def skopt_dimensions(self) -> list[Any]:
        """scikit-optimize dimensions (named) for Bayesian optimisation."""
        from skopt import space as sk

        dims = []
        for name, dim in self.dimensions.items():
            if isinstance(dim, Categorical):
                dims.append(sk.Categorical(list(dim.choices), name=name))
            elif isinstance(dim, Real):
                dims.append(sk.Real(dim.low, dim.high, prior="log-uniform" if dim.log else "uniform", name=name))
            elif isinstance(dim, Integer):
                dims.append(sk.Integer(dim.low, dim.high, prior="log-uniform" if dim.log else "uniform", name=name))
            elif isinstance(dim, SkoptDimension):
                dims.append(dim.dimension)
            else:
                raise SettingsError(
                    f"search.space.{name}: Bayesian search cannot use a scipy distribution; "
                    "give a range {low, high} or a skopt dimension"
                )
        return dims


class _LogInt:
    """Log-uniform integers in [low, high], with the ``rvs`` interface ParameterSampler expects."""

    def __init__(self, low: int, high: int) -> None:
        from scipy import stats

        self._dist = stats.loguniform(low, high + 1)
        self.low, self.high = low, high

    def rvs(self, random_state: Any = None) -> int:
        return int(min(self.high, math.floor(self._dist.rvs(random_state=random_state))))


class _SkoptSampler:
    """Samples a scikit-optimize dimension with the ``rvs`` interface ParameterSampler expects."""

    def __init__(self, dimension: Any) -> None:
        self.dimension = dimension

    def rvs(self, random_state: Any = None) -> Any:
        return self.dimension.rvs(n_samples=1, random_state=random_state)[0]


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as plain Python values, in a stable order (what ``ask`` should return)."""
    return {str(k): to_plain(v) for k, v in params.items()}


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
