"""Continuing an interrupted or crashed run from its journal (``tune --resume RUN_ID``).

The search loop runs again from the start with a fresh strategy built with the journaled seed,
so it asks the same points in the same order. A trial the journal holds a result for is not run
again: :class:`ReplayExecutor` hands its journaled result back, in the order the original run
received it, and the search plan tells it to the strategy exactly as before (each tell is
checked against the journal's). Trials that were running when the run stopped have no result in
the journal and run again from scratch. Plugins do not see the replayed trials' events again;
their state at the last trial boundary is given back through ``trainhooks_load_state_dict``.

A run can be continued when its journal exists, it did not finish (it crashed, failed or was
interrupted by Ctrl-C) and its configuration and training data are unchanged.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trainhooks.hooks import Event, StopDecision, freeze, thaw

from .config import RunSettings
from .dispatch import Answer, Dispatcher
from .errors import TrainhooksError
from .executors import EpochHandler, Executor
from .journal import (
    JOURNAL_NAME,
    Journal,
    JournaledStamper,
    JournalWriter,
    ResumeRefused,
    config_digests,
    list_journals,
    read_journal,
    result_from_dict,
    run_dir,
)
from .trial import TrialResult, TrialTask

RESUMABLE = ("crashed", "failed", "interrupted")


class JournalDiverged(TrainhooksError):
    """The replayed search asked or told something other than the journal holds. Exit 1.

    It means the search is not a pure function of the seed and the results (a library version
    changed, or a plugin strategy is not seeded); the journal is left as it was.
    """

    exit_code = 1


def find_journal(root: str | Path, run_id: str) -> Journal:
    """The journal of run ``run_id`` (or of the one run whose id starts with it) under ``root``.

    Unknown ids are one line naming the near miss and the runs that can be resumed.
    """
    path = run_dir(root, run_id) / JOURNAL_NAME
    if path.is_file():
        return read_journal(path)
    journals = list_journals(root)
    matches = [j for j in journals if j.run_id.startswith(run_id)] if run_id else []
    if len(matches) == 1:
        return matches[0]
    resumable = [j.run_id for j in journals if j.status in RESUMABLE]
    near = difflib.get_close_matches(run_id, [j.run_id for j in journals], n=1, cutoff=0.5)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    listed = f"; resumable: {', '.join(resumable[:5])}" if resumable else "; no run there can be resumed"
    many = f" ({len(matches)} runs start with it)" if len(matches) > 1 else ""
    raise ResumeRefused(f"run.resume: no journal for run {run_id!r} in {root}{many}{hint}{listed}")


def check_resumable(
    journal: Journal, *, kind: str, digests: Mapping[str, str], data_digest: str, journal_on: bool
) -> None:
    """Refuse (one line, exit 2) a run that finished, or whose configuration or data changed."""
    run_id = journal.run_id
    if not journal_on:
        raise ResumeRefused("run.resume: needs run.journal = true (the continued run keeps writing its journal)")
    if journal.status not in RESUMABLE:
        raise ResumeRefused(f"run.resume: run {run_id} finished; there is nothing to continue")
    if journal.header.get("kind") != kind:
        raise ResumeRefused(f"run.resume: run {run_id} was a {journal.header.get('kind')} run, not a {kind} run")
    before = journal.header.get("digests") or {}
    changed = sorted(name for name in {*before, *digests} if before.get(name) != digests.get(name))
    if changed:
        sections = ", ".join(f"[{name}]" for name in changed)
        raise ResumeRefused(
            f"run.resume: the configuration of run {run_id} changed since it started ({sections} differs); "
            "resume it with the configuration it started with"
        )
    if journal.header.get("data_digest") != data_digest:
        raise ResumeRefused(f"run.resume: the training data of run {run_id} changed since it started")


class Replay:
    """The journaled part of a run, served to the search loop in the original order."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.results: dict[int, TrialResult] = {}
        self.position: dict[int, int] = {}
        self.stops: dict[int, tuple[str, str]] = {}
        for position, record in enumerate(journal.trials):
            result = result_from_dict(record["result"])
            self.results[result.trial_id] = result
            self.position[result.trial_id] = position
            if record.get("stop"):
                reason, by = record["stop"]
                self.stops[result.trial_id] = (str(reason), str(by))
        self.asked: dict[int, dict[str, Any]] = {}
        for event in journal.events:
            if event.get("name") == "trial-started":
                self.asked[int(event["trial_id"])] = dict(event["params"])
        self._tells = journal.tells
        self._told = 0

    @property
    def done_telling(self) -> bool:
        """Every tell the journal holds was replayed: later tells are new and get journaled."""
        return self._told > len(self._tells)

    def replays(self, trial_id: int) -> bool:
        """True when ``trial_id``'s result comes from the journal (it is not run again)."""
        return trial_id in self.results

    def check_ask(self, trial_id: int, params: Mapping[str, Any]) -> None:
        """The strategy asked ``params`` for ``trial_id``: it must be what the journal says it asked."""
        before = self.asked.get(trial_id)
        if before is not None and before != dict(params):
            raise JournalDiverged(
                f"resume diverged from the journal at trial {trial_id}: the strategy asked {dict(params)}, "
                f"the journal has {before}"
            )

    def check_tell(self, params: Mapping[str, Any], score: float | None) -> None:
        """The search told the strategy a result: the first ones must be the journal's, in order."""
        if self._told < len(self._tells):
            expected = self._tells[self._told]
            if expected["params"] != dict(params) or not _same(expected["score"], score):
                raise JournalDiverged(
                    f"resume diverged from the journal at tell {self._told + 1}: told {dict(params)} = {score}, "
                    f"the journal has {expected['params']} = {expected['score']}"
                )
        self._told += 1

    def stop_after(self, trial_id: int) -> tuple[str, str] | None:
        """The (reason, by) of a stop the original run decided right after this trial ended."""
        return self.stops.get(trial_id)


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and a != a and b != b)  # NaN equals NaN here


