"""Non-finite scores on a real search: what ``check_finite`` and ``restore_best`` make of a diverging trial.

scikit-learn's own SGD estimators clip their weights, so the diverging model here is a tiny
estimator of our own with ``partial_fit``: its predictions improve for a few epochs, then blow
up to 1e200, whose squared error overflows to an infinite ``neg_mean_squared_error``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from trainhooks.hooks import EpochEnded, ModelFitted, TrialEnded
from trainhooks.testing import EventRecorder, make_session

DIVERGE_AT = 4
pytestmark = pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")


class DivergingRegressor(RegressorMixin, BaseEstimator):
    """Predicts a shrinking fraction of the target mean, until epoch ``diverge_at`` where it explodes."""

    def __init__(self, diverge_at: int = DIVERGE_AT) -> None:
        self.diverge_at = diverge_at

    def partial_fit(self, X: Any, y: Any) -> DivergingRegressor:
        self.epochs_ = getattr(self, "epochs_", 0) + 1
        self.mean_ = float(np.mean(y))
        return self

    def fit(self, X: Any, y: Any) -> DivergingRegressor:
        return self.partial_fit(X, y)

    def predict(self, X: Any) -> np.ndarray:
        if self.epochs_ >= self.diverge_at:
            return np.full(len(X), 1e200)
        return np.full(len(X), self.mean_ * (1 - 0.5**self.epochs_))


def diverging_search(table: dict[str, Any] | None) -> tuple[Any, EventRecorder, list[float | None]]:
    told: list[float | None] = []

    class Teller:
        from trainhooks import hookimpl

        @hookimpl
        def trainhooks_register_strategies(self) -> dict[str, Any]:
            from trainhooks.strategies import GridStrategy

            class Recording(GridStrategy):
                def tell(self, params: Any, score: float | None) -> None:
                    told.append(score)
                    super().tell(params, score)

            return {"recording": Recording}

    recorder = EventRecorder()
    session = make_session(recorder, Teller(), builtins=("early_stopping",))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(90, 2)), 5.0 + rng.normal(size=90)
    result = session.tune(
        DivergingRegressor(),
        {"diverge_at": [DIVERGE_AT]},
        X,
        y,
        strategy="recording",
        n_trials=1,
        cv=3,
        scoring="neg_mean_squared_error",
        max_epochs=8,
        plugin_config={"early_stopping": table} if table else None,
    )
    return result, recorder, told


def test_without_the_plugin_a_diverging_trial_fails() -> None:
    result, recorder, told = diverging_search(None)
    (ended,) = recorder.of(TrialEnded)
    assert ended.state == "failed" and "not finite at epoch 4" in ended.error
    assert told == [None] and result.best_estimator is None
    assert math.isinf(recorder.of(EpochEnded)[-1].metrics["score"])  # plugins saw the bad epoch


def test_check_finite_prunes_a_diverging_trial() -> None:
    result, recorder, told = diverging_search({"patience": 3})
    (ended,) = recorder.of(TrialEnded)
    assert (ended.state, ended.stop_reason, ended.epochs) == ("pruned", "non_finite", DIVERGE_AT)
    assert told == [None]  # never the infinite score
    assert result.summary["n_pruned"] == 1 and result.summary["best_score"] is None


def test_check_finite_with_restore_best_keeps_the_last_good_epoch() -> None:
    result, recorder, told = diverging_search({"patience": 3, "restore_best": True})
    scores = [e.metrics["score"] for e in recorder.of(EpochEnded)]
    (ended,) = recorder.of(TrialEnded)
    assert (ended.state, ended.stop_reason, ended.epochs) == ("complete", "non_finite", DIVERGE_AT)
    assert ended.score == scores[DIVERGE_AT - 2] == max(scores[: DIVERGE_AT - 1])
    assert told == [ended.score]
    assert result.trials[0]["best_epoch"] == DIVERGE_AT - 1
    assert recorder.of(ModelFitted)[0].epochs == DIVERGE_AT - 1  # refit stops before the blow-up
    assert np.isfinite(result.best_estimator.predict(np.zeros((2, 2)))).all()


@pytest.mark.parametrize("table", [{"patience": 3, "check_finite": False}])
def test_check_finite_off_leaves_the_trial_to_fail(table: dict[str, Any]) -> None:
    _, recorder, told = diverging_search(table)
    (ended,) = recorder.of(TrialEnded)
    assert ended.state == "failed" and told == [None]
