"""The ``metrics`` plugin: Prometheus metrics of a run, served while it runs and/or written at its end.

Settings (``[plugins.metrics]``, or ``--set plugins.metrics.port=9100`` on the command line):
``port`` serves ``/metrics`` on 127.0.0.1 from ``run-started`` until the run's last event
(0 picks a free port; see :attr:`MetricsPlugin.url`); ``textfile`` writes the final values in the
node-exporter textfile format when the run ends (atomically: temporary file, then rename).
Without either, metrics are still collected in :attr:`MetricsPlugin.metrics` for programs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server, write_to_textfile
from pydantic import Field

from trainhooks.hooks import (
    EpochEnded,
    Event,
    PluginFailed,
    PluginSettings,
    RunContext,
    RunEnded,
    RunFailed,
    RunStarted,
    SettingsError,
    TrialEnded,
    hookimpl,
    signals,
    validate_settings,
)

from .collectors import RunMetrics

HOST = "127.0.0.1"


class MetricsSettings(PluginSettings):
    """``[plugins.metrics]``."""

    port: int | None = Field(default=None, ge=0, le=65535)
    textfile: str | None = None


def _settings(config: Mapping[str, Any]) -> MetricsSettings:
    table = (config.get("plugins") or {}).get("metrics")
    settings = validate_settings(MetricsSettings, table, prefix="plugins.metrics")
    if settings.textfile is not None:
        parent = Path(settings.textfile).parent
        if not parent.is_dir():
            raise SettingsError(f"plugins.metrics.textfile: directory does not exist: {parent}")
    return settings


class MetricsPlugin:
    """Collects run metrics into a registry of its own (never the global one); fresh per session."""

    def __init__(self) -> None:
        self.settings = MetricsSettings()
        self.metrics: RunMetrics | None = None
        self.url: str | None = None
        self._run_id: str | None = None
        self._experiment = ""
        self._server: Any = None
        self._thread: Any = None

    # -- setup -----------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        self.settings = _settings(config)
        self.metrics = RunMetrics()  # a fresh registry per run
        self._run_id, self._experiment, self.url = run.run_id, run.experiment, None

    def _count(self, sender: Any, event: Event, **extra: Any) -> None:
        if self.metrics is not None and event.run_id == self._run_id:
            self.metrics.events.labels(event=event.name).inc()

    # -- lifecycle -------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        assert self.metrics is not None
        # The signal of an event goes out after its hooks: connecting here counts run-started too,
        # and every later event, plugin-defined ones included.
        signals.any_event.connect(self._count)
        self.metrics.run_started(event.run_id, event.kind, self._experiment)
        if self.settings.port is not None:
            self._server, self._thread = start_http_server(
                self.settings.port, addr=HOST, registry=self.metrics.registry
            )
            self.url = f"http://{HOST}:{self._server.server_port}/metrics"

    @hookimpl
    def trainhooks_on_epoch_end(self, event: EpochEnded) -> None:
        if self.metrics is not None and event.unit == "epoch":  # fold reports of a one-epoch trial are not epochs
            self.metrics.epoch_ended(event.trial_id, event.epoch)

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        if self.metrics is not None:
            self.metrics.trial_ended(event.trial_id, event.state, event.score, event.duration_s, event.epochs)

    @hookimpl
    def trainhooks_on_plugin_error(self, event: PluginFailed) -> None:
        if self.metrics is not None:
            self.metrics.plugin_errors.labels(plugin=event.plugin).inc()

    @hookimpl
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        self._finish(event, event.summary.get("wall_time_s"))

    @hookimpl
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        self._finish(event, None)

    def _finish(self, event: Event, wall_time_s: float | None) -> None:
        """Count the last event (its signal comes after we disconnect), stop serving, write the file."""
        signals.any_event.disconnect(self._count)
        try:
            if self.metrics is not None:
                self.metrics.events.labels(event=event.name).inc()
                self.metrics.run_finished(wall_time_s)
        finally:
            self._stop_server()
        if self.metrics is not None and self.settings.textfile:
            write_to_textfile(self.settings.textfile, self.metrics.registry)

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None


__all__ = ["HOST", "MetricsPlugin", "MetricsSettings"]
