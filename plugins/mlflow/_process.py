"""MLflow writes happen in a process of their own, so the training loop never pays for them.

MLflow's SQLAlchemy store spends about 40 ms of Python CPU on each trial's child run (create it,
one batch, end it) and more on the model. On a writer *thread* that time competed with training
for the GIL: ``benchmarks/mlflow_overhead.py`` measured the plugin at 1.3-1.6x the wall time of a
run without it. Here one writer process per driver process makes every MLflow call, in the order
the driver sent them; the driver only pickles commands and waits when it needs an answer (the
registry) or at the end of a run. It is still the single writer DESIGN asks for: trials never
talk to MLflow, and nothing else does.

Each command names a :class:`~._writer.RunTreeWriter` method (:data:`COMMANDS`). When a write of
a run fails (the server went away, the database is locked), the writer keeps it and every later
write of the run in the run's spool (``_spool``) and answers "spooled", so a tracking server that
went away costs one timeout, not one per trial, and loses nothing. While the run goes on it retries
the kept writes in order, with backoff (:data:`FIRST_RETRY_S` doubling up to :data:`MAX_RETRY_S`),
between commands and while waiting for one, never making the driver wait; once all are sent the
run writes directly again. What is left at the end stays in the spool: :func:`sync_spool` sends it
(``trainhooks runs sync``, and the next run against the same store). Only writes that cannot be
kept (registry calls, which need an answer; any write when the spool cannot be written) still
fail the run's tracking: its later writes are skipped and reported by name. The refit model and the
parent run's artifacts are logged each on its own: the writer tags the parent run with what is
missing (``_writer``), so one model skops refuses does not cost the run's summary.

Files another plugin is still writing when a run ends (the ``report`` plugin's figures) are a late
write (:data:`LATE_COMMAND`): the process logs them once they are complete, answering out of
order, and nothing waits for that. If the driver's process ends first, the writer process is told
(its stdin closes), says it goes on alone, and exits once they are logged (``serve``).

The process runs :func:`main`: commands come pickled on stdin, replies go out pickled on the
original stdout. Anything MLflow prints or logs there (its "View run" links, its database migration
lines, warnings) goes to the process's stderr, which the driver reads: each line, with credentials
masked, becomes a DEBUG record of the ``trainhooks.plugins.mlflow.writer`` logger (the terminal shows
it with ``--debug`` only), and the last lines are kept to say why the process died, if it does.
Error replies are masked the same way (:func:`~._redact.redact`).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from trainhooks.gc_tuning import heavy_imports

from ._redact import redact
from ._spool import Spool, SpoolBusy

log = logging.getLogger("trainhooks.plugins.mlflow.writer")

STDERR_TAIL = 20
"""How many of the writer process's last stderr lines the driver keeps (to explain its death)."""

SPOOLED = frozenset(
    {
        "open_parent",
        "open_trial",
        "close_trial",
        "log_trial",
        "end_open_trial",
        "close_parent",
        "log_model",
        "log_artifacts",
    }
)
"""The writes a failure keeps in the spool: everything that needs no answer to go on."""

LATE_COMMAND = "log_when_ready"
"""``log_artifacts`` for files another process is still writing: made once their ``ready_file`` exists."""

COMMANDS = SPOOLED | frozenset(
    {"register", "alias_holder", "set_alias", "end_run", "drain", "spool", "pending", "sync", LATE_COMMAND}
)
"""What the driver may ask the writer process to do: ``RunTreeWriter`` methods, ``end_run``, ``drain``,
``spool`` (where the run keeps writes it cannot make), ``pending`` (a last try; how many are left),
``sync`` (send other runs' spools) and :data:`LATE_COMMAND`."""

_ALWAYS = frozenset({"drain", "end_run", "spool", "pending", "sync"})  # still run after a failure
_NOT_WRITES = frozenset({"drain", "forget", "end_run", "spool", "pending", "sync"})  # never listed as skipped

FIRST_RETRY_S = 2.0
"""Seconds before the first retry of a run's kept writes; each failed retry doubles the wait."""
MAX_RETRY_S = 60.0
"""The longest wait between two retries."""
READY_POLL_S = 0.05
"""How often a late write's ``ready_file`` (another process's file) is looked for."""


