"""blinker signals that mirror every lifecycle event, for light in-process observers.

Each signal is sent as ``signal.send(sender, event=event)``; ``sender`` is the
:class:`trainhooks.Session` that ran the event. Receivers should accept ``**extra``.
Signals observe only: their return values are ignored and they cannot change control flow.

Unlike plain blinker, receivers are held **strongly** by default, so a closure connected inside a
function keeps receiving; pass ``weak=True`` to opt back into weak references, and disconnect
when done.
"""

from __future__ import annotations

from typing import Any

from blinker import ANY, NamedSignal

from .events import Event


class StrongSignal(NamedSignal):
    """A named signal whose receivers are held strongly unless ``weak=True`` is passed."""

    def connect(self, receiver: Any, sender: Any = ANY, weak: bool = False) -> Any:  # type: ignore[override]
        return super().connect(receiver, sender=sender, weak=weak)


_signals: dict[str, StrongSignal] = {}


def signal_for(event_name: str) -> StrongSignal:
    """The signal that mirrors events named ``event_name`` (created on first use)."""
    signal = _signals.get(event_name)
    if signal is None:
        signal = _signals[event_name] = StrongSignal(event_name)
    return signal


def send(sender: Any, event: Event) -> None:
    """Send ``event`` on its signal and on :data:`any_event`."""
    signal = _signals.get(event.name)
    if signal is not None and signal.receivers:
        signal.send(sender, event=event)
    if any_event.receivers:
        any_event.send(sender, event=event)


any_event = signal_for("*")
"""Receives every event, whatever its name."""
run_started = signal_for("run-started")
trial_started = signal_for("trial-started")
epoch_ended = signal_for("epoch-ended")
trial_ended = signal_for("trial-ended")
search_stopped = signal_for("search-stopped")
model_fitted = signal_for("model-fitted")
model_registered = signal_for("model-registered")
artifacts_written = signal_for("artifacts-written")
run_ended = signal_for("run-ended")
run_failed = signal_for("run-failed")
plugin_failed = signal_for("plugin-failed")

__all__ = [
    "StrongSignal",
    "any_event",
    "artifacts_written",
    "epoch_ended",
    "model_fitted",
    "model_registered",
    "plugin_failed",
    "run_ended",
    "run_failed",
    "run_started",
    "search_stopped",
    "send",
    "signal_for",
    "trial_ended",
    "trial_started",
]
