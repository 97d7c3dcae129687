"""Test helpers for plugin authors, installed as a pytest plugin (entry point ``pytest11``).

Fixtures:

- ``trainhooks_recorder``: a fresh :class:`EventRecorder` plugin that records every event.
- ``trainhooks_session``: a factory ``make(*plugins, builtins=(), **session_kwargs)`` returning an
  isolated :class:`~trainhooks.Session` (no entry-point autoload, built-in plugins blocked unless
  named in ``builtins``) with the recorder registered and every hook call to any plugin recorded.
- ``trainhooks_small_search``: a function ``run(session, **tune_kwargs)`` that runs a small,
  real, seeded search (SGDClassifier on a slice of breast_cancer, 3 folds, 3 epochs).

Nothing here is imported until pytest asks for a fixture, so installing trainhooks does not slow
down unrelated test suites.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from trainhooks.hooks import Event, hookimpl


@dataclass(frozen=True)
class HookCall:
    """One call of one plugin's hook implementation, with its outcome."""

    hook: str
    plugin: str
    kwargs: dict[str, Any]
    result: Any  # the return value, or the exception it raised

    @property
    def raised(self) -> bool:
        return isinstance(self.result, BaseException)


def _recording() -> Callable[[EventRecorder, Event], None]:
    """A fresh hook implementation that appends the event (one function object per hook)."""

    @hookimpl
    def record(self: EventRecorder, event: Event) -> None:
        self.events.append(event)

    return record


class EventRecorder:
    """A plugin that keeps every event it receives, in order, and every hook call made in its session."""

    plugin_name = "recorder"

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.calls: list[HookCall] = []

    trainhooks_on_run_start = _recording()
    trainhooks_on_trial_start = _recording()
    trainhooks_on_epoch_end = _recording()
    trainhooks_on_trial_end = _recording()
    trainhooks_on_search_stopped = _recording()
    trainhooks_on_model_fitted = _recording()
    trainhooks_on_model_registered = _recording()
    trainhooks_on_artifacts_written = _recording()
    trainhooks_on_run_end = _recording()
    trainhooks_on_run_error = _recording()
    trainhooks_on_plugin_error = _recording()

    def observe(self, hook: str, plugin: str, kwargs: Any, result: Any) -> None:
        """Dispatcher call observer: records calls to every plugin except this recorder."""
        if plugin != self.plugin_name:
            self.calls.append(HookCall(hook, plugin, dict(kwargs), result))

    @property
    def names(self) -> list[str]:
        """Event names in the order received."""
        return [event.name for event in self.events]

    def of(self, kind: type[Event] | str) -> list[Event]:
        """Events of one class (or with one name)."""
        if isinstance(kind, str):
            return [e for e in self.events if e.name == kind]
        return [e for e in self.events if isinstance(e, kind)]

    def calls_to(self, plugin: str, hook: str | None = None) -> list[HookCall]:
        """Recorded calls of ``plugin``'s hooks (optionally one hook)."""
        return [c for c in self.calls if c.plugin == plugin and (hook is None or c.hook == hook)]

    def clear(self) -> None:
        self.events.clear()
        self.calls.clear()


def check_event_order(events: list[Event]) -> None:
    """Assert the order DESIGN section 2 promises for one run's events.

    ``run-started`` first; per trial ``trial-started``, its ``epoch-ended`` events in increasing
    order, exactly one ``trial-ended``; ``run-ended`` or ``run-failed`` last, exactly once; one
    ``run_id`` and strictly increasing ``seq``. A trial's reports all have one ``unit``: per epoch
    (1, 2, ...; with ``eval_every = k`` only every k-th and the last epoch), none past the epochs the
    trial trained; or per fold (1, 2, ... without gaps, none past ``planned_epochs``, the number of
    folds), and then the trial trained one epoch and a complete one has a score for every fold.
    """
    assert events, "no events"
    names = [e.name for e in events]
    assert names[0] == "run-started", f"first event is {names[0]!r}"
    assert names[-1] in ("run-ended", "run-failed"), f"last event is {names[-1]!r}"
    assert names.count("run-ended") + names.count("run-failed") == 1, "run-ended/run-failed not exactly once"
    assert names.count("run-started") == 1
    assert len({e.run_id for e in events}) == 1, "events of several runs"
    seqs = [e.seq for e in events]
    assert all(a < b for a, b in itertools.pairwise(seqs)), "seq is not strictly increasing"
    started: set[int] = set()
    ended: set[int] = set()
    last: dict[int, Event] = {}  # each trial's latest epoch-ended
    for event in events:
        trial_id = getattr(event, "trial_id", None)
        if event.name == "trial-started":
            assert trial_id not in started, f"trial {trial_id} started twice"
            started.add(trial_id)
        elif event.name == "epoch-ended":
            assert trial_id in started and trial_id not in ended, f"epoch of trial {trial_id} outside the trial"
            _check_report(last.get(trial_id), event)
            last[trial_id] = event
        elif event.name == "trial-ended":
            assert trial_id in started and trial_id not in ended, f"trial {trial_id} ended twice or never started"
            _check_trial_end(last.get(trial_id), event)
            ended.add(trial_id)
    assert started == ended, f"trials without trial-ended: {sorted(started - ended)}"


