"""``rbac``: role-based permissions from a TOML policy, with a tamper-evident audit log.

See ``docs/rbac.md``. Modules: :mod:`.policy` (roles, grants, decisions), :mod:`.audit` (the hash
chain: append and verify), :mod:`.plugin` (the hooks), :mod:`.cli` (``trainhooks audit verify``).
"""

from .audit import AuditError, AuditLog, VerifyResult, verify
from .plugin import RbacPlugin
from .policy import DEFAULT_DENY, Permission, Policy

__all__ = ["DEFAULT_DENY", "AuditError", "AuditLog", "Permission", "Policy", "RbacPlugin", "VerifyResult", "verify"]
