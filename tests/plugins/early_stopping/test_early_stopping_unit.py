"""early_stopping on deterministic metric sequences: each parameter's effect, the median pruner, state.

The plugin is driven through its real hooks with hand-made ``epoch-ended`` / ``trial-ended``
events, so every expectation can be worked out by hand from the sequence.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from early_stopping_driver import Driver

from trainhooks import ConfigError
from trainhooks.hooks import SettingsError
from trainhooks.plugins.early_stopping import (
    EarlyStoppingPlugin,
    Histories,
    MedianPruner,
    StopReason,
    TrialMonitor,
    parse_settings,
)


def stop_epoch(sequence: list[float], **table: Any) -> tuple[int | None, StopReason | None]:
    """Feed ``sequence`` (epochs 1..n) to a TrialMonitor; the epoch and reason it stops at."""
    monitor = TrialMonitor(parse_settings(table))
    for epoch, value in enumerate(sequence, start=1):
        reason = monitor.update(epoch, value)
        if reason is not None:
            return epoch, reason
    return None, None


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"patience": 0}, "plugins.early_stopping.patience: Input should be greater than or equal to 1"),
        ({"patience": "3"}, "plugins.early_stopping.patience: Input should be a valid integer"),
        ({"patiance": 3}, "plugins.early_stopping.patiance: unknown key (did you mean 'patience'?)"),
        ({"patience": True}, "plugins.early_stopping.patience: Input should be a valid integer (got True)"),
        ({"mode": "up"}, "plugins.early_stopping.mode: Input should be 'min' or 'max'"),
        ({"pruner": "hyperband"}, "plugins.early_stopping.pruner: Input should be 'median' or 'asha'"),
        ({"monitor": "loss"}, "plugins.early_stopping.mode: required for monitor 'loss'"),
        ({"baseline": 0.9}, "plugins.early_stopping.baseline: needs patience"),
        ({"target_score": float("nan")}, "plugins.early_stopping.target_score: Input should be a finite number"),
        ({"min_delta": float("inf")}, "plugins.early_stopping.min_delta: Input should be a finite number"),
        (
            {"reduction_factor": 1},
            "plugins.early_stopping.reduction_factor: Input should be greater than or equal to 2",
        ),
        (
            {"stopping_threshold": 0.5, "divergence_threshold": 0.9},
            "plugins.early_stopping.stopping_threshold: must be above divergence_threshold",
        ),
    ],
)
def test_bad_settings_are_one_line_settings_errors_naming_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(table)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_default_mode_follows_the_metric_direction() -> None:
    assert parse_settings({}).direction == "max"  # sklearn scores are greater-is-better
    assert parse_settings({"monitor": "score_std"}).direction == "min"
    assert parse_settings({"monitor": "loss", "mode": "min"}).direction == "min"
    assert parse_settings({"mode": "min"}).direction == "min"


# -- per-trial early stopping -----------------------------------------------------------------


def test_patience_counts_epochs_without_improvement() -> None:
    seq = [0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.7, 0.7]
    assert stop_epoch(seq, patience=2) == (4, StopReason.PATIENCE)  # epochs 3, 4 did not improve
    assert stop_epoch(seq, patience=3) == (8, StopReason.PATIENCE)  # the 0.7 at epoch 5 reset the count
    assert stop_epoch(seq, patience=4) == (None, None)
    assert stop_epoch(seq) == (None, None)  # no patience: never stops on stagnation


def test_min_delta_requires_improvements_larger_than_it() -> None:
    seq = [0.50, 0.505, 0.51, 0.515, 0.52]
    assert stop_epoch(seq, patience=2) == (None, None)
    # steps of 0.005 are not improvements with min_delta=0.01; the best stays at 0.50
    assert stop_epoch(seq, patience=2, min_delta=0.01) == (3, StopReason.PATIENCE)


def test_mode_min_treats_decreasing_values_as_improvement() -> None:
    seq = [1.0, 0.8, 0.9, 0.95]
    assert stop_epoch(seq, patience=2, monitor="loss", mode="min") == (4, StopReason.PATIENCE)
    assert stop_epoch(seq, patience=2) == (3, StopReason.PATIENCE)  # as max, 0.8 is already worse


def test_baseline_must_be_beaten_within_patience() -> None:
    climbing_below = [0.5, 0.6, 0.7, 0.7, 0.7]
    assert stop_epoch(climbing_below, patience=2, baseline=0.8) == (4, StopReason.BASELINE)
    assert stop_epoch(climbing_below, patience=2, baseline=0.6) == (5, StopReason.PATIENCE)  # beat it at epoch 3
    assert stop_epoch(climbing_below, patience=2) == (5, StopReason.PATIENCE)


def test_stopping_threshold_stops_as_soon_as_it_is_passed() -> None:
    assert stop_epoch([0.5, 0.8, 0.91, 0.95], stopping_threshold=0.9) == (3, StopReason.STOPPING_THRESHOLD)
    assert stop_epoch([0.5, 0.9, 0.9], stopping_threshold=0.9) == (None, None)  # must be strictly better


def test_divergence_threshold_stops_as_soon_as_it_is_crossed() -> None:
    assert stop_epoch([0.8, 0.7, 0.3, 0.9], divergence_threshold=0.4) == (3, StopReason.DIVERGENCE_THRESHOLD)
    loss = [1.0, 2.0, 12.0]
    assert stop_epoch(loss, monitor="loss", mode="min", divergence_threshold=10.0) == (
        3,
        StopReason.DIVERGENCE_THRESHOLD,
    )


def test_non_finite_values_stop_unless_check_finite_is_off() -> None:
    assert stop_epoch([0.5, math.nan, 0.6], check_finite=True) == (2, StopReason.NON_FINITE)
    assert stop_epoch([0.5, math.inf], patience=5) == (2, StopReason.NON_FINITE)
    # without check_finite a NaN epoch is an epoch without improvement, as in Keras (it used to be
    # skipped, which stopped this sequence at epoch 4 instead)
    assert stop_epoch([0.5, math.nan, 0.6, 0.6], check_finite=False, patience=1) == (2, StopReason.PATIENCE)
    assert stop_epoch([0.5, math.nan, 0.5], check_finite=False, patience=2) == (3, StopReason.PATIENCE)


def test_start_from_epoch_ignores_the_first_epochs() -> None:
    seq = [0.9, 0.5, 0.5, 0.6, 0.6, 0.6]
    assert stop_epoch(seq, patience=2) == (3, StopReason.PATIENCE)  # nothing beat the 0.9 of epoch 1
    assert stop_epoch(seq, patience=2, start_from_epoch=2) == (6, StopReason.PATIENCE)  # best is epoch 4's 0.6
    assert stop_epoch([0.1, 0.1, 0.95], stopping_threshold=0.0, start_from_epoch=2) == (
        3,
        StopReason.STOPPING_THRESHOLD,
    )


# -- the plugin's decisions -------------------------------------------------------------------


def test_without_a_table_the_plugin_decides_nothing() -> None:
    driver = Driver(None)
    assert driver.trial(0, [0.5, 0.4, 0.3, math.nan]) == ("complete", 4, None)
    assert driver.plugin.state_dict()["finished"] == []


def test_restore_best_reports_the_best_epoch() -> None:
    driver = Driver({"patience": 2, "restore_best": True})
    state, epochs, decision = driver.trial(0, [0.5, 0.8, 0.7, 0.75, 0.9])
    assert (state, epochs, decision.reason, decision.use_epoch, decision.prune) == ("complete", 4, "patience", 2, False)
    # without restore_best the last epoch's score is kept
    assert Driver({"patience": 2}).trial(0, [0.5, 0.8, 0.7, 0.75])[2].use_epoch is None


def test_restore_best_applies_to_a_trial_that_ran_its_whole_budget() -> None:
    driver = Driver({"restore_best": True}, max_epochs=4)
    state, epochs, decision = driver.trial(0, [0.5, 0.8, 0.7, 0.6])
    assert (state, epochs, decision.reason, decision.use_epoch) == ("complete", 4, "max_epochs", 2)
    # best at the last epoch: nothing to restore, no decision
    assert Driver({"restore_best": True}, max_epochs=3).trial(0, [0.5, 0.6, 0.7]) == ("complete", 3, None)


def test_non_finite_score_is_pruned_or_restored_never_reported() -> None:
    state, _, decision = Driver({"patience": 3}).trial(0, [0.5, math.nan])
    assert (state, decision.reason, decision.use_epoch) == ("pruned", "non_finite", None)
    state, _, decision = Driver({"patience": 3, "restore_best": True}).trial(0, [0.5, 0.7, math.inf])
    assert (state, decision.reason, decision.use_epoch) == ("complete", "non_finite", 2)
    state, _, decision = Driver({"restore_best": True}).trial(0, [math.nan])
    assert (state, decision.reason) == ("pruned", "non_finite")  # no finite epoch to restore


def test_a_decision_is_repeated_until_the_trial_ends() -> None:
    """A parallel executor applies a decision one epoch late; the answer must still be there."""
    driver = Driver({"patience": 1})
    driver.start(0)
    assert driver.epoch(0, 1, 0.5) is None
    first = driver.epoch(0, 2, 0.4)
    assert first is not None and first.reason == "patience"
    assert driver.epoch(0, 3, 0.99) == first
    driver.end(0, "complete", 0.4, 3)
    driver.start(1)
    assert driver.epoch(1, 1, 0.5) is None  # a fresh trial starts with a fresh monitor


def test_interleaved_trials_keep_separate_counters() -> None:
    driver = Driver({"patience": 2})
    driver.start(0)
    driver.start(1)
    for epoch, (a, b) in enumerate([(0.5, 0.5), (0.4, 0.6), (0.4, 0.7)], start=1):
        da, db = driver.epoch(0, epoch, a), driver.epoch(1, epoch, b)
    assert da is not None and da.reason == "patience"
    assert db is None


def test_missing_monitor_leaves_one_note_and_stops_nothing() -> None:
    driver = Driver({"monitor": "val_loss", "mode": "min", "patience": 1})
    assert driver.trial(0, [0.5, 0.4, 0.3]) == ("complete", 3, None)
    assert driver.trial(1, [0.5, 0.4]) == ("complete", 2, None)
    assert len(driver.run.notes) == 1 and "'val_loss'" in driver.run.notes[0] and "score" in driver.run.notes[0]


def test_other_metric_can_be_monitored() -> None:
    driver = Driver({"monitor": "score_std", "divergence_threshold": 0.2})
    driver.start(0)
    assert driver.epoch(0, 1, 0.9, score_std=0.1) is None
    assert driver.epoch(0, 2, 0.9, score_std=0.3).reason == "divergence_threshold"


# -- pruning ----------------------------------------------------------------------------------


def histories(*trials: tuple[str, list[float]]) -> Histories:
    h = Histories()
    for trial_id, (state, values) in enumerate(trials):
        for epoch, value in enumerate(values, start=1):
            h.record(trial_id, epoch, value)
        h.finish(trial_id, state)
    return h


def test_median_pruner_compares_with_completed_trials_at_the_same_epoch() -> None:
    pruner = MedianPruner(parse_settings({"pruner": "median", "min_trials": 3}))
    h = histories(("complete", [0.5, 0.6]), ("complete", [0.6, 0.7]), ("complete", [0.7, 0.8]), ("pruned", [0.1, 0.1]))
    assert pruner.should_prune(h, 9, 1, 0.59) == StopReason.PRUNED_MEDIAN  # median at epoch 1 is 0.6
    assert pruner.should_prune(h, 9, 1, 0.6) is None  # equal is not worse
    assert pruner.should_prune(h, 9, 2, 0.69) == StopReason.PRUNED_MEDIAN
    assert pruner.should_prune(h, 9, 3, 0.0) is None  # no trial reached epoch 3: nothing to compare


def test_median_pruner_waits_for_warmup_and_min_trials() -> None:
    h = histories(("complete", [0.5, 0.6]), ("complete", [0.6, 0.7]))
    assert MedianPruner(parse_settings({"pruner": "median", "min_trials": 3})).should_prune(h, 9, 1, 0.0) is None
    warm = MedianPruner(parse_settings({"pruner": "median", "min_trials": 2, "warmup_epochs": 1}))
    assert warm.should_prune(h, 9, 1, 0.0) is None
    assert warm.should_prune(h, 9, 2, 0.0) == StopReason.PRUNED_MEDIAN


def test_median_pruning_through_the_plugin_marks_trials_pruned() -> None:
    driver = Driver({"pruner": "median", "min_trials": 2, "warmup_epochs": 1})
    assert driver.trial(0, [0.5, 0.6, 0.7])[:2] == ("complete", 3)
    assert driver.trial(1, [0.6, 0.7, 0.8])[:2] == ("complete", 3)
    state, epochs, decision = driver.trial(2, [0.1, 0.2, 0.9])  # epoch 1 is warmup; at 2, 0.2 < 0.65
    assert (state, epochs, decision.reason, decision.prune) == ("pruned", 2, "pruned_median", True)
    assert driver.trial(3, [0.1, 0.66, 0.75])[:2] == ("complete", 3)  # pruned trial 2 is not in the median


# -- search-level stopping --------------------------------------------------------------------


def test_search_patience_counts_trials_without_improvement() -> None:
    driver = Driver({"search_patience": 3, "search_min_delta": 0.01})
    answers = [
        driver.end(0, "complete", 0.80, 1),
        driver.end(1, "complete", 0.805, 1),  # +0.005 < min_delta: no improvement (1)
        driver.end(2, "complete", 0.82, 1),  # improvement: reset
        driver.end(3, "pruned", 0.99, 1),  # (1) a pruned score never counts as an improvement
        driver.end(4, "failed", None, 1),  # (2)
        driver.end(5, "complete", 0.70, 1),  # (3): stop
    ]
    assert [a.reason if a else None for a in answers] == [None] * 5 + ["search_patience"]


def test_target_score_stops_the_search_once_reached() -> None:
    driver = Driver({"target_score": 0.9})
    assert driver.end(0, "complete", 0.85, 1) is None
    assert driver.end(1, "pruned", 0.95, 1) is None
    assert driver.end(2, "complete", 0.9, 1).reason == "target_score"


# -- state ------------------------------------------------------------------------------------


def test_state_round_trips_through_json_and_continues_the_counters() -> None:
    table = {"pruner": "median", "min_trials": 2, "search_patience": 3}
    first = Driver(table)
    first.trial(0, [0.5, 0.6])
    first.trial(1, [0.7, 0.8])
    first.trial(2, [0.6, 0.6])  # no improvement (1)
    state = json.loads(json.dumps(first.plugin.state_dict()))
    assert state["search"] == {"best": 0.8, "wait": 1, "n_trials": 3}

    resumed_plugin = EarlyStoppingPlugin()
    resumed_plugin.load_state_dict(state)
    resumed = Driver(table, plugin=resumed_plugin)
    assert resumed.plugin.state_dict() == state
    # the restored trials still feed the median (0.6 at epoch 1), and the counter goes on: 2, then 3
    state3, epochs, _ = resumed.trial(0, [0.55, 0.9])
    assert (state3, epochs) == ("pruned", 1)
    assert resumed.end(1, "complete", 0.79, 2).reason == "search_patience"

    # a fresh run of the same plugin starts clean again
    again = Driver(table, plugin=resumed_plugin)
    assert again.plugin.state_dict()["search"] == {"best": None, "wait": 0, "n_trials": 0}


def test_loading_a_state_of_another_monitor_is_refused() -> None:
    plugin = EarlyStoppingPlugin()
    plugin.load_state_dict(Driver({"patience": 2}).plugin.state_dict())
    with pytest.raises(
        ConfigError, match=r"plugins.early_stopping.mode: the loaded state was recorded with mode 'max'"
    ):
        Driver({"patience": 2, "mode": "min"}, plugin=plugin)
    with pytest.raises(ValueError, match="not an early_stopping state"):
        plugin.load_state_dict({"state_key": "mlflow", "version": 1})
