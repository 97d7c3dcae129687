"""Plugin discovery through entry points, with real packages installed by pip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import run_config, write_toml

from trainhooks import Session
from trainhooks.hooks import Event
from trainhooks.plugin_loader import BUILTIN_PLUGINS

pytestmark = pytest.mark.slow


def listing(run_cli, site: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    proc = run_cli("plugins", "--json", *args, site=site, env=env)
    assert proc.returncode == 0, proc.stderr
    return {entry["name"]: entry for entry in json.loads(proc.stdout)}


def test_example_plugin_is_discovered_with_its_distribution(run_cli, plugin_site: Path) -> None:
    plugins = listing(run_cli, plugin_site)
    eventlog = plugins["eventlog"]
    assert eventlog["source"] == "entrypoint"
    assert (eventlog["distribution"], eventlog["version"]) == ("trainhooks-eventlog", "0.2.0")
    assert eventlog["status"] == "active" and eventlog["error"] is None
    assert "trainhooks_configure" in eventlog["hooks"]  # events arrive through signals.any_event
    assert "trainhooks_register_strategies" in eventlog["hooks"]
    assert plugins["progress"]["source"] == "builtin" and plugins["progress"]["distribution"] == "trainhooks"
    assert set(next(iter(plugins.values()))) == {
        "name",
        "source",
        "distribution",
        "version",
        "hooks",
        "status",
        "error",
    }


def test_broken_plugins_are_reported_and_skipped(run_cli, plugin_site: Path) -> None:
    plugins = listing(run_cli, plugin_site)
    assert plugins["import_fails"]["status"] == "failed"
    assert "libexample is not installed" in plugins["import_fails"]["error"]
    assert plugins["misspelt_argument"]["status"] == "failed"
    assert "evnt" in plugins["misspelt_argument"]["error"]
    assert plugins["misspelt_hook"]["status"] == "failed"
    assert "trainhooks_on_trail_end" in plugins["misspelt_hook"]["error"]
    assert plugins["import_fails"]["distribution"] == "trainhooks-broken-plugins"
    assert plugins["eventlog"]["status"] == "active"


def test_strict_plugins_makes_a_broken_plugin_fatal(run_cli, plugin_site: Path) -> None:
    builtins = [arg for name in BUILTIN_PLUGINS for arg in ("--no-plugin", name)]
    proc = run_cli("plugins", "--strict-plugins", *builtins, site=plugin_site)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: plugin ")
    assert "trainhooks-broken-plugins 1.0.0" in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_blocked_plugin_is_never_imported(run_cli, plugin_site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    env = {"TRAINHOOKS_PROBE_MARKER": str(marker)}
    blocked = listing(run_cli, plugin_site, "--no-plugin", "import_probe", env=env)
    assert blocked["import_probe"]["status"] == "blocked"
    assert not marker.exists()
    listing(run_cli, plugin_site, env=env)
    assert marker.exists()  # the probe does leave its mark when it is imported


def test_autoload_can_be_turned_off_by_environment(run_cli, plugin_site: Path) -> None:
    plugins = listing(run_cli, plugin_site, env={"TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert "eventlog" not in plugins and "import_fails" not in plugins
    assert plugins["progress"]["status"] == "active"


def test_installed_plugin_is_called_and_its_strategy_is_used(run_cli, plugin_site: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    write_toml(
        config,
        run_config(
            data={"dataset": "iris"},
            model={"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 200}},
            search={
                "strategy": "latin",
                "max_epochs": None,
                "scoring": None,
                "space": {"C": {"low": 0.01, "high": 10.0, "log": True}},
            },
            plugins={"disable": ["mlflow", "import_probe"], "eventlog": {"path": "events.jsonl"}},
        ),
    )
    proc = run_cli("tune", str(config), "--json", "--quiet", site=plugin_site)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["summary"]["strategy"] == "latin" and out["summary"]["n_complete"] == 3
    cs = [t["params"]["C"] for t in out["trials"]]
    assert len(set(cs)) == 3 and all(0.01 <= c <= 10 for c in cs)
    events = [Event.from_json(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[0].name == "run-started" and events[-1].name == "run-ended"
    assert [e.trial_id for e in events if e.name == "trial-ended"] == [0, 1, 2]
    assert events[0].run_id == out["run_id"]


def test_config_disable_blocks_plugins_in_the_python_api(plugin_site: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(plugin_site))
    session = Session(disable=["eventlog", "import_fails"])
    status = {info.name: info.status for info in session.plugin_report}
    assert status["eventlog"] == "blocked" and status["import_fails"] == "blocked"
    assert session.get_plugin("eventlog") is None
