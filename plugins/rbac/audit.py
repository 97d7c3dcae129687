"""The tamper-evident audit log: append-only JSON lines, each carrying the hash of the one before.

Every record has ``seq`` (1, 2, 3, ...), ``time``, ``principal``, ``action``, ``resource``,
``decision`` ("allow" or "deny"), ``rule``, ``reason``, ``plugins`` (the plugin set of the run),
``run_id``, ``prev`` (the previous record's ``hash``; 64 zeros for the first) and ``hash`` (SHA-256
of the record's canonical JSON without ``hash``). Editing a record changes its hash; deleting or
moving one breaks the ``prev``/``seq`` chain. Deleting records at the *end* leaves a valid, shorter
chain: compare the head hash :func:`verify` reports with one kept elsewhere to detect that.

Appends hold an exclusive lock (``filelock``, on ``<log>.lock`` beside the log, on every platform),
so several processes may share one log: each reads the last record and writes the next one as one
step. The record is flushed and fsync'ed before :meth:`AuditLog.append` returns, so the action it
guards proceeds only after its record is on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from filelock import FileLock

GENESIS = "0" * 64
"""``prev`` of the first record."""

FIELDS = (
    "seq",
    "time",
    "principal",
    "action",
    "resource",
    "decision",
    "rule",
    "reason",
    "plugins",
    "run_id",
    "prev",
    "hash",
)
_TAIL_BYTES = 1 << 16


class AuditError(Exception):
    """The audit log cannot be appended to (unreadable, or its last record is damaged)."""


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``record`` without its ``hash`` field."""
    body = {key: value for key, value in record.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _last_line(fh: Any) -> bytes | None:
    """The last complete line of an open binary file, or ``None`` if it is empty."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return None
    start = max(0, size - _TAIL_BYTES)
    fh.seek(start)
    tail = fh.read()
    if not tail.endswith(b"\n"):
        raise AuditError("its last record is incomplete (no newline); run 'trainhooks audit verify'")
    lines = tail[:-1].split(b"\n")
    if len(lines) == 1 and start > 0:
        raise AuditError("its last record is longer than 64 KiB; run 'trainhooks audit verify'")
    return lines[-1]


class AuditLog:
    """Appends chained records to one file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def append(
        self,
        *,
        principal: str,
        action: str,
        resource: str,
        allowed: bool,
        rule: str | None,
        reason: str,
        plugins: Iterable[str] = (),
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Write one record after the current last one; returns it once it is on disk."""
        with self._locked() as fh:
            try:
                last = _last_line(fh)
                previous = json.loads(last) if last is not None else None
                prev_hash = GENESIS if previous is None else previous["hash"]
                seq = 1 if previous is None else int(previous["seq"]) + 1
            except AuditError as exc:
                raise AuditError(f"audit log {self.path}: {exc}") from None
            except (ValueError, KeyError, TypeError):
                raise AuditError(
                    f"audit log {self.path}: its last record is damaged; run 'trainhooks audit verify'"
                ) from None
            record: dict[str, Any] = {
                "seq": seq,
                "time": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                "principal": principal,
                "action": action,
                "resource": resource,
                "decision": "allow" if allowed else "deny",
                "rule": rule,
                "reason": reason,
                "plugins": sorted(plugins),
                "run_id": run_id,
                "prev": prev_hash,
            }
            record["hash"] = record_hash(record)
            line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        return record

    @contextmanager
    def _locked(self) -> Iterator[BinaryIO]:
        """The log opened for reading its tail and appending, while this process holds its lock."""
        try:
            with FileLock(f"{self.path}.lock", mode=0o640):
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
                with os.fdopen(fd, "r+b") as fh:
                    yield fh
        except OSError as exc:
            raise AuditError(f"cannot append to audit log {self.path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: ``ok``, how many records were good, the head hash, the first problem."""

    ok: bool
    records: int
    head: str
    line: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "head": self.head, "line": self.line, "problem": self.problem}


def verify(path: str | Path, expect_head: str | None = None) -> VerifyResult:
    """Check the whole chain; report the first broken, edited, missing or reordered record.

    :param expect_head: a head hash recorded earlier; if given, the log must end exactly there
        (or still contain it, followed by later records), which detects records deleted at the end.
    """
    prev, good, seen_expected = GENESIS, 0, expect_head is None

    def broken(number: int, problem: str) -> VerifyResult:
        return VerifyResult(False, good, prev, number, problem)

    with Path(path).open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return broken(number, "incomplete record (no newline at the end)")
            try:
                record = json.loads(raw)
            except ValueError:
                return broken(number, "not a JSON record")
            if not isinstance(record, dict) or set(record) != set(FIELDS):
                return broken(number, "not an audit record (fields differ)")
            if record["hash"] != record_hash(record):
                return broken(number, f"record seq {record['seq']} was altered (its hash does not match)")
            if record["seq"] != good + 1 or record["prev"] != prev:
                return broken(
                    number,
                    f"chain broken: expected seq {good + 1}, found seq {record['seq']} "
                    "(a record before it was deleted, or records were moved)",
                )
            prev, good = record["hash"], good + 1
            if prev == expect_head:
                seen_expected = True
    if not seen_expected:
        return VerifyResult(False, good, prev, good + 1, f"expected head {expect_head} not found: records were deleted")
    return VerifyResult(True, good, prev)


__all__ = ["FIELDS", "GENESIS", "AuditError", "AuditLog", "VerifyResult", "record_hash", "verify"]
