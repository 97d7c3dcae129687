"""Real searches through the Python API: event order, epochs, stopping, failures, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from parallel_helpers import FragileSGD
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

import trainhooks
from trainhooks import SUMMARY_KEYS, AllTrialsFailed
from trainhooks.hooks import EpochEnded, StopDecision, TrialEnded, hookimpl
from trainhooks.testing import check_event_order

SPACE = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1"]}


def sgd() -> SGDClassifier:
    return SGDClassifier(loss="log_loss", random_state=0)


@pytest.mark.parametrize(
    ("strategy", "space"),
    [("grid", {"alpha": [1e-4, 1e-2], "penalty": ["l2", "l1"]}), ("random", SPACE), ("bayes", SPACE)],
)
def test_event_order_for_each_strategy(strategy, space, small_xy, trainhooks_session, trainhooks_recorder) -> None:
    X, y = small_xy
    result = trainhooks_session().tune(
        sgd(), space, X, y, strategy=strategy, n_trials=4, cv=3, max_epochs=3, test_size=0.25
    )
    events = trainhooks_recorder.events
    check_event_order(events)
    assert trainhooks_recorder.names[-2:] == ["model-fitted", "run-ended"]
    assert [e.trial_id for e in trainhooks_recorder.of(TrialEnded)] == [0, 1, 2, 3]
    assert all(len(trainhooks_recorder.of(EpochEnded)) == 12 for _ in [0])
    assert list(result.summary) == list(SUMMARY_KEYS)
    assert result.summary["strategy"] == strategy and result.summary["n_complete"] == 4
    assert result.test_score is not None and 0.5 < result.test_score <= 1.0
    assert result.best_estimator.predict(X[:5]).shape == (5,)
    for event in trainhooks_recorder.of("trial-started"):  # plain Python values for plugins and MLflow
        assert all(type(v) in (int, float, str, bool) for v in event.params.values())


def test_grid_runs_every_combination_then_stops(small_xy, trainhooks_session) -> None:
    X, y = small_xy
    result = trainhooks_session().tune(
        sgd(), {"alpha": [1e-4, 1e-3, 1e-2]}, X, y, strategy="grid", n_trials=10, cv=3, max_epochs=1
    )
    assert [t["params"]["alpha"] for t in result.trials] == [1e-4, 1e-3, 1e-2]
    assert result.summary["stop_reason"] == "exhausted"


def test_folds_train_in_lockstep_and_report_each_fold(small_xy, trainhooks_session, trainhooks_recorder) -> None:
    X, y = small_xy
    trainhooks_session().tune(sgd(), {"alpha": [1e-3]}, X, y, strategy="grid", cv=3, max_epochs=4)
    epochs = trainhooks_recorder.of(EpochEnded)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    for event in epochs:
        folds = event.metrics["fold_scores"]
        assert len(folds) == 3
        assert event.metrics["score"] == pytest.approx(np.mean(folds))
        assert event.metrics["score_std"] == pytest.approx(np.std(folds))
    # epoch 2 of fold 0 is the same model as two partial_fit passes trained on its own
    train, valid = next(StratifiedKFold(3).split(X, y))
    model = SGDClassifier(loss="log_loss", random_state=0, alpha=1e-3)
    for _ in range(2):
        model.partial_fit(X[train], y[train], classes=np.unique(y))
    assert epochs[1].metrics["fold_scores"][0] == pytest.approx(model.score(X[valid], y[valid]))


def test_eval_every_scores_every_kth_and_the_last_epoch(small_xy, trainhooks_session, trainhooks_recorder) -> None:
    X, y = small_xy
    result = trainhooks_session().tune(
        sgd(), {"alpha": [1e-3]}, X, y, strategy="grid", cv=3, max_epochs=7, eval_every=3
    )
    check_event_order(trainhooks_recorder.events)
    epochs = trainhooks_recorder.of(EpochEnded)
    assert [e.epoch for e in epochs] == [3, 6, 7]
    assert result.trials[0]["epochs"] == 7 and result.trials[0]["best_epoch"] == 7
    assert result.best_score == pytest.approx(epochs[-1].metrics["score"])
    # epoch 3 is three passes, although epochs 1 and 2 were never scored
    train, valid = next(StratifiedKFold(3).split(X, y))
    model = SGDClassifier(loss="log_loss", random_state=0, alpha=1e-3)
    for _ in range(3):
        model.partial_fit(X[train], y[train], classes=np.unique(y))
    assert epochs[0].metrics["fold_scores"][0] == pytest.approx(model.score(X[valid], y[valid]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_one_epoch_trains_a_partial_fit_estimator_by_its_own_fit_as_gridsearchcv_does(
    small_xy, trainhooks_session
) -> None:
    """``max_epochs = 1`` is "no epochs": SGD's own ``max_iter`` and ``tol`` apply, not one pass."""
    from sklearn.model_selection import cross_val_score

    X, y = small_xy
    sgd_own_fit = SGDClassifier(loss="log_loss", random_state=0, max_iter=15, tol=1e-3)
    result = trainhooks_session().tune(
        sgd_own_fit, {"alpha": [1e-4, 1e-2]}, X, y, strategy="grid", cv=3, max_epochs=1, scoring="accuracy"
    )
    for trial in result.trials:
        expected = cross_val_score(
            SGDClassifier(loss="log_loss", random_state=0, max_iter=15, tol=1e-3, alpha=trial["params"]["alpha"]),
            X,
            y,
            cv=StratifiedKFold(3),
            scoring="accuracy",
        )
        assert [trial[f"split{i}_test_score"] for i in range(3)] == pytest.approx(list(expected))
    assert result.best_estimator.n_iter_ > 1  # the refit ran SGD's own epochs too


