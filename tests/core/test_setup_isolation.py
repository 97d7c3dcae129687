"""Setup hooks are isolated like notifications: a plugin that raises or answers garbage in
``trainhooks_configure``, ``register_strategies``, ``register_estimators`` or ``cli_commands`` is
named (with its distribution) and handled by ``[plugins] on_error``; a required plugin fails closed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from builders import run_config, write_toml

from trainhooks import ConfigError, Session
from trainhooks.config import load_config
from trainhooks.dispatch import PluginFailure
from trainhooks.hooks import SettingsError, hookimpl
from trainhooks.plugin_loader import BUILTIN_PLUGINS, REQUIRED_ENV
from trainhooks.testing import EventRecorder


class ConfigureRaises:
    plugin_name = "misbehaving"

    @hookimpl
    def trainhooks_configure(self, config, run):
        raise RuntimeError("configure exploded")


class Strategies:
    plugin_name = "misbehaving"

    def __init__(self, answer: object) -> None:
        self.answer = answer

    @hookimpl
    def trainhooks_register_strategies(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Estimators:
    plugin_name = "misbehaving"

    def __init__(self, answer: object) -> None:
        self.answer = answer

    @hookimpl
    def trainhooks_register_estimators(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


CASES = {
    "configure raises": (ConfigureRaises, "trainhooks_configure", "RuntimeError: configure exploded"),
    "strategies raise": (
        lambda: Strategies(RuntimeError("strategies exploded")),
        "trainhooks_register_strategies",
        "RuntimeError: strategies exploded",
    ),
    "strategies as a list": (lambda: Strategies(["random"]), "trainhooks_register_strategies", "returned list"),
    "a non-callable factory": (
        lambda: Strategies({"random": "not a factory"}),
        "trainhooks_register_strategies",
        "'random': is str, not a callable strategy factory",
    ),
    "estimators raise": (
        lambda: Estimators(RuntimeError("estimators exploded")),
        "trainhooks_register_estimators",
        "RuntimeError: estimators exploded",
    ),
    "a non-class estimator": (
        lambda: Estimators({"sklearn.linear_model.SGDClassifier": "SGDClassifier"}),
        "trainhooks_register_estimators",
        "is str, not an estimator class",
    ),
}


def run_with(plugin: object, tmp_path: Path, **plugins_table: object):
    recorder = EventRecorder()
    config_path = write_toml(tmp_path / "run.toml", run_config(plugins=plugins_table or None))
    config = load_config(config_path)
    session = Session(
        plugins=[recorder, plugin],
        disable=list(BUILTIN_PLUGINS),
        autoload=False,
        on_error=config.plugins.on_error,
    )
    return session, recorder, (lambda: session.run_config(config, "tune"))


@pytest.mark.parametrize("case", CASES)
def test_warn_names_the_plugin_skips_its_answer_and_the_run_goes_on(case, tmp_path: Path, caplog) -> None:
    make, hook, problem = CASES[case]
    _, recorder, run = run_with(make(), tmp_path)
    with caplog.at_level(logging.WARNING, logger="trainhooks.dispatch"):
        result = run()
    assert result.summary["n_complete"] == 3  # the built-in strategy and sklearn's class were used
    failed = recorder.of("plugin-failed")
    assert [(e.plugin, e.hook) for e in failed] == [("misbehaving", hook)]
    assert problem in failed[0].error
    assert recorder.names[0] == "run-started"  # reported inside the run, after its first event
    lines = [r.getMessage() for r in caplog.records if "misbehaving" in r.getMessage()]
    assert lines == [f"plugin 'misbehaving' failed in {hook}: {failed[0].error}"]


@pytest.mark.parametrize("case", CASES)
def test_raise_stops_the_run_with_one_line_naming_plugin_and_hook(case, tmp_path: Path) -> None:
    make, hook, problem = CASES[case]
    _, recorder, run = run_with(make(), tmp_path, on_error="raise")
    with pytest.raises(PluginFailure) as info:
        run()
    message = str(info.value)
    assert message.startswith(f"plugin 'misbehaving' failed in {hook}: ") and problem in message
    assert "\n" not in message and info.value.exit_code == 1
    assert "run-started" not in recorder.names  # refused before anything started


def test_disable_unregisters_the_plugin(tmp_path: Path) -> None:
    session, recorder, run = run_with(Strategies(["random"]), tmp_path, on_error="disable")
    run()
    assert session.get_plugin("misbehaving") is None
    recorder.clear()
    session.run_config(load_config(tmp_path / "run.toml"), "tune")
    assert recorder.of("plugin-failed") == []  # no second failure: it is not asked any more


@pytest.mark.parametrize("on_error", ["warn", "raise"])
def test_a_plugins_settings_error_stays_a_config_error(on_error: str, tmp_path: Path) -> None:
    class RefusesSettings:
        plugin_name = "misbehaving"

        @hookimpl
        def trainhooks_configure(self, config, run):
            raise SettingsError("plugins.misbehaving.level: must be 1, 2 or 3")

    _, _, run = run_with(RefusesSettings(), tmp_path, on_error=on_error)
    with pytest.raises(ConfigError, match=r"^plugins\.misbehaving\.level: must be 1, 2 or 3$") as info:
        run()
    assert info.value.exit_code == 2


def test_a_required_plugin_that_fails_in_setup_fails_the_run_whatever_on_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(REQUIRED_ENV, "misbehaving")
    _, recorder, run = run_with(ConfigureRaises(), tmp_path, on_error="warn")
    with pytest.raises(PluginFailure, match=r"^plugin 'misbehaving' failed in trainhooks_configure: .*required"):
        run()
    assert "run-started" not in recorder.names


# -- installed plugins: named with their distribution, through Session and the CLI ----------------

BROKEN = "(distribution trainhooks-broken-plugins 1.0.0)"
QUIET = ["eventlog", "import_probe", "mlflow", "rbac", "metrics"]


@pytest.mark.slow
def test_an_installed_plugin_is_named_with_its_distribution(plugin_site: Path, monkeypatch, tmp_path, caplog) -> None:
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.setenv("TRAINHOOKS_BROKEN_SETUP", "strategy_not_callable,estimators_raise")
    session = Session(disable=QUIET)
    config = load_config(write_toml(tmp_path / "run.toml", run_config(plugins={"disable": QUIET})))
    with caplog.at_level(logging.WARNING, logger="trainhooks.dispatch"):
        result = session.run_config(config, "tune")
    assert result.summary["n_complete"] == 3
    messages = [r.getMessage() for r in caplog.records]
    assert f"plugin 'strategy_not_callable' {BROKEN} failed in trainhooks_register_strategies: " in "\n".join(messages)
    assert f"plugin 'estimators_raise' {BROKEN} failed in trainhooks_register_estimators: RuntimeError" in "\n".join(
        messages
    )


@pytest.mark.slow
def test_help_and_other_commands_work_when_a_plugin_cli_commands_fails(run_cli, plugin_site: Path) -> None:
    env = {"TRAINHOOKS_BROKEN_SETUP": "commands_raise,commands_garbage"}
    proc = run_cli("--help", site=plugin_site, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "runs" in proc.stdout and "tune" in proc.stdout  # the MLflow plugin's command is still offered
    assert f"plugin 'commands_raise' {BROKEN} failed in trainhooks_cli_commands: RuntimeError: commands exploded" in (
        proc.stderr
    )
    assert f"plugin 'commands_garbage' {BROKEN} failed in trainhooks_cli_commands: returned dict" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("runs", "--help", site=plugin_site, env=env)
    assert proc.returncode == 0 and "Usage: trainhooks runs" in proc.stdout


@pytest.mark.slow
def test_cli_run_follows_on_error_for_setup_failures(run_cli, plugin_site: Path, tmp_path: Path) -> None:
    config = write_toml(tmp_path / "run.toml", run_config(plugins={"disable": QUIET}))
    env = {"TRAINHOOKS_BROKEN_SETUP": "strategies_list,estimator_not_class,configure_raises"}
    proc = run_cli("tune", str(config), "--json", "--quiet", site=plugin_site, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["n_complete"] == 3
    for name in ("strategies_list", "estimator_not_class", "configure_raises"):
        assert f"plugin '{name}' {BROKEN} failed in " in proc.stderr

    proc = run_cli("tune", str(config), "--set", "plugins.on_error=raise", site=plugin_site, env=env)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]  # load warnings aside
    assert len(errors) == 1 and errors[0].startswith("error: plugin '") and BROKEN in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr

    env = {"TRAINHOOKS_BROKEN_SETUP": "configure_settings"}
    proc = run_cli("tune", str(config), "--set", "plugins.on_error=raise", site=plugin_site, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "error: plugins.configure_settings.level: must be 1, 2 or 3"