@dataclass(frozen=True)
class Failure:
    """A run's first write that failed: what it was and the one-line error."""

    what: str
    error: str


class WriteFailed(RuntimeError):
    """A write failed in the writer process; the message is its one-line error."""


ONE_LINE_CHARS = 300
"""How long an error's line may be; a longer one is cut at a word boundary and ends with "[...]"."""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most :data:`ONE_LINE_CHARS` of it, never cut mid-word."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {textwrap.shorten(lines[0], ONE_LINE_CHARS, placeholder=' [...]')}"


# -- driver side --------------------------------------------------------------------------------


@dataclass
class RunWrites:
    """One run's writes: queue them in order, wait for an answer when needed, learn the first failure."""

    process: WriterProcess
    key: str
    failure: Failure | None = None
    skipped: list[str] = field(default_factory=list)
    outage: Failure | None = None  # the first write that failed and was kept in the spool
    spooled: int = 0  # how many writes were kept in the spool

    def submit(self, what: str, command: str, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``command``; the future gets its result, its error, or ``None`` if it was skipped."""
        return self.process.send(self, what, command, args, kwargs)

    def call(self, what: str, command: str, *args: Any, **kwargs: Any) -> Any:
        """Queue ``command`` and wait for it; raises :class:`WriteFailed`. ``None`` if skipped."""
        return self.submit(what, command, *args, **kwargs).result()

    def drain(self) -> None:
        """Wait until every write queued so far has run (or was skipped); a failure is recorded, not raised."""
        self.submit("waiting for the last writes", "drain").exception()

    def close(self) -> None:
        """Wait for the queued writes, then let the writer process forget this run."""
        self.drain()
        self.process.send(self, "forget", "forget", (), {}).exception()


class WriterProcess:
    """The driver's handle on its writer process: a sender and a receiver thread around two pipes."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the same trainhooks and MLflow
        self._proc = subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # MLflow's own output: logged at DEBUG, never on the terminal
            env=env,
        )
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._pending: dict[int, tuple[RunWrites, str, str, Future[Any]]] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._gone: str | None = None  # why the process cannot take commands any more
        loops = {"sender": self._send_loop, "receiver": self._receive_loop, "stderr": self._stderr_loop}
        self._threads = {
            name: threading.Thread(target=target, name=f"trainhooks-mlflow-{name}", daemon=True)
            for name, target in loops.items()
        }
        for thread in self._threads.values():
            thread.start()

    @property
    def alive(self) -> bool:
        return self._gone is None

    def run(self, key: str) -> RunWrites:
        return RunWrites(self, key)

    def send(
        self, run: RunWrites, what: str, command: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[Any]:
        """Queue one command of ``run``; it is pickled now, so later changes to its arguments don't count."""
        future: Future[Any] = Future()
        with self._lock:
            seq = next(self._seq)
            try:
                data = pickle.dumps((seq, run.key, what, command, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                self._settle(run, what, command, future, ("error", one_line(exc)))
                return future
            if self._gone is not None:
                self._settle(run, what, command, future, ("error", self._gone))
                return future
            self._pending[seq] = (run, what, command, future)
            self._outbox.put(data)
        return future

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Let the process finish what it was sent, then stop it; a process left with late writes only goes on alone.

        Such a process (its late writes wait for another process's files, see :data:`LATE_COMMAND`)
        detaches: it tells us so and makes them after this process has ended.
        """
        self._outbox.put(None)
        self._threads["receiver"].join(timeout_s)  # ends when the process exits or detaches
        if self._threads["receiver"].is_alive():
            self._proc.kill()
            self._proc.wait()

    def _send_loop(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        while (data := self._outbox.get()) is not None:
            try:
                stdin.write(data)
                stdin.flush()
            except (OSError, ValueError):  # it died: the receiver sees that too
                self._lost()
                return
        with contextlib.suppress(OSError):
            stdin.close()  # end of input: the process exits after the last command

    def _receive_loop(self) -> None:
        assert self._proc.stdout is not None
        while True:
            try:
                seq, reply = pickle.load(self._proc.stdout)
            except Exception:  # EOF, or the process died mid-reply
                self._lost()
                return
            if seq is None:  # it detached (shutdown): its late writes go on without us
                return
            self._reply(seq, reply)

    def _stderr_loop(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = redact(raw.decode("utf-8", "replace").rstrip())
            if line:
                self._stderr_tail.append(line)
                log.debug("%s", line)

    def _last_words(self) -> str:
        """The writer's last stderr line (e.g. the exception that killed it), if it said anything."""
        self._threads["stderr"].join(timeout=5)  # the process has exited: its stderr ends soon
        return f": {self._stderr_tail[-1][:300]}" if self._stderr_tail else ""

    def _reply(self, seq: int, reply: tuple[str, Any]) -> None:
        with self._lock:
            run, what, command, future = self._pending.pop(seq)
        self._settle(run, what, command, future, reply)

    def _lost(self) -> None:
        """The process died: fail what it was sent, and everything sent from now on."""
        try:
            why = f"the mlflow writer process exited with code {self._proc.wait(timeout=30)}{self._last_words()}"
        except subprocess.TimeoutExpired:
            why = "the mlflow writer process stopped answering"
        with self._lock:
            self._gone = why
            pending, self._pending = list(self._pending.values()), {}
        for run, what, command, future in pending:
            self._settle(run, what, command, future, ("error", why))

    @staticmethod
    def _settle(run: RunWrites, what: str, command: str, future: Future[Any], reply: tuple[str, Any]) -> None:
        """Record a failure or skip on the run *before* anyone waiting on ``future`` wakes up."""
        status, payload = reply
        if status == "error" and run.failure is not None:
            status = "skipped"  # the run already failed (e.g. the process died): later writes are skipped
        if status == "ok":
            future.set_result(payload)
        elif status == "spooled":  # kept for later: nothing to answer now
            run.spooled += 1
            if payload is not None and run.outage is None:
                run.outage = Failure(what, payload)
            future.set_result(None)
        elif status == "skipped":
            if command not in _NOT_WRITES:
                run.skipped.append(what)
            future.set_result(None)
        else:
            if run.failure is None:
                run.failure = Failure(what, payload)
            future.set_exception(WriteFailed(payload))


_shared: WriterProcess | None = None
_shared_lock = threading.Lock()


def writer_process() -> WriterProcess:
    """This driver's writer process, started on first use (and again if it died)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive:
            _shared = WriterProcess()
            atexit.register(_shared.shutdown)
        return _shared


# -- writer process side ------------------------------------------------------------------------


@dataclass
class _Run:
    writer: Any = None  # the run's RunTreeWriter, once open_parent made it
    uri: str | None = None  # its tracking URI (its secrets are masked in error replies)
    limits: tuple[int, int] = (0, 0)  # MLflow HTTP retries and timeout for this run's requests
    failed: bool = False
    spool: Spool | None = None  # where its writes go while the store fails (``spool`` command)
    header: dict[str, Any] = field(default_factory=dict)  # what a later process needs to replay the spool
    spooling: bool = False  # the store failed: writes go to the spool until a retry sends it all
    backoff_s: float = FIRST_RETRY_S
    retry_at: float = 0.0  # time.monotonic() of the next retry

    def keep(self, what: str, command: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Put one write in the spool (starting it: lock, header) and plan a retry if none is planned."""
        assert self.spool is not None
        if self.writer is not None:  # a failed write may have been made after all: look before creating
            self.writer.children_known = False
        if not self.spooling:
            self.spool.lock()
            self.spool.start(self.header)
            self.spooling, self.backoff_s = True, FIRST_RETRY_S
            self.retry_at = time.monotonic() + self.backoff_s
        self.spool.add(what, command, args, kwargs)

    def release(self) -> None:
        if self.spool is not None:
            self.spool.close()


def _execute(run: _Run, command: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    from ._client import http_limits, make_client
    from ._writer import RunTreeWriter

    if command == "drain":
        return None
    if command == "end_run":  # needs no state, so a fresh process can do it after the old one died
        uri, run_id, status, ended_ms, retries, timeout_s = args
        run.uri = uri
        with http_limits(retries, timeout_s):
            make_client(uri).set_terminated(run_id, status=status, end_time=ended_ms)
        return None
    if command == "open_parent":
        uri, experiment, retries, timeout_s, *rest = args
        run.limits, run.uri = (retries, timeout_s), uri
        with http_limits(*run.limits):
            run.writer = RunTreeWriter(make_client(uri), experiment, uri)
            return run.writer.open_parent(*rest, **kwargs)
    if run.writer is None and run.header:  # replaying a spool whose parent run was created before
        with http_limits(*run.limits):
            run.writer = RunTreeWriter(
                make_client(run.header["uri"]), run.header["experiment"], run.header["uri"], run.header["run_id"]
            )
            run.writer.user = run.header.get("user")
    if run.writer is None:
        raise RuntimeError("the parent run was never created")
    # logging the model unpickles it, which imports scikit-learn here: without the collector's walks
    imports = heavy_imports() if command == "log_model" else contextlib.nullcontext()
    with http_limits(*run.limits), imports:
        return getattr(run.writer, command)(*args, **kwargs)


def _send_kept(run: _Run) -> tuple[int, str | None]:
    """Send the run's kept writes in order, marking each as sent; stops at the first failure.

    Returns how many were sent and the failure's one-line error (``None`` when all were sent, and
    then the spool is removed and the run writes directly again).
    """
    assert run.spool is not None
    sent = 0
    for kept in run.spool.pending():
        try:
            _execute(run, kept.command, kept.args, kept.kwargs)
        except Exception as exc:
            run.backoff_s = min(run.backoff_s * 2, MAX_RETRY_S)
            run.retry_at = time.monotonic() + run.backoff_s
            return sent, redact(one_line(exc), run.uri)
        run.spool.sent(kept.n)
        sent += 1
    run.spool.finish()
    run.spooling = False
    return sent, None


def _retry_due(runs: Mapping[str, _Run], force: bool = False) -> None:
    now = time.monotonic()
    for run in runs.values():
        if run.spooling and (force or run.retry_at <= now):
            sent, error = _send_kept(run)
            print(f"trainhooks mlflow: retried kept writes: {sent} sent; {error or 'all sent'}", file=sys.stderr)


@dataclass(frozen=True)
class SyncResult:
    """What sending one spool did: how many writes were sent, how many are left and why."""

    directory: str
    run_id: str | None
    uri: str | None
    sent: int
    pending: int
    error: str | None


def sync_spool(directory: str | os.PathLike[str]) -> SyncResult:
    """Send the writes kept in one spool to the store named in its header (idempotent).

    A spool held by another process (its run is still going) is left alone: ``error`` says so.
    """
    spool = Spool(directory)
    try:
        spool.lock()
    except SpoolBusy as exc:
        return SyncResult(str(directory), None, None, 0, spool.count(), str(exc))
    try:
        if not spool.exists:
            return SyncResult(str(directory), None, None, 0, 0, None)
        header = spool.header()
        run = _Run(uri=header["uri"], limits=tuple(header["limits"]), spool=spool, header=header, spooling=True)
        sent, error = _send_kept(run)
        return SyncResult(str(directory), header["run_id"], redact(header["uri"]), sent, spool.count(), error)
    finally:
        spool.close()


def _handle(runs: dict[str, _Run], key: str, what: str, command: str, args: Any, kwargs: Any) -> tuple[str, Any]:
    run = runs.setdefault(key, _Run())
    if command == "forget":
        runs.pop(key).release()
        return ("ok", None)
    if command not in COMMANDS:
        return ("error", f"unknown command {command!r}")
    if command == "spool":
        directory, run.header = args
        run.spool = Spool(directory)
        if run.spool.count():  # a resumed run whose earlier writes are still kept: they go first
            with contextlib.suppress(SpoolBusy):
                run.spool.lock()
                run.spooling, run.retry_at = True, 0.0
        return ("ok", None)
    if command == "pending":  # the run's end: one last try, whatever the backoff
        if run.spooling:
            _retry_due({key: run}, force=True)
        return ("ok", run.spool.count() if run.spooling and run.spool is not None else 0)
    if command == "sync":
        return ("ok", [sync_spool(directory) for directory in args[0]])
    if run.spooling and command in SPOOLED:
        _retry_due({key: run})
        if run.spooling:
            return _keep(run, what, command, args, kwargs, None)
    if run.failed and command not in _ALWAYS:
        return ("skipped", None)
    try:
        return ("ok", _execute(run, command, args, kwargs))
    except Exception as exc:
        error = redact(one_line(exc), run.uri)
        if run.spool is not None and command in SPOOLED:
            return _keep(run, what, command, args, kwargs, error)
        run.failed = True
        return ("error", error)


def _keep(run: _Run, what: str, command: str, args: Any, kwargs: Any, error: str | None) -> tuple[str, Any]:
    """Spool a write; if even the spool cannot be written, the run's tracking fails (one line)."""
    try:
        run.keep(what, command, args, kwargs)
    except Exception as exc:
        run.failed = True
        where = run.spool.directory if run.spool is not None else "the spool"
        return ("error", f"{error + '; ' if error else ''}cannot keep it in {where}: {one_line(exc)}")
    return ("spooled", error)


def _read_commands(commands: BinaryIO, inbox: queue.Queue[Any]) -> None:
    while True:
        try:
            inbox.put(pickle.load(commands))
        except EOFError:
            inbox.put(None)
            return


class _Replies:
    """The pipe replies go back on, until the driver lets go of this process (or is gone)."""

    def __init__(self, replies: BinaryIO) -> None:
        self._out: BinaryIO | None = replies

    def send(self, seq: int | None, reply: tuple[str, Any]) -> None:
        if self._out is None:
            return
        try:
            pickle.dump((seq, reply), self._out, protocol=pickle.HIGHEST_PROTOCOL)
            self._out.flush()
        except OSError:  # the driver is gone (killed): the writes still get made
            self._out = None

    def detach(self) -> None:
        """Tell the driver it need not wait for us, then write nowhere: nobody reads our output any more."""
        self.send(None, ("detached", None))
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(OSError):
                out.close()
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):  # stray prints and MLflow's own output (fd 1 is already stderr)
            os.dup2(devnull, fd)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the driver's terminal may close now


@dataclass
class _Late:
    """A :data:`LATE_COMMAND` waiting for its ``ready_file``: answered (by its ``seq``) once it is made.

    It holds its run's state, which outlives a ``forget`` of the run (and a new run with the same
    key, a resume) until the write is made.
    """

    seq: int
    key: str
    run: _Run
    what: str
    ready_file: str
    deadline: float  # time.monotonic() after which the files that exist are logged anyway
    paths: tuple[str, ...]
    rest: tuple[Any, ...]  # log_artifacts' other arguments: artifact_path, metrics, timestamp

    def due(self) -> bool:
        return os.path.exists(self.ready_file) or time.monotonic() >= self.deadline

    def make(self) -> tuple[str, Any]:
        """Log the files that exist now (a path missing once ``ready_file`` exists was not produced)."""
        if not os.path.exists(self.ready_file):
            print(f"trainhooks mlflow: {self.ready_file} missing at the deadline; logging what exists", file=sys.stderr)
        paths = tuple(path for path in self.paths if os.path.isfile(path))
        return _handle({self.key: self.run}, self.key, self.what, "log_artifacts", (paths, *self.rest), {})


def _make_due(late: list[_Late], runs: dict[str, _Run], replies: _Replies) -> list[_Late]:
    """Make the late writes whose files are ready (or whose time is up); the ones still waiting.

    A run the driver let go of (``forget``) while late writes of it waited is released after the last.
    """
    waiting, made = [], []
    for write in late:
        if write.due():
            made.append((write, write.make()))
        else:
            waiting.append(write)
    active = [*runs.values(), *(write.run for write in waiting)]
    for run in {id(write.run): write.run for write, _ in made}.values():
        if not any(run is other for other in active):
            run.release()  # before the answers: whoever waited for them may sync the spool next
    for write, reply in made:
        replies.send(write.seq, reply)
    return waiting


def serve(commands: BinaryIO, replies: BinaryIO) -> None:
    """Run commands until the driver closes its end; reply to each one in order.

    Commands are read by a thread, so that while none comes the kept writes of a run whose store
    failed are retried when their backoff is over, and late writes (:data:`LATE_COMMAND`) are made
    once their files are ready. Those alone are answered out of order, when made. If some still
    wait when the driver closes its end, this process tells the driver not to wait for it
    (:meth:`_Replies.detach`) and makes them before it exits: the driver's process can end first.
    """
    runs: dict[str, _Run] = {}
    late: list[_Late] = []
    out = _Replies(replies)
    inbox: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_read_commands, args=(commands, inbox), daemon=True).start()
    idle_work = [warm_up_model_logging]  # done once, the first time no command is waiting
    while True:
        late = _make_due(late, runs, out)
        if idle_work and inbox.empty() and runs:
            idle_work.pop()()
            continue
        waiting = [run.retry_at for run in runs.values() if run.spooling]
        waiting += [time.monotonic() + READY_POLL_S] if late else []
        timeout = max(0.0, min(waiting) - time.monotonic()) if waiting else None
        try:
            item = inbox.get(timeout=timeout)
        except queue.Empty:
            _retry_due(runs)
            continue
        if item is None:
            break
        seq, key, what, command, args, kwargs = item
        if command == LATE_COMMAND:
            ready_file, wait_s, paths, *rest = args
            run = runs.setdefault(key, _Run())
            late.append(_Late(seq, key, run, what, ready_file, time.monotonic() + wait_s, tuple(paths), tuple(rest)))
            continue
        if command == "forget" and any(write.run is runs.get(key) for write in late):
            runs.pop(key)  # released once its late writes are made
            out.send(seq, ("ok", None))
            continue
        started = time.monotonic()
        out.send(seq, _handle(runs, key, what, command, args, kwargs))
        print(f"trainhooks mlflow: {command} took {time.monotonic() - started:.3f} s ({what})", file=sys.stderr)
    if late:
        out.detach()
        while late:
            time.sleep(READY_POLL_S)
            late = _make_due(late, runs, out)
    for run in runs.values():
        run.release()


def warm_up() -> None:
    """Import what the first command needs (MLflow, its SQL store, our writer): about 1 s of CPU.

    Done as soon as the process starts, while the driver is still preparing the run, so the store
    can be opened the moment the run starts. Without the collector's walks of the growing heap
    (:func:`~trainhooks.gc_tuning.heavy_imports`): a quarter less CPU taken from the trials.
    """
    with heavy_imports():
        import mlflow.store.model_registry.sqlalchemy_store
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401

        from . import _writer  # noqa: F401


def warm_up_model_logging() -> None:
    """Import what logging the refit model needs (MLflow's sklearn flavour, signatures), when idle."""
    with heavy_imports():
        import mlflow.models
        import mlflow.sklearn  # noqa: F401


def main() -> None:
    """The writer process: serve the driver's commands until it closes stdin, then exit at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's; it ends the runs, then us
    # Not niced: the driver waits for every write at the run's end, so a lower priority would only
    # move the writer's CPU to the end of the run, on the critical path with the other core idle.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the replies
    started = time.monotonic()
    warm_up()
    print(f"trainhooks mlflow: writer ready in {time.monotonic() - started:.2f} s", file=sys.stderr)
    serve(sys.stdin.buffer, replies)
    from ._client import SQLITE_STORES
    from ._template import checkpoint

    checkpoint(SQLITE_STORES)  # the SQLite files hold every write, not their write-ahead logs
    sys.stderr.flush()
    # Every reply is sent and every run released (spools closed, SQLite commits done): skip the
    # interpreter's teardown of MLflow and SQLAlchemy, which the driver would wait for at its exit.
    os._exit(0)


__all__ = [
    "LATE_COMMAND",
    "READY_POLL_S",
    "SPOOLED",
    "Failure",
    "RunWrites",
    "SyncResult",
    "WriteFailed",
    "WriterProcess",
    "main",
    "sync_spool",
    "writer_process",
]
