"""Calls hooks the way trainhooks promises: plugin by plugin, isolated, with a failure policy.

pluggy stops a hook call at the first plugin that raises; trainhooks wants one failing plugin to
never stop the others, so this module walks the implementations itself, in pluggy's order.

- Notifications: each plugin is called on its own; a failure follows ``on_error``
  ("warn": log, emit ``plugin-failed`` and go on; "raise": propagate; "disable": as "warn", and
  unregister the plugin after ``max_failures`` failures). Then the event goes to its blinker signal.
- Stop decisions fail open (a raising plugin is reported and skipped); permission fails closed
  (a raising plugin denies). The first non-``None`` answer wins.
- Setup hooks (configure, strategies, estimators, CLI commands): a plugin that raises or returns
  the wrong shape is reported in one line with its distribution; "warn" skips its answer,
  "disable" also unregisters it, "raise" stops with :class:`PluginFailure`. A plugin's
  ``SettingsError`` stays a config error (exit 2), and an essential or required plugin that fails
  here always stops the run (fail closed).
- Every call has a deadline, ``hook_timeout_s`` (core/timed_calls.py): a plugin that misses it is
  reported and gets no more calls (with "raise" the run fails); a permission check that times out
  denies, a stop decision that times out is no decision.
- ``KeyboardInterrupt`` is never caught.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
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

from .errors import TrainhooksError, settings_errors_as_config
from .plugin_loader import PluginInfo, describe_error
from .setup_answers import answer_problem
from .timed_calls import CallTimedOut, TimedCaller

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
    "artifacts-written": "trainhooks_on_artifacts_written",
    "run-ended": "trainhooks_on_run_end",
    "run-failed": "trainhooks_on_run_error",
    "plugin-failed": "trainhooks_on_plugin_error",
}
"""Which notification hook each event name is delivered to."""

DEFAULT_HOOK_TIMEOUT_S = 60.0
"""``[plugins] hook_timeout_s`` by default: how long one hook call may take."""

CONFIG_HOOKS = frozenset(
    {
        "trainhooks_configure",
        "trainhooks_register_strategies",
        "trainhooks_register_estimators",
        "trainhooks_check_data_source",
        "trainhooks_validate_data",
    }
)
"""Setup hooks in which a plugin's ``SettingsError`` is a config error (exit 2), whatever ``on_error`` says."""

CallObserver = Callable[[str, str, Mapping[str, Any], Any], None]
"""``observer(hook_name, plugin_name, kwargs, result_or_exception)``, used by trainhooks.testing."""


class PluginFailure(TrainhooksError):
    """A plugin failed and the run cannot go on: ``on_error = "raise"``, or a required plugin. Exit 1."""

    exit_code = 1


class BadAnswer(Exception):
    """A setup hook returned something the core cannot use (the message says what)."""