class RestoreAt:
    """At ``stop_epoch``, stop the trial and report ``use_epoch`` instead."""

    def __init__(self, stop_epoch: int, use_epoch: int) -> None:
        self.stop_epoch, self.use_epoch = stop_epoch, use_epoch

    @hookimpl
    def trainhooks_should_stop_trial(self, event):
        return StopDecision("restore", use_epoch=self.use_epoch) if event.epoch == self.stop_epoch else None


@pytest.mark.parametrize(("use_epoch", "reported"), [(2, 2), (3, 4)])  # 3 was never scored: the last one counts
def test_with_eval_every_only_a_scored_epoch_can_be_restored(
    use_epoch, reported, small_xy, trainhooks_session, trainhooks_recorder
) -> None:
    X, y = small_xy
    result = trainhooks_session(RestoreAt(4, use_epoch)).tune(
        sgd(), {"alpha": [1e-3]}, X, y, strategy="grid", cv=3, max_epochs=9, eval_every=2, test_size=0.2
    )
    scores = {e.epoch: e.metrics["score"] for e in trainhooks_recorder.of(EpochEnded)}
    assert list(scores) == [2, 4]
    assert result.trials[0]["epochs"] == 4 and result.trials[0]["best_epoch"] == reported
    assert result.best_score == pytest.approx(scores[reported])
    n_train = len(y) - math.ceil(0.2 * len(y))  # train_test_split's share
    assert result.best_estimator.t_ == reported * n_train + 1  # the refit trained the reported epochs


def test_warm_start_estimators_grow_per_epoch_and_others_fit_once(small_xy, trainhooks_session) -> None:
    X, y = small_xy
    session = trainhooks_session()
    boosted = session.tune(
        GradientBoostingClassifier(random_state=0, max_depth=2),
        {"n_estimators": [20]},
        X,
        y,
        strategy="grid",
        cv=3,
        max_epochs=4,
        test_size=0.2,
    )
    assert boosted.trials[0]["epochs"] == 4
    assert boosted.best_estimator.n_estimators == 20 and len(boosted.best_estimator.estimators_) == 20
    logistic = session.tune(LogisticRegression(), {"C": [1.0]}, X, y, strategy="grid", cv=3, max_epochs=5)
    assert logistic.trials[0]["epochs"] == 5
    svc = session.tune(SVC(), {"C": [1.0]}, X, y, strategy="grid", cv=3, max_epochs=5)
    assert svc.trials[0]["epochs"] == 1


