"""Train one estimator on one training set, one epoch at a time (DESIGN section 6).

Estimators with ``partial_fit`` train one pass per epoch, ``warm_start`` estimators grow their
iteration parameter, others fit once. A :class:`~sklearn.pipeline.Pipeline` trains the way its
final step does: the steps before it (the preprocessing) are fitted once, on the first epoch, and
only the final step trains epoch by epoch on the transformed data, so an epoch costs what it costs
without the pipeline. Trials on the same fold share that fitted preprocessing when it is the
same (:mod:`trainhooks.prep_cache`). The validation data is transformed once by
the same fitted preprocessing (:meth:`EpochTrainer.scoring_view`). The pipeline object ends up
fitted as a whole: ``predict``, ``n_features_in_`` and ``feature_names_in_`` work on it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.pipeline import Pipeline

from .estimators import epoch_mode, final_step, planned_epochs
from .prep_cache import SHARED, FittedPreprocessing, entry_key


def classes_for(est: BaseEstimator, y: Any) -> np.ndarray | None:
    """All class labels of ``y`` when ``est`` learns by ``partial_fit`` as a classifier (which needs
    them on its first call, since one fold or batch may miss a class), else ``None``."""
    _, learner = final_step(est)
    if learner is None or not (is_classifier(learner) and hasattr(learner, "partial_fit")):
        return None
    return np.unique(np.asarray(y))


class _Learner:
    """Advances one plain estimator (no preprocessing in front) by one epoch."""

    def __init__(self, est: BaseEstimator, n_epochs: int, classes: np.ndarray | None) -> None:
        self.est = est
        self.mode, self.param = epoch_mode(est, n_epochs)
        self.n_epochs = n_epochs
        self.classes = classes
        if self.mode == "warm_start":
            self.total = int(est.get_params()[self.param])
            # boosting and forests add to what they have; solvers like LogisticRegression restart
            # the count on each call from the previous solution
            self.cumulative = self.param == "n_estimators" or "GradientBoosting" in type(est).__name__
            est.set_params(warm_start=True)

    def step(self, epoch: int, X: Any, y: Any) -> None:
        if self.mode == "partial_fit":
            if self.classes is not None:
                self.est.partial_fit(X, y, classes=self.classes)
            else:
                self.est.partial_fit(X, y)
        elif self.mode == "warm_start":
            done = math.ceil(self.total * epoch / self.n_epochs)
            before = math.ceil(self.total * (epoch - 1) / self.n_epochs)
            self.est.set_params(**{self.param: done if self.cumulative else max(1, done - before)})
            self.est.fit(X, y)
        else:
            self.est.fit(X, y)


class EpochTrainer:
    """Trains ``est`` on ``X, y`` one epoch per :meth:`step`; ``model`` is the estimator being trained.

    :param est: a fresh estimator (trained in place).
    :param max_epochs: the run's ``search.max_epochs``; ``n_epochs`` is what ``est`` plans of it.
    :param X: training features. :param y: training target.
    :param classes: every class label of the whole target, for ``partial_fit`` classifiers.
    """

    def __init__(
        self,
        est: BaseEstimator,
        max_epochs: int,
        X: Any,
        y: Any,
        classes: np.ndarray | None,
        *,
        fold: str | None = None,
    ) -> None:
        self.model = est
        self.n_epochs = planned_epochs(est, max_epochs)
        self._X, self._y = X, y
        self._preprocessing: list[Pipeline] = []  # fitted once, outermost first
        learner = est
        if final_step(est)[1] is not None:
            while isinstance(learner, Pipeline):
                self._preprocessing.append(learner[:-1])
                learner = learner.steps[-1][1]
        self._learner = _Learner(learner, self.n_epochs, classes)
        self._prepared = not self._preprocessing
        # shared with the other trials on this fold (see trainhooks.prep_cache), when a fold is named
        self._shared_key = entry_key(fold, self._preprocessing) if fold and self._preprocessing else None
        self._shared: FittedPreprocessing | None = None

    def step(self, epoch: int) -> None:
        """Train epoch ``epoch`` (1-based); the first one fits the preprocessing first."""
        if not self._prepared:
            self._prepare()
        self._learner.step(epoch, self._X, self._y)

    def _prepare(self) -> None:
        shared = SHARED.get(self._shared_key) if self._shared_key else None
        if shared is None:
            fitted = self._fit_preprocessing()
            if self._shared_key:
                shared = FittedPreprocessing(fitted, self._X)
                SHARED.put(self._shared_key, shared)
        else:
            self._install(shared.steps)
            self._X = shared.X_train
        self._shared = shared
        self._prepared = True

    def _fit_preprocessing(self) -> list[Pipeline]:
        for prep in self._preprocessing:
            self._X = prep.fit_transform(self._X, self._y)
        self._install(self._preprocessing)
        return self._preprocessing

    def _install(self, fitted: list[Pipeline]) -> None:
        """Put fitted preprocessing into the pipeline itself (``Pipeline(memory=...)`` fits clones;
        shared preprocessing was fitted by another trial), so ``model`` is fitted as a whole."""
        self._preprocessing = fitted
        outer = self.model
        for prep in fitted:
            outer.steps = [*prep.steps, outer.steps[-1]]
            outer = outer.steps[-1][1]

    def scoring_view(self, X: Any) -> tuple[BaseEstimator, Any]:
        """The estimator to score and ``X`` as it sees it: the final step and ``X`` transformed by
        the fitted preprocessing (call once per validation set, after the first :meth:`step`; with a
        shared fold, its validation rows), or ``model`` and ``X`` unchanged when nothing is fitted apart."""
        if self._shared is not None and self._shared.X_valid is not None:
            return self._learner.est, self._shared.X_valid
        for prep in self._preprocessing:
            X = prep.transform(X)
        if self._shared is not None and self._shared_key:
            self._shared.X_valid = X
            SHARED.put(self._shared_key, self._shared)  # counted with its validation data now
        return self._learner.est, X


__all__ = ["EpochTrainer", "classes_for"]