def _problem(exc: BaseException) -> str:
    """What went wrong, in one line: a bad answer or a timeout says it alone, an exception with its type."""
    return str(exc) if isinstance(exc, (BadAnswer, CallTimedOut)) else describe_error(exc)


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
        hook_timeout_s: float = DEFAULT_HOOK_TIMEOUT_S,
        plugins: Sequence[PluginInfo] = (),
        protected: Collection[str] = (),
    ) -> None:
        """:param plugins: the loader's report, to name a failing plugin's distribution.
        :param protected: essential and required plugins: failing in a setup hook, or needing to be
            disabled, stops the run instead."""
        self.manager = manager
        self.on_error: OnError = on_error
        self.max_failures = max_failures
        self.sender = sender
        self.failures: Counter[str] = Counter()
        self.observers: list[CallObserver] = []
        self.protected = frozenset(protected)
        self._infos = {info.name: info for info in plugins}
        self._caller = TimedCaller(hook_timeout_s, on_abandoned=self._abandoned)
        self._stamp: Callable[..., Event] | None = None
        self._run_open = False  # run-started was delivered: plugin-failed events may follow
        self._unreported: list[tuple[str, str, str]] = []  # (plugin, hook, error) awaiting a run
        self._gone_deciders: set[str] = set()  # disabled plugins that used to answer permission checks
        self._pending: deque[tuple[Event, str | None]] = deque()  # emitted while delivering
        self._delivering = False

    # -- calling ---------------------------------------------------------------------------

    def _implementations(self, hook_name: str) -> list[pluggy.HookImpl]:
        caller = getattr(self.manager.hook, hook_name, None)
        if caller is None:
            return []
        impls = [i for i in caller.get_hookimpls() if not (i.hookwrapper or i.wrapper)]
        return impls[::-1]  # pluggy calls the last registered (and tryfirst) first

    def _call(self, impl: pluggy.HookImpl, hook_name: str, kwargs: Mapping[str, Any]) -> Any:
        args = [kwargs[name] for name in impl.argnames]
        try:
            result = self._caller.call((impl.plugin_name, hook_name), impl.function, *args)
        except Exception as exc:
            for observer in self.observers:
                observer(hook_name, impl.plugin_name, kwargs, exc)
            raise
        for observer in self.observers:
            observer(hook_name, impl.plugin_name, kwargs, result)
        return result

    def failure_line(self, plugin: str, hook_name: str, exc: BaseException) -> str:
        """One line naming the plugin, its distribution, the hook and what went wrong."""
        info = self._infos.get(plugin)
        where = f" (distribution {info.distribution} {info.version})" if info and info.distribution else ""
        return f"plugin {plugin!r}{where} failed in {hook_name}: {_problem(exc)}"

    def _failed(self, plugin: str, hook_name: str, exc: Exception, *, allow_raise: bool, setup: bool = False) -> None:
        """Apply the error policy to a plugin that raised (or timed out, or answered garbage) in ``hook_name``.

        A notification's own exception propagates with "raise" (the run fails with it); a setup
        failure or a timeout becomes a one-line :class:`PluginFailure`. A timed-out plugin is
        disabled whatever the policy: it may still be running, and gets no more calls.
        """
        timed_out = isinstance(exc, CallTimedOut)
        line = self.failure_line(plugin, hook_name, exc)
        if setup and plugin in self.protected:
            raise PluginFailure(f"{line} (a required plugin: the run cannot go on without it)") from exc
        if allow_raise and self.on_error == "raise":
            if setup or timed_out:
                raise PluginFailure(line) from exc
            raise exc
        self.failures[plugin] += 1
        log.warning("%s", line)
        self._unreported.append((plugin, hook_name, _problem(exc)))
        self._report_failures()
        if timed_out:
            self.disable(plugin, f"it did not return from {hook_name} within {exc.seconds:g} s")
        elif self.on_error == "disable" and (setup or self.failures[plugin] >= self.max_failures):
            self.disable(plugin, f"after {self.failures[plugin]} failure(s)")

    def _abandoned(self, label: Hashable, seconds: float) -> None:
        """A call interrupted by Ctrl-C missed its deadline afterwards: report and disable its plugin."""
        plugin, hook_name = label  # type: ignore[misc]
        exc = CallTimedOut(label, seconds)
        log.warning("%s", self.failure_line(plugin, hook_name, exc))
        self._unreported.append((plugin, hook_name, str(exc)))
        self.disable(plugin, f"it did not return from {hook_name} within {seconds:g} s")

    def _report_failures(self) -> None:
        """Emit ``plugin-failed`` for failures not yet reported, once a run has started."""
        if self._stamp is None or not self._run_open:
            return
        while self._unreported:
            plugin, hook_name, error = self._unreported.pop(0)
            if hook_name != "trainhooks_on_plugin_error":
                self.notify(self._stamp(PluginFailed, plugin=plugin, hook=hook_name, error=error), skip=plugin)

    def disable(self, plugin: str, why: str) -> None:
        """Unregister ``plugin`` for the rest of this session; a protected one stops the run instead."""
        if plugin in self.protected:
            raise PluginFailure(f"plugin {plugin!r} is required and cannot be disabled ({why})")
        instance = self.manager.get_plugin(plugin)
        if instance is None:
            return
        if any(c.name == "trainhooks_check_permission" for c in self.manager.get_hookcallers(instance) or []):
            self._gone_deciders.add(plugin)
        self.manager.unregister(instance)
        log.warning("plugin %r disabled: %s", plugin, why)

    # -- notifications -----------------------------------------------------------------------

    def bind(self, stamp: Callable[..., Event] | None) -> None:
        """Use ``stamp(cls, **fields)`` to create ``plugin-failed`` events for the current run.

        Failures before the run's ``run-started`` (setup hooks) are reported right after it.
        """
        self._stamp = stamp
        self._run_open = False

    def notify(self, event: Event, *, skip: str | None = None) -> None:
        """Deliver ``event`` to its notification hook, plugin by plugin, then to its signal.

        An event sent while another is being delivered (a plugin's ``RunContext.emit`` inside a
        hook) waits until that one reached every plugin and signal: every receiver sees a run's
        events in ``seq`` order, whichever plugin emitted them.
        """
        self._pending.append((event, skip))
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._pending:
                self._deliver(*self._pending.popleft())
        finally:
            self._delivering = False
            self._pending.clear()

    def _deliver(self, event: Event, skip: str | None) -> None:
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
        if event.name == "run-started":
            self._run_open = True
        self._report_failures()

    # -- decisions --------------------------------------------------------------------------

    def _first_answer(self, hook_name: str, kwargs: Mapping[str, Any], *, fail_closed: bool) -> Answer | None:
        for impl in self._implementations(hook_name):
            try:
                value = self._call(impl, hook_name, kwargs)
            except Exception as exc:
                if fail_closed:
                    log.warning("%s; denying", self.failure_line(impl.plugin_name, hook_name, exc))
                    if isinstance(exc, CallTimedOut):
                        self.disable(impl.plugin_name, f"it did not return from {hook_name} within {exc.seconds:g} s")
                    return Answer(
                        PermissionDecision.deny(
                            f"plugin {impl.plugin_name!r} failed while deciding: {_problem(exc)}", rule="fail-closed"
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
        """The first answer, or allow when no plugin has an opinion; a raising plugin denies.

        Once a plugin that answered permission checks was disabled, every check denies (fail closed).
        """
        if self._gone_deciders:
            gone = sorted(self._gone_deciders)[0]
            return PermissionDecision.deny(
                f"permission plugin {gone!r} was disabled after failing; denying (fail closed)", rule="fail-closed"
            )
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
        """Every usable non-``None`` answer of a setup hook, in call order; each plugin isolated.

        A plugin that raises, times out or answers the wrong shape (see core/setup_answers.py)
        follows the error policy (:meth:`_failed`): its answer is skipped, or the run stops with one
        line naming it. In :data:`CONFIG_HOOKS` a plugin's :class:`~trainhooks.hooks.SettingsError`
        propagates as a :class:`ConfigError` with the same message, so it reaches users like the
        core's own (exit 2, one line each); a :class:`TrainhooksError` (a plugin using the core's
        API to refuse the run, e.g. an unreachable tracking server) propagates as it is.
        """
        return list(self._answers(hook_name, kwargs))

    def first(self, hook_name: str, **kwargs: Any) -> Answer | None:
        """The first usable answer of a ``firstresult`` setup hook (``trainhooks_load_model``), or
        ``None``; later plugins are not asked. Failures are handled as in :meth:`collect`."""
        return next(self._answers(hook_name, kwargs), None)

    def _answers(self, hook_name: str, kwargs: Mapping[str, Any]) -> Iterator[Answer]:
        for impl in self._implementations(hook_name):
            try:
                if hook_name in CONFIG_HOOKS:
                    with settings_errors_as_config():
                        value = self._call(impl, hook_name, kwargs)
                else:
                    value = self._call(impl, hook_name, kwargs)
                problem = answer_problem(hook_name, value) if value is not None else None
                if problem:
                    raise BadAnswer(problem)
            except TrainhooksError:  # a deliberate refusal (a config error, an unreachable server): as is
                raise
            except Exception as exc:
                self._failed(impl.plugin_name, hook_name, exc, allow_raise=True, setup=True)
                continue
            if value is not None:
                yield Answer(value, impl.plugin_name)

    def collect_each(self, hook_name: str, kwargs_by_plugin: Mapping[str, Mapping[str, Any]]) -> None:
        """Call a setup hook on each plugin named in ``kwargs_by_plugin``, with that plugin's own arguments.

        Used to hand each plugin its own saved state (``trainhooks_load_state_dict``). Failures
        follow the setup-hook policy of :meth:`collect`; a plugin's ``SettingsError`` is a config error.
        """
        for impl in self._implementations(hook_name):
            kwargs = kwargs_by_plugin.get(impl.plugin_name)
            if kwargs is None:
                continue
            try:
                with settings_errors_as_config():
                    self._call(impl, hook_name, kwargs)
            except TrainhooksError:
                raise
            except Exception as exc:
                self._failed(impl.plugin_name, hook_name, exc, allow_raise=True, setup=True)


class EventStamper:
    """Creates the events of one run with its ``run_id``, a timestamp and increasing ``seq``."""

    def __init__(self, run_id: str, *, seq: int = 0) -> None:
        """:param seq: the last ``seq`` the run already used (a resumed run continues after it)."""
        self.run_id = run_id
        self._seq = seq

    def __call__(self, cls: type[Event], **fields: Any) -> Event:
        self._seq += 1
        return cls(run_id=self.run_id, timestamp=time.time(), seq=self._seq, **fields)


__all__ = [
    "CONFIG_HOOKS",
    "DEFAULT_HOOK_TIMEOUT_S",
    "NOTIFICATION_HOOKS",
    "Answer",
    "BadAnswer",
    "Dispatcher",
    "EventStamper",
    "OnError",
    "PluginFailure",
]
