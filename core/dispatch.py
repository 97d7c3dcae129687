"""Calls hooks the way trainhooks promises: plugin by plugin, isolated, with a failure policy.

pluggy stops a hook call at the first plugin that raises; trainhooks wants one failing plugin to
never stop the others, so this module walks the implementations itself, in pluggy's order.

- Notifications: each plugin is called on its own; a failure follows ``on_error``
  ("warn": log, emit ``plugin-failed`` and go on; "raise": propagate; "disable": as "warn", and
  unregister the plugin after ``max_failures`` failures). Then the event goes to its blinker signal.
- Stop decisions fail open (a raising plugin is reported and skipped); permission fails closed
  (a raising plugin denies). The first non-``None`` answer wins.
- ``KeyboardInterrupt`` is never caught.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pluggy

from trainhooks.hooks import (
    Event,
    PermissionDecision,
    PermissionRequest,
    PluginFailed,
    StopDecision,
    signals,
)

from .errors import settings_errors_as_config

log = logging.getLogger(__name__)

OnError = Literal["warn", "raise", "disable"]

NOTIFICATION_HOOKS: dict[str, str] = {
    "run-started": "trainhooks_on_run_start",
    "trial-started": "trainhooks_on_trial_start",
    "epoch-ended": "trainhooks_on_epoch_end",
    "trial-ended": "trainhooks_on_trial_end",
    "search-stopped": "trainhooks_on_search_stopped",
    "model-fitted": "trainhooks_on_model_fitted",
    "model-registered": "trainhooks_on_model_registered",
    "run-ended": "trainhooks_on_run_end",
    "run-failed": "trainhooks_on_run_error",
    "plugin-failed": "trainhooks_on_plugin_error",
}
"""Which notification hook each event name is delivered to."""

CallObserver = Callable[[str, str, Mapping[str, Any], Any], None]
"""``observer(hook_name, plugin_name, kwargs, result_or_exception)``, used by trainhooks.testing."""


@dataclass(frozen=True)
class Answer:
    """A decision and the plugin that gave it."""

    value: Any
    plugin: str


class Dispatcher:
    """Delivers events and asks decisions of the plugins registered in one manager."""

    def __init__(
        self,
        manager: pluggy.PluginManager,
        *,
        on_error: OnError = "warn",
        max_failures: int = 3,
        sender: Any = None,
    ) -> None:
        self.manager = manager
        self.on_error: OnError = on_error
        self.max_failures = max_failures
        self.sender = sender
        self.failures: Counter[str] = Counter()
        self.observers: list[CallObserver] = []
        self._stamp: Callable[..., Event] | None = None

    # -- calling ---------------------------------------------------------------------------

    def _implementations(self, hook_name: str) -> list[pluggy.HookImpl]:
        caller = getattr(self.manager.hook, hook_name, None)
        if caller is None:
            return []
        impls = [i for i in caller.get_hookimpls() if not (i.hookwrapper or i.wrapper)]
        return impls[::-1]  # pluggy calls the last registered (and tryfirst) first

    def _call(self, impl: pluggy.HookImpl, hook_name: str, kwargs: Mapping[str, Any]) -> Any:
        try:
            result = impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception as exc:
            for observer in self.observers:
                observer(hook_name, impl.plugin_name, kwargs, exc)
            raise
        for observer in self.observers:
            observer(hook_name, impl.plugin_name, kwargs, result)
        return result

    def _failed(self, plugin: str, hook_name: str, exc: Exception, *, allow_raise: bool) -> None:
        """Apply the error policy to a plugin that raised in ``hook_name``."""
        if allow_raise and self.on_error == "raise":
            raise exc
        self.failures[plugin] += 1
        log.warning("plugin %r failed in %s: %s: %s", plugin, hook_name, type(exc).__name__, exc)
        if hook_name != "trainhooks_on_plugin_error" and self._stamp is not None:
            event = self._stamp(PluginFailed, plugin=plugin, hook=hook_name, error=f"{type(exc).__name__}: {exc}")
            self.notify(event, skip=plugin)
        if self.on_error == "disable" and self.failures[plugin] >= self.max_failures:
            instance = self.manager.get_plugin(plugin)
            if instance is not None:
                self.manager.unregister(instance)
                log.warning("plugin %r disabled after %d failures", plugin, self.failures[plugin])

    # -- notifications -----------------------------------------------------------------------

    def bind(self, stamp: Callable[..., Event] | None) -> None:
        """Use ``stamp(cls, **fields)`` to create ``plugin-failed`` events for the current run."""
        self._stamp = stamp

    def notify(self, event: Event, *, skip: str | None = None) -> None:
        """Deliver ``event`` to its notification hook, plugin by plugin, then to its signal."""
        hook_name = NOTIFICATION_HOOKS.get(event.name)
        if hook_name is not None:
            kwargs = {"event": event}
            for impl in self._implementations(hook_name):
                if impl.plugin_name == skip:
                    continue
                try:
                    self._call(impl, hook_name, kwargs)
                except Exception as exc:
                    self._failed(impl.plugin_name, hook_name, exc, allow_raise=True)
        signals.send(self.sender, event)

    # -- decisions --------------------------------------------------------------------------

    def _first_answer(self, hook_name: str, kwargs: Mapping[str, Any], *, fail_closed: bool) -> Answer | None:
        for impl in self._implementations(hook_name):
            try:
                value = self._call(impl, hook_name, kwargs)
            except Exception as exc:
                if fail_closed:
                    log.warning("plugin %r failed in %s, denying: %s", impl.plugin_name, hook_name, exc)
                    return Answer(
                        PermissionDecision.deny(
                            f"plugin {impl.plugin_name!r} failed while deciding: {type(exc).__name__}: {exc}",
                            rule="fail-closed",
                        ),
                        impl.plugin_name,
                    )
                self._failed(impl.plugin_name, hook_name, exc, allow_raise=False)
                continue
            if value is not None:
                return Answer(value, impl.plugin_name)
        return None

    def should_stop_trial(self, event: Event) -> Answer | None:
        """First :class:`StopDecision` for this ``epoch-ended`` event, or ``None``."""
        return self._checked(
            self._first_answer("trainhooks_should_stop_trial", {"event": event}, fail_closed=False), StopDecision
        )

    def should_stop_search(self, event: Event) -> Answer | None:
        """First :class:`StopDecision` for this ``trial-ended`` event, or ``None``."""
        return self._checked(
            self._first_answer("trainhooks_should_stop_search", {"event": event}, fail_closed=False), StopDecision
        )

    def check_permission(self, request: PermissionRequest) -> PermissionDecision:
        """The first answer, or allow when no plugin has an opinion; a raising plugin denies."""
        answer = self._first_answer("trainhooks_check_permission", {"request": request}, fail_closed=True)
        if answer is None:
            return PermissionDecision.allow("no permission plugin answered", rule=None)
        if not isinstance(answer.value, PermissionDecision):
            return PermissionDecision.deny(
                f"plugin {answer.plugin!r} returned {type(answer.value).__name__}, not a PermissionDecision",
                rule="fail-closed",
            )
        return answer.value

    def _checked(self, answer: Answer | None, expected: type) -> Answer | None:
        if answer is not None and not isinstance(answer.value, expected):
            log.warning(
                "plugin %r returned %s, not a %s; ignored",
                answer.plugin,
                type(answer.value).__name__,
                expected.__name__,
            )
            return None
        return answer

    # -- setup hooks --------------------------------------------------------------------------

    def collect(self, hook_name: str, **kwargs: Any) -> list[Answer]:
        """Every non-``None`` answer of a setup hook, in call order. Errors propagate.

        A plugin's :class:`~trainhooks.hooks.SettingsError` propagates as a :class:`ConfigError`
        with the same message, so it reaches users like the core's own (exit 2, one line each).
        """
        answers = []
        for impl in self._implementations(hook_name):
            with settings_errors_as_config():
                value = self._call(impl, hook_name, kwargs)
            if value is not None:
                answers.append(Answer(value, impl.plugin_name))
        return answers


class EventStamper:
    """Creates the events of one run with its ``run_id``, a timestamp and increasing ``seq``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._seq = 0

    def __call__(self, cls: type[Event], **fields: Any) -> Event:
        self._seq += 1
        return cls(run_id=self.run_id, timestamp=time.time(), seq=self._seq, **fields)


__all__ = ["NOTIFICATION_HOOKS", "Answer", "Dispatcher", "EventStamper", "OnError"]
