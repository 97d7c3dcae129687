"""early_stopping on real seeded searches: what a user sees in events, the trials table and the summary.

Every search is a real one (SGDClassifier on a slice of digits, 3-fold lockstep CV). Where the
expected outcome depends on the scores, it is worked out independently from the recorded
``epoch-ended`` events (the rule, written out plainly) and compared with what happened.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import digits as digits_slice
from builders import run_config, write_toml
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import SGDClassifier

from trainhooks import ConfigError, hookimpl
from trainhooks.hooks import EpochEnded, ModelFitted, SearchStopped, TrialEnded
from trainhooks.strategies import RandomStrategy
from trainhooks.testing import EventRecorder, check_event_order, make_session

MAX_EPOCHS = 12
SPACE = {
    "alpha": {"low": 1e-6, "high": 1e-1, "log": True},
    "eta0": {"low": 1e-4, "high": 1.0, "log": True},
    "learning_rate": ["constant", "optimal", "invscaling", "adaptive"],
}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return digits_slice(500)


class TellRecorder:
    """A strategy plugin: seeded random search that records what the optimizer is told."""

    plugin_name = "tell_recorder"

    def __init__(self) -> None:
        self.told: list[tuple[dict[str, Any], float | None]] = []

    @hookimpl
    def trainhooks_register_strategies(self) -> dict[str, Any]:
        recorder = self

        class Recording(RandomStrategy):
            def tell(self, params: Mapping[str, Any], score: float | None) -> None:
                recorder.told.append((dict(params), score))
                super().tell(params, score)

        return {"recording": Recording}


def search(digits: Any, table: dict[str, Any] | None, *, n_trials: int = 8, session: Any = None, **kw: Any) -> Any:
    """Run the seeded search; returns (result, recorder, tell recorder)."""
    recorder, teller = EventRecorder(), TellRecorder()
    session = session or make_session(recorder, teller, builtins=("early_stopping",))
    options = {"strategy": "recording", "n_trials": n_trials, "cv": 3, "scoring": "accuracy", "max_epochs": MAX_EPOCHS}
    options.update(kw)
    options.setdefault("random_state", 0)
    X, y = digits
    result = session.tune(
        SGDClassifier(random_state=0),
        SPACE,
        X,
        y,
        plugin_config={"early_stopping": table} if table else None,
        **options,
    )
    return result, recorder, teller


def curves(recorder: EventRecorder) -> dict[int, list[float]]:
    """Each trial's mean CV score per epoch, from the epoch-ended events."""
    out: dict[int, list[float]] = {}
    for event in recorder.of(EpochEnded):
        out.setdefault(event.trial_id, []).append(event.metrics["score"])
    return out


def ended(recorder: EventRecorder) -> dict[int, TrialEnded]:
    return {event.trial_id: event for event in recorder.of(TrialEnded)}


def patience_stop(scores: list[float], patience: int, min_delta: float = 0.0) -> int | None:
    """The epoch the Keras rule stops at: ``patience`` epochs in a row without beating the best by min_delta."""
    best, wait = None, 0
    for epoch, score in enumerate(scores, start=1):
        if best is None or score - min_delta > best:
            best, wait = score, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return None


# -- the plugin is inert until configured ------------------------------------------------------


def test_unconfigured_plugin_leaves_the_search_unchanged(digits: Any) -> None:
    with_plugin, _, _ = search(digits, None, n_trials=3)
    recorder = EventRecorder()
    without, _, _ = search(digits, None, n_trials=3, session=make_session(recorder, TellRecorder()))
    assert with_plugin.trials and [t["mean_test_score"] for t in with_plugin.trials] == [
        t["mean_test_score"] for t in without.trials
    ]
    assert all(t["epochs"] == MAX_EPOCHS and t["stop_reason"] is None for t in with_plugin.trials)
    assert with_plugin.summary["stop_reason"] == "n_trials"


