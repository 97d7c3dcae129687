"""ASHA decides exactly as Optuna's ``SuccessiveHalvingPruner`` on the same curves.

Settings map one to one: ``min_epochs`` is Optuna's ``min_resource`` (with
``min_early_stopping_rate = 0``), ``reduction_factor`` is the same, and ``min_trials = 1`` is
Optuna's default ``bootstrap_count = 0`` (a trial alone at a rung goes on either way). The
plugin is driven through its real hooks with hand-made events (``early_stopping_driver``); the
cross-check replays the same events through a real Optuna study when Optuna is installed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import pytest
from early_stopping_driver import Driver

from trainhooks.plugins.early_stopping import ASHAPruner, EarlyStoppingPlugin, Histories, StopReason, parse_settings


def asha(**table: Any) -> dict[str, Any]:
    return {"pruner": "asha", **table}


# -- the issue's example ------------------------------------------------------------------------


def test_one_scored_epoch_that_crosses_two_rungs_is_judged_at_both() -> None:
    """Issue 14: final scores 30, 10, 20, 25 (/64), ``eval_every = 3``, ``max_epochs = 3``.

    Rungs are at epochs 1 and 2; every trial reports only epoch 3, which crosses both. At rung 1
    trial 3 (25) is second of four and goes on (4 // 2 = 2 kept); at rung 2 it competes only with
    trial 0, the one trial that survived rung 1, and loses. Optuna prunes it there; trainhooks
    used to compare all four values once and complete it.
    """
    driver = Driver(asha(reduction_factor=2, min_epochs=1, min_trials=1), max_epochs=3)
    outcomes = [driver.trial(trial_id, [score / 64], epochs=[3]) for trial_id, score in enumerate([30, 10, 20, 25])]
    assert [(state, epochs) for state, epochs, _ in outcomes] == [
        ("complete", 3),
        ("pruned", 3),
        ("pruned", 3),
        ("pruned", 3),
    ]
    assert outcomes[3][2].reason == StopReason.PRUNED_ASHA
    # trial 3 was judged at both rungs with its epoch-3 value; trials 1 and 2 only at the first
    assert [t.rungs for t in driver.plugin._histories["epoch"].finished] == [
        [30 / 64] * 2,
        [10 / 64],
        [20 / 64],
        [25 / 64] * 2,
    ]


# -- rung by rung -------------------------------------------------------------------------------


def test_rungs_are_at_min_epochs_times_powers_of_the_reduction_factor() -> None:
    two = ASHAPruner(parse_settings(asha(reduction_factor=2, min_epochs=1)))
    three = ASHAPruner(parse_settings(asha(reduction_factor=3, min_epochs=2)))
    assert [two.rung_epoch(k) for k in range(5)] == [1, 2, 4, 8, 16]
    assert [three.rung_epoch(k) for k in range(3)] == [2, 6, 18]


def test_a_rung_keeps_the_best_fraction_of_the_trials_judged_there() -> None:
    driver = Driver(asha(reduction_factor=2, min_trials=2))
    assert driver.trial(0, [0.4, 0.5, 0.6, 0.7])[:2] == ("complete", 4)
    assert driver.trial(1, [0.1, 0.2, 0.3, 0.4])[:2] == ("complete", 4)  # one other at rung 1: too few
    # epoch 1: 0.4, 0.1 and its 0.3 -> 3 // 2 = 1 kept: 0.4
    assert driver.trial(2, [0.3, 0.9, 0.9])[:2] == ("pruned", 1)
    # epoch 1: 0.4, 0.1, 0.3 and its 0.4 -> 2 kept, a tie with the cut-off goes on; epoch 2: 0.5, 0.2
    # and its 0.55 -> 1 kept; epoch 3 is no rung, so its 0.0 decides nothing
    assert driver.trial(3, [0.4, 0.55, 0.0])[:2] == ("complete", 3)
    assert driver.trial(4, [0.4, 0.3])[:2] == ("pruned", 2)  # epoch 2: 0.5, 0.2, 0.55 and its 0.3 -> 2 kept


def test_each_rung_is_decided_at_the_first_scored_epoch_at_or_past_it() -> None:
    """``eval_every = 5``: scores at 5, 10, 15, 20; rungs 1 and 3 (factor 3) fall in the first, 9 in the second."""
    driver = Driver(asha(reduction_factor=3, min_epochs=1, min_trials=1), max_epochs=20)
    every_5 = [5, 10, 15, 20]
    assert driver.trial(0, [0.9, 0.95, 0.96, 0.97], epochs=every_5)[:2] == ("complete", 20)
    assert driver.trial(1, [0.5, 0.99, 0.99, 0.99], epochs=every_5)[:2] == ("pruned", 5)
    assert driver.trial(2, [0.95, 0.5, 0.99, 0.99], epochs=every_5)[:2] == ("pruned", 10)  # rung 9, at epoch 10
    assert driver.trial(3, [0.95, 0.96, 0.1, 0.1], epochs=every_5)[:2] == ("complete", 20)  # no rung in 11..20
    rungs = {t.trial_id: t.rungs for t in driver.plugin._histories["epoch"].finished}
    assert rungs == {0: [0.9, 0.9, 0.95], 1: [0.5], 2: [0.95, 0.95, 0.5], 3: [0.95, 0.95, 0.96]}


def test_trials_with_different_scored_epochs_compete_by_rung() -> None:
    """A trial whose last epoch is off the ``eval_every`` grid (a smaller budget) is judged with that epoch.

    ``eval_every = 3``, rungs at 2 and 4: trial 0 reports 3 and 6, trial 1 (a 4-epoch budget)
    reports 3 and 4, trial 2 (2 epochs) only 2. Their rung values were scored at different
    epochs, as in Optuna, where a rung holds the value of the first report at or past it.
    """
    driver = Driver(asha(reduction_factor=2, min_epochs=2, min_trials=1), max_epochs=6)
    assert driver.trial(0, [0.6, 0.8], epochs=[3, 6])[:2] == ("complete", 6)
    assert driver.trial(1, [0.7, 0.75], epochs=[3, 4])[:2] == ("pruned", 4)  # rung 4: 0.75 against 0.8
    assert driver.trial(2, [0.65], epochs=[2])[:2] == ("pruned", 2)  # rung 2: 0.6, 0.7 and its 0.65 -> 1 kept
    rungs = {t.trial_id: t.rungs for t in driver.plugin._histories["epoch"].finished}
    assert rungs == {0: [0.6, 0.8], 1: [0.7, 0.75], 2: [0.65]}


def test_running_failed_and_pruned_trials_compete_but_the_trial_never_with_itself() -> None:
    """As in Optuna, every trial that was judged at a rung is a competitor there, whatever its state now."""
    driver = Driver(asha(reduction_factor=2, min_trials=2))
    driver.start(0)
    assert driver.epoch(0, 1, 0.8) is None  # alone at rung 1
    driver.start(1)
    assert driver.epoch(1, 1, 0.2) is None  # one other: too few
    driver.end(1, "failed", None, 1)
    driver.start(2)
    assert driver.epoch(2, 1, 0.3).reason == "pruned_asha"  # 0.8 (running), 0.2 (failed) and its 0.3
    driver.end(2, "pruned", None, 1)
    driver.start(3)
    assert driver.epoch(3, 1, 0.3) is None  # 0.8, 0.2, 0.3 (pruned) and its 0.3: 2 kept, a tie goes on
    assert driver.epoch(0, 2, 0.9) is None  # rung 2: trial 0 alone so far


def test_a_trial_early_stopping_ends_at_a_rung_is_still_judged_there() -> None:
    """Patience stops trial 0 at epoch 4 (a rung): it got that far, so later trials compete with it there."""
    driver = Driver(asha(reduction_factor=2, min_trials=1, patience=3))
    state, epochs, decision = driver.trial(0, [0.9, 0.8, 0.7, 0.6])
    assert (state, epochs, decision.reason) == ("complete", 4, "patience")
    assert driver.plugin._histories["epoch"].finished[0].rungs == [0.9, 0.8, 0.6]
    assert driver.trial(1, [0.95, 0.96, 0.97, 0.5])[:2] == ("pruned", 4)  # rung 4: 0.6 and its 0.5


def test_non_finite_values_are_left_to_check_finite_and_never_judged() -> None:
    driver = Driver(asha(reduction_factor=2, min_trials=1, check_finite=False))
    driver.trial(0, [0.5, 0.6])
    driver.start(1)
    assert driver.epoch(1, 1, float("nan")) is None
    assert driver.plugin._histories["epoch"].rungs_done(1) == 0


def test_rung_records_survive_state_dict_and_a_version_1_state_is_refused() -> None:
    table = asha(reduction_factor=2, min_trials=1)
    first = Driver(table, max_epochs=3)
    first.trial(0, [30 / 64], epochs=[3])
    state = json.loads(json.dumps(first.plugin.state_dict()))
    assert state["version"] == 2 and state["finished"][0]["rungs"] == [30 / 64, 30 / 64]

    plugin = EarlyStoppingPlugin()
    plugin.load_state_dict(state)
    resumed = Driver(table, plugin=plugin, max_epochs=3)
    assert resumed.trial(1, [10 / 64], epochs=[3])[:2] == ("pruned", 3)  # against the restored rung 1
    with pytest.raises(ValueError, match="not an early_stopping state"):
        plugin.load_state_dict({**state, "version": 1})


def test_the_pruner_records_each_rung_once() -> None:
    """Asking again at an epoch already judged changes nothing (rungs are per trial, not per call)."""
    pruner = ASHAPruner(parse_settings(asha(reduction_factor=2, min_trials=1)))
    histories = Histories()
    assert pruner.should_prune(histories, 0, 3, 0.5) is None
    assert pruner.should_prune(histories, 0, 3, 0.5) is None
    assert histories.running_rungs == {0: [0.5, 0.5]}


# -- cross-check with Optuna --------------------------------------------------------------------


@dataclass
class Scenario:
    """Trials with the epochs they report, their values, and whether they fail after their last report."""

    reports: dict[int, list[tuple[int, float]]]
    fails: set[int]
    order: list[int]  # one entry per step: the trial that reports (or ends) next


def make_scenario(seed: int, n_trials: int = 14, max_epochs: int = 12) -> Scenario:
    """Random curves on a coarse grid (ties happen), ``eval_every`` 1-3, some shorter budgets, interleaved."""
    rng = random.Random(seed)
    every = rng.choice([1, 2, 3])
    reports, fails = {}, set()
    for trial_id in range(n_trials):
        budget = max_epochs if rng.random() < 0.7 else rng.randint(1, max_epochs)
        epochs = sorted({*range(every, budget + 1, every), budget})  # the last epoch is always scored
        level = rng.randint(10, 50)
        reports[trial_id] = [(e, (level + rng.randint(-4, 8) * i) / 64) for i, e in enumerate(epochs)]
        if rng.random() < 0.15:
            fails.add(trial_id)
    # up to three trials run at once, each stepping in turn at random
    order, pending, running = [], list(range(n_trials)), []
    remaining = {t: len(r) + 1 for t, r in reports.items()}  # reports, then the end
    while pending or running:
        while pending and len(running) < 3:
            running.append(pending.pop(0))
        trial_id = rng.choice(running)
        order.append(trial_id)
        remaining[trial_id] -= 1
        if remaining[trial_id] == 0:
            running.remove(trial_id)
    return Scenario(reports, fails, order)


def replay_trainhooks(s: Scenario, table: dict[str, Any]) -> dict[int, int]:
    """Trial -> epoch it was pruned at, replaying the scenario through the plugin's hooks."""
    driver = Driver(table, max_epochs=max(e for r in s.reports.values() for e, _ in r))
    step = dict.fromkeys(s.reports, 0)
    pruned: dict[int, int] = {}
    for trial_id in s.order:
        if trial_id in pruned:
            continue
        if step[trial_id] == 0:
            driver.start(trial_id)
        if step[trial_id] == len(s.reports[trial_id]):
            last_epoch, last = s.reports[trial_id][-1]
            failed = trial_id in s.fails
            driver.end(trial_id, "failed" if failed else "complete", None if failed else last, last_epoch)
            continue
        epoch, value = s.reports[trial_id][step[trial_id]]
        step[trial_id] += 1
        decision = driver.epoch(trial_id, epoch, value)
        if decision is not None and decision.prune:
            pruned[trial_id] = epoch
            driver.end(trial_id, "pruned", None, epoch)
    return pruned


def replay_optuna(s: Scenario, direction: str, min_resource: int, reduction_factor: int) -> dict[int, int]:
    """Trial -> epoch it was pruned at, replaying the same scenario through a real Optuna study."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    pruner = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=min_resource, reduction_factor=reduction_factor, min_early_stopping_rate=0, bootstrap_count=0
    )
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize", pruner=pruner)
    trials: dict[int, Any] = {}
    step = dict.fromkeys(s.reports, 0)
    pruned: dict[int, int] = {}
    for trial_id in s.order:
        if trial_id in pruned:
            continue
        if step[trial_id] == 0 and trial_id not in trials:
            trials[trial_id] = study.ask()
        trial = trials[trial_id]
        if step[trial_id] == len(s.reports[trial_id]):
            failed = trial_id in s.fails
            state = optuna.trial.TrialState.FAIL if failed else optuna.trial.TrialState.COMPLETE
            study.tell(trial, None if failed else s.reports[trial_id][-1][1], state=state)
            continue
        epoch, value = s.reports[trial_id][step[trial_id]]
        step[trial_id] += 1
        trial.report(value, epoch)
        if trial.should_prune():
            pruned[trial_id] = epoch
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return pruned


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("direction", "min_epochs", "reduction_factor"), [("max", 1, 2), ("max", 2, 3), ("min", 1, 3)])
def test_prunes_the_same_trials_at_the_same_epochs_as_optuna(
    seed: int, direction: str, min_epochs: int, reduction_factor: int
) -> None:
    pytest.importorskip("optuna", reason="optuna is not installed: the cross-check needs its SuccessiveHalvingPruner")
    scenario = make_scenario(seed)
    table = asha(mode=direction, min_epochs=min_epochs, reduction_factor=reduction_factor, min_trials=1)
    ours = replay_trainhooks(scenario, table)
    assert ours == replay_optuna(scenario, direction, min_epochs, reduction_factor)


def test_the_issue_example_against_optuna() -> None:
    pytest.importorskip("optuna", reason="optuna is not installed: the cross-check needs its SuccessiveHalvingPruner")
    scenario = Scenario({t: [(3, v / 64)] for t, v in enumerate([30, 10, 20, 25])}, set(), [0, 0, 1, 1, 2, 2, 3, 3])
    expected = {1: 3, 2: 3, 3: 3}
    assert replay_optuna(scenario, "max", 1, 2) == expected
    assert replay_trainhooks(scenario, asha(reduction_factor=2, min_epochs=1, min_trials=1)) == expected
