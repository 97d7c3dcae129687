"""Hook wrappers are refused at load: trainhooks' dispatcher would never run them.

trainhooks calls each hook implementation itself (so one failing plugin never stops the others),
which leaves no place for pluggy's ``wrapper=True`` / ``hookwrapper=True`` implementations. A
plugin declaring one is reported like any other plugin that fails to load, naming the hook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.linear_model import SGDClassifier

from trainhooks import Session
from trainhooks.errors import PluginLoadError
from trainhooks.hooks import hookimpl
from trainhooks.plugin_loader import BUILTIN_PLUGINS


class OldStyleWrapper:
    plugin_name = "timing"

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(hookwrapper=True)
    def trainhooks_on_trial_end(self, event):
        self.calls += 1
        yield


class NewStyleWrapper:
    plugin_name = "wrapping"

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def trainhooks_on_run_start(self, event) -> None:
        self.calls += 1

    @hookimpl(wrapper=True)
    def trainhooks_should_stop_trial(self, event):
        self.calls += 1
        return (yield)


@pytest.mark.parametrize(
    ("plugin", "hook", "kind"),
    [
        (OldStyleWrapper(), "trainhooks_on_trial_end", "hookwrapper=True"),
        (NewStyleWrapper(), "trainhooks_should_stop_trial", "wrapper=True"),
    ],
)
def test_a_hook_wrapper_is_reported_and_the_plugin_skipped(plugin, hook: str, kind: str, small_xy) -> None:
    session = Session(plugins=[plugin], autoload=False, disable=list(BUILTIN_PLUGINS))
    info = next(i for i in session.plugin_report if i.name == plugin.plugin_name)
    assert info.status == "failed"
    assert hook in info.error and kind in info.error and "\n" not in info.error
    assert session.get_plugin(plugin.plugin_name) is None
    X, y = small_xy
    session.tune(SGDClassifier(), {"alpha": [1e-4, 1e-3]}, X, y, strategy="grid", cv=2, max_epochs=2)
    assert plugin.calls == 0  # none of its hooks run, not only the wrapper


def test_strict_plugins_makes_a_hook_wrapper_fatal_in_one_line() -> None:
    with pytest.raises(PluginLoadError) as caught:
        Session(plugins=[OldStyleWrapper()], autoload=False, strict_plugins=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("plugin 'timing'")
    assert "'trainhooks_on_trial_end'" in message and "hookwrapper=True" in message


@pytest.mark.slow
def test_an_installed_hook_wrapper_names_plugin_distribution_and_hook(run_cli, plugin_site: Path) -> None:
    proc = run_cli("plugins", "--json", site=plugin_site)
    assert proc.returncode == 0, proc.stderr
    wrapper = {entry["name"]: entry for entry in json.loads(proc.stdout)}["hook_wrapper"]
    assert wrapper["status"] == "failed" and wrapper["distribution"] == "trainhooks-broken-plugins"
    assert "trainhooks_on_trial_end" in wrapper["error"] and "hookwrapper=True" in wrapper["error"]

    others = [arg for name in ("import_fails", "misspelt_argument", "misspelt_hook") for arg in ("--no-plugin", name)]
    proc = run_cli("plugins", "--strict-plugins", *others, site=plugin_site)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "'hook_wrapper'" in line and "trainhooks-broken-plugins 1.0.0" in line and "trainhooks_on_trial_end" in line