def _check_report(previous: Any, event: Any) -> None:
    """One trial's ``epoch-ended`` after its ``previous`` one (or its first)."""
    trial_id, unit = event.trial_id, getattr(event, "unit", "epoch")
    assert unit in ("epoch", "fold"), f"trial {trial_id}: unknown unit {unit!r}"
    if previous is not None:
        assert previous.unit == unit, f"trial {trial_id}: reports in {previous.unit!r} and {unit!r}"
    step = previous.epoch if previous is not None else 0
    assert event.epoch > step, f"trial {trial_id}: epoch {event.epoch} out of order"
    assert event.is_last == (event.epoch == event.planned_epochs), f"trial {trial_id}: is_last at {event.epoch}"
    if unit == "fold":
        assert event.epoch == step + 1, f"trial {trial_id}: fold {event.epoch} after fold {step}"
        assert event.epoch <= event.planned_epochs, f"trial {trial_id}: fold {event.epoch} past the folds"
        assert len(event.metrics["fold_scores"]) == event.epoch, f"trial {trial_id}: fold scores at fold {step}"


def _check_trial_end(last: Any, event: Any) -> None:
    """A ``trial-ended`` against its trial's latest ``epoch-ended`` (``None`` if none came)."""
    trial_id = event.trial_id
    if last is None:
        return
    if last.unit == "epoch":
        assert last.epoch <= event.epochs, f"trial {trial_id}: epoch reported past its end"
        return
    assert event.epochs <= 1, f"trial {trial_id}: reported per fold but trained {event.epochs} epochs"
    if event.state == "complete":
        assert last.is_last, f"trial {trial_id}: complete after fold {last.epoch} of {last.planned_epochs}"
    if event.state != "failed":
        assert len(event.fold_scores) <= last.epoch, f"trial {trial_id}: more fold scores than folds trained"


def make_session(recorder: EventRecorder, *plugins: object, builtins: Iterable[str] = (), **session_kwargs: Any) -> Any:
    """An isolated Session with ``recorder`` and ``plugins`` registered."""
    from trainhooks import Session
    from trainhooks.plugin_loader import BUILTIN_PLUGINS

    keep = set(builtins)
    blocked = [name for name in BUILTIN_PLUGINS if name not in keep]
    blocked += list(session_kwargs.pop("disable", ()))
    session_kwargs.setdefault("autoload", False)
    session = Session(plugins=[recorder, *plugins], disable=blocked, **session_kwargs)
    session.dispatcher.observers.append(recorder.observe)
    return session


def small_search(session: Any, estimator: Any = None, **kwargs: Any) -> Any:
    """A small, real, seeded random search (about a second).

    ``estimator`` replaces the default ``SGDClassifier(random_state=0)`` (e.g. one that fails in
    ``fit`` for some parameters, to see what a plugin does with failed trials); ``space`` and every
    other keyword go to :meth:`Session.tune`.
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import SGDClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    options: dict[str, Any] = {
        "strategy": "random",
        "n_trials": 4,
        "cv": 3,
        "max_epochs": 3,
        "random_state": 0,
        "scoring": "accuracy",
    }
    options.update(kwargs)
    space = options.pop("space", {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1"]})
    estimator = estimator if estimator is not None else SGDClassifier(random_state=0)
    return session.tune(estimator, space, X[:300], y[:300], **options)


@pytest.fixture
def trainhooks_recorder() -> EventRecorder:
    """A fresh recording plugin."""
    return EventRecorder()


@pytest.fixture
def trainhooks_session(trainhooks_recorder: EventRecorder) -> Callable[..., Any]:
    """Factory for isolated sessions that include ``trainhooks_recorder``."""

    def make(*plugins: object, **kwargs: Any) -> Any:
        return make_session(trainhooks_recorder, *plugins, **kwargs)

    return make


@pytest.fixture
def trainhooks_small_search() -> Callable[..., Any]:
    """``run(session, **tune_kwargs)``: a small real search."""
    return small_search


__all__ = ["EventRecorder", "HookCall", "check_event_order", "make_session", "small_search"]
