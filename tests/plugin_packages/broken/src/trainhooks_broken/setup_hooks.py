"""Plugins that fail in a setup hook, or hang in a decision hook -- only when a test asks.

Each class misbehaves only when its entry-point name is listed in ``TRAINHOOKS_BROKEN_SETUP``
(comma-separated), so installing this distribution does not break other tests' runs.
"""

import os
import time

from trainhooks.hooks import SettingsError, hookimpl


def _on(name):
    return name in os.environ.get("TRAINHOOKS_BROKEN_SETUP", "").split(",")


class ConfigureRaises:
    @hookimpl
    def trainhooks_configure(self, config, run):
        if _on("configure_raises"):
            raise RuntimeError("configure exploded")


class ConfigureRefusesSettings:
    @hookimpl
    def trainhooks_configure(self, config, run):
        if _on("configure_settings"):
            raise SettingsError("plugins.configure_settings.level: must be 1, 2 or 3")


class StrategiesRaise:
    @hookimpl
    def trainhooks_register_strategies(self):
        if _on("strategies_raise"):
            raise RuntimeError("strategies exploded")


class StrategiesList:
    @hookimpl
    def trainhooks_register_strategies(self):
        if _on("strategies_list"):
            return ["random"]  # a list instead of a dict


class StrategyNotCallable:
    @hookimpl
    def trainhooks_register_strategies(self):
        if _on("strategy_not_callable"):
            return {"random": "not a factory"}


class EstimatorsRaise:
    @hookimpl
    def trainhooks_register_estimators(self):
        if _on("estimators_raise"):
            raise RuntimeError("estimators exploded")


class EstimatorNotClass:
    @hookimpl
    def trainhooks_register_estimators(self):
        if _on("estimator_not_class"):
            return {"sklearn.linear_model.SGDClassifier": "SGDClassifier"}


class CommandsRaise:
    @hookimpl
    def trainhooks_cli_commands(self):
        if _on("commands_raise"):
            raise RuntimeError("commands exploded")


class CommandsGarbage:
    @hookimpl
    def trainhooks_cli_commands(self):
        if _on("commands_garbage"):
            return {"audit": "not a click command"}


class HangsDeciding:
    """``trainhooks_should_stop_trial`` never returns (until the process ends)."""

    @hookimpl
    def trainhooks_should_stop_trial(self, event):
        while _on("hangs"):
            time.sleep(0.05)
