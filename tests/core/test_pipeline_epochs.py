"""Epochs through a Pipeline: preprocessing fitted once per fold, the final step trained per epoch.

Real searches on a mixed-type DataFrame (numbers with missing values, a string column, string
labels) with a ColumnTransformer in front of an SGDClassifier.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from trainhooks.estimators import planned_epochs, report_plan
from trainhooks.hooks import EpochEnded, TrialEnded
from trainhooks.testing import check_event_order
from trainhooks.trial import fit_for_epochs

FEATURES = ["size", "weight", "colour"]


def mixed_frame(n_rows: int = 360) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with missing values, a string categorical and string labels that depend on both."""
    rng = np.random.default_rng(0)
    size, weight = rng.normal(size=n_rows), rng.normal(size=n_rows)
    colour = rng.choice(["red", "green", "blue"], size=n_rows)
    signal = size + 0.5 * weight + 1.5 * (colour == "red") + rng.normal(scale=0.7, size=n_rows)
    frame = pd.DataFrame({"size": size, "weight": weight * 1000.0, "colour": colour})
    frame.loc[::11, "size"] = np.nan
    return frame, np.where(signal > 0.5, "good", "bad")


class CountingScaler(StandardScaler):
    """A StandardScaler that counts its fits (the cost a user pays per preprocessing fit)."""

    fits: ClassVar[int] = 0

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> CountingScaler:
        CountingScaler.fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


