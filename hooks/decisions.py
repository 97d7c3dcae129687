"""Values that decision hooks receive and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .frozen import freeze


@dataclass(frozen=True)
class StopDecision:
    """Answer of ``trainhooks_should_stop_trial`` / ``trainhooks_should_stop_search``.

    :param reason: short, stable, snake_case reason, e.g. ``"patience"`` or ``"pruned_median"`` (the
        built-in early_stopping plugin's reasons are listed in docs/early-stopping.md). It becomes
        ``trial-ended.stop_reason`` for a trial; for the search, ``search-stopped.reason`` and the
        summary's ``stop_reason``.
    :param prune: for a trial, ``True`` marks it "pruned" (its score is not comparable and is never
        told to the strategy); ``False`` stops it early but keeps it "complete" (early stopping).
        Ignored for the search.
    :param use_epoch: for a trial stopped early, the epoch whose scores should be reported instead of
        this one (``restore_best``); it must be an epoch already sent in ``epoch-ended``, else it is
        ignored. ``None`` keeps the current epoch. Ignored for the search.
    """

    reason: str
    prune: bool = False
    use_epoch: int | None = None


@dataclass(frozen=True)
class PermissionRequest:
    """What ``trainhooks_check_permission`` is asked.

    :param principal: who asks: the OS user by default, or the ``principal`` a program gave its
        :class:`trainhooks.Session`; fixed by the core, never by a plugin.
    :param action: dotted action name, ``<area>.<verb>``, e.g. ``"run.tune"`` or ``"model.promote"``
        (the known ones are in ``trainhooks.hooks.actions.ACTIONS`` and docs/rbac.md).
    :param resource: what it acts on, e.g. an experiment or registered model name.
    :param context: extra read-only facts for auditing; the core sends ``run_id`` and ``plugins``
        (the names of the active plugins).
    """

    principal: str
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", freeze(self.context))


@dataclass(frozen=True)
class PermissionDecision:
    """Answer of ``trainhooks_check_permission``: allowed or not, why, and by which rule.

    :param allowed: ``True`` to allow the action, ``False`` to deny it (the CLI then exits 3).
    :param reason: one line for the user and the audit log, e.g. ``"role analyst may not promote"``.
    :param rule: the policy rule that decided, if any (shown after the reason).
    """

    allowed: bool
    reason: str
    rule: str | None = None

    @classmethod
    def allow(cls, reason: str, rule: str | None = None) -> PermissionDecision:
        """A decision that allows, with its reason and rule."""
        return cls(True, reason, rule)

    @classmethod
    def deny(cls, reason: str, rule: str | None = None) -> PermissionDecision:
        """A decision that denies, with its reason and rule."""
        return cls(False, reason, rule)


__all__ = ["PermissionDecision", "PermissionRequest", "StopDecision"]
