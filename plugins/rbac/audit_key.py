"""The audit log's optional key: HMAC-SHA256 over each record and the head file.

Without the key, anyone who can write the log can rebuild a valid SHA-256 chain. With it, records
carry an HMAC that only a holder of the key can compute, so a chain rebuilt without the key fails
:func:`~trainhooks.plugins.rbac.verify`. The key lives in a file named by
``TRAINHOOKS_RBAC_AUDIT_KEY_FILE``, readable by the service that writes the log and by nobody else:
on POSIX the file must be owner-only (no group or other permission bits), as ssh requires of its
private keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

from trainhooks.hooks import SettingsError

KEY_ENV = "TRAINHOOKS_RBAC_AUDIT_KEY_FILE"
"""Names the key file; unset = an unkeyed log."""

MIN_KEY_BYTES = 16
"""Shortest key accepted (``head -c 32 /dev/urandom`` or ``openssl rand -hex 32`` give more)."""


def load_key(path: str | Path, source: str = KEY_ENV) -> bytes:
    """The key in ``path`` (surrounding whitespace stripped); one-line :class:`SettingsError` otherwise.

    :param source: what named the file (the variable or option), for the error message.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SettingsError(f"{source}: {path}: cannot read it: {exc.strerror or exc}") from None
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise SettingsError(
            f"{source}: {path} is readable or writable by others (mode {stat.S_IMODE(mode):04o}); "
            "make it owner-only: chmod 600"
        )
    if len(key) < MIN_KEY_BYTES:
        raise SettingsError(f"{source}: {path}: the key is {len(key)} bytes; at least {MIN_KEY_BYTES} are needed")
    return key


def key_from_env() -> bytes | None:
    """The key named by ``TRAINHOOKS_RBAC_AUDIT_KEY_FILE``, or ``None`` when it is unset or empty."""
    path = os.environ.get(KEY_ENV)
    return load_key(path) if path else None


def sign(key: bytes, message: str) -> str:
    """HMAC-SHA256 of ``message`` (UTF-8) under ``key``, as hex."""
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_matches(key: bytes, message: str, mac: object) -> bool:
    """Whether ``mac`` is ``message``'s HMAC under ``key`` (compared in constant time)."""
    return isinstance(mac, str) and hmac.compare_digest(sign(key, message), mac)


__all__ = ["KEY_ENV", "MIN_KEY_BYTES", "key_from_env", "load_key", "sign", "signature_matches"]