def sgd_pipeline(scaler: StandardScaler | None = None) -> Pipeline:
    numeric = make_pipeline(SimpleImputer(), scaler if scaler is not None else StandardScaler())
    prep = ColumnTransformer(
        [("num", numeric, ["size", "weight"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"])]
    )
    return Pipeline([("prep", prep), ("clf", SGDClassifier(loss="log_loss", random_state=0))])


SPACE = {"clf__alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "clf__eta0": {"low": 1e-3, "high": 1.0, "log": True}}


def test_a_pipeline_ending_in_partial_fit_trains_by_epochs_and_scores_like_its_parts(
    trainhooks_session, trainhooks_recorder
) -> None:
    X, y = mixed_frame()
    trainhooks_session().tune(sgd_pipeline(), {"clf__alpha": [1e-3]}, X, y, strategy="grid", cv=3, max_epochs=4)
    epochs = trainhooks_recorder.of(EpochEnded)
    assert [(e.epoch, e.unit, e.planned_epochs, e.is_last) for e in epochs] == [
        (1, "epoch", 4, False),
        (2, "epoch", 4, False),
        (3, "epoch", 4, False),
        (4, "epoch", 4, True),
    ]
    # fold 0 at epoch 3 is: the preprocessing fitted once on the training fold, then three passes
    # of the final step on the transformed fold, scored on the validation fold transformed once
    train, valid = next(StratifiedKFold(3).split(X, y))
    pipe = sgd_pipeline().set_params(clf__alpha=1e-3)
    prep, clf = pipe[:-1], pipe[-1]
    Xt = prep.fit_transform(X.iloc[train], y[train])
    for _ in range(3):
        clf.partial_fit(Xt, y[train], classes=np.unique(y))
    expected = clf.score(prep.transform(X.iloc[valid]), y[valid])
    assert epochs[2].metrics["fold_scores"][0] == pytest.approx(expected)
    assert len({e.metrics["score"] for e in epochs}) > 1  # the curve moves: epochs are real passes


def test_preprocessing_is_fitted_once_per_fold_for_the_whole_search_and_once_for_the_refit(trainhooks_session) -> None:
    X, y = mixed_frame()
    CountingScaler.fits = 0
    result = trainhooks_session().tune(
        sgd_pipeline(CountingScaler()), SPACE, X, y, strategy="random", n_trials=3, cv=3, max_epochs=5, test_size=0.2
    )
    assert [t["epochs"] for t in result.trials] == [5, 5, 5]
    # the trials tune the final step only: they share each fold's fitted preprocessing
    assert CountingScaler.fits == 3 + 1  # folds, plus the refit: never once per epoch or per trial


@pytest.mark.parametrize("max_epochs", [1, 3])
def test_trials_sharing_a_folds_preprocessing_score_as_pipelines_fitted_apart(trainhooks_session, max_epochs) -> None:
    """Sharing is invisible in the scores: each trial equals its own pipeline fitted from scratch."""
    X, y = mixed_frame()
    alphas = [1e-4, 1e-3, 1e-2]
    CountingScaler.fits = 0
    result = trainhooks_session().tune(
        sgd_pipeline(CountingScaler()), {"clf__alpha": alphas}, X, y,
        strategy="grid", cv=3, max_epochs=max_epochs, refit=False,
    )  # fmt: skip
    assert CountingScaler.fits == 3
    scorer, classes = get_scorer("accuracy"), np.unique(y)
    for trial in result.trials:
        for i, (train, valid) in enumerate(StratifiedKFold(3).split(X, y)):
            pipe = sgd_pipeline().set_params(clf__alpha=trial["params"]["clf__alpha"])
            if max_epochs == 1:
                pipe.fit(X.iloc[train], y[train])  # one plain fit, as GridSearchCV
            else:
                Xt = pipe[:-1].fit_transform(X.iloc[train], y[train])
                for _ in range(max_epochs):
                    pipe[-1].partial_fit(Xt, y[train], classes=classes)
            assert trial[f"split{i}_test_score"] == pytest.approx(scorer(pipe, X.iloc[valid], y[valid]))


def test_a_searched_preprocessing_parameter_gets_one_fit_per_value_and_fold(trainhooks_session) -> None:
    X, y = mixed_frame()
    CountingScaler.fits = 0
    space = {"prep__num__countingscaler__with_mean": [True, False], "clf__alpha": [1e-4, 1e-3]}
    result = trainhooks_session().tune(
        sgd_pipeline(CountingScaler()), space, X, y, strategy="grid", cv=3, max_epochs=2, refit=False
    )
    assert len(result.trials) == 4
    assert CountingScaler.fits == 2 * 3  # one per (with_mean, fold), shared by the two alphas


@pytest.mark.slow
def test_early_stopping_and_restore_best_on_a_column_transformer_pipeline(
    trainhooks_session, trainhooks_recorder
) -> None:
    X, y = mixed_frame()
    n_train = len(X) - int(np.ceil(len(X) * 0.2))  # the training split the refit sees
    result = trainhooks_session(builtins=("early_stopping",)).tune(
        sgd_pipeline(),
        SPACE,
        X,
        y,
        strategy="random",
        n_trials=4,
        cv=3,
        max_epochs=30,
        test_size=0.2,
        random_state=0,
        scoring="f1_macro",
        plugin_config={"early_stopping": {"patience": 2, "restore_best": True}},
    )
    check_event_order(trainhooks_recorder.events)
    ended = trainhooks_recorder.of(TrialEnded)
    assert all(1 < e.epochs < 30 and e.stop_reason == "patience" for e in ended)  # epochs, then stopped early
    best = next(t for t in result.trials if t["trial_id"] == result.summary["best_trial_id"])
    assert best["best_epoch"] < best["epochs"]  # restore_best reported an earlier epoch ...
    scores = {e.epoch: e.metrics["score"] for e in trainhooks_recorder.of(EpochEnded) if e.trial_id == best["trial_id"]}
    assert result.best_score == pytest.approx(scores[best["best_epoch"]])
    model = result.best_estimator
    assert isinstance(model, Pipeline)
    assert model[-1].t_ == best["best_epoch"] * n_train + 1  # ... and the refit trained exactly that many passes
    assert model.n_features_in_ == 3 and list(model.feature_names_in_) == FEATURES
    assert list(model[:-1].get_feature_names_out()[-3:]) == ["cat__colour_blue", "cat__colour_green", "cat__colour_red"]
    assert set(model.predict(X.iloc[:20])) <= {"good", "bad"}
    assert result.test_score > 0.6  # the refit pipeline scored on the held-out split


def test_the_refit_pipeline_equals_the_same_epochs_trained_by_hand(trainhooks_session) -> None:
    X, y = mixed_frame()
    result = trainhooks_session().train(sgd_pipeline(), X, y, cv=3, max_epochs=3)
    model = result.best_estimator
    by_hand = sgd_pipeline()
    Xt = by_hand[:-1].fit_transform(X, y)
    for _ in range(3):
        by_hand[-1].partial_fit(Xt, y, classes=np.unique(y))
    np.testing.assert_allclose(model[-1].coef_, by_hand[-1].coef_)
    np.testing.assert_array_equal(model.predict(X), by_hand.predict(X))
    assert model.predict_proba(X).shape == (len(X), 2)


def test_a_warm_start_final_step_grows_its_iterations_per_epoch(trainhooks_session, trainhooks_recorder) -> None:
    X, y = mixed_frame()
    pipe = Pipeline([*sgd_pipeline().steps[:-1], ("forest", RandomForestClassifier(n_estimators=6, random_state=0))])
    result = trainhooks_session().tune(pipe, {"forest__max_depth": [3]}, X, y, strategy="grid", cv=3, max_epochs=3)
    assert [(e.epoch, e.planned_epochs) for e in trainhooks_recorder.of(EpochEnded)] == [(1, 3), (2, 3), (3, 3)]
    assert len(result.best_estimator[-1].estimators_) == 6


@pytest.mark.parametrize(
    ("estimator", "max_epochs", "plan"),
    [
        (make_pipeline(StandardScaler(), SGDClassifier()), 7, ("epoch", 7)),
        (make_pipeline(StandardScaler(), LogisticRegression(max_iter=4)), 7, ("epoch", 4)),
        (make_pipeline(StandardScaler(), make_pipeline(StandardScaler(), SGDClassifier())), 7, ("epoch", 7)),
        (make_pipeline(StandardScaler(), DecisionTreeClassifier()), 7, ("fold", 5)),
        (Pipeline([("scale", StandardScaler()), ("last", "passthrough")]), 7, ("fold", 5)),
        (make_pipeline(StandardScaler(), SGDClassifier()), 1, ("fold", 5)),
    ],
    ids=["partial_fit", "warm_start", "nested", "no epochs", "passthrough", "max_epochs 1"],
)
def test_a_pipeline_plans_the_epochs_of_its_final_step(estimator, max_epochs, plan) -> None:
    got = report_plan(clone(estimator), max_epochs, n_folds=5)
    assert (got.unit, got.planned) == plan
    assert planned_epochs(clone(estimator), max_epochs) == (plan[1] if plan[0] == "epoch" else 1)


def test_a_nested_pipeline_trains_its_innermost_step_by_epochs() -> None:
    X, y = mixed_frame()
    inner = Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier(loss="log_loss", random_state=0))])
    outer = Pipeline([*sgd_pipeline().steps[:-1], ("model", inner)])
    model = fit_for_epochs(outer, {"model__clf__alpha": 1e-3}, X, y, epochs=2, max_epochs=5)
    assert model["model"]["clf"].t_ == 2 * len(X) + 1  # two passes, the preprocessing fitted once
    assert get_scorer("accuracy")(model, X, y) > 0.6
    assert list(model.feature_names_in_) == FEATURES
