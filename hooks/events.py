"""Lifecycle events: small frozen dataclasses that every hook and signal receives.

Each event class has a class-level kebab-case ``name`` and the common fields ``run_id``,
``timestamp`` and ``seq`` (strictly increasing within a run). Container fields are frozen
snapshots (:class:`~trainhooks.hooks.frozen.FrozenDict` / tuples), so a plugin cannot change what
the next plugin sees. Plugins may define new event types by subclassing :class:`Event`; every
subclass with a ``name`` is registered for :meth:`Event.from_dict`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .frozen import freeze, thaw

E = TypeVar("E", bound="Event")

EVENT_TYPES: dict[str, type[Event]] = {}
"""Every known event class by its ``name``; filled in as event classes are defined."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base class of all lifecycle events."""

    name: ClassVar[str] = ""

    run_id: str
    timestamp: float
    seq: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            known = EVENT_TYPES.get(cls.name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"event name {cls.name!r} is already used by {known.__qualname__}")
            EVENT_TYPES[cls.name] = cls

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            frozen = freeze(value)
            if frozen is not value:
                object.__setattr__(self, field.name, frozen)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of this event, including its ``name``."""
        data = {field.name: thaw(getattr(self, field.name)) for field in dataclasses.fields(self)}
        return {"name": self.name, **data}

    def to_json(self) -> str:
        """One line of JSON (the event log format)."""
        return json.dumps(self.to_dict(), allow_nan=True, separators=(",", ":"))

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output, choosing the class by ``name``."""
        payload = dict(data)
        name = payload.pop("name", None)
        try:
            cls = EVENT_TYPES[name]
        except KeyError:
            raise ValueError(f"unknown event name {name!r}") from None
        return cls(**payload)

    @staticmethod
    def from_json(line: str) -> Event:
        """Rebuild an event from :meth:`to_json` output."""
        return Event.from_dict(json.loads(line))


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A tune or train run begins; ``config`` is the validated run configuration."""

    name: ClassVar[str] = "run-started"
    kind: str
    config: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class TrialStarted(Event):
    """A trial (one set of parameters) is about to be trained."""

    name: ClassVar[str] = "trial-started"
    trial_id: int
    params: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class EpochEnded(Event):
    """All folds of a trial finished one epoch; ``metrics`` has ``score``, ``score_std``, ``fold_scores``.

    ``planned_epochs`` is how many epochs the core will train this trial unless a plugin stops it
    (decided from ``search.max_epochs`` and the estimator's own ``n_estimators``/``max_iter``; 1 for
    an estimator without epochs), and ``is_last`` says this is that final epoch: plugins read both
    here instead of re-deriving them from the configuration.
    """

    name: ClassVar[str] = "epoch-ended"
    trial_id: int
    epoch: int
    metrics: dict[str, Any]
    planned_epochs: int
    is_last: bool


@dataclass(frozen=True, kw_only=True)
class TrialEnded(Event):
    """A trial is over: ``state`` is "complete", "pruned" or "failed"."""

    name: ClassVar[str] = "trial-ended"
    trial_id: int
    params: dict[str, Any]
    state: str
    score: float | None
    score_std: float | None
    fold_scores: tuple[float, ...]
    epochs: int
    duration_s: float
    error: str | None = None
    stop_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelFitted(Event):
    """The best parameters were refit on the whole training split.

    The model is not handed over live: ``model_path`` is a pickle of it (valid until the run's last
    event), ``input_example`` a few rows of features as plain lists, ``feature_names`` their names.
    """

    name: ClassVar[str] = "model-fitted"
    trial_id: int
    params: dict[str, Any]
    epochs: int
    model_path: str
    test_score: float | None
    input_example: list[Any]
    feature_names: list[str] | None = None


@dataclass(frozen=True, kw_only=True)
class SearchStopped(Event):
    """The search ends before its budget: ``by`` is the deciding plugin's name or "core"."""

    name: ClassVar[str] = "search-stopped"
    reason: str
    by: str


@dataclass(frozen=True, kw_only=True)
class ModelRegistered(Event):
    """A model version was registered (and possibly given an alias)."""

    name: ClassVar[str] = "model-registered"
    model_name: str
    version: str
    alias: str | None
    score: float | None


@dataclass(frozen=True, kw_only=True)
class RunEnded(Event):
    """The run finished (completely or stopped early); ``summary`` is the run summary."""

    name: ClassVar[str] = "run-ended"
    summary: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RunFailed(Event):
    """The run ended with an error (including Ctrl-C, ``error_type`` "KeyboardInterrupt")."""

    name: ClassVar[str] = "run-failed"
    error: str
    error_type: str


@dataclass(frozen=True, kw_only=True)
class PluginFailed(Event):
    """A plugin raised in a hook; the other plugins still got the event."""

    name: ClassVar[str] = "plugin-failed"
    plugin: str
    hook: str
    error: str


__all__ = [
    "EVENT_TYPES",
    "EpochEnded",
    "Event",
    "ModelFitted",
    "ModelRegistered",
    "PluginFailed",
    "RunEnded",
    "RunFailed",
    "RunStarted",
    "SearchStopped",
    "TrialEnded",
    "TrialStarted",
]