class StopAtEpoch:
    def __init__(self, epoch: int, prune: bool) -> None:
        self.epoch, self.prune = epoch, prune

    @hookimpl
    def trainhooks_should_stop_trial(self, event):
        if event.epoch == self.epoch and event.trial_id == 1:
            return StopDecision("enough", prune=self.prune)
        return None


@pytest.mark.parametrize("prune", [False, True])
def test_a_stop_decision_ends_the_trial_at_that_epoch(prune, small_xy, trainhooks_session, trainhooks_recorder):
    X, y = small_xy
    result = trainhooks_session(StopAtEpoch(2, prune)).tune(
        sgd(), SPACE, X, y, strategy="random", n_trials=3, cv=3, max_epochs=5
    )
    check_event_order(trainhooks_recorder.events)
    assert [e.epoch for e in trainhooks_recorder.of(EpochEnded) if e.trial_id == 1] == [1, 2]
    ended = trainhooks_recorder.of(TrialEnded)[1]
    assert ended.epochs == 2 and ended.stop_reason == "enough"
    assert ended.state == ("pruned" if prune else "complete")
    assert [t["epochs"] for t in result.trials] == [5, 2, 5]
    assert result.summary["n_pruned"] == (1 if prune else 0)


def test_a_stop_search_decision_ends_the_search(small_xy, trainhooks_session, trainhooks_recorder):
    class AfterTwo:
        plugin_name = "after_two"

        @hookimpl
        def trainhooks_should_stop_search(self, event):
            return StopDecision("two is plenty") if event.trial_id == 1 else None

    X, y = small_xy
    result = trainhooks_session(AfterTwo()).tune(sgd(), SPACE, X, y, n_trials=10, cv=3, max_epochs=1)
    assert result.summary["n_trials"] == 2 and result.summary["stop_reason"] == "two is plenty"
    stopped = trainhooks_recorder.of("search-stopped")
    assert len(stopped) == 1 and stopped[0].by == "after_two"


def test_timeout_stops_the_search(small_xy, trainhooks_session):
    X, y = small_xy
    result = trainhooks_session().tune(sgd(), SPACE, X, y, n_trials=1000, cv=3, max_epochs=2, timeout_s=0.5)
    assert result.summary["stop_reason"] == "timeout"
    assert 1 <= result.summary["n_trials"] < 1000


@pytest.mark.parametrize("strategy", ["random", "bayes"])
def test_same_seed_same_trials_and_scores(strategy, small_xy, trainhooks_session):
    X, y = small_xy
    session = trainhooks_session()

    def run(seed):
        result = session.tune(sgd(), SPACE, X, y, strategy=strategy, n_trials=5, cv=3, max_epochs=2, random_state=seed)
        return [(t["params"], t["mean_test_score"]) for t in result.trials]

    first = run(7)
    assert run(7) == first
    assert run(8) != first


def test_failed_trials_are_recorded_and_the_search_completes(small_xy, trainhooks_session, trainhooks_recorder):
    # a failure no up-front check can see: the estimator raises in fit for some values
    X, y = small_xy
    space = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}}
    estimator = FragileSGD(raise_if_alpha_above=1e-3)
    result = trainhooks_session().tune(estimator, space, X, y, strategy="bayes", n_trials=8, cv=3, max_epochs=2)
    failed = [t for t in result.trials if t["state"] == "failed"]
    assert failed, "the seed should draw a large alpha at least once"
    assert all("is too large" in t["error"] for t in failed)
    assert all(t["mean_test_score"] is None for t in failed)
    assert result.summary["n_trials"] == 8 and result.summary["n_failed"] == len(failed)
    assert result.best_params["alpha"] <= 1e-3
    check_event_order(trainhooks_recorder.events)


