"""``rbac``: role-based permissions from a TOML policy, with a tamper-evident audit log.

See ``docs/rbac.md``. Modules: :mod:`.policy` (roles, grants, decisions), :mod:`.audit` (records and
appending them), :mod:`.audit_key` (the optional HMAC key), :mod:`.head` (the head file beside the
log), :mod:`.verification` (checking a log), :mod:`.plugin` (the hooks), :mod:`.cli` (``trainhooks audit
verify``).
"""

from .audit import AuditError, AuditLog
from .plugin import RbacPlugin
from .policy import DEFAULT_DENY, Permission, Policy
from .verification import VerifyResult, verify

__all__ = ["DEFAULT_DENY", "AuditError", "AuditLog", "Permission", "Policy", "RbacPlugin", "VerifyResult", "verify"]
