"""One tune or train run: permission, plugin setup, the search loop, refit and summary.

The runner owns the order of events (DESIGN section 2): ``run-started`` first; per trial
``trial-started``, its ``epoch-ended`` events, exactly one ``trial-ended``; ``run-ended`` or
``run-failed`` last, exactly once, even on Ctrl-C or an exception.
"""

from __future__ import annotations

import math
import pickle
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv

from trainhooks.hooks import (
    EpochEnded,
    Event,
    ModelFitted,
    PermissionDecision,
    PermissionRequest,
    RunEnded,
    RunFailed,
    RunStarted,
    SearchStopped,
    StopDecision,
    Strategy,
    TrialEnded,
    TrialStarted,
    did_you_mean,
    freeze,
)

from . import prep_cache
from .config import RunConfig, SearchConfig
from .data import Dataset
from .dispatch import Dispatcher, EventStamper
from .errors import ConfigError, DataError, PermissionDenied, settings_errors_as_config
from .estimators import ReportPlan, build_estimator, report_plan
from .executors import Executor, RefitsInWorkers, default_blas_threads, make_executor
from .executors.common import is_worker_lost
from .holdout import held_out_predictions
from .provenance import describe_dataset, script_source
from .results import RunResult, best_result, summarize, trial_row, with_links
from .resume import RunJournal
from .search_plan import SearchPlan
from .space import SearchSpace, to_plain
from .strategies import FixedStrategy
from .trial import TrialResult, TrialTask, fit_for_epochs

