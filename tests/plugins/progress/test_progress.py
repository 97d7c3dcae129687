"""The progress display: counts, best so far, rate and an ETA people can plan by, with trial ids.

The ETA is checked against a fake clock (the plugin takes its clock as an argument); the lines are
checked from real searches.
"""

from __future__ import annotations

import io
import re

import pytest
from builders import breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.tree import DecisionTreeClassifier

import trainhooks
from trainhooks.hooks import EpochEnded, RunStarted, StopDecision, TrialEnded, TrialStarted
from trainhooks.plugins.progress import Forecast, ProgressPlugin, format_duration

SPACE = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}}
QUIET = ["progress", "mlflow", "metrics", "early_stopping"]


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Terminal(io.StringIO):
    """A stream rich takes for a terminal."""

    def isatty(self) -> bool:
        return True


# -- the forecast: rate and ETA --------------------------------------------------------------------


def test_no_eta_before_a_trial_ended_and_zero_at_the_end() -> None:
    forecast = Forecast(total=2, started_at=0.0)
    assert forecast.eta(5.0) is None and forecast.rate_per_min(5.0) is None
    forecast.trial_ended(0, "complete", 0.9, 5.0)
    forecast.trial_ended(1, "complete", 0.8, 5.0)
    assert forecast.eta(10.0).seconds == 0.0


def test_sequential_eta_is_remaining_trials_times_mean_duration() -> None:
    forecast = Forecast(total=10, started_at=0.0)
    for trial_id, duration in enumerate((4.0, 6.0)):
        forecast.trial_started(trial_id, now=sum((4.0, 6.0)[:trial_id]))
        forecast.trial_ended(trial_id, "complete", 0.5, duration)
    eta = forecast.eta(10.0)
    assert eta.bound == "n_trials" and eta.seconds == pytest.approx(8 * 5.0)
    assert forecast.rate_per_min(10.0) == pytest.approx(12.0)  # 2 trials in 10 s


def test_parallel_eta_divides_by_the_slots_and_counts_time_already_spent() -> None:
    forecast = Forecast(total=10, started_at=0.0, slots=2)
    forecast.trial_started(0, 0.0)
    forecast.trial_started(1, 0.0)
    forecast.trial_ended(0, "complete", 0.5, 6.0)
    forecast.trial_ended(1, "complete", 0.5, 6.0)
    forecast.trial_started(2, 6.0)
    forecast.trial_started(3, 6.0)
    # 8 trials of 6 s on 2 slots = 24 s, minus 2 s each that trials 2 and 3 already ran
    assert forecast.eta(8.0).seconds == pytest.approx((8 * 6.0 - 2 * 2.0) / 2)


def test_the_last_trials_cannot_use_more_slots_than_are_left() -> None:
    forecast = Forecast(total=3, started_at=0.0, slots=4)
    forecast.trial_ended(0, "complete", 0.5, 6.0)
    forecast.trial_ended(1, "failed", None, 6.0)
    assert forecast.eta(6.0).seconds == pytest.approx(6.0)  # one trial left runs on one slot


def test_a_timeout_that_comes_first_is_the_eta() -> None:
    forecast = Forecast(total=100, started_at=0.0, timeout_s=60.0)
    assert forecast.eta(0.0) == forecast.eta(0.0) and forecast.eta(0.0).bound == "timeout"
    forecast.trial_ended(0, "complete", 0.5, 10.0)
    eta = forecast.eta(10.0)
    assert eta.bound == "timeout" and eta.seconds == pytest.approx(50.0)
    short = Forecast(total=3, started_at=0.0, timeout_s=600.0)
    short.trial_ended(0, "complete", 0.5, 10.0)
    assert short.eta(10.0).bound == "n_trials" and short.eta(10.0).seconds == pytest.approx(20.0)


