"""The ``rbac`` plugin: answers ``trainhooks_check_permission`` from a policy file and writes every
decision to the audit log before the action proceeds.

Settings (``[plugins.rbac]``): ``policy`` (TOML policy file) and ``audit_log`` (JSON-lines file).
Without ``policy`` the plugin has no opinion (no RBAC). The environment variables
``TRAINHOOKS_RBAC_POLICY`` and ``TRAINHOOKS_RBAC_AUDIT_LOG`` pin both files for an operator: a run
config may then not name other ones. ``TRAINHOOKS_RBAC_AUDIT_KEY_FILE`` (environment only) names the
key that makes the audit log's records keyed (HMAC). The principal always comes from the request (set by the core),
never from the configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from trainhooks.hooks import (
    PermissionDecision,
    PermissionRequest,
    PluginSettings,
    SettingsError,
    hookimpl,
    validate_settings,
)

from .audit import AuditLog
from .audit_key import key_from_env
from .cli import audit_group
from .policy import Policy

POLICY_ENV = "TRAINHOOKS_RBAC_POLICY"
AUDIT_ENV = "TRAINHOOKS_RBAC_AUDIT_LOG"


class RbacSettings(PluginSettings):
    """``[plugins.rbac]``."""

    policy: str | None = None
    audit_log: str | None = None


def _settings(config: Mapping[str, Any]) -> RbacSettings:
    table = (config.get("plugins") or {}).get("rbac")
    settings = validate_settings(RbacSettings, table, prefix="plugins.rbac")
    for key, env in (("policy", POLICY_ENV), ("audit_log", AUDIT_ENV)):
        pinned = os.environ.get(env)
        if not pinned:
            continue
        given = getattr(settings, key)
        if given is not None and Path(given).resolve() != Path(pinned).resolve():
            raise SettingsError(f"plugins.rbac.{key}: {env} pins it to {pinned}; a run config cannot change it")
        settings = settings.model_copy(update={key: pinned})
    if settings.audit_log is not None and settings.policy is None:
        raise SettingsError(
            "plugins.rbac.audit_log: needs plugins.rbac.policy (the audit log records policy decisions)"
        )
    if settings.audit_log is not None and not Path(settings.audit_log).parent.is_dir():
        raise SettingsError(f"plugins.rbac.audit_log: directory does not exist: {Path(settings.audit_log).parent}")
    return settings


class RbacPlugin:
    """Role-based access control with a hash-chained audit log; fresh per session."""

    def __init__(self) -> None:
        self.policy: Policy | None = None
        self.audit: AuditLog | None = None

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any]) -> None:
        """Load this run's policy (checked whole, before the permission check) and audit log."""
        settings = _settings(config)
        self.policy = Policy.load(settings.policy) if settings.policy else None
        self.audit = AuditLog(settings.audit_log, key=key_from_env()) if settings.audit_log else None

    @hookimpl(tryfirst=True)
    def trainhooks_check_permission(self, request: PermissionRequest) -> PermissionDecision | None:
        if self.policy is None:
            return None
        decision = self.policy.decide(request.principal, request.action, request.resource)
        if self.audit is not None:
            # Raising here (disk full, damaged log) denies: the action never runs unaudited.
            self.audit.append(
                principal=request.principal,
                action=request.action,
                resource=request.resource,
                allowed=decision.allowed,
                rule=decision.rule,
                reason=decision.reason,
                plugins=request.context.get("plugins", ()),
                run_id=request.context.get("run_id"),
            )
        return decision

    @hookimpl
    def trainhooks_cli_commands(self) -> list[click.Command]:
        return [audit_group]


__all__ = ["AUDIT_ENV", "POLICY_ENV", "RbacPlugin", "RbacSettings"]
