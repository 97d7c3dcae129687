"""Non-finite scores on a real search: what ``check_finite`` and ``restore_best`` make of a diverging trial.

scikit-learn's own SGD estimators clip their weights, so the diverging model here is a tiny
estimator of our own with ``partial_fit``: its predictions improve for a few epochs, then blow
up to 1e200, whose squared error overflows to an infinite ``neg_mean_squared_error``.

The core ends a trial at its first non-finite epoch whatever the plugin says; the plugin only
decides how (``_end_non_finite`` in core/trial.py: an earlier epoch restored, pruned, or failed).
With ``check_finite = false`` the plugin follows Keras' ``EarlyStopping``: the non-finite epoch is
an epoch without improvement (``-inf > best`` and every comparison with NaN are false), so it adds
one to the wait counter and can end the trial by ``patience``; it never becomes the best epoch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from trainhooks import TrainhooksError
from trainhooks.hooks import EpochEnded, ModelFitted, TrialEnded
from trainhooks.plugins.early_stopping import StopReason, TrialMonitor, parse_settings
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
    try:
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
    except TrainhooksError as exc:  # a run whose every trial failed raises, carrying its result
        result = exc.result  # type: ignore[attr-defined]
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


@pytest.mark.parametrize(
    "table",
    [
        {"patience": 3, "check_finite": False},  # the bad epoch is the first without improvement: 1 < 3
        {"patience": 1, "check_finite": False},  # patience reached, but no earlier epoch to fall back on
    ],
)
def test_check_finite_off_leaves_the_trial_to_fail(table: dict[str, Any]) -> None:
    _, recorder, told = diverging_search(table)
    (ended,) = recorder.of(TrialEnded)
    assert ended.state == "failed" and told == [None]


def test_check_finite_off_counts_the_bad_epoch_towards_patience_like_keras() -> None:
    """Epochs 1-3 improve, epoch 4 is -inf: with patience 1 that epoch ends the wait, as in Keras.

    Before following Keras the plugin skipped the epoch and the trial failed; now ``patience``
    stops it and ``restore_best`` keeps epoch 3, so the trial is complete with a finite score.
    """
    result, recorder, told = diverging_search({"patience": 1, "check_finite": False, "restore_best": True})
    (ended,) = recorder.of(TrialEnded)
    assert (ended.state, ended.stop_reason, ended.epochs) == ("complete", "patience", DIVERGE_AT)
    assert result.trials[0]["best_epoch"] == DIVERGE_AT - 1 and told == [ended.score]
    assert math.isfinite(ended.score)


@pytest.mark.parametrize("bad", [math.nan, -math.inf, math.inf])
def test_without_check_finite_a_non_finite_value_is_an_epoch_without_improvement(bad: float) -> None:
    """Keras' ``wait += 1; if not _is_improvement(...)``: NaN compares false, so no improvement.

    An infinity in the good direction, which Keras would take as a new best, is not one here: a
    non-finite value is never a trial's score, so it must not become the epoch to restore.
    """
    monitor = TrialMonitor(parse_settings({"patience": 2, "check_finite": False}))
    assert [monitor.update(e, v) for e, v in enumerate([0.5, 0.6, bad], start=1)] == [None, None, None]
    assert (monitor.best, monitor.best_epoch, monitor.wait) == (0.6, 2, 1)
    assert monitor.update(4, bad) == StopReason.PATIENCE
    assert (monitor.best, monitor.best_epoch) == (0.6, 2)


def test_without_check_finite_a_trial_that_never_scored_finite_stops_by_patience_or_baseline() -> None:
    plain = TrialMonitor(parse_settings({"patience": 2, "check_finite": False}))
    assert [plain.update(e, math.nan) for e in (1, 2)] == [None, StopReason.PATIENCE]
    assert plain.best is None
    with_baseline = TrialMonitor(parse_settings({"patience": 1, "baseline": 0.5, "check_finite": False}))
    assert with_baseline.update(1, math.nan) == StopReason.BASELINE
