"""The spool: MLflow writes that could not be made, kept in the run's directory until they are sent.

When a write fails (the tracking server went away, the database is locked or gone), the writer
process keeps that write and every later write of the run in ``<run dir>/mlflow-spool/``
(:data:`SPOOL_NAME`) instead of dropping them, retries them in order with backoff while the run goes
on, and deletes the spool once everything is sent. What is left at the end is sent by
``trainhooks runs sync`` or by the next run against the same store (``_process.sync_spool``).

``pending.jsonl`` is JSON lines: a ``spool`` header (tracking URI, experiment, trainhooks run id,
user, HTTP limits: what a later process needs to replay it), then one ``write`` line per kept
command (``n``, ``what``, ``command`` and its pickled arguments, base64) and one ``sent`` line per
write that reached MLflow. A refit model file is copied into the spool, since the run's own copy is
temporary. While a process writes or replays a spool it holds ``lock`` (``flock``), so two
processes never send the same spool at once.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import pickle
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # POSIX; elsewhere spools are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

SPOOL_NAME = "mlflow-spool"
"""The spool's directory inside a run's directory (``trainhooks-runs/<run_id>/mlflow-spool``)."""

PENDING_NAME = "pending.jsonl"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Pending:
    """One kept write: its number in the spool, what it was (for messages), the command and arguments."""

    n: int
    what: str
    command: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class SpoolBusy(RuntimeError):
    """Another process holds the spool (its run is still going, or it is being sent)."""


def spool_dir(root: str | Path, run_id: str) -> Path:
    """The spool directory of run ``run_id`` under the ``[run] dir`` root."""
    return Path(root) / run_id / SPOOL_NAME


def find_spools(root: str | Path) -> list[Path]:
    """Every spool under ``root`` that still holds a header, oldest first."""
    spools = [p.parent for p in Path(root).glob(f"*/{SPOOL_NAME}/{PENDING_NAME}")]
    return sorted(spools, key=lambda p: (p / PENDING_NAME).stat().st_mtime)


class Spool:
    """One run's spool directory; :meth:`lock` it before reading or writing."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock_fd: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / PENDING_NAME

    @property
    def exists(self) -> bool:
        return self.path.exists()

    # -- locking -------------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the spool's lock without waiting; :class:`SpoolBusy` if another process has it."""
        if self._lock_fd is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise SpoolBusy(f"{self.directory} is in use by another process") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def close(self) -> None:
        """Let go of the spool; an empty one (everything sent) leaves no directory behind."""
        self.unlock()
        if not self.exists:
            (self.directory / "lock").unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.directory.rmdir()

    # -- writing -------------------------------------------------------------------------------

    def start(self, header: Mapping[str, Any]) -> None:
        """Write the header, unless the spool already has one (a resumed run spools on)."""
        if not self.exists:
            self._append({"k": "spool", "version": FORMAT_VERSION, **header})

    def add(self, what: str, command: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Pending:
        """Keep one write (a model file it names is copied into the spool first)."""
        n = len(self._lines("write")) + 1
        args = tuple(self._keep_file(value, n) for value in args)
        payload = base64.b64encode(pickle.dumps((args, dict(kwargs)), protocol=pickle.HIGHEST_PROTOCOL)).decode()
        self._append({"k": "write", "n": n, "what": what, "command": command, "payload": payload})
        return Pending(n, what, command, args, dict(kwargs))

    def sent(self, n: int) -> None:
        """Record that write ``n`` reached MLflow (a later replay skips it)."""
        self._append({"k": "sent", "n": n})

    def finish(self) -> None:
        """Everything was sent: remove what the spool kept (the lock goes in :meth:`close`)."""
        for item in self.directory.iterdir():
            if item.name != "lock":
                shutil.rmtree(item) if item.is_dir() else item.unlink()

    def _keep_file(self, value: Any, n: int) -> Any:
        path = getattr(value, "model_path", None)
        if not dataclasses.is_dataclass(value) or not isinstance(path, str) or not os.path.exists(path):
            return value
        kept = self.directory / f"model-{n}{Path(path).suffix}"
        shutil.copyfile(path, kept)
        return dataclasses.replace(value, model_path=str(kept.resolve()))

    def _append(self, record: Mapping[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -- reading -------------------------------------------------------------------------------

    def _lines(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.exists:
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash: never acknowledged, so not kept
                continue
            if kind is None or record.get("k") == kind:
                records.append(record)
        return records

    def header(self) -> dict[str, Any]:
        """The spool's header: ``uri``, ``experiment``, ``run_id``, ``user``, ``limits``."""
        headers = self._lines("spool")
        if not headers:
            raise ValueError(f"{self.path}: no spool header")
        return headers[0]

    def pending(self) -> list[Pending]:
        """The kept writes not yet sent, in the order they were made."""
        records = self._lines()
        sent = {r["n"] for r in records if r.get("k") == "sent"}
        kept = []
        for record in records:
            if record.get("k") == "write" and record["n"] not in sent:
                args, kwargs = pickle.loads(base64.b64decode(record["payload"]))
                kept.append(Pending(record["n"], record["what"], record["command"], tuple(args), kwargs))
        return kept

    def count(self) -> int:
        """How many kept writes are not sent yet (without unpickling them)."""
        records = self._lines()
        sent = {r["n"] for r in records if r.get("k") == "sent"}
        return sum(1 for r in records if r.get("k") == "write" and r["n"] not in sent)


__all__ = ["PENDING_NAME", "SPOOL_NAME", "Pending", "Spool", "SpoolBusy", "find_spools", "spool_dir"]
