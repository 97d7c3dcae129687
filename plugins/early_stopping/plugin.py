"""The ``early_stopping`` plugin: per-trial early stopping, pruning and search-level stopping.

It acts only through the decision hooks. The notification hooks keep its state up to date (so a
decision asked first of another plugin never leaves it behind); the decision hooks hand out what
was decided. With no ``[plugins.early_stopping]`` table it records nothing and decides nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trainhooks import ConfigError
from trainhooks.hooks import EpochEnded, RunContext, StopDecision, TrialEnded, TrialStarted, hookimpl, thaw

from ._monitor import TrialMonitor
from ._pruners import FinishedTrial, Histories, Pruner, make_pruner
from ._reasons import StopReason
from ._search import SearchMonitor
from ._settings import PLUGIN_NAME, EarlyStoppingSettings, parse_settings

STATE_VERSION = 2
"""2: finished trials carry their ASHA rung records (``rungs``) and their report ``unit`` ("epoch"
when missing); a version-1 state is refused."""

UNITS = ("epoch", "fold")
"""The report units of ``epoch-ended`` (``EpochEnded.unit``)."""


class EarlyStoppingPlugin:
    """Stops trials that stopped improving, prunes unpromising ones and ends a stale search."""

    plugin_name = PLUGIN_NAME
    state_key = PLUGIN_NAME

    def __init__(self) -> None:
        self.settings: EarlyStoppingSettings | None = None
        self._run: RunContext | None = None
        self._pending_state: dict[str, Any] | None = None
        self._missing_noted = False
        self._reset(None)

    def _reset(self, settings: EarlyStoppingSettings | None) -> None:
        self.settings = settings
        self._pruner: Pruner | None = make_pruner(settings) if settings else None
        # one history per report unit: a per-fold trial is never compared with another's epochs
        self._histories = {unit: Histories() for unit in UNITS}
        self._units: dict[int, str] = {}
        self._monitors: dict[int, TrialMonitor] = {}
        self._decisions: dict[int, StopDecision] = {}
        self._search = SearchMonitor(settings) if settings else None
        self._search_decision: StopDecision | None = None

    # -- setup -------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        table = (config.get("plugins") or {}).get(PLUGIN_NAME) or {}
        self._reset(parse_settings(table) if table else None)
        self._run = run
        self._missing_noted = False
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self._restore(state)

    # -- per trial ---------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_trial_start(self, event: TrialStarted) -> None:
        if self.settings is not None:
            self._monitors[event.trial_id] = TrialMonitor(self.settings)

    @hookimpl
    def trainhooks_on_epoch_end(self, event: EpochEnded) -> None:
        if self.settings is None or event.trial_id in self._decisions:
            return
        value = self._monitored(event)
        if value is None:
            return
        self._units[event.trial_id] = event.unit
        self._histories[event.unit].record(event.trial_id, event.epoch, value)
        if event.unit == "fold":
            decision = self._decide_fold(event, value)
        else:
            monitor = self._monitors.setdefault(event.trial_id, TrialMonitor(self.settings))
            decision = self._decide(monitor, event, value)
        if decision is not None:
            self._decisions[event.trial_id] = decision

    def _monitored(self, event: EpochEnded) -> float | None:
        assert self.settings is not None
        raw = event.metrics.get(self.settings.monitor)
        try:
            return float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            if not self._missing_noted and self._run is not None:
                self._missing_noted = True
                known = ", ".join(sorted(k for k, v in event.metrics.items() if isinstance(v, int | float)))
                self._run.add_note(
                    f"early_stopping: monitor {self.settings.monitor!r} is not a number in epoch-ended "
                    f"metrics (numeric metrics: {known}); nothing was stopped on it"
                )
            return None

    def _decide(self, monitor: TrialMonitor, event: EpochEnded, value: float) -> StopDecision | None:
        settings = self.settings
        trial_id, epoch = event.trial_id, event.epoch
        assert settings is not None
        reason = monitor.update(epoch, value)
        # the pruner judges every finite scored epoch, even one early stopping ends the trial at:
        # ASHA records the rungs it crosses, so the trial competes there like any trial that got that far
        pruner = self._pruner if math.isfinite(value) else None
        pruned = pruner.should_prune(self._histories["epoch"], trial_id, epoch, value) if pruner is not None else None
        restore = monitor.best_epoch if settings.restore_best else None
        if reason is StopReason.NON_FINITE:
            # a non-finite score must never reach the optimizer: report the best epoch or prune
            return StopDecision(str(reason), prune=restore is None, use_epoch=restore)
        if reason is not None:
            return StopDecision(str(reason), use_epoch=restore)
        if pruned is not None:
            return StopDecision(str(pruned), prune=True)
        if restore is not None and restore != epoch and event.is_last:
            return StopDecision(str(StopReason.MAX_EPOCHS), use_epoch=restore)
        return None

    def _decide_fold(self, event: EpochEnded, value: float) -> StopDecision | None:
        """A per-fold report (a one-epoch trial): only pruning and ``check_finite`` apply.

        The running mean over folds is no learning curve, so patience, thresholds and
        ``restore_best`` ignore it; the pruners judge fold *k* against other trials' fold *k*.
        """
        assert self.settings is not None
        if not math.isfinite(value):
            return StopDecision(str(StopReason.NON_FINITE), prune=True) if self.settings.check_finite else None
        if self._pruner is None:
            return None
        pruned = self._pruner.should_prune(self._histories["fold"], event.trial_id, event.epoch, value)
        return StopDecision(str(pruned), prune=True) if pruned is not None else None

    @hookimpl
    def trainhooks_should_stop_trial(self, event: EpochEnded) -> StopDecision | None:
        """Answer with the decision taken for this trial (repeated on later epochs until it ends)."""
        return self._decisions.get(event.trial_id)

    # -- per search --------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        if self.settings is None:
            return
        self._monitors.pop(event.trial_id, None)
        self._decisions.pop(event.trial_id, None)
        self._histories[self._units.pop(event.trial_id, "epoch")].finish(event.trial_id, event.state)
        assert self._search is not None
        reason = self._search.update(event.state, event.score)
        if reason is not None and self._search_decision is None:
            self._search_decision = StopDecision(str(reason))

    @hookimpl
    def trainhooks_should_stop_search(self, event: TrialEnded) -> StopDecision | None:
        return self._search_decision

    # -- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot of what the next run needs to continue: finished trials and search counters.

        Trials still running are not included (a resumed search runs them again).
        """
        settings = self.settings
        return {
            "state_key": self.state_key,
            "version": STATE_VERSION,
            "monitor": settings.monitor if settings else None,
            "mode": settings.direction if settings else None,
            "finished": [{**t.to_dict(), "unit": unit} for unit, h in self._histories.items() for t in h.finished],
            "search": self._search.to_dict() if self._search else {"best": None, "wait": 0, "n_trials": 0},
            "search_stopped": self._search_decision.reason if self._search_decision else None,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` output in the next run of this plugin's session.

        The state is applied when the next run configures the plugin (a run starts from a clean
        state otherwise); it must come from the same ``monitor`` and ``mode``.
        """
        self._check_state(state)
        self._pending_state = dict(state)

    def _check_state(self, state: Mapping[str, Any]) -> None:
        if state.get("state_key") != self.state_key or state.get("version") != STATE_VERSION:
            raise ValueError(
                f"not an {self.state_key} state "
                f"(state_key={state.get('state_key')!r}, version={state.get('version')!r})"
            )

    @hookimpl
    def trainhooks_state_dict(self) -> dict[str, Any] | None:
        """The run journal keeps :meth:`state_dict` at every trial boundary (nothing without settings)."""
        return self.state_dict() if self.settings is not None else None

    @hookimpl
    def trainhooks_load_state_dict(self, state: Mapping[str, Any]) -> None:
        """A resumed run (configured already) continues from the journaled :meth:`state_dict`."""
        self._check_state(state)
        self._restore(thaw(state))

    def _restore(self, state: dict[str, Any]) -> None:
        settings = self.settings
        if settings is None:
            return
        for key, mine in (("monitor", settings.monitor), ("mode", settings.direction)):
            if state.get(key) not in (None, mine):
                raise ConfigError(
                    f"plugins.{PLUGIN_NAME}.{key}: the loaded state was recorded with "
                    f"{key} {state[key]!r}, not {mine!r}"
                )
        for unit, histories in self._histories.items():
            histories.finished = [
                FinishedTrial.from_dict(t) for t in state.get("finished", []) if t.get("unit", "epoch") == unit
            ]
        assert self._search is not None
        self._search.load(state.get("search") or {})


__all__ = ["EarlyStoppingPlugin"]
