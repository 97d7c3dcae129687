"""Hook dispatch: isolation of failing plugins, the on_error policy, decision failure modes, signals."""

from __future__ import annotations

import gc

import pytest

import trainhooks
from trainhooks.hooks import PermissionDecision, StopDecision, TrialEnded, hookimpl, signals


class Raising:
    plugin_name = "raising"

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def trainhooks_on_trial_end(self, event):
        self.calls += 1
        raise RuntimeError("boom")


class Counting:
    plugin_name = "counting"

    def __init__(self) -> None:
        self.trial_ends = 0
        self.plugin_errors = []

    @hookimpl
    def trainhooks_on_trial_end(self, event):
        self.trial_ends += 1

    @hookimpl
    def trainhooks_on_plugin_error(self, event):
        self.plugin_errors.append(event)


def test_a_raising_plugin_does_not_stop_the_others(trainhooks_session, trainhooks_recorder, trainhooks_small_search):
    raising, counting = Raising(), Counting()
    result = trainhooks_small_search(trainhooks_session(raising, counting), n_trials=3)
    assert result.summary["n_complete"] == 3
    assert counting.trial_ends == 3  # every trial-ended reached the healthy plugin
    assert raising.calls == 3
    failures = trainhooks_recorder.of("plugin-failed")
    assert [f.plugin for f in failures] == ["raising"] * 3
    assert failures[0].hook == "trainhooks_on_trial_end" and "RuntimeError: boom" in failures[0].error
    assert len(counting.plugin_errors) == 3


def test_on_error_raise_propagates_and_the_run_fails(trainhooks_session, trainhooks_recorder, trainhooks_small_search):
    with pytest.raises(RuntimeError, match="boom"):
        trainhooks_small_search(trainhooks_session(Raising(), on_error="raise"), n_trials=3)
    assert trainhooks_recorder.names[-1] == "run-failed"
    assert trainhooks_recorder.events[-1].error_type == "RuntimeError"
    assert trainhooks_recorder.names.count("run-failed") == 1


def test_on_error_disable_unregisters_after_max_failures(trainhooks_session, trainhooks_small_search):
    raising = Raising()
    session = trainhooks_session(raising, on_error="disable", max_failures=2)
    result = trainhooks_small_search(session, n_trials=4)
    assert result.summary["n_trials"] == 4
    assert raising.calls == 2
    assert session.get_plugin("raising") is None


def test_keyboard_interrupt_in_a_plugin_is_not_swallowed(
    trainhooks_session, trainhooks_recorder, trainhooks_small_search
):
    class CtrlC:
        @hookimpl
        def trainhooks_on_trial_end(self, event):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        trainhooks_small_search(trainhooks_session(CtrlC()), n_trials=3)
    assert isinstance(info.value, trainhooks.SearchInterrupted)
    assert info.value.result.summary["stop_reason"] == "interrupted"
    names = trainhooks_recorder.names
    assert names[-3:] == ["search-stopped", "model-fitted", "run-ended"]  # the trial that ended is refit
    assert names.count("trial-started") == 1  # the search did not go on after Ctrl-C


def test_a_raising_stop_decision_fails_open(trainhooks_session, trainhooks_recorder, trainhooks_small_search):
    class BadStopper:
        @hookimpl
        def trainhooks_should_stop_trial(self, event):
            raise ValueError("cannot decide")

    result = trainhooks_small_search(trainhooks_session(BadStopper()), n_trials=2, max_epochs=3)
    assert [t["epochs"] for t in result.trials] == [3, 3]  # nothing was stopped
    assert trainhooks_recorder.of("plugin-failed")[0].hook == "trainhooks_should_stop_trial"


def test_first_stop_decision_wins(trainhooks_session, trainhooks_small_search):
    asked = []

    class Second:
        @hookimpl
        def trainhooks_should_stop_trial(self, event):
            asked.append("second")
            return StopDecision("second")

    class First:
        @hookimpl(tryfirst=True)
        def trainhooks_should_stop_trial(self, event):
            asked.append("first")
            return StopDecision("first", prune=True)

    result = trainhooks_small_search(trainhooks_session(Second(), First()), n_trials=1)
    assert asked == ["first"]
    assert result.trials[0]["state"] == "pruned" and result.trials[0]["stop_reason"] == "first"


def test_permission_with_no_plugin_is_allowed_and_a_raising_plugin_denies(trainhooks_session, trainhooks_small_search):
    class Explodes:
        @hookimpl
        def trainhooks_check_permission(self, request):
            raise RuntimeError("policy store down")

    request = trainhooks.PermissionRequest(principal="ann", action="run.tune", resource="x")
    assert trainhooks_session().dispatcher.check_permission(request).allowed
    session = trainhooks_session(Explodes())
    decision = session.dispatcher.check_permission(request)
    assert not decision.allowed and "policy store down" in decision.reason
    with pytest.raises(trainhooks.PermissionDenied, match=r"may not run\.tune"):
        trainhooks_small_search(session)


def test_a_denied_run_emits_nothing(trainhooks_session, trainhooks_recorder, trainhooks_small_search):
    class Deny:
        @hookimpl
        def trainhooks_check_permission(self, request):
            return PermissionDecision.deny("not on the list", rule="default-deny")

    with pytest.raises(trainhooks.PermissionDenied) as info:
        trainhooks_small_search(trainhooks_session(Deny()))
    assert "default-deny" in str(info.value) and "\n" not in str(info.value)
    assert trainhooks_recorder.events == []


def test_signals_receive_every_event_including_closures(
    trainhooks_session, trainhooks_recorder, trainhooks_small_search
):
    seen: list[str] = []
    trial_ended: list[TrialEnded] = []

    def connect_closures() -> None:
        # receivers defined as closures that nothing else references
        signals.any_event.connect(lambda sender, event, **extra: seen.append(event.name))

        def on_trial_ended(sender, event, **extra):
            trial_ended.append(event)

        signals.trial_ended.connect(on_trial_ended)

    connect_closures()
    gc.collect()
    try:
        trainhooks_small_search(trainhooks_session(), n_trials=2)
    finally:
        for receiver in list(signals.any_event.receivers.values()):
            signals.any_event.disconnect(receiver)
        for receiver in list(signals.trial_ended.receivers.values()):
            signals.trial_ended.disconnect(receiver)
    assert seen == trainhooks_recorder.names
    assert [e.trial_id for e in trial_ended] == [0, 1]


def test_signal_receivers_cannot_change_control_flow(trainhooks_session, trainhooks_small_search):
    def stop_please(sender, event, **extra):
        return StopDecision("from a signal")

    signals.epoch_ended.connect(stop_please)
    try:
        result = trainhooks_small_search(trainhooks_session(), n_trials=1, max_epochs=3)
    finally:
        signals.epoch_ended.disconnect(stop_please)
    assert result.trials[0]["epochs"] == 3 and result.trials[0]["stop_reason"] is None


def test_an_operator_can_require_a_plugin(monkeypatch, trainhooks_session):
    monkeypatch.setenv("TRAINHOOKS_REQUIRE_PLUGINS", "progress")
    with pytest.raises(trainhooks.PluginLoadError, match="'progress' is required by TRAINHOOKS_REQUIRE_PLUGINS"):
        trainhooks.Session(disable=["progress"], autoload=False)
    assert trainhooks.Session(autoload=False).get_plugin("progress") is not None
    monkeypatch.setenv("TRAINHOOKS_REQUIRE_PLUGINS", "not_installed")
    with pytest.raises(trainhooks.PluginLoadError, match=r"'not_installed' is required .* but is not loaded"):
        trainhooks.Session(autoload=False)
