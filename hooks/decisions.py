"""Values that decision hooks receive and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .frozen import freeze


@dataclass(frozen=True)
class StopDecision:
    """Answer of ``trainhooks_should_stop_trial`` / ``trainhooks_should_stop_search``.

    :param reason: short machine-friendly reason, e.g. ``"patience"`` or ``"pruned:median"``.
    :param prune: for a trial, ``True`` marks it "pruned" (its score is not comparable and is never
        told to the optimizer); ``False`` stops it early but keeps it "complete" (early stopping).
    :param use_epoch: for a trial stopped early, the epoch whose score should be reported
        (``restore_best``); ``None`` keeps the last epoch.
    """

    reason: str
    prune: bool = False
    use_epoch: int | None = None


@dataclass(frozen=True)
class PermissionRequest:
    """What ``trainhooks_check_permission`` is asked.

    :param principal: who asks (the OS user for the CLI, an explicit principal in the Python API).
    :param action: dotted action name, e.g. ``"run.tune"`` or ``"model.promote"``.
    :param resource: what it acts on, e.g. an experiment or registered model name.
    :param context: extra read-only facts (e.g. the plugin set) for auditing.
    """

    principal: str
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", freeze(self.context))


@dataclass(frozen=True)
class PermissionDecision:
    """Answer of ``trainhooks_check_permission``: allowed or not, why, and by which rule."""

    allowed: bool
    reason: str
    rule: str | None = None

    @classmethod
    def allow(cls, reason: str, rule: str | None = None) -> PermissionDecision:
        return cls(True, reason, rule)

    @classmethod
    def deny(cls, reason: str, rule: str | None = None) -> PermissionDecision:
        return cls(False, reason, rule)


__all__ = ["PermissionDecision", "PermissionRequest", "StopDecision"]
