"""The run journal: an append-only JSON-lines record of one run, written by the core.

Each run gets a directory ``<[run] dir>/<run_id>/`` (default ``./trainhooks-runs/<run_id>/``)
holding ``journal.jsonl``; plugins may keep their own files beside it (the MLflow plugin's spool,
the report plugin's ``report/``). Every line is one JSON object whose ``k`` says what it is:

- ``run``: the first line. Format version, run id, kind, the plain run configuration, a digest of
  each config section and of the training data, and the seed the strategy was built with.
- ``event``: every event of the run, as :meth:`Event.to_dict` gives it, in ``seq`` order.
- ``tell``: a result told to the strategy (``params`` and ``score``, ``None`` for a failed or
  pruned trial), in the order it was told.
- ``trial``: a trial boundary, written once a trial ended and the search decided whether to go
  on: the trial's full result, the stop decision taken after it (or ``None``) and each plugin's
  state (``trainhooks_state_dict``) at that moment. The file is fsync'ed here.
- ``resume``: a later process continued the run (``tune --resume``).

Lines are written and flushed as they happen (a killed process loses nothing it wrote) and
fsync'ed at trial boundaries by a thread of the writer's own, so the search never waits for the
disk (a crashed machine loses at most the trials in progress and the boundary just written). The file is
locked (``flock``) while a process writes it, so one run is never continued twice at once.
What :mod:`trainhooks.resume` needs of it is read back by :func:`read_journal`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from trainhooks.hooks import Event

from .errors import TrainhooksError
from .trial import TrialResult

JOURNAL_NAME = "journal.jsonl"
FORMAT_VERSION = 1

try:  # POSIX; elsewhere the journal is not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class JournalError(TrainhooksError):
    """The journal cannot be written: the run stops (exit 1) rather than keep results it cannot keep."""

    exit_code = 1


def run_dir(root: str | Path, run_id: str) -> Path:
    """The directory of run ``run_id`` under the ``[run] dir`` root."""
    return Path(root) / run_id


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _digest(value: Any) -> str:
    # reprs of Python objects (a scipy distribution in a space) carry a memory address: not content
    text = _ADDRESS.sub("", json.dumps(value, sort_keys=True, default=repr, allow_nan=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_digests(plain_config: Mapping[str, Any]) -> dict[str, str]:
    """A digest of each section of the plain run configuration, except ``[run]`` (where files go)."""
    return {name: _digest(value) for name, value in sorted(plain_config.items()) if name != "run"}


def result_to_dict(result: TrialResult) -> dict[str, Any]:
    """A trial result as plain JSON values (``history``'s epoch keys become strings)."""
    data = dataclasses.asdict(result)
    data["history"] = {str(epoch): metrics for epoch, metrics in result.history.items()}
    return data


def result_from_dict(data: Mapping[str, Any]) -> TrialResult:
    """The inverse of :func:`result_to_dict`."""
    values = dict(data)
    values["history"] = {int(epoch): metrics for epoch, metrics in (values.get("history") or {}).items()}
    values["fold_scores"] = list(values.get("fold_scores") or [])
    known = {f.name for f in dataclasses.fields(TrialResult)}
    return TrialResult(**{k: v for k, v in values.items() if k in known})


class _BackgroundSync:
    """fsyncs one file descriptor on its own thread whenever asked, coalescing requests.

    An fsync waits for the disk and, on a journaling file system, for other processes' pending
    writes too (about 10 ms per call was measured on the shared development machine while tests
    ran beside it, against 0.06 ms idle): the search should not wait for that at every trial
    boundary. The data is already in the operating system when a sync is asked for, so only a
    machine crash in the following milliseconds can lose it. A failed fsync is raised by the next
    :meth:`request` or by :meth:`close`.
    """

    def __init__(self, fileno: int) -> None:
        self._fileno = fileno
        self._wanted = threading.Event()
        self._closing = False
        self.error: OSError | None = None
        self._thread = threading.Thread(target=self._loop, name="trainhooks-journal-sync", daemon=True)
        self._thread.start()

    def request(self) -> None:
        if self.error is not None:
            raise self.error
        self._wanted.set()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closing:
                return
            try:
                os.fsync(self._fileno)
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        """Stop the thread, then make everything written so far durable (raises a failed fsync)."""
        self._closing = True
        self._wanted.set()
        self._thread.join()
        if self.error is not None:
            raise self.error
        os.fsync(self._fileno)


class JournalWriter:
    """Appends records to one run's ``journal.jsonl``; any failure to write is a :class:`JournalError`.

    After the first failure the writer is broken: later writes (the ``run-failed`` event that
    follows) are dropped, so the error that stopped the run is the one reported.
    """

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle = handle
        self.broken = False
        self._sync = _BackgroundSync(handle.fileno())

    @classmethod
    def create(cls, root: str | Path, run_id: str, header: Mapping[str, Any]) -> JournalWriter:
        """Start the journal of a new run with its ``run`` header line."""
        path = run_dir(root, run_id) / JOURNAL_NAME
        writer = cls._open(path, "x")
        writer.write({"k": "run", "version": FORMAT_VERSION, **header}, sync=True)
        return writer

    @classmethod
    def reopen(cls, path: Path, *, seq: int) -> JournalWriter:
        """Continue an existing journal: drop a line cut short by a crash, then a ``resume`` line."""
        writer = cls._open(path, "r+")
        writer._cut_partial_line()
        writer.write({"k": "resume", "at": time.time(), "seq": seq, "pid": os.getpid()}, sync=True)
        return writer

    @classmethod
    def _open(cls, path: Path, mode: str) -> JournalWriter:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open(mode, encoding="utf-8")
        except OSError as exc:
            raise JournalError(f"run.dir: cannot write the run journal {path}: {exc.strerror or exc}") from None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                raise ResumeRefused(
                    f"run {path.parent.name} is running in another process (its journal is locked)"
                ) from None
        handle.seek(0, os.SEEK_END)
        return cls(path, handle)

    def _cut_partial_line(self) -> None:
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            self._handle.truncate(keep)
        self._handle.seek(keep)

    def write(self, record: Mapping[str, Any], *, sync: bool = False) -> None:
        """Append one record, flushed to the OS at once; with ``sync`` also to the disk, in the background."""
        if self.broken:
            return
        try:
            self._handle.write(json.dumps(record, separators=(",", ":"), allow_nan=True, default=repr) + "\n")
            self._handle.flush()
            if sync:
                self._sync.request()
        except OSError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: OSError) -> JournalError:
        self.broken = True
        return JournalError(
            f"cannot write the run journal {self.path}: {exc.strerror or exc}; the run stopped "
            "(continue it with --resume once the problem is fixed)"
        )

    def event(self, event: Event) -> None:
        self.write({"k": "event", "event": event.to_dict()})

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        self.write({"k": "tell", "params": dict(params), "score": score})

    def trial(self, result: TrialResult, stop: tuple[str, str] | None, plugins: Mapping[str, Any]) -> None:
        """A trial boundary: the result, the stop decision after it, plugin states; fsync'ed."""
        record = {"k": "trial", "result": result_to_dict(result), "stop": list(stop) if stop else None}
        self.write({**record, "plugins": dict(plugins)}, sync=True)

    def close(self) -> None:
        """Make the journal durable and release it; a failed final fsync is a :class:`JournalError`."""
        if self._handle.closed:
            return
        try:
            self._sync.close()
        except OSError as exc:
            if not self.broken:
                raise self._failed(exc) from None
        finally:
            with contextlib.suppress(OSError):
                self._handle.close()  # closing releases the lock