def test_non_finite_scores_fail_the_trial(trainhooks_session):
    from sklearn.linear_model import SGDRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * 1e150  # overflows to inf/nan in SGD updates
    y = rng.normal(size=120)
    with pytest.raises(AllTrialsFailed) as info:  # its only trial failed
        trainhooks_session().tune(
            SGDRegressor(random_state=0), {"eta0": [1e10]}, X, y, strategy="grid", cv=3, max_epochs=2
        )
    result = info.value.result
    assert result.trials[0]["state"] == "failed"
    assert result.summary["best_score"] is None and result.best_estimator is None


def test_a_plugin_strategy_is_used_by_name(small_xy, trainhooks_session):
    class Ladder:
        def __init__(self, space, *, random_state=None, n_trials=None):
            self.values = [1e-4, 1e-3, 1e-2]
            self.told = []

        def ask(self):
            return {"alpha": self.values.pop(0)} if self.values else None

        def tell(self, params, score):
            self.told.append(score)

    class LadderPlugin:
        @hookimpl
        def trainhooks_register_strategies(self):
            return {"ladder": Ladder}

    X, y = small_xy
    result = trainhooks_session(LadderPlugin()).tune(sgd(), SPACE, X, y, strategy="ladder", n_trials=5, cv=3)
    assert [t["params"] for t in result.trials] == [{"alpha": 1e-4}, {"alpha": 1e-3}, {"alpha": 1e-2}]
    with pytest.raises(trainhooks.ConfigError, match=r"unknown strategy 'nope'.*bayes, grid, ladder, random"):
        trainhooks_session(LadderPlugin()).tune(sgd(), SPACE, X, y, strategy="nope")


def test_grid_refuses_a_continuous_range(small_xy, trainhooks_session, trainhooks_recorder):
    X, y = small_xy
    with pytest.raises(trainhooks.ConfigError, match=r"search\.space\.alpha: grid search needs a list"):
        trainhooks_session().tune(sgd(), SPACE, X, y, strategy="grid")
    assert trainhooks_recorder.events == []


def test_train_cross_validates_and_fits_one_model(small_xy, trainhooks_session, trainhooks_recorder):
    X, y = small_xy
    result = trainhooks_session().train(sgd(), X, y, cv=3, max_epochs=3, test_size=0.2)
    check_event_order(trainhooks_recorder.events)
    assert trainhooks_recorder.events[0].kind == "train"
    assert result.summary["n_trials"] == 1 and result.trials[0]["epochs"] == 3
    assert result.best_estimator is not None and result.test_score is not None


def test_ctrl_c_closes_the_run_cleanly(small_xy, trainhooks_session, trainhooks_recorder):
    class InterruptOnTrial:
        @hookimpl
        def trainhooks_on_epoch_end(self, event):
            if event.trial_id == 2:
                raise KeyboardInterrupt

    X, y = small_xy
    with pytest.raises(trainhooks.SearchInterrupted) as info:
        trainhooks_session(InterruptOnTrial()).tune(sgd(), SPACE, X, y, n_trials=10, cv=3, max_epochs=2, test_size=0.25)
    check_event_order(trainhooks_recorder.events)
    assert trainhooks_recorder.names[-3:] == ["search-stopped", "model-fitted", "run-ended"]
    interrupted = trainhooks_recorder.of(TrialEnded)[-1]
    assert interrupted.trial_id == 2 and interrupted.state == "failed" and interrupted.error == "interrupted"
    result = info.value.result
    assert result.summary["stop_reason"] == "interrupted" and result.summary["n_complete"] == 2
    # the best trial so far is refit: the held-out score and the model exist
    assert result.best_estimator is not None and result.test_score is not None
    assert result.summary["test_score"] == result.test_score
    assert result.best_estimator.predict(X[:5]).shape == (5,)