# -- per-trial early stopping ------------------------------------------------------------------


@pytest.mark.parametrize("min_delta", [0.0, 0.01])
def test_patience_and_min_delta_stop_trials_where_the_rule_says(digits: Any, min_delta: float) -> None:
    result, rec, teller = search(digits, {"patience": 2, "min_delta": min_delta})
    for trial_id, scores in curves(rec).items():
        event = ended(rec)[trial_id]
        expected = patience_stop(scores, 2, min_delta)
        assert event.epochs == (expected or MAX_EPOCHS), (trial_id, scores)
        assert event.stop_reason == ("patience" if expected else None)
        assert event.state == "complete" and event.score == scores[-1]  # no restore_best: the last epoch
    assert result.summary["n_pruned"] == 0
    assert sum(t["epochs"] for t in result.trials) < 8 * MAX_EPOCHS
    assert all(score is not None for _, score in teller.told)  # early-stopped trials are real scores


def test_larger_min_delta_stops_sooner(digits: Any) -> None:
    loose, _, _ = search(digits, {"patience": 2})
    strict, _, _ = search(digits, {"patience": 2, "min_delta": 0.05})
    assert sum(t["epochs"] for t in strict.trials) < sum(t["epochs"] for t in loose.trials)


def test_restore_best_reports_and_refits_the_best_epoch(digits: Any) -> None:
    result, rec, _ = search(digits, {"patience": 3, "restore_best": True})
    restored = 0
    for trial_id, scores in curves(rec).items():
        event, row = ended(rec)[trial_id], result.trials[trial_id]
        best_epoch = int(np.argmax(scores)) + 1  # first epoch with the best score
        assert event.score == max(scores)
        assert row["best_epoch"] == best_epoch and row["epochs"] == len(scores)
        restored += best_epoch < len(scores)
    assert restored > 0  # the seeded search has trials whose last epoch was not their best
    fitted = rec.of(ModelFitted)[0]
    assert fitted.epochs == result.trials[result.summary["best_trial_id"]]["best_epoch"]
    assert result.best_score == max(max(c) for c in curves(rec).values())


def test_baseline_stops_trials_that_never_beat_it(digits: Any) -> None:
    result, rec, _ = search(digits, {"patience": 2, "baseline": 0.999})
    reasons = {t["stop_reason"] for t in result.trials}
    assert reasons <= {"baseline", None} and "baseline" in reasons
    for trial_id, scores in curves(rec).items():
        if ended(rec)[trial_id].stop_reason == "baseline":
            assert max(scores) <= 0.999


def test_stopping_threshold_ends_a_trial_once_good_enough(digits: Any) -> None:
    result, rec, _ = search(digits, {"stopping_threshold": 0.85})
    for trial_id, scores in curves(rec).items():
        first_above = next((e for e, s in enumerate(scores, start=1) if s > 0.85), None)
        assert ended(rec)[trial_id].epochs == (first_above or MAX_EPOCHS)
        assert ended(rec)[trial_id].stop_reason == ("stopping_threshold" if first_above else None)
    assert any(t["stop_reason"] == "stopping_threshold" for t in result.trials)


def test_divergence_threshold_ends_a_trial_that_falls_below_it(digits: Any) -> None:
    result, rec, _ = search(digits, {"divergence_threshold": 0.62})
    for trial_id, scores in curves(rec).items():
        first_below = next((e for e, s in enumerate(scores, start=1) if s < 0.62), None)
        assert ended(rec)[trial_id].epochs == (first_below or MAX_EPOCHS)
        assert ended(rec)[trial_id].stop_reason == ("divergence_threshold" if first_below else None)
    assert any(t["stop_reason"] == "divergence_threshold" for t in result.trials)


def test_start_from_epoch_delays_stopping(digits: Any) -> None:
    result, _, _ = search(digits, {"stopping_threshold": 0.0, "start_from_epoch": 4}, n_trials=3)
    assert [t["epochs"] for t in result.trials] == [5, 5, 5]