INPUT_EXAMPLE_ROWS = 5


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run. The run was closed cleanly; ``result`` holds what finished."""

    def __init__(self, result: RunResult) -> None:
        super().__init__("interrupted")
        self.result = result


@dataclass
class RunSpec:
    """One run: its validated configuration (the one carrier of settings), the estimator and the data.

    A config file and the Python API produce the same :class:`~trainhooks.config.RunConfig`; the
    runner reads every setting from it and plugins get its plain form.
    """

    kind: str  # "tune" or "train"
    config: RunConfig
    estimator: Any  # an estimator instance (fixed params set) or class
    dataset: Dataset
    notes: list[str] = field(default_factory=list)
    """Summary notes known before the run starts (the data-validation plugins' warnings), first in ``notes``."""
    source: str | None = None
    """Where the run was described (``RunStarted.source``): the config file of a CLI run; ``None``
    for the Python API, whose source is the running script."""

    @property
    def search(self) -> SearchConfig:
        return self.config.search

    @property
    def strategy(self) -> str:
        return self.search.strategy if self.kind == "tune" else "fixed"

    @property
    def n_trials(self) -> int:
        return self.search.n_trials if self.kind == "tune" else 1

    @property
    def space(self) -> SearchSpace | None:
        return self.search.space if self.kind == "tune" else None

    @property
    def experiment(self) -> str:
        return self.config.experiment.name


@dataclass
class _RunContext:
    """The :class:`trainhooks.hooks.RunContext` plugins get in ``trainhooks_configure``."""

    run_id: str
    kind: str
    principal: str
    experiment: str
    dispatcher: Dispatcher
    stamp: EventStamper
    plugin_names: list[str]
    notes: list[str] = field(default_factory=list)
    links: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def check_permission(self, action: str, resource: str) -> PermissionDecision:
        request = PermissionRequest(
            principal=self.principal,
            action=action,
            resource=resource,
            context={"run_id": self.run_id, "plugins": self.plugin_names},
        )
        return self.dispatcher.check_permission(request)

    def emit(self, event_type: type[Event], **fields: Any) -> Event:
        event = self.stamp(event_type, **fields)
        self.dispatcher.notify(event)
        return event

    def add_note(self, note: str) -> None:
        self.notes.append(note)

    def add_link(self, name: str, *, run_id: str | None = None, url: str | None = None) -> None:
        self.links[name] = {"run_id": run_id, "url": url}


def require_permission(context: _RunContext, action: str, resource: str) -> None:
    """Raise :class:`PermissionDenied` (one line: who, what, which rule) unless allowed."""
    decision = context.check_permission(action, resource)
    if not decision.allowed:
        rule = f" (rule: {decision.rule})" if decision.rule else ""
        raise PermissionDenied(
            f"permission denied: {context.principal!r} may not {action} on {resource!r}: {decision.reason}{rule}"
        )


class Runner:
    """Carries out one :class:`RunSpec` against a session's dispatcher."""

    def __init__(self, dispatcher: Dispatcher, spec: RunSpec, *, principal: str, plugin_names: list[str]) -> None:
        self.dispatcher = dispatcher
        self.spec = spec
        self._plain_config = spec.config.to_plain()  # what plugins see, from TOML or Python alike
        self._dataset = describe_dataset(spec.dataset, self._plain_config.get("data"))  # hashes the data once
        # the journal of the run to continue is read (and checked) here; nothing is written yet
        self.journal = RunJournal.for_run(
            spec.config.run, kind=spec.kind, plain_config=self._plain_config, data_digest=self._dataset["digest"]
        )
        self.run_id = self.journal.run_id or uuid.uuid4().hex
        self.stamp = EventStamper(self.run_id, seq=self.journal.last_seq)
        random_state = spec.search.random_state
        self.seed = self.journal.seed if self.journal.resuming else random_state
        if self.seed is None:  # an unseeded search gets a drawn seed, journaled: a resume replays it exactly
            self.seed = secrets.randbelow(2**31)
        self.context = _RunContext(
            self.run_id, spec.kind, principal, spec.experiment, dispatcher, self.stamp, plugin_names, list(spec.notes)
        )
        self.results: list[TrialResult] = []
        self._report_plans: dict[int, ReportPlan] = {}  # what each trial's epoch-ended reports count
        self.stop_reason = "completed"
        self._started = 0.0
        self._workdir: Path | None = None
        self._refitted: tuple[tuple[int, int], Any] | None = None  # (trial id, epochs) and the model a worker refit
        self._executor: Executor | None = None
        self._closing: threading.Thread | None = None  # the executor closing behind the refit and summary

    # -- preparing ---------------------------------------------------------------------------

    def _strategy(self) -> Strategy:
        spec = self.spec
        if spec.space is None:
            return FixedStrategy()
        factories: dict[str, Any] = {}
        for answer in reversed(self.dispatcher.collect("trainhooks_register_strategies")):
            factories.update(answer.value)  # later (higher-priority) plugins win on a clash
        factory = factories.get(spec.strategy)
        if factory is None:
            raise ConfigError(
                f"search.strategy: unknown strategy {spec.strategy!r}{did_you_mean(spec.strategy, factories)} "
                f"(available: {', '.join(sorted(factories))})"
            )
        with settings_errors_as_config():  # a strategy refusing the space: a config error like any other
            return factory(
                spec.space, random_state=self.seed, n_trials=spec.n_trials, **spec.search.strategy_settings()
            )

    def _folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        data = self.spec.dataset
        estimator = self.spec.estimator() if isinstance(self.spec.estimator, type) else self.spec.estimator
        splitter = check_cv(self.spec.search.cv, data.y_train, classifier=is_classifier(estimator))
        try:
            return list(splitter.split(data.X_train, data.y_train))
        except ValueError as exc:
            raise DataError(f"search.cv: cannot split the training data into folds: {exc}") from None

    def prepare(self) -> tuple[Strategy, list[tuple[np.ndarray, np.ndarray]]]:
        """Everything that can refuse the run, before anything is written."""
        strategy = self._strategy()
        folds = self._folds()
        self.dispatcher.collect("trainhooks_configure", config=freeze(self._plain_config), run=self.context)
        require_permission(self.context, f"run.{self.spec.kind}", self.spec.experiment)
        return strategy, folds

    # -- running -----------------------------------------------------------------------------

    def emit(self, event_type: type[Event], **fields: Any) -> Event:
        return self.context.emit(event_type, **fields)

    def _executor_now(self) -> Executor:
        """The run's executor, made on first use."""
        if self._executor is None:
            search = self.spec.search
            executor = make_executor(
                search.executor,
                n_jobs=search.n_jobs,
                dask_address=search.dask_address,
                estimator=self.spec.estimator,
            )
            self._executor = self.journal.executor(executor)  # on resume, journaled trials are not run again
        return self._executor

    def run(self) -> RunResult:
        """Run to the end; returns the result or raises (after ``run-failed`` was sent).

        A process pool is made first: its workers start in the background while the run is
        prepared. Other executors are made when the search starts, as a Dask cluster starts in the
        foreground and a refused run should not wait for it.
        """
        if self.spec.search.executor == "process":
            self._executor_now()
        try:
            return self._run()
        except BaseException:
            if self._executor is not None:
                self._close_executor(self._executor)  # e.g. preparing refused the run: no worker left running
            raise
        finally:
            if self._closing is not None:
                self._closing.join()

    def _close_executor(self, executor: Executor, *, background: bool = False) -> None:
        """Close the executor once; ``background`` lets the run finish while it closes (joined in :meth:`run`)."""
        if self._closing is None:
            self._closing = threading.Thread(target=executor.close, name="trainhooks-executor-close", daemon=True)
            self._closing.start()
        if not background:
            self._closing.join()

    def _run(self) -> RunResult:
        strategy, folds = self.prepare()
        self.stamp = self.context.stamp = self.journal.open(
            run_id=self.run_id,
            kind=self.spec.kind,
            plain_config=self._plain_config,
            seed=self.seed,
            data_digest=self._dataset["digest"],
            stamp=self.stamp,
            dispatcher=self.dispatcher,
        )
        self.dispatcher.bind(self.stamp)
        self._started = time.perf_counter() - self.journal.prior_wall_s
        finished = False
        try:
            self.emit(
                RunStarted,
                kind=self.spec.kind,
                config=self._plain_config,
                source=self.spec.source or script_source(),
                dataset=self._dataset,
            )
            try:
                self._search(strategy, folds, self._executor_now())
            except KeyboardInterrupt:
                self.stop_reason = "interrupted"
                self.emit(SearchStopped, reason="interrupted", by="core")
                result = self._finish(refit=self.spec.search.refit, interrupted=True)
                finished = True
                raise SearchInterrupted(result) from None
            result = self._finish(refit=self.spec.search.refit)
            finished = True
            return result
        except BaseException as exc:
            if not finished:
                self.emit(RunFailed, error=str(exc) or type(exc).__name__, error_type=type(exc).__name__)
            raise
        finally:
            self.dispatcher.bind(None)
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
            prep_cache.SHARED.clear()
            self.journal.close()  # last: a failed final fsync is raised (exit 1)

    def _on_epoch(self, trial_id: int, epoch: int, metrics: dict[str, Any]) -> StopDecision | None:
        plan = self._report_plans[trial_id]
        event = self.emit(
            EpochEnded,
            trial_id=trial_id,
            epoch=epoch,
            metrics=metrics,
            planned_epochs=plan.planned,
            is_last=plan.is_last(epoch),
            unit=plan.unit,
        )
        answer = self.dispatcher.should_stop_trial(event)
        return answer.value if answer is not None else None

    def _search(self, strategy: Strategy, folds: list[tuple[np.ndarray, np.ndarray]], executor: Executor) -> None:
        """Start trials as slots free up, collect results, retry a lost worker's trial once.

        Which points are asked when, and the order results are told to the strategy, is the
        :class:`~trainhooks.search_plan.SearchPlan`'s job (reproducible for a seed and ``n_jobs``).
        A trial whose worker died ends "failed" with a "worker lost" error and its parameters run
        again as a new trial (new ``trial_id``, its own ``trial-started``/``trial-ended``); a retry
        that is lost again, or a trial that raised, is not retried.

        At the tail (nothing left to start, a worker free) the best trial so far is refit in that
        worker while the last trials train (:meth:`_refit_ahead`). After the loop the executor
        closes in the background (a LocalCluster takes a second) while the run finishes.
        """
        spec = self.spec
        blas = spec.search.blas_threads or default_blas_threads(executor.slots)
        fold_keys = tuple(prep_cache.fold_key(self._dataset["digest"], tr, va) for tr, va in folds)  # once a run
        deadline = self._started + spec.search.timeout_s if spec.search.timeout_s else math.inf
        plan = SearchPlan(self.journal.strategy(strategy), n_trials=spec.n_trials, slots=executor.slots)
        in_flight: dict[int, dict[str, Any]] = {}
        retries: set[int] = set()
        stopping = False
        next_id = 0

        def task(trial_id: int, params: dict[str, Any]) -> TrialTask:
            return TrialTask(
                trial_id=trial_id,
                estimator=spec.estimator,
                params=params,
                X=spec.dataset.X_train,
                y=spec.dataset.y_train,
                folds=folds,
                scoring=spec.search.scoring,
                max_epochs=spec.search.max_epochs,
                eval_every=spec.search.eval_every,
                blas_threads=blas,
                fold_keys=fold_keys,
            )

        def start(params: dict[str, Any]) -> int:
            nonlocal next_id
            trial_id, next_id = next_id, next_id + 1
            self._report_plans[trial_id] = report_plan(
                build_estimator(spec.estimator, params), spec.search.max_epochs, len(folds)
            )
            self.journal.check_ask(trial_id, params)
            if not self.journal.replays(trial_id):  # a replayed trial's events were sent before the crash
                self.emit(TrialStarted, trial_id=trial_id, params=params)
            in_flight[trial_id] = params
            executor.submit(task(trial_id, params))
            return trial_id

        try:
            while True:
                if not stopping:
                    for params in plan.to_start(len(in_flight)):
                        plan.started(start(params))
                if (stopping or plan.done_asking) and len(in_flight) < executor.slots:
                    self._refit_ahead(executor, task)  # nothing left to start: a worker is free
                if not in_flight:
                    break
                try:
                    result = executor.next_result(self._on_epoch)
                except KeyboardInterrupt:
                    for trial_id in sorted(in_flight):
                        self._trial_ended(TrialResult(trial_id, in_flight[trial_id], "failed", error="interrupted"))
                    raise
                params = in_flight.pop(result.trial_id)
                replayed = self.journal.replays(result.trial_id)
                stop = self._trial_ended(result)  # replayed: the stop the journal recorded after it
                stopped: tuple[str, str] | None = None
                if not stopping and stop is not None:
                    stopped = (stop.value.reason, stop.plugin)
                elif not stopping and not replayed and time.perf_counter() >= deadline:
                    stopped = ("timeout", "core")
                if stopped is not None:
                    stopping = True
                    self.stop_reason = stopped[0]
                    if not replayed:
                        self.emit(SearchStopped, reason=stopped[0], by=stopped[1])
                self.journal.trial_boundary(result, stopped, self.dispatcher)
                if is_worker_lost(result) and result.trial_id not in retries and not stopping:
                    retry_id = start(params)
                    retries.add(retry_id)
                    plan.retried(result.trial_id, retry_id)
                else:
                    plan.finished(result)
            self._collect_refit(executor)
        except BaseException:
            self._close_executor(executor)
            raise
        self._close_executor(executor, background=True)
        if not stopping:
            self.stop_reason = "exhausted" if plan.exhausted and plan.asked < spec.n_trials else "n_trials"

    def _best_so_far(self) -> TrialResult | None:
        """The trial :meth:`_finish` would refit if the search ended now (same order, same ties)."""
        return best_result(sorted(self.results, key=lambda r: r.trial_id))

    def _refit_ahead(self, executor: Executor, task: Any) -> None:
        """Refit the best trial so far in a free worker, unless that refit is already under way.

        Only the refit of the trial that is still the best at the end is used (:meth:`_collect_refit`);
        it is the same deterministic fit the driver would run, so the model does not depend on
        where it ran.
        """
        start_refit = getattr(executor, "start_refit", None)  # an optional RefitsInWorkers capability
        if start_refit is None or not self.spec.search.refit:
            return
        best = self._best_so_far()  # sorts the results: only for executors that can refit
        if best is None:
            return
        key = (best.trial_id, best.best_epoch)
        if self._refitted is not None and self._refitted[0] == key:
            return
        if start_refit(key, task(best.trial_id, best.params), best.best_epoch):
            self._refitted = (key, None)

    def _collect_refit(self, executor: Executor) -> None:
        """Wait for the worker's refit if its trial is the final best; otherwise the driver refits."""
        best = self._best_so_far()
        if self._refitted is None or best is None or self._refitted[0] != (best.trial_id, best.best_epoch):
            self._refitted = None
            return
        refits: RefitsInWorkers = executor  # type: ignore[assignment]  # it started the refit
        model = refits.refit_result(self._refitted[0])
        self._refitted = (self._refitted[0], model) if model is not None else None

    def _trial_ended(self, result: TrialResult) -> Any:
        plan = self._report_plans.get(result.trial_id)
        if plan is not None and plan.unit == "fold":  # a lost worker counted its fold reports as epochs
            result.epochs = min(result.epochs, 1)
        self.results.append(result)
        if self.journal.replays(result.trial_id):  # its events were sent before the run stopped
            return self.journal.replayed_stop(result.trial_id)
        event = self.emit(
            TrialEnded,
            trial_id=result.trial_id,
            params=result.params,
            state=result.state,
            score=result.score,
            score_std=result.score_std,
            fold_scores=result.fold_scores,
            epochs=result.epochs,
            duration_s=result.duration_s,
            error=result.error,
            stop_reason=result.stop_reason,
        )
        return self.dispatcher.should_stop_search(event)

    # -- finishing ---------------------------------------------------------------------------

    def _refit(self, best: TrialResult) -> tuple[Any, float | None]:
        spec, data = self.spec, self.spec.dataset
        if (
            self._refitted is not None
            and self._refitted[1] is not None
            and self._refitted[0] == (best.trial_id, best.best_epoch)
        ):
            model = self._refitted[1]  # refit in a worker while the last trials ran
        else:
            model = fit_for_epochs(
                spec.estimator, best.params, data.X_train, data.y_train, best.best_epoch, spec.search.max_epochs
            )
        test_score = None
        if data.has_test:
            scorer = check_scoring(model, scoring=spec.search.scoring)
            test_score = float(scorer(model, data.X_test, data.y_test))
        self._workdir = Path(tempfile.mkdtemp(prefix="trainhooks-"))
        model_path = self._workdir / "model.pkl"
        with model_path.open("wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        sample = data.X_test if data.has_test else data.X_train
        example = sample.iloc[:INPUT_EXAMPLE_ROWS] if hasattr(sample, "iloc") else sample[:INPUT_EXAMPLE_ROWS]
        names = [str(c) for c in sample.columns] if hasattr(sample, "columns") else None
        dtypes = {str(c): str(t) for c, t in sample.dtypes.items()} if names is not None else None
        held_out = held_out_predictions(model, data.X_test, data.y_test)
        self.emit(
            ModelFitted,
            trial_id=best.trial_id,
            params=best.params,
            epochs=best.best_epoch,
            model_path=str(model_path),
            test_score=test_score,
            input_example=to_plain(np.asarray(example).tolist()),
            feature_names=names,
            feature_dtypes=dtypes,
            **asdict(held_out),
        )
        return model, test_score

    def _finish(self, *, refit: bool, interrupted: bool = False) -> RunResult:
        """Refit the best trial (after Ctrl-C too: its test score and model still matter) and end the run.

        A second Ctrl-C during the refit after an interrupted search skips the refit and ends the
        run at once.
        """
        self.results.sort(key=lambda r: r.trial_id)
        best = best_result(self.results)
        model, test_score = None, None
        if refit and best is not None:
            try:
                model, test_score = self._refit(best)
            except KeyboardInterrupt:
                if not interrupted:
                    raise
                self.context.add_note("interrupted again during the refit: no refit model and no test score")
        summary = summarize(
            self.results,
            strategy=self.spec.strategy,
            scoring=self._plain_config["search"]["scoring"],
            stop_reason=self.stop_reason,
            wall_time_s=time.perf_counter() - self._started,
            test_score=test_score,
            notes=[*self.context.notes, *self.journal.notes()],
            links=self.context.links,
        )
        notes_before = len(self.context.notes)
        self.emit(RunEnded, summary=summary)
        summary = with_links(summary, self.context.links)  # and the links plugins added at run-ended
        if len(self.context.notes) > notes_before:  # and their notes (e.g. MLflow writes still pending)
            summary["notes"] = [*summary.get("notes", []), *self.context.notes[notes_before:]]
        return RunResult(
            run_id=self.run_id,
            kind=self.spec.kind,
            best_params=summary["best_params"],
            best_score=summary["best_score"],
            best_estimator=model,
            test_score=test_score,
            trials=[trial_row(r) for r in self.results],
            summary=summary,
            results=list(self.results),
        )


__all__ = ["RunSpec", "Runner", "SearchInterrupted", "require_permission"]
