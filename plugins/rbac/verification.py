"""Verify an audit log: every record, the chain between them, the head file, and (with the key) HMACs.

The first problem found is reported, naming the record and the check that failed, e.g.
``record 4: hash does not match its content (edited)`` or ``log has 3 records but the head file says
5 (truncated)``. A keyed log verified without its key gets every other check, and then the status
``unchecked``: nothing wrong was found, but the HMACs (what catches a rebuilt chain) were not checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .audit import GENESIS, is_keyed, record_problem
from .audit_key import KEY_ENV
from .head import HeadError, head_problem, read_head

Status = Literal["ok", "broken", "unchecked"]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`.

    ``status`` is "ok", "broken" (``problem`` says what, ``line`` which record when it is one) or
    "unchecked" (a keyed log verified without the key). ``records`` counts the good records before
    the first problem, ``head`` is the last good record's hash and ``keyed`` how many were keyed.
    """

    status: Status
    records: int
    head: str
    line: int | None = None
    problem: str | None = None
    keyed: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "records": self.records,
            "keyed": self.keyed,
            "head": self.head,
            "line": self.line,
            "problem": self.problem,
        }


def _chain_problem(number: int, record: dict[str, Any], prev: str) -> str | None:
    """What is wrong with record ``number``'s place in the chain after a record hashed ``prev``."""
    if record["seq"] != number:
        return (
            f"expected seq {number}, found seq {record['seq']} (a record before it was deleted, or records were moved)"
        )
    if record["prev"] != prev:
        if number == 1:
            return "chain broken (prev is not the genesis hash: the log does not start here)"
        return (
            f"chain broken (prev hash differs from record {number - 1}'s hash: "
            f"record {number - 1} was edited and rehashed, or replaced)"
        )
    return None


def verify(path: str | Path, expect_head: str | None = None, key: bytes | None = None) -> VerifyResult:
    """Check the whole log; report the first edited, deleted, moved, missing or unauthenticated record.

    :param expect_head: a head hash recorded elsewhere earlier; the log must still contain it. This
        catches what the head file beside the log cannot: both files rolled back or rewritten together.
    :param key: the audit key; without it the HMACs of a keyed log cannot be checked ("unchecked").
    """
    prev, good, keyed, keyed_since = GENESIS, 0, 0, None
    seen_expected = expect_head is None
    last: dict[str, Any] | None = None
    hash_at_head: str | None = None

    def broken(number: int | None, problem: str) -> VerifyResult:
        where = f"record {number}: " if number is not None else ""
        return VerifyResult("broken", good, prev, number, where + problem, keyed)

    try:
        head = read_head(path)  # before the log: appends write the log first, so it is never behind
    except HeadError as exc:
        return broken(None, str(exc))
    with Path(path).open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return broken(number, "incomplete record (no newline at the end)")
            try:
                record = json.loads(raw)
            except ValueError:
                return broken(number, "not a JSON record")
            problem = record_problem(record, key) or _chain_problem(number, record, prev)
            if problem is None and is_keyed(record):
                keyed_since = keyed_since or number
            elif problem is None and keyed_since is not None:
                problem = f"not keyed, but record {keyed_since} before it is (written without the key)"
            if problem is not None:
                return broken(number, problem)
            prev, good, last = record["hash"], good + 1, record
            keyed += is_keyed(record)
            if head is not None and number == head.records:
                hash_at_head = prev
            if prev == expect_head:
                seen_expected = True
    if key is not None and last is not None and not is_keyed(last):
        return broken(good, "not keyed, but a key was given (written or rebuilt without the key)")
    problem = head_problem(
        path,
        head,
        records=good,
        hash_at_head=hash_at_head,
        last_keyed=last is not None and is_keyed(last),
        head_expected=last is not None and "keyed" in last,
        key=key,
    )
    if problem is not None:
        return broken(None, problem)
    if not seen_expected:
        return broken(None, f"expected head {expect_head} not found (records were deleted, or the log rewritten)")
    if key is None and (keyed or (head is not None and head.keyed)):
        return VerifyResult(
            "unchecked",
            good,
            prev,
            problem=f"{keyed} keyed records and the head file cannot be checked without the key (set {KEY_ENV})",
            keyed=keyed,
        )
    return VerifyResult("ok", good, prev, keyed=keyed)


__all__ = ["Status", "VerifyResult", "verify"]
