"""Resolve estimator names safely and decide how an estimator trains epoch by epoch."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline

from .errors import ConfigError


def resolve_estimator(
    dotted: str, registered: Mapping[str, type] | None = None, *, where: str = "model.estimator"
) -> type:
    """The estimator class named ``dotted``: a scikit-learn ``BaseEstimator`` or a registered one.

    Only ``sklearn.*`` modules are imported, so a config file cannot import arbitrary code; other
    classes must come from a plugin's ``trainhooks_register_estimators``. ``where`` is the config
    field that names it (``model.steps[1].estimator``), the start of every error line.
    """
    registered = registered or {}
    if dotted in registered:
        return registered[dotted]
    module_name, _, class_name = dotted.rpartition(".")
    private = [part for part in dotted.split(".") if part.startswith("_")]
    if private:
        raise ConfigError(
            f"{where}: {dotted!r} goes through the private name {private[0]!r} "
            "(name the estimator by its public path, e.g. 'sklearn.linear_model.SGDClassifier')"
        )
    if not module_name or not (module_name == "sklearn" or module_name.startswith("sklearn.")):
        raise ConfigError(
            f"{where}: {dotted!r} is not a scikit-learn estimator "
            "(only sklearn.* classes, or ones a plugin registers, may be named in a config)"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ConfigError(f"{where}: no module {module_name!r}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise ConfigError(f"{where}: {dotted!r} is not a scikit-learn estimator class")
    return cls


def estimator_name(cls: type) -> str:
    """The dotted name a config file uses for ``cls``: its shortest public import path
    (``sklearn.linear_model.SGDClassifier``, not ``sklearn.linear_model._stochastic_gradient...``)."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts)):
        if parts[end - 1].startswith("_"):
            break
        module = importlib.import_module(".".join(parts[:end]))
        if getattr(module, cls.__qualname__, None) is cls:
            return f"{module.__name__}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def build_estimator(estimator: Any, params: Mapping[str, Any]) -> BaseEstimator:
    """A fresh estimator with ``params`` set: clones an instance, instantiates a class."""
    est = estimator() if isinstance(estimator, type) else clone(estimator)
    try:
        return est.set_params(**params)
    except ValueError as exc:
        raise ConfigError(f"model.params: {exc}") from None


ITERATION_PARAMS = ("n_estimators", "max_iter")
"""Parameters that ``warm_start`` estimators grow epoch by epoch, in order of preference."""


def final_step(est: BaseEstimator) -> tuple[str, BaseEstimator | None]:
    """The estimator that learns inside ``est`` and the prefix of its parameter names.

    ``est`` itself (prefix ``""``) unless it is a :class:`~sklearn.pipeline.Pipeline`: then its last
    step, through nested pipelines (``("clf__", SGDClassifier())``), or ``None`` for a pipeline
    ending in ``"passthrough"``.
    """
    prefix = ""
    while isinstance(est, Pipeline):
        name, last = est.steps[-1]
        if last is None or (isinstance(last, str) and last == "passthrough"):
            return prefix, None
        prefix, est = f"{prefix}{name}__", last
    return prefix, est


def epoch_mode(est: BaseEstimator, max_epochs: int | None = None) -> tuple[str, str | None]:
    """How ``est`` trains per epoch: ("partial_fit", None), ("warm_start", param) or ("fit", None).

    A Pipeline trains the way its final step does (``param`` then carries the step prefix, e.g.
    ``"clf__max_iter"``); its other steps are preprocessing, fitted once (see ``EpochTrainer``).
    With ``max_epochs = 1`` a ``partial_fit`` estimator trains by its own ``fit`` (its ``max_iter``
    and ``tol`` apply), exactly as in ``GridSearchCV``: one epoch means no epoch loop at all.
    """
    prefix, learner = final_step(est)
    if learner is None:
        return "fit", None
    if hasattr(learner, "partial_fit"):
        return ("fit", None) if max_epochs == 1 else ("partial_fit", None)
    params = learner.get_params(deep=False)
    if "warm_start" in params:
        for name in ITERATION_PARAMS:
            if isinstance(params.get(name), int):
                return "warm_start", f"{prefix}{name}"
    return "fit", None


def planned_epochs(est: BaseEstimator, max_epochs: int) -> int:
    """How many epochs ``est`` trains: ``max_epochs`` passes of ``partial_fit`` (one plain ``fit``
    when ``max_epochs = 1``); for ``warm_start``
    estimators at most one per unit of their own iteration parameter (``n_estimators = 4`` gives 4
    epochs even with ``max_epochs = 10``); 1 for an estimator without epochs. A Pipeline has the
    epochs of its final step.

    The core decides this once and tells plugins (``epoch-ended.planned_epochs``/``is_last``).
    """
    mode, param = epoch_mode(est, max_epochs)
    if mode == "partial_fit":
        return max_epochs
    if mode == "warm_start":
        return max(1, min(max_epochs, int(est.get_params()[param])))
    return 1


@dataclass(frozen=True)
class ReportPlan:
    """What a trial's ``epoch-ended`` reports count (``unit``) and how many it plans (``planned``).

    A trial with several epochs reports once per epoch over all folds in lockstep (``"epoch"``);
    a one-epoch trial reports after each fold with the running mean so far (``"fold"``), so
    pruners can judge it before its last fold.
    """

    unit: str  # "epoch" or "fold"
    planned: int  # epochs, or folds

    def is_last(self, step: int) -> bool:
        """Whether report number ``step`` is the trial's last planned one."""
        return step >= self.planned


def report_plan(est: BaseEstimator, max_epochs: int, n_folds: int) -> ReportPlan:
    """The :class:`ReportPlan` of a trial of ``est``; the one place that decides report units."""
    epochs = planned_epochs(est, max_epochs)
    return ReportPlan("epoch", epochs) if epochs > 1 else ReportPlan("fold", n_folds)


__all__ = [
    "ITERATION_PARAMS",
    "ReportPlan",
    "build_estimator",
    "epoch_mode",
    "estimator_name",
    "final_step",
    "planned_epochs",
    "report_plan",
    "resolve_estimator",
]
