"""The head file kept beside an audit log: how many records it has and the last one's hash.

A hash chain alone cannot show that records were cut off its end, or that the file was emptied: a
shorter chain is still a chain. ``<log>.head`` records the count and head hash after every append
(written atomically under the append's lock: temp file, fsync, ``os.replace``), so a log shorter
than its head file says, or one whose record at that position has another hash, is caught. With a
key, the head file carries an HMAC too, so it cannot be rewritten to match a truncated log.

The log is written before its head file: a crash between the two leaves the log one record ahead,
which is not tampering (the next append brings the head file up to date). A log that grew beyond
its head file is accepted likewise: appended records are checked by the chain (and their HMACs).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .audit_key import sign, signature_matches


def head_path(log: str | Path) -> Path:
    """``<log>.head``."""
    return Path(f"{log}.head")


@dataclass(frozen=True)
class Head:
    """The log's state after its last append: ``records``, the ``head`` hash, and its HMAC if keyed."""

    records: int
    head: str
    mac: str | None = None

    @property
    def keyed(self) -> bool:
        return self.mac is not None

    def message(self) -> str:
        """What the HMAC covers."""
        return f"trainhooks-audit-head:{self.records}:{self.head}"

    def signed(self, key: bytes | None) -> Head:
        """This head with its HMAC under ``key`` (unkeyed when ``key`` is None)."""
        return Head(self.records, self.head, sign(key, self.message()) if key is not None else None)


class HeadError(ValueError):
    """The head file exists but is not a head record."""


def read_head(log: str | Path) -> Head | None:
    """The head file of ``log``, or ``None`` if there is none.

    :raises HeadError: it cannot be read or parsed.
    """
    path = head_path(log)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HeadError(f"head file {path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError:
        raise HeadError(f"head file {path}: not JSON") from None
    if (
        not isinstance(data, dict)
        or set(data) != {"records", "head", "keyed", "mac"}
        or type(data["records"]) is not int
        or not isinstance(data["head"], str)
        or data["keyed"] is not (data["mac"] is not None)
    ):
        raise HeadError(f"head file {path}: not a head record (fields differ)")
    return Head(data["records"], data["head"], data["mac"])


def write_head(log: str | Path, head: Head) -> None:
    """Replace ``log``'s head file atomically (temp file, fsync, ``os.replace``); call under the log's lock."""
    path = head_path(log)
    temp = path.with_name(path.name + ".tmp")
    data = {"records": head.records, "head": head.head, "keyed": head.keyed, "mac": head.mac}
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(json.dumps(data).encode("utf-8") + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)


def head_problem(
    log: str | Path,
    head: Head | None,
    *,
    records: int,
    hash_at_head: str | None,
    last_keyed: bool,
    head_expected: bool,
    key: bytes | None,
) -> str | None:
    """What is wrong between a log and its head file, or ``None``; one check shared by append and verify.

    :param log: the log's path (named in the message about a missing head file).
    :param records: how many records the log has.
    :param hash_at_head: the hash of the log's record number ``head.records`` (None: not known).
    :param last_keyed: whether the log's last record is keyed.
    :param head_expected: whether the log was written by a version that keeps a head file (its last
        record has the ``keyed`` field); an older log without one is accepted.
    :param key: the audit key; a keyed head file is only authenticated when it is given.
    """
    if head is None:
        if records and head_expected:
            return f"head file {head_path(log)} is missing (deleted?)"
        return None
    if records < head.records:
        how = "emptied" if records == 0 else "truncated"
        return f"log has {records} records but the head file says {head.records} ({how})"
    if hash_at_head is not None and hash_at_head != head.head:
        return f"record {head.records}: hash differs from the head file's (the log was rewritten)"
    if head.keyed and key is not None and not signature_matches(key, head.message(), head.mac):
        return "head file: HMAC does not match (rewritten without the key, or the key changed)"
    if last_keyed and not head.keyed:
        return "head file: not keyed, but the log is (rewritten without the key)"
    if head.keyed and not last_keyed:
        return f"record {records}: not keyed, but the head file is (written without the key)"
    return None


__all__ = ["Head", "HeadError", "head_path", "head_problem", "read_head", "write_head"]
