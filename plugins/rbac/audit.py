"""The tamper-evident audit log: append-only JSON lines, each carrying the hash of the one before.

Every record has ``seq`` (1, 2, 3, ...), ``time``, ``principal``, ``action``, ``resource``,
``decision`` ("allow" or "deny"), ``rule``, ``reason``, ``plugins`` (the plugin set of the run),
``run_id``, ``keyed`` (whether it carries an HMAC), ``prev`` (the previous record's ``hash``; 64
zeros for the first), ``hash`` (SHA-256 of the record's canonical JSON without ``hash`` and ``mac``)
and ``mac`` (HMAC-SHA256 of ``hash`` under the audit key, or null; see :mod:`.audit_key`). Editing
a record changes its hash; deleting or moving one breaks the ``prev``/``seq`` chain; cutting
records off the end or emptying the file disagrees with the head file kept beside the log
(:mod:`.head`); rebuilding the whole chain without the key leaves HMACs that do not match.

Appends hold an exclusive lock (``filelock``, on ``<log>.lock`` beside the log, on every platform),
so several processes may share one log: each checks the last record against the head file, writes
the next record and then the head file, as one step. The record is flushed and fsync'ed before
:meth:`AuditLog.append` returns, so the action it guards proceeds only after its record is on disk.
Records written before the ``keyed`` field existed (and without a head file) are still accepted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from filelock import FileLock

from .audit_key import KEY_ENV, sign, signature_matches
from .head import Head, HeadError, head_problem, read_head, write_head

GENESIS = "0" * 64
"""``prev`` of the first record."""

LEGACY_FIELDS = (
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
"""The fields of a record written before keys and head files (read, never written)."""

FIELDS = (*LEGACY_FIELDS[:-2], "keyed", "prev", "hash", "mac")
"""The fields of a record, in the order they are written."""

_UNHASHED = frozenset({"hash", "mac"})
_TAIL_BYTES = 1 << 16


class AuditError(Exception):
    """The audit log cannot be appended to (unreadable, damaged, or disagreeing with its head file)."""


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``record`` without its ``hash`` and ``mac`` fields."""
    body = {key: value for key, value in record.items() if key not in _UNHASHED}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_keyed(record: dict[str, Any]) -> bool:
    """Whether the record says it carries an HMAC (older records never do)."""
    return record.get("keyed") is True


def record_problem(record: object, key: bytes | None) -> str | None:
    """What is wrong with one record on its own (not its place in the chain), or ``None``.

    A keyed record's HMAC is checked only when ``key`` is given.
    """
    if not isinstance(record, dict) or set(record) not in (set(FIELDS), set(LEGACY_FIELDS)):
        return "not an audit record (fields differ)"
    if type(record["seq"]) is not int or not isinstance(record["prev"], str) or not isinstance(record["hash"], str):
        return "not an audit record (seq, prev or hash has the wrong type)"
    if "keyed" in record and (not isinstance(record["keyed"], bool) or record["keyed"] is (record["mac"] is None)):
        return "not an audit record (keyed and mac disagree)"
    if record["hash"] != record_hash(record):
        return "hash does not match its content (edited)"
    if is_keyed(record) and key is not None and not signature_matches(key, record["hash"], record["mac"]):
        return "HMAC does not match (rebuilt without the key, or the key changed)"
    return None


def _last_line(fh: Any) -> bytes | None:
    """The last complete line of an open binary file, or ``None`` if it is empty."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return None
    start = max(0, size - _TAIL_BYTES)
    fh.seek(start)
    tail = fh.read()
    if not tail.endswith(b"\n"):
        raise AuditError("its last record is incomplete (no newline)")
    lines = tail[:-1].split(b"\n")
    if len(lines) == 1 and start > 0:
        raise AuditError("its last record is longer than 64 KiB")
    return lines[-1]


class AuditLog:
    """Appends chained records to one file, and keeps its head file up to date.

    :param key: the audit key (:func:`~.audit_key.key_from_env`); records are then keyed (HMAC).
        A keyed log refuses unkeyed appends.
    """

    def __init__(self, path: str | Path, key: bytes | None = None) -> None:
        self.path = Path(path)
        self.key = key

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
        """Write one record after the current last one; returns it once it is on disk.

        :raises AuditError: the log cannot be written, its last record is damaged, or it disagrees
            with its head file (records cut off, a rebuilt chain): the action it guards must not run.
        """
        with self._locked() as fh:
            try:
                previous = self._check_tail(fh)
            except AuditError as exc:
                raise AuditError(f"audit log {self.path}: {exc}; run 'trainhooks audit verify'") from None
            seq = 1 if previous is None else previous["seq"] + 1
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
                "keyed": self.key is not None,
                "prev": GENESIS if previous is None else previous["hash"],
            }
            record["hash"] = record_hash(record)
            record["mac"] = sign(self.key, record["hash"]) if self.key is not None else None
            fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
            write_head(self.path, Head(seq, record["hash"]).signed(self.key))
        return record

    def _check_tail(self, fh: BinaryIO) -> dict[str, Any] | None:
        """The last record, once it and the head file are found consistent with each other and the key."""
        last_line = _last_line(fh)
        try:
            head = read_head(self.path)
        except HeadError as exc:
            raise AuditError(str(exc)) from None
        last = None
        if last_line is not None:
            try:
                last = json.loads(last_line)
            except ValueError:
                raise AuditError("its last record is not JSON") from None
            problem = record_problem(last, self.key)
            if problem is not None:
                raise AuditError(f"its last record: {problem}")
            if is_keyed(last) and self.key is None:
                raise AuditError(f"it is keyed (HMAC) and no key was given: set {KEY_ENV}")
        records = 0 if last is None else last["seq"]
        hash_at_head = None
        if last is not None and head is not None:
            hash_at_head = {head.records: last["hash"], head.records + 1: last["prev"]}.get(records)
        problem = head_problem(
            self.path,
            head,
            records=records,
            hash_at_head=hash_at_head,
            last_keyed=last is not None and is_keyed(last),
            head_expected=last is not None and "keyed" in last,
            key=self.key,
        )
        if problem is not None:
            raise AuditError(problem)
        return last

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


__all__ = [
    "FIELDS",
    "GENESIS",
    "LEGACY_FIELDS",
    "AuditError",
    "AuditLog",
    "is_keyed",
    "record_hash",
    "record_problem",
]
