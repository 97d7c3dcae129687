"""The RBAC policy: roles (sets of permissions, possibly inheriting others), users and groups
mapped to roles, and deny by default. Loaded from TOML and checked completely on load.

Policy file::

    [roles.viewer]
    permissions = ["run.train:sandbox-*"]

    [roles.scientist]
    inherits = ["viewer"]
    permissions = ["run.tune", "run.train", "model.register:fraud-*"]

    [users]
    alice = ["scientist"]

    [groups.ml-team]
    members = ["bob", "carol"]
    roles = ["viewer"]

A permission is ``ACTION`` or ``ACTION:RESOURCE``; both parts are shell-style globs (``model.*``,
``fraud-*``); a missing resource means any. Exact action names must be in the catalogue
(:data:`trainhooks.hooks.actions.ACTIONS`), so a typo is an error, not a silent denial.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import Field

from trainhooks.hooks import PermissionDecision, PluginSettings, SettingsError, validate_settings
from trainhooks.hooks.actions import ACTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_DENY = "default-deny"
"""The ``rule`` of a denial that no role explains (no matching permission, or unknown principal)."""

_GLOB_CHARS = frozenset("*?[")


class _RoleModel(PluginSettings):
    permissions: list[str] = Field(default_factory=list)
    inherits: list[str] = Field(default_factory=list)


class _GroupModel(PluginSettings):
    members: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)


class _PolicyModel(PluginSettings):
    default: str = "deny"
    roles: dict[str, _RoleModel] = Field(default_factory=dict)
    users: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, _GroupModel] = Field(default_factory=dict)


@dataclass(frozen=True)
class Permission:
    """One grant: an action glob on a resource glob, as written in the policy (``text``)."""

    action: str
    resource: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Permission:
        action, sep, resource = text.partition(":")
        action, resource = action.strip(), resource.strip() if sep else "*"
        if not action or (sep and not resource):
            raise ValueError(f"{text!r} is not ACTION or ACTION:RESOURCE")
        if not (_GLOB_CHARS & set(action)) and action not in ACTIONS:
            raise ValueError(f"unknown action {action!r} (known: {', '.join(sorted(ACTIONS))})")
        return cls(action, resource, text)

    def matches(self, action: str, resource: str) -> bool:
        return fnmatchcase(action, self.action) and fnmatchcase(resource, self.resource)


@dataclass(frozen=True)
class Policy:
    """A loaded, checked policy. :meth:`decide` answers one request; it never raises."""

    source: str
    roles: dict[str, tuple[Permission, ...]]  # own permissions of each role
    inherits: dict[str, tuple[str, ...]]
    users: dict[str, tuple[str, ...]]
    groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # group -> (members, roles)

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and check a policy file; each problem is one line of a SettingsError naming file and field."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"plugins.rbac.policy: file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"plugins.rbac.policy: cannot read {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<policy>") -> Policy:
        try:
            model = validate_settings(_PolicyModel, data)
        except SettingsError as exc:
            raise SettingsError("\n".join(f"{source}: {line}" for line in str(exc).splitlines())) from None
        if model.default != "deny":
            raise SettingsError(f"{source}: default: only 'deny' is supported (got {model.default!r})")
        roles: dict[str, tuple[Permission, ...]] = {}
        for name, role in model.roles.items():
            grants = []
            for i, text in enumerate(role.permissions):
                try:
                    grants.append(Permission.parse(text))
                except ValueError as exc:
                    raise SettingsError(f"{source}: roles.{name}.permissions[{i}]: {exc}") from None
            roles[name] = tuple(grants)

        def known(role: str, where: str) -> str:
            if role not in roles:
                raise SettingsError(f"{source}: {where}: unknown role {role!r}")
            return role

        inherits = {
            name: tuple(known(r, f"roles.{name}.inherits") for r in role.inherits) for name, role in model.roles.items()
        }
        users = {user: tuple(known(r, f"users.{user}") for r in names) for user, names in model.users.items()}
        groups = {
            name: (tuple(group.members), tuple(known(r, f"groups.{name}.roles") for r in group.roles))
            for name, group in model.groups.items()
        }
        policy = cls(source, roles, inherits, users, groups)
        for name in roles:
            policy._check_cycles(name, ())
        return policy

    def _check_cycles(self, role: str, path: tuple[str, ...]) -> None:
        if role in path:
            cycle = " -> ".join((*path[path.index(role) :], role))
            raise SettingsError(f"{self.source}: roles.{path[-1]}.inherits: inheritance cycle {cycle}")
        for parent in self.inherits[role]:
            self._check_cycles(parent, (*path, role))

    # -- deciding ------------------------------------------------------------------------------

    def assignments(self, principal: str) -> list[tuple[str, str]]:
        """``(role, via)`` pairs the principal holds directly: its user entry first, then groups."""
        held = [(role, f"users.{principal}") for role in self.users.get(principal, ())]
        for group, (members, roles) in self.groups.items():
            if principal in members:
                held += [(role, f"groups.{group}") for role in roles]
        return held

    def _expand(self, role: str) -> list[tuple[str, str]]:
        """``role`` and every role it inherits, each with the chain that led to it."""
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        stack = [(role, role)]
        while stack:
            name, chain = stack.pop(0)
            if name in seen:
                continue
            seen.add(name)
            out.append((name, chain))
            stack += [(parent, f"{chain} > {parent}") for parent in self.inherits[name]]
        return out

    def decide(self, principal: str, action: str, resource: str) -> PermissionDecision:
        """Allow with the first matching grant (``rule`` names role and permission), else deny."""
        held = self.assignments(principal)
        if not held:
            return PermissionDecision.deny(f"{principal!r} has no role in {self.source}", rule=DEFAULT_DENY)
        for role, via in held:
            for name, chain in self._expand(role):
                for grant in self.roles[name]:
                    if grant.matches(action, resource):
                        return PermissionDecision.allow(
                            f"{principal!r} holds role {chain!r} via {via}",
                            rule=f'roles.{name}.permissions "{grant.text}"',
                        )
        names = ", ".join(dict.fromkeys(role for role, _ in held))
        return PermissionDecision.deny(
            f"no permission of role(s) {names} matches {action} on {resource!r}", rule=DEFAULT_DENY
        )


__all__ = ["DEFAULT_DENY", "Permission", "Policy"]
