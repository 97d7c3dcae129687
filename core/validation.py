"""Checks that refuse a run before anything is written: the estimator's parameters, every value of
the search space, and the scorer against the task.

A mistyped parameter would otherwise fail every trial (and log a failed run per trial); here it
is one line naming the field, exit 2. Parameter values are checked by scikit-learn's own
constraints (each estimator's ``_parameter_constraints``, the rules ``fit`` applies) on a clone,
so the rules are the estimator's, not a copy of them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.utils.multiclass import type_of_target

from trainhooks.hooks import did_you_mean

from .errors import ConfigError
from .space import Categorical, Integer, Real, SearchSpace


def check_estimator_params(estimator: BaseEstimator, where: str = "model.params") -> None:
    """Refuse parameters the estimator's own constraints reject (``alpha = -5.0``)."""
    problem = _constraint_problem(estimator)
    if problem is not None:
        name, message = problem
        raise ConfigError(f"{where}.{name}: {message}")


def check_space(estimator: BaseEstimator, space: SearchSpace) -> None:
    """Refuse a space key the estimator does not have, and any value it would reject.

    Every choice of a list is checked, and both ends of a range; scipy distributions and skopt
    dimensions from Python are checked by name only (their values are not enumerable).
    """
    names = estimator.get_params(deep=True)
    for name, dim in space.dimensions.items():
        where = f"search.space.{name}"
        if name not in names:
            hint = did_you_mean(name, names) or _in_a_step(name, names)
            raise ConfigError(f"{where}: {type(estimator).__name__} has no parameter {name!r}{hint}")
        for value in _values_to_check(dim):
            if isinstance(value, Mapping):
                raise ConfigError(
                    f"{where}: a table cannot be a searched value (trial parameters are JSON, whose keys are "
                    "strings); set it in [model] params, or search named values such as 'balanced'"
                )
            try:
                candidate = clone(estimator).set_params(**{name: value})
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{where}: {value!r} is refused: {exc}") from None
            problem = _constraint_problem(candidate)
            if problem is not None:
                raise ConfigError(f"{where}: {value!r} is refused: {problem[1]}")


def _in_a_step(name: str, names: Mapping[str, Any]) -> str:
    """The hint for a pipeline's step parameter named without its step (``alpha`` is ``model__alpha``)."""
    in_steps = sorted((full for full in names if full.endswith(f"__{name}")), key=len)
    return f" (did you mean {in_steps[0]!r}?)" if in_steps else ""


def check_scorer(scoring: Any, estimator: BaseEstimator, y: Any) -> None:
    """Refuse a scorer that cannot score this task: a classification scorer for a regressor, a
    regression scorer for a classifier, or a binary-only scorer (``roc_auc``, ``f1``) on a target
    with more than two classes."""
    if not isinstance(scoring, str):
        return  # a scorer callable from Python is the caller's own
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    score_func = getattr(scorer, "_score_func", None)
    family = getattr(score_func, "__module__", "").rsplit(".", 1)[-1]
    kind = type(estimator).__name__
    if is_regressor(estimator) and family in ("_classification", "_ranking"):
        raise ConfigError(f"search.scoring: {scoring!r} scores classifiers; {kind} is a regressor (try 'r2')")
    if is_classifier(estimator) and family == "_regression":
        raise ConfigError(f"search.scoring: {scoring!r} scores regressors; {kind} is a classifier (try 'accuracy')")
    if is_classifier(estimator) and type_of_target(y) == "multiclass" and not _accepts_multiclass(scorer, y):
        raise ConfigError(
            f"search.scoring: {scoring!r} scores binary targets only; the target has "
            f"{len(np.unique(y))} classes (try '{scoring}_ovr', '{scoring}_macro' or 'accuracy')"
        )


def convert_class_keys(params: Mapping[str, Any], y: Any, where: str) -> dict[str, Any]:
    """Turn the string keys TOML gives a ``class_weight`` table (``{0 = 1.0}`` reads as ``{"0": 1.0}``)
    into the target's own class labels; a key that is no class is refused."""
    classes = {str(c): c.item() if isinstance(c, np.generic) else c for c in np.unique(np.asarray(y))}
    converted = dict(params)
    for name, value in params.items():
        if name.split("__")[-1] == "class_weight" and isinstance(value, Mapping):
            converted[name] = _class_keyed(value, classes, f"{where}.{name}")
    return converted


def _class_keyed(table: Mapping[Any, Any], classes: Mapping[str, Any], where: str) -> dict[Any, Any]:
    converted = {}
    for key, weight in table.items():
        if str(key) not in classes:
            known = ", ".join(sorted(classes))
            raise ConfigError(f"{where}: {key!r} is not a class of the target (classes: {known})")
        converted[classes[str(key)]] = weight
    return converted


def _values_to_check(dim: Any) -> list[Any]:
    if isinstance(dim, Categorical):
        return list(dim.choices)
    if isinstance(dim, (Real, Integer)):
        return [dim.low, dim.high]
    return []


def _estimators_in(estimator: BaseEstimator) -> Iterator[BaseEstimator]:
    """The estimator and every estimator nested in its parameters (pipeline steps, base estimators)."""
    yield estimator
    for value in estimator.get_params(deep=True).values():
        if isinstance(value, BaseEstimator):
            yield value


def _constraint_problem(estimator: BaseEstimator) -> tuple[str, str] | None:
    """``(parameter, message)`` of the first parameter a (nested) estimator's constraints reject."""
    from sklearn.utils._param_validation import InvalidParameterError

    for est in _estimators_in(estimator):
        if not hasattr(type(est), "_parameter_constraints"):
            continue  # an estimator without declared constraints: nothing to check it against
        try:
            est._validate_params()
        except InvalidParameterError as exc:
            message = str(exc)
            name = message.split("'")[1] if message.count("'") >= 2 else "?"
            return name, message
    return None


def _accepts_multiclass(scorer: Any, y: Any) -> bool:
    """Whether the scorer's metric accepts this multiclass target (asked of the metric itself)."""
    score_func = scorer._score_func
    labels = np.unique(np.asarray(y))[:3]
    y_true = np.tile(labels, 2)
    if getattr(scorer, "_response_method", "predict") == "predict":
        y_pred: Any = y_true[::-1]
    else:
        y_pred = np.full((len(y_true), len(labels)), 1.0 / len(labels))
    kwargs = dict(getattr(scorer, "_kwargs", {}))
    accepted = inspect.signature(score_func).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    try:
        score_func(y_true, y_pred, **kwargs)
    except (ValueError, TypeError):
        return False
    return True


__all__ = [
    "check_estimator_params",
    "check_scorer",
    "check_space",
    "convert_class_keys",
]