class ReplayExecutor:
    """Runs only the trials the journal has no result for; hands back journaled ones first.

    Journaled results come back in the order the original run received them: the search loop
    then starts, retries and stops trials exactly as it did.
    """

    def __init__(self, inner: Executor, replay: Replay) -> None:
        self._inner = inner
        self._replay = replay
        self._ready: list[int] = []
        self.slots = inner.slots

    def submit(self, task: TrialTask) -> None:
        if self._replay.replays(task.trial_id):
            self._ready.append(task.trial_id)
        else:
            self._inner.submit(task)

    def next_result(self, on_epoch: EpochHandler) -> TrialResult:
        if self._ready:
            trial_id = min(self._ready, key=self._replay.position.__getitem__)
            self._ready.remove(trial_id)
            return self._replay.results[trial_id]
        return self._inner.next_result(on_epoch)

    def close(self) -> None:
        self._inner.close()


class ToldLog:
    """A strategy whose tells are journaled (and, on resume, checked against the journal).

    Every other attribute (``ask``, ``ask_many``) is the wrapped strategy's, so the search plan
    sees the same protocol (a batch strategy stays one).
    """

    def __init__(self, strategy: Any, on_tell: Any) -> None:
        self._strategy = strategy
        self._on_tell = on_tell

    def tell(self, params: Mapping[str, Any], score: float | None) -> None:
        self._on_tell(params, score)
        self._strategy.tell(params, score)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._strategy, name)