def test_a_second_ctrl_c_during_the_refit_skips_it(small_xy, trainhooks_session, trainhooks_recorder):
    class InterruptTwice:
        """Ctrl-C at trial 2, then again when the refit model is handed to plugins."""

        @hookimpl
        def trainhooks_on_epoch_end(self, event):
            if event.trial_id == 2:
                raise KeyboardInterrupt

        @hookimpl
        def trainhooks_on_model_fitted(self, event):
            raise KeyboardInterrupt

    X, y = small_xy
    with pytest.raises(trainhooks.SearchInterrupted) as info:
        trainhooks_session(InterruptTwice()).tune(sgd(), SPACE, X, y, n_trials=10, cv=3, max_epochs=2, test_size=0.25)
    check_event_order(trainhooks_recorder.events)
    assert trainhooks_recorder.names[-1] == "run-ended" and trainhooks_recorder.names.count("run-ended") == 1
    result = info.value.result
    assert result.best_estimator is None and result.test_score is None
    assert "interrupted again during the refit: no refit model and no test score" in result.summary["notes"]


def test_refit_false_skips_the_refit(small_xy, trainhooks_session, trainhooks_recorder):
    X, y = small_xy
    result = trainhooks_session().tune(sgd(), SPACE, X, y, n_trials=2, cv=3, max_epochs=1, test_size=0.25, refit=False)
    assert "model-fitted" not in trainhooks_recorder.names
    assert result.best_estimator is None and result.test_score is None and result.best_score is not None


def test_results_table_is_like_cv_results(small_xy, trainhooks_session):
    X, y = small_xy
    result = trainhooks_session().tune(sgd(), SPACE, X, y, n_trials=3, cv=3, max_epochs=1)
    table = result.cv_results_
    assert {"params", "mean_test_score", "std_test_score", "split0_test_score", "split2_test_score", "state"} <= set(
        table
    )
    assert len(table["params"]) == 3
    frame = result.to_frame()
    assert {"param_alpha", "param_penalty", "mean_test_score"} <= set(frame.columns)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"max_epochs": 0}, "search.max_epochs: Input should be greater than or equal to 1 (got 0)"),
        ({"eval_every": 0}, "search.eval_every: Input should be greater than or equal to 1 (got 0)"),
        ({"cv": 1}, "search.cv: needs at least 2 folds (got 1)"),
        (
            {"scoring": "roc"},
            "search.scoring: unknown scorer 'roc' (did you mean 'roc_auc'?) (see sklearn.metrics.get_scorer_names()) "
            "(got 'roc')",
        ),
        ({"executor": "spark"}, "search.executor: Input should be 'sequential', 'process' or 'dask' (got 'spark')"),
        ({"n_trials": True}, "search.n_trials: Input should be a valid integer (got True)"),
        ({"n_trails": 5}, "search.n_trails: unknown key (did you mean 'n_trials'?)"),
        ({"timeout_s": float("inf")}, "search.timeout_s: Input should be a finite number (got inf)"),
        (
            {"strategy": "bayse"},
            "search.strategy: unknown strategy 'bayse' (did you mean 'bayes'?) (available: bayes, grid, random, tpe)",
        ),
    ],
)
def test_bad_keyword_arguments_fail_like_a_config_file_before_any_event(
    keywords, message, small_xy, trainhooks_session, trainhooks_recorder
) -> None:
    X, y = small_xy
    with pytest.raises(trainhooks.ConfigError) as raised:
        trainhooks_session().tune(sgd(), SPACE, X, y, **keywords)
    assert str(raised.value) == message
    assert trainhooks_recorder.events == []