# -- pruning across trials ---------------------------------------------------------------------


def expected_median_prunes(by_trial: dict[int, list[float]], warmup: int, min_trials: int) -> dict[int, int]:
    """Trial id -> prune epoch, replaying the trials in order against completed ones."""
    complete: list[list[float]] = []
    pruned: dict[int, int] = {}
    for trial_id in sorted(by_trial):
        scores = by_trial[trial_id]
        for epoch, score in enumerate(scores, start=1):
            ref = [c[epoch - 1] for c in complete if len(c) >= epoch]
            if epoch > warmup and len(ref) >= min_trials and score < statistics.median(ref):
                pruned[trial_id] = epoch
                break
        else:
            complete.append(scores)
    return pruned


def test_median_pruner_prunes_the_expected_trials(digits: Any) -> None:
    result, rec, teller = search(digits, {"pruner": "median", "warmup_epochs": 1, "min_trials": 3}, n_trials=10)
    by_trial = curves(rec)
    expected = expected_median_prunes(by_trial, warmup=1, min_trials=3)
    actual = {tid: e.epochs for tid, e in ended(rec).items() if e.state == "pruned"}
    assert expected and actual == expected
    assert all(ended(rec)[tid].stop_reason == "pruned_median" for tid in actual)
    assert result.summary["n_pruned"] == len(expected)
    assert result.best_trial_id if hasattr(result, "best_trial_id") else True
    assert result.summary["best_trial_id"] not in actual
    # pruned trials are told to the optimizer as None, never with their partial score
    told = dict(enumerate(score for _, score in teller.told))
    assert all(told[tid] is None for tid in actual) and all(
        told[tid] is not None for tid in by_trial if tid not in actual
    )


