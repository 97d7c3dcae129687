"""An example third-party trainhooks plugin.

- Writes every lifecycle event of a run as one JSON line to ``[plugins.eventlog] path``
  (nothing is written when no path is configured).
- Adds a search strategy named ``latin`` (a Latin hypercube over the space's ranges).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from trainhooks.hooks import Event, hookimpl

from .latin import LatinHypercubeStrategy

__all__ = ["EventLogPlugin", "LatinHypercubeStrategy"]


class EventLogPlugin:
    """Appends ``event.to_json()`` lines to a file, one run after another."""

    def __init__(self) -> None:
        self.path: str | None = None
        self._file: IO[str] | None = None

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any]) -> None:
        self.path = (config.get("plugins") or {}).get("eventlog", {}).get("path")

    def _write(self, event: Event) -> None:
        if self.path is None:
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed at run end)
        self._file.write(event.to_json() + "\n")
        self._file.flush()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @hookimpl
    def trainhooks_on_run_start(self, event: Event) -> None:
        self._write(event)

    @hookimpl
    def trainhooks_on_trial_start(self, event: Event) -> None:
        self._write(event)

    @hookimpl
    def trainhooks_on_epoch_end(self, event: Event) -> None:
        self._write(event)

    @hookimpl
    def trainhooks_on_trial_end(self, event: Event) -> None:
        self._write(event)

    @hookimpl
    def trainhooks_on_run_end(self, event: Event) -> None:
        self._write(event)
        self._close()

    @hookimpl
    def trainhooks_on_run_error(self, event: Event) -> None:
        self._write(event)
        self._close()

    @hookimpl
    def trainhooks_register_strategies(self) -> dict[str, Any]:
        return {"latin": LatinHypercubeStrategy}