class JournaledStamper:
    """Wraps the run's event stamper so every event it creates is journaled before delivery."""

    def __init__(self, stamp: Callable[..., Event], journal: JournalWriter) -> None:
        self._stamp = stamp
        self._journal = journal

    def __call__(self, cls: type[Event], **fields: Any) -> Event:
        event = self._stamp(cls, **fields)
        self._journal.event(event)
        return event


class ResumeRefused(TrainhooksError):
    """The run cannot be continued as asked (finished, changed, missing, running). Exit 2."""

    exit_code = 2


@dataclass
class Journal:
    """What :func:`read_journal` read back from one run's journal."""

    path: Path
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    tells: list[dict[str, Any]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    segments: list[tuple[float, float]] = field(default_factory=list)  # (start, last record) per process

    @property
    def run_id(self) -> str:
        return str(self.header["run_id"])

    @property
    def last_seq(self) -> int:
        return int(self.events[-1]["seq"]) if self.events else 0

    @property
    def status(self) -> str:
        """``finished``, ``interrupted`` (Ctrl-C), ``failed`` (an exception) or ``crashed`` (no end)."""
        last = self.events[-1] if self.events else {}
        if last.get("name") == "run-ended":
            return "interrupted" if last["summary"].get("stop_reason") == "interrupted" else "finished"
        return "failed" if last.get("name") == "run-failed" else "crashed"

    @property
    def wall_time_s(self) -> float:
        return sum(end - start for start, end in self.segments)

    @property
    def plugin_states(self) -> dict[str, Any]:
        """Each plugin's state at the last trial boundary (empty before the first)."""
        return dict(self.trials[-1].get("plugins") or {}) if self.trials else {}


def read_journal(path: Path) -> Journal:
    """Read a journal; a last line cut short by a crash is ignored, any other bad line refused."""
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        raise ResumeRefused(f"{path}: no run journal here") from None
    except OSError as exc:
        raise ResumeRefused(f"{path}: cannot read the run journal: {exc.strerror}") from None
    complete = lines[:-1]  # the text after the last newline is empty or a line cut short
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            raise ResumeRefused(f"{path}:{number}: not a journal line (the file was edited or damaged)") from None
    if not records or records[0].get("k") != "run" or records[0].get("version") != FORMAT_VERSION:
        raise ResumeRefused(f"{path}: not a trainhooks run journal (format version {FORMAT_VERSION})")
    journal = Journal(path=path, header=records[0])
    start = last = float(records[0].get("created", 0.0))
    for record in records[1:]:
        kind = record.get("k")
        if kind == "event":
            journal.events.append(record["event"])
            last = float(record["event"].get("timestamp", last))
        elif kind == "tell":
            journal.tells.append(record)
        elif kind == "trial":
            journal.trials.append(record)
        elif kind == "resume":
            journal.segments.append((start, last))
            start = last = float(record["at"])
    journal.segments.append((start, last))
    return journal


def list_journals(root: str | Path) -> list[Journal]:
    """Every readable journal under ``root``, newest first."""
    found = []
    for path in Path(root).glob(f"*/{JOURNAL_NAME}"):
        try:
            found.append(read_journal(path))
        except ResumeRefused:
            continue
    return sorted(found, key=lambda j: float(j.header.get("created", 0.0)), reverse=True)


__all__ = [
    "FORMAT_VERSION",
    "JOURNAL_NAME",
    "Journal",
    "JournalError",
    "JournalWriter",
    "JournaledStamper",
    "ResumeRefused",
    "config_digests",
    "list_journals",
    "read_journal",
    "result_from_dict",
    "result_to_dict",
    "run_dir",
]