def expected_asha_prunes(
    by_trial: dict[int, list[float]], rf: int, min_epochs: int, min_trials: int, every: int = 1
) -> dict[int, int]:
    """Trial -> epoch it is pruned at, by Optuna's successive-halving rule (trials run one after another).

    Scores are reported every ``every`` epochs (the k-th score is epoch k*every). A report judges
    every rung from the trial's next one up to its epoch, in order, with its score; at rung r the
    trial competes with the trials judged at rung r before it (test_early_stopping_asha.py checks
    this rule against Optuna itself).
    """
    judged: list[list[float]] = []  # per earlier trial, its score at each rung it was judged at
    pruned: dict[int, int] = {}
    for trial_id in sorted(by_trial):
        mine: list[float] = []
        for k, score in enumerate(by_trial[trial_id], start=1):
            epoch = k * every
            while trial_id not in pruned and min_epochs * rf ** len(mine) <= epoch:
                others = [rungs[len(mine)] for rungs in judged if len(rungs) > len(mine)]
                mine.append(score)
                ranked = sorted([*others, score], reverse=True)
                if len(others) >= min_trials and score < ranked[max(1, len(ranked) // rf) - 1]:
                    pruned[trial_id] = epoch
            if trial_id in pruned:
                break
        judged.append(mine)
    return pruned


def test_asha_prunes_the_expected_trials_at_rungs(digits: Any) -> None:
    table = {"pruner": "asha", "reduction_factor": 2, "min_epochs": 2, "min_trials": 2}
    result, rec, teller = search(digits, table, n_trials=10)
    expected = expected_asha_prunes(curves(rec), rf=2, min_epochs=2, min_trials=2)
    actual = {tid: e.epochs for tid, e in ended(rec).items() if e.state == "pruned"}
    assert expected and actual == expected
    assert set(actual.values()) <= {2, 4, 8}  # only at rungs
    assert all(ended(rec)[tid].stop_reason == "pruned_asha" for tid in actual)
    assert result.summary["n_pruned"] == len(expected) and result.summary["n_complete"] == 10 - len(expected)
    assert all(score is None for params, score in teller.told if params in [ended(rec)[t].params for t in actual])


def test_with_eval_every_patience_counts_scored_epochs_and_restores_one(digits: Any) -> None:
    """``search.eval_every = 3``: the plugin sees epochs 3, 6, 9, 12 and decides on those only."""
    result, rec, _ = search(digits, {"patience": 1, "restore_best": True}, eval_every=3)
    check_event_order(rec.events)
    stopped = 0
    for trial_id, scores in curves(rec).items():
        event, row = ended(rec)[trial_id], result.trials[trial_id]
        reported = [e.epoch for e in rec.of(EpochEnded) if e.trial_id == trial_id]
        assert reported == [3 * k for k in range(1, len(scores) + 1)]
        expected = patience_stop(scores, 1)  # in scored epochs, not trained ones
        assert event.epochs == (3 * expected if expected else MAX_EPOCHS)
        assert row["best_epoch"] == 3 * (int(np.argmax(scores)) + 1) and event.score == max(scores)
        stopped += expected is not None
    assert stopped > 0


def test_with_eval_every_asha_decides_each_rung_at_the_next_scored_epoch(digits: Any) -> None:
    table = {"pruner": "asha", "reduction_factor": 2, "min_epochs": 2, "min_trials": 2}
    result, rec, _ = search(digits, table, n_trials=10, eval_every=3)
    expected = expected_asha_prunes(curves(rec), rf=2, min_epochs=2, min_trials=2, every=3)
    pruned = {tid: e.epochs for tid, e in ended(rec).items() if e.state == "pruned"}
    assert expected and pruned == expected
    assert set(pruned.values()) <= {3, 6, 9}  # rungs 2, 4 and 8, each at the next report
    assert result.summary["n_pruned"] == len(pruned)


# -- search-level stopping ---------------------------------------------------------------------


def test_search_patience_ends_the_search_with_its_reason(digits: Any) -> None:
    result, rec, _ = search(digits, {"search_patience": 3}, n_trials=20)
    scores = [t["mean_test_score"] for t in result.trials]
    best_at = int(np.argmax(scores))
    assert len(result.trials) == best_at + 1 + 3 < 20  # three trials after the best, then the end
    stopped = rec.of(SearchStopped)
    assert [(e.reason, e.by) for e in stopped] == [("search_patience", "early_stopping")]
    assert result.summary["stop_reason"] == "search_patience"


def test_target_score_ends_the_search_when_reached(digits: Any) -> None:
    result, rec, _ = search(digits, {"target_score": 0.9}, n_trials=20)
    scores = [t["mean_test_score"] for t in result.trials]
    assert scores[-1] >= 0.9 and all(s < 0.9 for s in scores[:-1])
    assert result.summary["stop_reason"] == "target_score"
    assert rec.of(SearchStopped)[0].by == "early_stopping"


# -- state -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_resumed_search_continues_the_counters(digits: Any) -> None:
    table = {"search_patience": 4}
    full, _, _ = search(digits, table, n_trials=20)
    assert full.summary["stop_reason"] == "search_patience"
    n_full = len(full.trials)

    recorder = EventRecorder()
    first = make_session(recorder, TellRecorder(), builtins=("early_stopping",))
    search(digits, table, n_trials=n_full - 2, session=first)
    state = json.loads(json.dumps(first.get_plugin("early_stopping").state_dict()))
    assert state["search"]["n_trials"] == n_full - 2

    assert state["search"]["wait"] == 2  # two trials since the best; two more without improvement end it

    # the resumed run searches other points (another seed) but counts on from the saved state
    second = make_session(EventRecorder(), TellRecorder(), builtins=("early_stopping",))
    second.get_plugin("early_stopping").load_state_dict(state)
    resumed, _, _ = search(digits, table, n_trials=20, session=second, random_state=1)
    best, wait, expected = state["search"]["best"], state["search"]["wait"], None
    for i, row in enumerate(resumed.trials, start=1):
        best, wait = (row["mean_test_score"], 0) if row["mean_test_score"] > best else (best, wait + 1)
        if wait >= 4:
            expected = i
            break
    assert expected is not None and len(resumed.trials) == expected
    assert resumed.summary["stop_reason"] == "search_patience"


# -- configuration -----------------------------------------------------------------------------


def test_bad_table_refuses_the_run_before_it_starts(digits: Any) -> None:
    recorder = EventRecorder()
    with pytest.raises(ConfigError, match=r"^plugins\.early_stopping\.patience: "):
        search(digits, {"patience": -1}, session=make_session(recorder, TellRecorder(), builtins=("early_stopping",)))
    assert recorder.events == []


@pytest.mark.slow
def test_toml_table_drives_the_cli(run_cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "es.toml"
    table = {"patience": 2, "restore_best": True, "search_patience": 2}
    settings = run_config(
        data={"dataset": "digits", "random_state": 0},
        search={"n_trials": 4, "max_epochs": 10, "space": {"alpha": {"low": 1e-6, "high": 1e-1, "log": True}}},
        plugins={"early_stopping": table},
    )
    write_toml(config, settings)
    blocked = ["--no-plugin", "mlflow", "--no-plugin", "progress", "--no-plugin", "metrics"]
    done = run_cli("tune", str(config), "--json", *blocked)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {t["stop_reason"] for t in out["trials"]} <= {"patience", "max_epochs", None}
    assert any(t["epochs"] < 10 for t in out["trials"])
    assert out["summary"]["stop_reason"] in {"search_patience", "n_trials"}

    write_toml(config, run_config(settings, plugins={"early_stopping": {**table, "patience": "two"}}))
    bad = run_cli("tune", str(config), *blocked)
    assert bad.returncode == 2
    assert "plugins.early_stopping.patience" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1

    misspelt = {"patiance" if key == "patience" else key: value for key, value in table.items()}
    write_toml(config, run_config(settings, plugins={"early_stopping": misspelt}))
    near_miss = run_cli("tune", str(config), *blocked)
    assert near_miss.returncode == 2
    assert near_miss.stderr.strip() == "error: plugins.early_stopping.patiance: unknown key (did you mean 'patience'?)"


# -- interleaved trials (process executor) -----------------------------------------------------


def test_median_pruning_with_interleaved_trials_on_two_processes(digits: Any) -> None:
    """Two trials run at once; each epoch is judged against the trials complete at that moment."""
    table = {"pruner": "median", "warmup_epochs": 1, "min_trials": 2, "patience": 3}
    result, rec, _ = search(digits, table, n_trials=8, executor="process", n_jobs=2)
    events = sorted(rec.of(EpochEnded) + rec.of(TrialEnded), key=lambda e: e.seq)
    spans: dict[int, tuple[int, int]] = {}  # trial -> seq of its first and last epoch-ended
    for e in rec.of(EpochEnded):
        first, _ = spans.get(e.trial_id, (e.seq, e.seq))
        spans[e.trial_id] = (first, e.seq)
    ordered = sorted(spans.values())
    # the epochs of two trials interleave somewhere (not only in the first epochs: a loaded machine
    # can start the second worker late)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ordered))
    complete: dict[int, list[float]] = {}
    running: dict[int, list[float]] = {}
    expected: dict[int, tuple[int, str]] = {}
    for event in events:
        if isinstance(event, TrialEnded):
            scores = running.pop(event.trial_id)
            if event.state == "complete":
                complete[event.trial_id] = scores
            continue
        scores = running.setdefault(event.trial_id, [])
        scores.append(event.metrics["score"])
        if event.trial_id in expected:
            continue
        ref = [c[event.epoch - 1] for c in complete.values() if len(c) >= event.epoch]
        stop = patience_stop(scores, 3)
        if stop == event.epoch:
            expected[event.trial_id] = (event.epoch, "patience")
        elif event.epoch > 1 and len(ref) >= 2 and scores[-1] < statistics.median(ref):
            expected[event.trial_id] = (event.epoch, "pruned_median")
    actual = {tid: (e.epochs, e.stop_reason) for tid, e in ended(rec).items() if e.stop_reason}
    assert actual == expected
    assert any(reason == "pruned_median" for _, reason in expected.values())
    assert result.summary["n_pruned"] == sum(reason == "pruned_median" for _, reason in expected.values())


# -- loading and train runs --------------------------------------------------------------------


def test_loaded_by_default_as_a_builtin_with_its_hooks() -> None:
    from trainhooks import Session

    info = next(i for i in Session(autoload=False).plugin_report if i.name == "early_stopping")
    assert (info.source, info.status) == ("builtin", "active")
    assert {"trainhooks_should_stop_trial", "trainhooks_should_stop_search", "trainhooks_configure"} <= set(info.hooks)


def test_train_run_stops_early_and_refits_the_best_epoch(digits: Any) -> None:
    recorder = EventRecorder()
    session = make_session(recorder, builtins=("early_stopping",))
    X, y = digits
    model = SGDClassifier(random_state=0, learning_rate="adaptive", eta0=0.5)
    table = {"patience": 2, "restore_best": True}
    result = session.train(model, X, y, cv=3, max_epochs=30, plugin_config={"early_stopping": table})
    scores = [e.metrics["score"] for e in recorder.of(EpochEnded)]
    row = result.trials[0]
    assert row["stop_reason"] == "patience" and row["epochs"] == len(scores) < 30
    assert row["best_epoch"] == int(np.argmax(scores)) + 1 and result.best_score == max(scores)
    assert recorder.of(ModelFitted)[0].epochs == row["best_epoch"]


class PeaksAtTwoEstimators(ClassifierMixin, BaseEstimator):
    """A warm-start classifier whose accuracy is best after 2 of its 4 estimators: a nearest-centroid
    rule with 2 fitted estimators, the majority class otherwise (so the last epoch is not the best)."""

    def __init__(self, n_estimators: int = 4, warm_start: bool = False) -> None:
        self.n_estimators = n_estimators
        self.warm_start = warm_start

    def fit(self, X: Any, y: Any) -> PeaksAtTwoEstimators:
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        self.centroids_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        self.fitted_estimators_ = self.n_estimators
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.fitted_estimators_ == 2:
            distances = ((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
            return self.classes_[np.argmin(distances, axis=1)]
        return np.full(len(X), self.majority_)


def test_restore_best_on_a_warm_start_estimator_with_fewer_estimators_than_max_epochs(digits: Any) -> None:
    """n_estimators = 4 with max_epochs = 10: the trial's last epoch is 4, not 10. The core says so
    (``is_last``), so restore_best reports epoch 2, the best, and the refit trains 2 estimators
    (regression: the plugin used to wait for epoch == max_epochs and reported epoch 4)."""
    recorder = EventRecorder()
    session = make_session(recorder, builtins=("early_stopping",))
    X, y = digits
    result = session.train(
        PeaksAtTwoEstimators(), X, y, cv=3, max_epochs=10, plugin_config={"early_stopping": {"restore_best": True}}
    )
    epochs = recorder.of(EpochEnded)
    assert [(e.epoch, e.planned_epochs, e.is_last) for e in epochs] == [
        (1, 4, False),
        (2, 4, False),
        (3, 4, False),
        (4, 4, True),
    ]
    scores = [e.metrics["score"] for e in epochs]
    assert scores[1] > max(scores[0], scores[2], scores[3])
    row = result.trials[0]
    assert (row["epochs"], row["best_epoch"], row["stop_reason"]) == (4, 2, "max_epochs")
    assert result.best_score == scores[1]
    assert recorder.of(ModelFitted)[0].epochs == 2
    assert result.best_estimator.fitted_estimators_ == 2