class RunJournal:
    """The runner's one handle on its journal: writing it, and replaying it when resuming.

    With ``[run] journal = false`` every method does nothing (and resuming is refused).
    """

    def __init__(self, settings: RunSettings, resuming: Journal | None) -> None:
        self.settings = settings
        self.resuming = resuming
        self.replay = Replay(resuming) if resuming is not None else None
        self.writer: JournalWriter | None = None

    @classmethod
    def for_run(
        cls, settings: RunSettings, *, kind: str, plain_config: Mapping[str, Any], data_digest: str
    ) -> RunJournal:
        """Nothing written yet: a new run's journal, or the checked journal of the run to resume."""
        if settings.resume is None:
            return cls(settings, None)
        journal = find_journal(settings.dir, settings.resume)
        check_resumable(
            journal,
            kind=kind,
            digests=config_digests(plain_config),
            data_digest=data_digest,
            journal_on=settings.journal,
        )
        return cls(settings, journal)

    @property
    def run_id(self) -> str | None:
        return self.resuming.run_id if self.resuming is not None else None

    @property
    def last_seq(self) -> int:
        return self.resuming.last_seq if self.resuming is not None else 0

    @property
    def seed(self) -> int | None:
        return self.resuming.header.get("random_state") if self.resuming is not None else None

    @property
    def prior_wall_s(self) -> float:
        """Wall time the run spent before this process continued it."""
        return self.resuming.wall_time_s if self.resuming is not None else 0.0

    def open(
        self,
        *,
        run_id: str,
        kind: str,
        plain_config: Mapping[str, Any],
        seed: int | None,
        data_digest: str,
        stamp: Callable[..., Event],
        dispatcher: Dispatcher,
    ) -> Callable[..., Event]:
        """Start (or continue) writing; give plugins back their state. Returns the stamper to use.

        Called once the run may start (after setup and the permission check) and before its first event.
        """
        if not self.settings.journal:
            return stamp
        if self.resuming is None:
            header = {
                "run_id": run_id,
                "kind": kind,
                "created": time.time(),
                "random_state": seed,
                "digests": config_digests(plain_config),
                "data_digest": data_digest,
                "config": dict(plain_config),
            }
            self.writer = JournalWriter.create(self.settings.dir, run_id, header)
        else:
            self.writer = JournalWriter.reopen(self.resuming.path, seq=self.resuming.last_seq)
            states = self.resuming.plugin_states
            if states:
                dispatcher.collect_each(
                    "trainhooks_load_state_dict", {name: {"state": freeze(s)} for name, s in states.items()}
                )
        return JournaledStamper(stamp, self.writer)

    def strategy(self, strategy: Any) -> Any:
        """The strategy the search plan talks to: its tells journaled (and checked when replaying)."""
        if self.writer is None:
            return strategy

        def told(params: Mapping[str, Any], score: float | None) -> None:
            if self.replay is not None:
                self.replay.check_tell(params, score)
            if self.replay is None or self.replay.done_telling:
                assert self.writer is not None
                self.writer.tell(params, score)

        return ToldLog(strategy, told)

    def executor(self, executor: Executor) -> Executor:
        return ReplayExecutor(executor, self.replay) if self.replay is not None else executor

    def replays(self, trial_id: int) -> bool:
        """True for a trial whose result comes from the journal: its events were sent before."""
        return self.replay is not None and self.replay.replays(trial_id)

    def check_ask(self, trial_id: int, params: Mapping[str, Any]) -> None:
        if self.replay is not None:
            self.replay.check_ask(trial_id, params)

    def replayed_stop(self, trial_id: int) -> Answer | None:
        """The stop decision the original run took after this replayed trial, as the loop expects it."""
        stop = self.replay.stop_after(trial_id) if self.replay is not None else None
        return None if stop is None else Answer(StopDecision(stop[0]), stop[1])

    def trial_boundary(self, result: TrialResult, stop: tuple[str, str] | None, dispatcher: Dispatcher) -> None:
        """A trial ended and the search decided about going on: journal both and each plugin's state."""
        if self.writer is None or self.replays(result.trial_id):
            return
        states = {a.plugin: thaw(a.value) for a in dispatcher.collect("trainhooks_state_dict")}
        self.writer.trial(result, stop, states)

    def notes(self) -> list[str]:
        if self.replay is None or not self.replay.results:
            return []
        return [f"resumed: {len(self.replay.results)} trial(s) came from the journal, the rest ran now"]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


__all__ = [
    "RESUMABLE",
    "JournalDiverged",
    "Replay",
    "ReplayExecutor",
    "RunJournal",
    "ToldLog",
    "check_resumable",
    "find_journal",
]