def test_best_so_far_is_a_complete_finite_score_and_names_its_trial() -> None:
    forecast = Forecast(total=5, started_at=0.0)
    forecast.trial_ended(3, "complete", 0.7, 1.0)
    forecast.trial_ended(1, "pruned", 0.99, 1.0)
    forecast.trial_ended(0, "complete", float("nan"), 1.0)
    forecast.trial_ended(2, "failed", None, 1.0)
    assert (forecast.best, forecast.best_trial) == (0.7, 3)
    assert forecast.counts == {"complete": 2, "pruned": 1, "failed": 1}


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (42.4, "42s"), (185, "3:05"), (3723, "1:02:03")])
def test_durations_read_like_a_clock(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# -- the plugin, with a fake clock -----------------------------------------------------------------


def _event(cls: type, seq: int, **fields: object) -> object:
    return cls(run_id="r", timestamp=0.0, seq=seq, **fields)


def test_plain_lines_carry_trial_id_counts_rate_and_eta_from_the_clock() -> None:
    clock, stream = FakeClock(), io.StringIO()
    plugin = ProgressPlugin(stream=stream, clock=clock)
    plugin.trainhooks_configure(config={"search": {"n_trials": 20, "n_jobs": 2, "timeout_s": None}})
    plugin.trainhooks_on_run_start(_event(RunStarted, 1, kind="tune", config={}))
    for trial_id in (0, 1):
        plugin.trainhooks_on_trial_start(_event(TrialStarted, 2 + trial_id, trial_id=trial_id, params={}))
    clock.advance(30.0)
    # trial 1 ends first: the line names trial 1, and "1/20 done" is a count
    ended = dict(params={}, score_std=0.01, fold_scores=(0.8,), epochs=3, duration_s=30.0)
    plugin.trainhooks_on_trial_end(_event(TrialEnded, 4, trial_id=1, state="complete", score=0.8, **ended))
    line = stream.getvalue().splitlines()[-1]
    assert line.startswith("trial 1: complete score=0.8 epochs=3 30.00s | 1/20 done (1 complete, 0 pruned, 0 failed)")
    assert "best 0.8 (trial 1)" in line and "2 trials/min" in line
    # 19 trials of 30 s on 2 slots, minus the 30 s trial 0 already ran: (570 - 30) / 2 = 270 s
    assert line.endswith("ETA 4:30")


def test_a_terminal_gets_a_live_bar_with_the_same_status(small_xy) -> None:
    stream = Terminal()
    X, y = small_xy
    trainhooks.tune(
        SGDClassifier(loss="log_loss"), SPACE, X, y, n_trials=3, cv=2, max_epochs=2,
        plugins=[ProgressPlugin(stream=stream)], disable=QUIET,
    )  # fmt: skip
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    assert "3/3 done (3 complete, 0 pruned, 0 failed)" in text and "trials/min" in text
    assert all(f"trial {i}: complete" in text for i in range(3))


def test_plain_lines_for_a_real_search_name_every_trial_once() -> None:
    stream = io.StringIO()
    X, y = breast_cancer(200)
    result = trainhooks.tune(
        SGDClassifier(loss="log_loss"), SPACE, X, y, n_trials=4, cv=2, max_epochs=2,
        plugins=[ProgressPlugin(stream=stream)], disable=QUIET,
    )  # fmt: skip
    lines = stream.getvalue().splitlines()
    assert sorted(int(re.match(r"trial (\d+): ", line).group(1)) for line in lines) == [0, 1, 2, 3]
    assert [re.search(r"\| (\d+)/4 done", line).group(1) for line in lines] == ["1", "2", "3", "4"]
    assert f"(trial {result.summary['best_trial_id']})" in lines[-1]


class PruneAfterFirstFold:
    """Prunes trial 1 at its first fold report (as a median pruner would a poor trial)."""

    @trainhooks.hookimpl
    def trainhooks_should_stop_trial(self, event: EpochEnded) -> StopDecision | None:
        return StopDecision("poor first fold", prune=True) if event.trial_id == 1 else None


def test_a_trial_reported_per_fold_reads_as_folds_not_epochs() -> None:
    stream = io.StringIO()
    X, y = breast_cancer(200)
    trainhooks.tune(
        DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3]}, X, y, strategy="grid", cv=3,
        plugins=[ProgressPlugin(stream=stream), PruneAfterFirstFold()], disable=QUIET,
    )  # fmt: skip
    lines = {int(re.match(r"trial (\d+): ", line).group(1)): line for line in stream.getvalue().splitlines()}
    assert " folds=3/3 " in lines[0] and " folds=3/3 " in lines[2]
    assert "pruned" in lines[1] and " folds=1/3 " in lines[1]
    assert not any("epochs=" in line for line in lines.values())
