"""``[plugins] hook_timeout_s``: a hook that does not return in time is reported (plugin, hook,
seconds), abandoned, and its plugin gets no more calls; the run goes on (or, with "raise", fails)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from builders import run_config, write_toml

from trainhooks import ConfigError, PermissionDenied
from trainhooks.config import load_config
from trainhooks.dispatch import PluginFailure
from trainhooks.hooks import hookimpl


class Hangs:
    """A hook that loops until the test releases it (a test must not leave threads spinning)."""

    def __init__(self, hook: str) -> None:
        self.plugin_name = "hangs"
        self.release = threading.Event()
        self.calls = 0

        def hang(**_: object) -> None:
            self.calls += 1
            while not self.release.is_set():
                time.sleep(0.05)

        setattr(self, hook, hookimpl(specname=hook)(hang))


@pytest.fixture
def hanging():
    made: list[Hangs] = []

    def make(hook: str) -> Hangs:
        made.append(Hangs(hook))
        return made[-1]

    yield make
    for plugin in made:
        plugin.release.set()


def test_a_stop_decision_that_never_returns_is_abandoned_and_the_run_completes(
    hanging, trainhooks_session, trainhooks_recorder, trainhooks_small_search
) -> None:
    plugin = hanging("trainhooks_should_stop_trial")
    session = trainhooks_session(plugin, hook_timeout_s=0.5)
    started = time.monotonic()
    result = trainhooks_small_search(session, n_trials=3, max_epochs=3)
    assert time.monotonic() - started < 5
    assert result.summary["n_complete"] == 3 and [t["epochs"] for t in result.trials] == [3, 3, 3]  # no decision
    assert plugin.calls == 1  # asked once, never again
    assert session.get_plugin("hangs") is None
    failed = trainhooks_recorder.of("plugin-failed")
    assert [(e.plugin, e.hook) for e in failed] == [("hangs", "trainhooks_should_stop_trial")]
    assert "did not return within 0.5 s" in failed[0].error
    assert trainhooks_recorder.names[-1] == "run-ended"


def test_a_notification_that_hangs_fails_the_run_with_on_error_raise(
    hanging, trainhooks_session, trainhooks_recorder, trainhooks_small_search
) -> None:
    session = trainhooks_session(hanging("trainhooks_on_trial_end"), hook_timeout_s=0.3, on_error="raise")
    with pytest.raises(
        PluginFailure, match=r"^plugin 'hangs' failed in trainhooks_on_trial_end: did not return within 0\.3 s"
    ):
        trainhooks_small_search(session, n_trials=3)
    assert trainhooks_recorder.names[-1] == "run-failed"


def test_a_permission_check_that_hangs_denies(hanging, trainhooks_session, trainhooks_small_search) -> None:
    session = trainhooks_session(hanging("trainhooks_check_permission"), hook_timeout_s=0.3)
    with pytest.raises(PermissionDenied, match=r"did not return within 0\.3 s"):
        trainhooks_small_search(session, n_trials=1)
    with pytest.raises(PermissionDenied, match="'hangs' was disabled"):  # and keeps denying once it is gone
        trainhooks_small_search(session, n_trials=1)


def test_a_hook_that_emits_an_event_runs_inline_under_the_timeout(
    trainhooks_session, trainhooks_recorder, trainhooks_small_search
) -> None:
    """A hook that calls back into the core (here: permission, from configure) must not deadlock."""

    class AsksInConfigure:
        plugin_name = "asks"

        @hookimpl
        def trainhooks_configure(self, config, run):
            self.decision = run.check_permission("read", "something")

    plugin = AsksInConfigure()
    trainhooks_small_search(trainhooks_session(plugin, hook_timeout_s=2), n_trials=1)
    assert plugin.decision.allowed


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", '"soon"'])
def test_hook_timeout_must_be_a_positive_finite_number(value: str, tmp_path: Path) -> None:
    path = write_toml(tmp_path / "run.toml", run_config())
    with pytest.raises(ConfigError, match=r"plugins\.hook_timeout_s") as info:
        load_config(path, {"plugins.hook_timeout_s": json.loads(value) if value.startswith('"') else float(value)})
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.slow
def test_cli_run_with_a_hanging_installed_plugin_ends_within_the_timeout(run_cli, plugin_site: Path, tmp_path) -> None:
    quiet = ["eventlog", "import_probe", "mlflow", "rbac", "metrics"]
    config = write_toml(tmp_path / "run.toml", run_config(plugins={"disable": quiet, "hook_timeout_s": 0.5}))
    started = time.monotonic()
    proc = run_cli("tune", str(config), "--json", "--quiet", site=plugin_site, env={"TRAINHOOKS_BROKEN_SETUP": "hangs"})
    assert time.monotonic() - started < 30  # the process startup dominates; the hang costs 0.5 s
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["n_complete"] == 3
    assert (
        "plugin 'hangs' (distribution trainhooks-broken-plugins 1.0.0) failed in trainhooks_should_stop_trial: "
        "did not return within 0.5 s" in proc.stderr
    )
    assert "plugin 'hangs' disabled" in proc.stderr


def test_ctrl_c_landing_as_a_call_returns_does_not_stall_the_next_call() -> None:
    """Ctrl-C that arrives just after a call finished (the caller already took its result) must not
    leave the call looking unfinished: the next call would wait out the whole deadline, and the
    plugin be reported as hanging (seen as a rare hang of the Ctrl-C tests)."""
    import _thread

    from trainhooks.timed_calls import TimedCaller

    abandoned: list[object] = []
    caller = TimedCaller(30.0, on_abandoned=lambda label, seconds: abandoned.append(label))

    def finishes_then_ctrl_c() -> str:
        _thread.interrupt_main()  # delivered to the waiting caller once this call has returned
        return "done"

    with pytest.raises(KeyboardInterrupt):
        caller.call("first", finishes_then_ctrl_c)
        time.sleep(5)  # (only if the interrupt were delivered late)
    started = time.monotonic()
    assert caller.call("second", lambda: "next") == "next"
    assert time.monotonic() - started < 10  # not the 30 s deadline
    assert abandoned == []
