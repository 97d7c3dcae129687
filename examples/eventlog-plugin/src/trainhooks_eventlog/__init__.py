"""An example third-party trainhooks plugin.

- Writes every event of a run as one JSON line to ``[plugins.eventlog] path``
  (nothing is written when no path is configured).
- Adds a search strategy named ``latin`` (a Latin hypercube over the space's ranges).

Like any plugin it imports nothing from trainhooks but the contract, ``trainhooks.hooks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from trainhooks.hooks import (
    Event,
    PluginSettings,
    RunContext,
    RunEnded,
    RunFailed,
    StrategyFactory,
    hookimpl,
    signals,
    validate_settings,
)

from .latin import LatinHypercubeStrategy

__all__ = ["EventLogPlugin", "EventLogSettings", "LatinHypercubeStrategy"]

LAST_EVENTS = frozenset({RunEnded.name, RunFailed.name})
"""A run ends with exactly one of these."""


class EventLogSettings(PluginSettings):
    """``[plugins.eventlog]``: strict types, unknown keys refused with a suggestion."""

    path: str | None = None


class EventLogPlugin:
    """Appends ``event.to_json()`` lines to a file, one run after another.

    Every event arrives in one place, :meth:`_write`, connected to ``signals.any_event``: the
    signal mirrors every event after its hooks ran, including events other plugins define, so
    the plugin needs no hook implementation per event. Signals are process-wide, so the receiver
    keeps only the configured run's events, and disconnects itself after that run's last event.
    """

    def __init__(self) -> None:
        self.settings = EventLogSettings()
        self._run_id: str | None = None
        self._file: IO[str] | None = None

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        """Read ``[plugins.eventlog]`` (a bad table stops the run with exit 2) and follow this run."""
        table = (config.get("plugins") or {}).get("eventlog")
        self.settings = validate_settings(EventLogSettings, table, prefix="plugins.eventlog")
        self._run_id = run.run_id
        signals.any_event.disconnect(self._write)  # a run refused before it started left it connected
        if self.settings.path is not None:
            signals.any_event.connect(self._write)

    def _write(self, sender: Any, event: Event, **extra: Any) -> None:
        if event.run_id != self._run_id or self.settings.path is None:
            return
        if self._file is None:
            self._file = open(self.settings.path, "a", encoding="utf-8")  # noqa: SIM115 (closed at run end)
        self._file.write(event.to_json() + "\n")
        self._file.flush()
        if event.name in LAST_EVENTS:
            self._file.close()
            self._file = None
            signals.any_event.disconnect(self._write)

    @hookimpl
    def trainhooks_register_strategies(self) -> dict[str, StrategyFactory]:
        return {"latin": LatinHypercubeStrategy}
