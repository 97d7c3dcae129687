"""What a forger does to an audit log, for the tamper tests: write a log, edit records, rebuild the
chain (with a key, with the wrong key, or none), rewrite the head file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trainhooks.plugins.rbac import AuditLog
from trainhooks.plugins.rbac.audit import GENESIS, record_hash
from trainhooks.plugins.rbac.audit_key import sign
from trainhooks.plugins.rbac.head import Head, write_head

KEY = b"k" * 32
"""The service's audit key."""


def key_file(directory: Path, key: bytes = KEY, mode: int = 0o600) -> Path:
    """A key file as the deployment guide says: owner-only."""
    path = directory / "audit.key"
    path.write_bytes(key + b"\n")
    os.chmod(path, mode)
    return path


def write_log(path: Path, n: int = 5, key: bytes | None = None) -> list[dict[str, Any]]:
    """``n`` records appended the normal way (with ``key``: keyed)."""
    log = AuditLog(path, key=key)
    return [
        log.append(
            principal=f"user{i}",
            action="run.tune",
            resource="exp",
            allowed=i % 2 == 0,
            rule="default-deny" if i % 2 else 'roles.a.permissions "run.tune"',
            reason="test",
            plugins=["rbac"],
            run_id=f"run{i}",
        )
        for i in range(n)
    ]


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), encoding="utf-8")


def rebuild(
    path: Path, edits: dict[int, dict[str, Any]], *, key: bytes | None = None, keep_macs: bool = False
) -> list[dict[str, Any]]:
    """Apply ``edits`` (seq -> fields) and recompute every ``prev`` and ``hash``, as a forger would.

    ``key``: sign with it (a forger's own key). Without one, ``keep_macs`` leaves the old HMACs in
    place (the records still claim to be keyed); otherwise records become unkeyed.
    """
    records, prev = read_records(path), GENESIS
    for record in records:
        record.update(edits.get(record["seq"], {}))
        if key is not None or not keep_macs:
            record["keyed"] = key is not None
        record["prev"] = prev
        record["hash"] = prev = record_hash(record)
        if key is not None:
            record["mac"] = sign(key, record["hash"])
        elif not keep_macs:
            record["mac"] = None
    write_records(path, records)
    return records


def rewrite_head(path: Path, records: list[dict[str, Any]], key: bytes | None = None) -> None:
    """Make the head file agree with ``records`` (signed with ``key`` if given)."""
    write_head(path, Head(len(records), records[-1]["hash"]).signed(key))


__all__ = ["KEY", "key_file", "read_records", "rebuild", "rewrite_head", "write_log", "write_records"]
