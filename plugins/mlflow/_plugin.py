"""``MlflowPlugin``: the hook implementations that turn a trainhooks run into an MLflow run tree.

Nothing is written in ``trainhooks_configure`` (the run may still be refused); the parent run is
created on ``run-started``. Writes go through one writer process (``_process``), so training does
not wait for MLflow. When the store fails (the tracking server went away, the database is locked),
the writer keeps the run's writes in its spool (``<run dir>/mlflow-spool``) and retries them while
the run goes on: one warning line says so, and if writes are still kept at the end, a note in the
run summary says how many and the command that sends them (``trainhooks runs sync RUN_ID``). At
``run-started`` the writer first sends the spools other runs left for the same store. A failure
that cannot be kept (a registry call, a spool that cannot be written) is reported once, in one line
naming the store: the next hook raises (the core isolates it, logs that line and emits
``plugin-failed``), a note says what was not logged, and the run's later writes are skipped.

Credentials in the tracking URI are masked (:func:`~._redact.redact`) in every note and message
here, and by the writer in everything it sends to MLflow.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from trainhooks.hooks import (
    ArtifactsWritten,
    EpochEnded,
    Event,
    ModelFitted,
    ModelRegistered,
    RunContext,
    RunEnded,
    RunFailed,
    RunStarted,
    TrialEnded,
    TrialStarted,
    hookimpl,
)

from . import _layout as layout
from ._artifacts import AnnouncedArtifacts
from ._client import check_reachable
from ._model import ModelNotLogged
from ._process import RunWrites, WriteFailed, writer_process
from ._redact import redact
from ._settings import MlflowSettings, parse_settings, resolve_tracking_uri
from ._spool import PENDING_NAME, find_spools, spool_dir

log = logging.getLogger("trainhooks.plugins.mlflow")


def _what_failed(outage: Any) -> str:
    """What the store was doing when it failed, and its error (one line), for the pending-writes note."""
    return f"{outage.what}: {outage.error}" if outage is not None else "writing"


class TrackingFailed(RuntimeError):
    """Raised (once per run) from a hook after a write to MLflow failed; the core reports it."""


class MlflowPlugin:
    """Logs runs, nested trials, artifacts and the refit model to MLflow; registers and promotes it.

    After a run, ``tracking_uri`` and ``parent_run_id`` say where it was logged; the run summary's
    ``links["mlflow"]`` says it too (``run_id``, and ``url`` with a tracking server).
    """

    def __init__(self) -> None:
        self.settings = MlflowSettings()
        self.tracking_uri: str | None = None
        self.parent_run_id: str | None = None
        self._writes: RunWrites | None = None
        self._reset()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the last run's late writes are made: files another plugin was still writing at its end.

        The run does not wait for them (e.g. the ``report`` plugin's figures, drawn in the background):
        the writer process logs them on the parent run once they are complete, and finishes that
        after this process has ended if need be. Call this before reading them from MLflow in the
        same process (a test, a notebook).

        :return: False if ``timeout_s`` passed first.
        """
        return not concurrent.futures.wait(self._late, timeout=timeout_s).not_done

    def _reset(self) -> None:
        if self._writes is not None:  # a previous run that never ended (should not happen)
            self._writes.close()
        self._run: RunContext | None = None
        self._config: Mapping[str, Any] = {}
        self._writes = None
        self._parent: Future[Any] | None = None
        self._model: Future[Any] | None = None  # the refit model's log_model, when nothing waits for it
        self._records: dict[int, layout.TrialRecord] = {}
        self._reported = False
        self._warned_outage = False
        self._scoring: str | None = None
        self._artifacts = AnnouncedArtifacts()  # files other plugins wrote for the run
        self._late: list[Future[Any]] = []  # its writes of files still being written at its end

    # -- setup ---------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        """Read ``[plugins.mlflow]``, check that a tracking server answers, start the writer; writes nothing."""
        self._reset()
        self.settings = parse_settings((config.get("plugins") or {}).get("mlflow", {}))
        self.tracking_uri = resolve_tracking_uri(config, self.settings)
        self.parent_run_id = None
        self._run, self._config = run, config
        self._scoring = (config.get("search") or {}).get("scoring")
        check_reachable(self.tracking_uri, timeout_s=self.settings.http_timeout_s)
        writer_process()  # starts it now: it imports MLflow while the run is prepared (writes nothing)

    @hookimpl
    def trainhooks_cli_commands(self) -> list[Any]:
        from ._cli import runs_group

        return [runs_group]

    @hookimpl
    def trainhooks_load_model(self, uri: str, tracking_uri: str | None) -> Any | None:
        """Load ``runs:/…`` and ``models:/…`` model URIs from the tracking store (``trainhooks predict``)."""
        from ._load import is_model_uri, load_model

        if not is_model_uri(uri):
            return None
        return load_model(uri, tracking_uri or resolve_tracking_uri({}, self.settings))

    # -- writing and failure reporting ---------------------------------------------------------

    def _submit(self, what: str, command: str, *args: Any) -> None:
        if self._writes is not None:
            self._writes.submit(what, command, *args)

    def _call(self, what: str, command: str, *args: Any) -> Any:
        """Run ``command`` in the writer process and wait; ``None`` if tracking already failed."""
        if self._writes is None:
            return None
        try:
            return self._writes.call(what, command, *args)
        except WriteFailed:
            self._report()
            raise

    def _report(self) -> None:
        """After the first failed write: note what is lost, and raise once so the core reports it.

        A write kept in the spool is not lost: the first one is a warning line, once.
        """
        outage = self._writes.outage if self._writes is not None else None
        if outage is not None and not self._warned_outage:
            self._warned_outage = True
            log.warning(
                "%s",
                redact(
                    f"mlflow: logging to {self.tracking_uri} failed while {outage.what} ({outage.error}); "
                    "the run's writes are kept in its spool and retried",
                    self.tracking_uri,
                ),
            )
        failure = self._writes.failure if self._writes is not None else None
        if failure is None or self._reported:
            return
        self._reported = True
        text = redact(
            (
                f"mlflow: logging to {self.tracking_uri} failed while {failure.what} ({failure.error}); "
                "not logged from then on: later trial runs, the refit model and the parent run's summary and artifacts"
            ),
            self.tracking_uri,
        )
        self._note(text, level=None)  # the core logs the TrackingFailed raised here: one line, not two
        raise TrackingFailed(text)

    def _note(self, text: str, level: int | None = logging.WARNING) -> None:
        """Add ``text`` (credentials masked) to the run summary's notes; log it at ``level`` unless None."""
        text = redact(text, self.tracking_uri)
        if level is not None:
            log.log(level, "%s", text)
        if self._run is not None:
            self._run.add_note(text)

    # -- run and trials ------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        experiment = str((event.config.get("experiment") or {}).get("name") or "default")
        self._writes = writer_process().run(event.run_id)
        root = str((self._config.get("run") or {}).get("dir") or "trainhooks-runs")
        self._send_left_spools(root, event.run_id)
        self._writes.submit(
            "keeping writes",
            "spool",
            str(spool_dir(root, event.run_id).resolve()),
            {
                "uri": self.tracking_uri or "",
                "experiment": experiment,
                "run_id": event.run_id,
                "user": self._run.principal if self._run is not None else None,
                "limits": [self.settings.http_retries, self.settings.http_timeout_s],
            },
        )
        self._parent = self._writes.submit(
            "creating the parent run",
            "open_parent",
            self.tracking_uri or "",
            experiment,
            self.settings.http_retries,
            self.settings.http_timeout_s,
            event.run_id,
            event.kind,
            event.config,
            layout.ms(event.timestamp),
            user=self._run.principal if self._run is not None else None,
            source=event.source,
            dataset=event.dataset,
        )
        if (self._config.get("run") or {}).get("resume"):
            self._reattach(event)

    def _reattach(self, event: RunStarted) -> None:
        """Continue the MLflow run tree of a resumed run (``tune --resume``) instead of starting one.

        The parent run is found by its ``trainhooks.run_id`` tag (``open_parent`` creates it only if
        it does not exist) and its trials by their ``trainhooks.trial_id`` tag. The journaled
        trials' events go through the trial hooks again, so each one's run holds its results even
        if the interrupted run had not written them yet (writing a trial again duplicates nothing),
        and the parent's trials table and search history cover every trial. A trial that was
        running when the run stopped (started, never ended) is ended ``KILLED`` now; if the search
        runs it again, the same child run gets its new results.
        """
        from trainhooks.journal import JOURNAL_NAME, read_journal, run_dir

        root = str((self._config.get("run") or {}).get("dir") or "trainhooks-runs")
        journal = read_journal(run_dir(root, event.run_id) / JOURNAL_NAME)
        handlers = {
            TrialStarted.name: self.trainhooks_on_trial_start,
            EpochEnded.name: self.trainhooks_on_epoch_end,
            TrialEnded.name: self.trainhooks_on_trial_end,
        }
        for data in journal.events:
            handler = handlers.get(data.get("name", ""))
            if handler is not None:
                handler(Event.from_dict(data))
        if self.settings.log_trials == "all":
            for record in self._records.values():
                if record.ended is None:
                    self._submit(
                        f"ending the stale run of trial {record.trial_id}",
                        "end_open_trial",
                        record,
                        "KILLED",
                        layout.ms(event.timestamp),
                    )

    def _send_left_spools(self, root: str, run_id: str) -> None:
        """Have the writer send, before this run's writes, what earlier runs kept for this store.

        The driver does not wait; a spool still in use (its run is going on) is left alone.
        """
        spools = []
        for directory in find_spools(root):
            try:
                header = json.loads((directory / PENDING_NAME).open(encoding="utf-8").readline())
            except (OSError, ValueError):
                continue
            if header.get("uri") == self.tracking_uri:
                spools.append(str(directory.resolve()))
        if spools:
            writer_process().run(f"sync-{run_id}").submit("sending kept writes", "sync", spools)

    @hookimpl
    def trainhooks_on_trial_start(self, event: TrialStarted) -> None:
        record = layout.TrialRecord(event.trial_id, dict(event.params), layout.ms(event.timestamp))
        self._records[event.trial_id] = record
        if self.settings.log_trials == "all":
            self._submit(f"creating the run of trial {event.trial_id}", "open_trial", record)
        self._report()

    @hookimpl
    def trainhooks_on_epoch_end(self, event: EpochEnded) -> None:
        record = self._records.get(event.trial_id)
        if record is not None:  # buffered; written in one batch when the trial ends
            record.epochs.append((event.epoch, layout.ms(event.timestamp), layout.report_values(event)))

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        record = self._records.setdefault(
            event.trial_id, layout.TrialRecord(event.trial_id, dict(event.params), layout.ms(event.timestamp))
        )
        record.ended, record.ended_ms = event, layout.ms(event.timestamp)
        if self.settings.log_trials == "all":
            self._submit(f"logging trial {event.trial_id}", "close_trial", record)
        self._report()

    # -- model and registry --------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_model_fitted(self, event: ModelFitted) -> None:
        """Hand the refit model to the writer; wait for it only to register it (that needs its id).

        Without ``register_as`` the model is logged while the run ends (summary, run-ended hooks);
        its outcome is noted when the run's last writes are waited for.
        """
        if not self.settings.log_model or self._writes is None:
            return
        test_metric = f"test_{self._scoring}" if self._scoring else "test_score"
        args = (event, test_metric, self.settings.serialization, self.settings.skops_trusted_types)
        if not self.settings.register_as:
            self._model = self._writes.submit("logging the refit model", "log_model", *args)
            return
        logged = self._call("logging the refit model", "log_model", *args)
        self._report()
        if self._note_model(logged, self._writes):
            self._register(logged, event)

    def _note_model(self, logged: Any, writes: RunWrites) -> bool:
        """Note a model that was not logged (or, to be registered, is still in the spool); True if logged."""
        registered = f", so not registered as {self.settings.register_as!r}" if self.settings.register_as else ""
        if isinstance(logged, ModelNotLogged):  # the rest of the run is still logged; the parent is tagged
            self._note(f"mlflow: the refit model was not logged{registered}: {logged.error}")
        elif logged is None and registered and writes.failure is None and writes.outage is not None:
            self._note(f"mlflow: the refit model is kept in the spool{registered}")  # no id to register yet
        return logged is not None and not isinstance(logged, ModelNotLogged)

    def _register(self, logged: Any, event: ModelFitted) -> None:
        from . import _registry as registry

        assert self._run is not None
        name = self.settings.register_as or ""
        decision = self._run.check_permission("model.register", name)
        if not decision.allowed:
            self._note(f"mlflow: model not registered as {name!r}: permission denied ({decision.reason})")
            return
        tags = {
            registry.SCORE_TAG: str(event.test_score),
            registry.SCORING_TAG: str(self._scoring),
            registry.RUN_TAG: event.run_id,
        }
        version = self._call(f"registering {name!r}", "register", name, logged, tags)
        if version is None:
            return
        alias = self._promote(name, version, event.test_score) if self.settings.promote_alias else None
        self._run.emit(ModelRegistered, model_name=name, version=version, alias=alias, score=event.test_score)

    def _promote(self, name: str, version: str, score: float | None) -> str | None:
        from . import _registry as registry

        assert self._run is not None
        alias = self.settings.promote_alias or ""
        holder = self._call(f"reading alias {alias!r}", "alias_holder", name, alias)
        choice = registry.decide_promotion(
            alias=alias,
            version=version,
            score=score,
            scoring=str(self._scoring),
            holder=holder,
            min_improvement=self.settings.min_improvement,
        )
        if not choice.promote:
            self._note(f"mlflow: {name}: {choice.reason}")
            return None
        decision = self._run.check_permission("model.promote", name)
        if not decision.allowed:
            self._note(f"mlflow: {name}: {alias!r} not moved to v{version}: permission denied ({decision.reason})")
            return None
        self._call(f"setting alias {alias!r}", "set_alias", name, alias, version)
        self._note(f"mlflow: {name}: {choice.reason}", logging.INFO)
        return alias

    @hookimpl
    def trainhooks_on_artifacts_written(self, event: ArtifactsWritten) -> None:
        """Log another plugin's files on the parent run: now if complete, else at the run's end (``_artifacts``)."""
        write = self._artifacts.add(event)
        if write is not None:
            self._submit(write.what, write.command, *write.args())

    # -- end -----------------------------------------------------------------------------------

    def _close(self, *, status: str, ended_ms: int, summary: Mapping[str, Any] | None, error: str | None) -> None:
        """Queue the last writes (open trials, top-k trials, parent), wait for them, report failures."""
        writes, self._writes = self._writes, None
        if writes is None:
            return
        records = sorted(self._records.values(), key=lambda r: r.trial_id)
        if self.settings.log_trials == "all":
            for record in records:
                if record.ended is None:
                    writes.submit(f"ending trial {record.trial_id}", "end_open_trial", record, status, ended_ms)
        elif self.settings.log_trials == "top_k":
            for record in layout.top_trials(records, self.settings.top_k):
                writes.submit(f"logging trial {record.trial_id}", "log_trial", record)
        for write in self._artifacts.at_end():  # e.g. the report's figures, drawn in the background
            logged = writes.submit(write.what, write.command, *write.args())
            if write.ready_file is not None:  # nothing waits for a late write but wait()
                self._late.append(logged)
        writes.submit(
            "ending the parent run",
            "close_parent",
            summary=summary,
            records=records,
            config=self._config,
            status=status,
            ended_ms=ended_ms,
            error=error,
        )
        waiting = time.monotonic()
        pending = writes.submit("sending the kept writes", "pending").result() or 0
        writes.close()  # waits for every write of the run
        log.debug("mlflow: waited %.2f s for the run's last writes", time.monotonic() - waiting)
        if self._model is not None and self._model.exception() is None:
            self._note_model(self._model.result(), writes)
        if pending:
            where = spool_dir(str((self._config.get("run") or {}).get("dir") or "trainhooks-runs"), writes.key)
            self._note(
                f"mlflow: {pending} writes to {self.tracking_uri} are pending in {where} "
                f"(the store failed while {_what_failed(writes.outage)}); "
                f"send them with `trainhooks runs sync {writes.key}`",
                level=None,  # the outage was one warning line when it began; this goes to the summary
            )
        elif writes.outage is not None and writes.failure is None:
            log.info("mlflow: the %d writes kept during the outage were sent", writes.spooled)
        if self._parent is not None and self._parent.exception() is None and self._parent.result() is not None:
            parent: layout.ParentRun = self._parent.result()
            self.parent_run_id = parent.run_id
            if self._run is not None:  # the summary and --json name the MLflow run beside the run id
                self._run.add_link("mlflow", run_id=parent.run_id, url=layout.run_url(self.tracking_uri, parent))
        if writes.failure is not None:
            if writes.skipped:
                log.debug("mlflow: not logged after the failure: %s", "; ".join(writes.skipped))
            self._end_lost_parent(writes.key, status, ended_ms)
        self._writes = writes  # so that _report sees the failure
        try:
            self._report()
        finally:
            self._writes = None

    def _end_lost_parent(self, key: str, status: str, ended_ms: int) -> None:
        """After a failed write, try once more to end the parent run so it is not left RUNNING.

        This goes through a writer process that is alive (a new one if the old one died).
        """
        if self.parent_run_id is None:
            return
        last_try = writer_process().run(key)
        try:
            last_try.call(
                "ending the parent run after the failure",
                "end_run",
                self.tracking_uri or "",
                self.parent_run_id,
                status,
                ended_ms,
                self.settings.http_retries,
                self.settings.http_timeout_s,
            )
        except WriteFailed as exc:
            log.warning("mlflow: parent run %s could not be ended (%s)", self.parent_run_id, redact(str(exc)))
        finally:
            last_try.close()

    @hookimpl
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        summary = event.summary
        if summary.get("stop_reason") == "interrupted":
            status = "KILLED"
        elif summary["n_trials"] > 0 and summary["n_failed"] == summary["n_trials"]:
            status = "FAILED"  # every trial failed (RunEnded's docstring): no model, the CLI exits 1
        else:
            status = "FINISHED"
        self._close(status=status, ended_ms=layout.ms(event.timestamp), summary=event.summary, error=None)

    @hookimpl
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        status = "KILLED" if event.error_type == "KeyboardInterrupt" else "FAILED"
        self._close(
            status=status,
            ended_ms=layout.ms(event.timestamp),
            summary=None,
            error=f"{event.error_type}: {event.error}",
        )


__all__ = ["MlflowPlugin", "TrackingFailed"]
