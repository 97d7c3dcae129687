"""Resuming a run from its journal (docs/durability.md): the finished trials are not run again,
the strategy is re-told in the original order, and the trials and best equal those of a run that
never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from builders import breast_cancer, run_config, write_toml
from helpers import CtrlCAfter
from sklearn.linear_model import SGDClassifier

from trainhooks.hooks import RunStarted, TrialStarted, hookimpl
from trainhooks.journal import JOURNAL_NAME, ResumeRefused, read_journal
from trainhooks.runner import SearchInterrupted
from trainhooks.testing import EventRecorder, make_session

SPACE = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1"]}
GRID = {"alpha": [1e-4, 1e-3, 1e-2], "penalty": ["l2", "l1"]}


def _rows(trials: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each trial's id, params, state and scores (mean, spread and every fold's)."""
    return [
        (t["trial_id"], t["params"], t["state"], *(v for k, v in t.items() if k.endswith("test_score"))) for t in trials
    ]


def _tune(session: Any, **kwargs: Any) -> Any:
    X, y = breast_cancer(240)
    space = kwargs.pop("space", SPACE)
    return session.tune(SGDClassifier(random_state=0), space, X, y, cv=3, max_epochs=2, random_state=0, **kwargs)


def _interrupted(k: int, *plugins: object, builtins: tuple[str, ...] = (), **kwargs: Any) -> str:
    with pytest.raises(SearchInterrupted) as caught:
        _tune(make_session(EventRecorder(), CtrlCAfter(k), *plugins, builtins=builtins), **kwargs)
    return caught.value.result.run_id


@pytest.mark.parametrize(
    "search",
    [
        {"strategy": "grid", "space": GRID, "n_trials": 6},
        {"strategy": "random", "n_trials": 6},
        {"strategy": "bayes", "n_trials": 8},
    ],
    ids=["grid", "random", "bayes"],
)
def test_an_interrupted_search_resumed_equals_one_that_never_stopped(search: dict[str, Any]) -> None:
    reference = _tune(make_session(EventRecorder()), **search)
    run_id = _interrupted(4, **search)
    recorder = EventRecorder()
    resumed = _tune(make_session(recorder), resume=run_id, **search)
    assert resumed.run_id == run_id
    assert _rows(resumed.trials) == _rows(reference.trials)
    assert (resumed.best_params, resumed.best_score) == (reference.best_params, reference.best_score)
    # plugins see run-started again (same run id, config["run"]["resume"]), then only the trials run now
    started = recorder.of(RunStarted)[0]
    assert started.config["run"]["resume"] == run_id and started.seq > 1
    assert [e.trial_id for e in recorder.of(TrialStarted)] == list(range(3, search["n_trials"]))
    assert "resumed: 3 trial(s) came from the journal" in " ".join(resumed.summary["notes"])


def test_the_bayes_optimizer_replayed_through_a_fresh_one_asks_the_same_next_points() -> None:
    """skopt's Optimizer is a pure function of its seed and the asks/tells in order."""
    from skopt import Optimizer

    def optimizer() -> Optimizer:
        return Optimizer([(1e-5, 1e-1, "log-uniform"), ["l2", "l1"]], n_initial_points=3, random_state=0)

    first, history = optimizer(), []
    for i in range(6):
        x = first.ask()
        first.tell(x, float(i % 3) - x[0])
        history.append(x)
    replayed = optimizer()
    for i, x in enumerate(history):
        assert replayed.ask() == x
        replayed.tell(x, float(i % 3) - x[0])
    assert replayed.ask() == first.ask() and replayed.ask(n_points=2) == first.ask(n_points=2)


def test_early_stopping_state_comes_back_so_the_search_stops_where_it_would_have() -> None:
    table = {"early_stopping": {"search_patience": 2, "patience": 1}}
    search = {"strategy": "random", "n_trials": 12, "plugin_config": table}
    reference = _tune(make_session(EventRecorder(), builtins=["early_stopping"]), **search)
    assert reference.summary["stop_reason"] == "search_patience" and len(reference.trials) < 12
    run_id = _interrupted(2, builtins=("early_stopping",), **search)
    resumed = _tune(make_session(EventRecorder(), builtins=["early_stopping"]), resume=run_id, **search)
    assert _rows(resumed.trials) == _rows(reference.trials)
    assert resumed.summary["stop_reason"] == "search_patience"


class Counter:
    """Counts the trials it saw; keeps the count through a resume with the state hooks."""

    plugin_name = "counter"

    def __init__(self) -> None:
        self.seen = 0
        self.loaded: dict[str, Any] | None = None

    @hookimpl
    def trainhooks_configure(self) -> None:
        self.seen = 0

    @hookimpl
    def trainhooks_on_trial_end(self) -> None:
        self.seen += 1

    @hookimpl
    def trainhooks_state_dict(self) -> dict[str, Any]:
        return {"seen": self.seen}

    @hookimpl
    def trainhooks_load_state_dict(self, state: Any) -> None:
        self.loaded = dict(state)
        self.seen = state["seen"]


def test_each_plugin_gets_back_its_own_state_from_the_last_trial_boundary() -> None:
    run_id = _interrupted(3, Counter(), strategy="random", n_trials=5)
    counter = Counter()
    _tune(make_session(EventRecorder(), counter), resume=run_id, strategy="random", n_trials=5)
    assert counter.loaded == {"seen": 2}  # the third trial ended in the hook that pressed Ctrl-C: it runs again
    assert counter.seen == 5


def test_what_cannot_be_resumed_is_refused_in_one_line() -> None:
    run_id = _interrupted(2, strategy="random", n_trials=4)
    with pytest.raises(ResumeRefused, match=r"changed since it started \(\[search\] differs\)"):
        _tune(make_session(EventRecorder()), resume=run_id, strategy="random", n_trials=5)
    with pytest.raises(ResumeRefused, match=r"training data of run .* changed"):
        X, y = breast_cancer(200)
        make_session(EventRecorder()).tune(
            SGDClassifier(random_state=0),
            SPACE,
            X,
            y,
            cv=3,
            max_epochs=2,
            random_state=0,
            strategy="random",
            n_trials=4,
            resume=run_id,
        )
    with pytest.raises(
        ResumeRefused, match=rf"no journal for run '{run_id[:-2]}xx'.*did you mean '{run_id}'.*resumable: {run_id}"
    ):
        _tune(make_session(EventRecorder()), resume=run_id[:-2] + "xx", strategy="random", n_trials=4)
    resumed = _tune(make_session(EventRecorder()), resume=run_id[:8], strategy="random", n_trials=4)  # a unique prefix
    assert resumed.run_id == run_id
    with pytest.raises(ResumeRefused, match=f"run {run_id} finished; there is nothing to continue"):
        _tune(make_session(EventRecorder()), resume=run_id, strategy="random", n_trials=4)


# -- real processes: SIGKILL of the `trainhooks` driver --------------------------------------------

BAYES_12 = {"strategy": "bayes", "n_trials": 12, "cv": 3, "max_epochs": 2, "random_state": 0, "scoring": "accuracy"}


def _cli(config: Path, *args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("trainhooks")), "tune", str(config), "--json", "-q", *args]


def _count(path: Path, kind: str, name: str | None = None) -> int:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return 0
    n = 0
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("k") == kind and (name is None or record["event"]["name"] == name):
            n += 1
    return n


def _kill_when(command: list[str], runs: Path, kind: str, name: str | None, at: int, *, worker: bool = False) -> str:
    """Start ``command``, SIGKILL it once its journal holds ``at`` records of that kind; its run id."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    journal: Path | None = None
    killed_worker = False
    while time.monotonic() < deadline and process.poll() is None:
        found = list(runs.glob(f"*/{JOURNAL_NAME}"))
        journal = journal or (found[0] if len(found) == 1 else None)
        if journal is not None and worker and not killed_worker and _count(journal, "trial") >= 1:
            children = psutil.Process(process.pid).children(recursive=True)
            busy = [c for c in children if c.cpu_percent(0.05) > 0] or children
            if busy:
                os.kill(busy[0].pid, signal.SIGKILL)  # a worker dies mid-trial
                killed_worker = True
        if journal is not None and _count(journal, kind, name) >= at:
            process.kill()
            process.wait()
            return journal.parent.name
        time.sleep(0.005)
    process.kill()
    raise AssertionError(f"the run ended before the kill point ({kind} {name} {at}): {process.stderr.read()!r}")


def _result(completed: subprocess.CompletedProcess) -> dict[str, Any]:
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def _same_trials(resumed: dict[str, Any], reference: dict[str, Any]) -> None:
    keep = lambda trials: [  # noqa: E731 - a lost worker's failed attempt is not a result
        (t["params"], t["mean_test_score"], t["state"])
        for t in trials
        if not (t["error"] or "").startswith("worker lost")
    ]
    assert sorted(map(repr, keep(resumed["trials"]))) == sorted(map(repr, keep(reference["trials"])))
    for key in ("best_params", "best_score", "n_complete", "stop_reason"):
        assert resumed["summary"][key] == reference["summary"][key], key


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkill_of_the_driver_at_five_points_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "run.toml", run_config(search=BAYES_12, plugins={"disable": ["mlflow", "report"]}))
    reference = _result(subprocess.run(_cli(config, "--set", "run.dir='reference'"), capture_output=True, text=True))
    runs = tmp_path / "trainhooks-runs"
    points = [
        ("event", "run-started", 1),  # before any trial
        ("trial", None, 2),
        ("event", "trial-started", 6),  # in the middle of trial 5
        ("trial", None, 8),
        ("trial", None, 11),  # during the last trial
    ]
    for index, (kind, name, at) in enumerate(points):
        point_runs = runs / str(index)
        config_i = write_toml(
            tmp_path / f"run{index}.toml",
            run_config(search=BAYES_12, plugins={"disable": ["mlflow", "report"]}, run={"dir": str(point_runs)}),
        )
        run_id = _kill_when(_cli(config_i), point_runs, kind, name, at)
        journal = read_journal(point_runs / run_id / JOURNAL_NAME)
        assert journal.status == "crashed"
        resumed = _result(subprocess.run(_cli(config_i, "--resume", run_id), capture_output=True, text=True))
        assert resumed["run_id"] == run_id
        assert [(t["trial_id"], t["params"], t["mean_test_score"], t["state"]) for t in resumed["trials"]] == [
            (t["trial_id"], t["params"], t["mean_test_score"], t["state"]) for t in reference["trials"]
        ], (kind, name, at)
        _same_trials(resumed, reference)
        assert read_journal(point_runs / run_id / JOURNAL_NAME).status == "finished"
        again = subprocess.run(_cli(config_i, "--resume", run_id), capture_output=True, text=True)
        assert (
            again.returncode == 2
            and again.stderr.strip() == f"error: run.resume: run {run_id} finished; there is nothing to continue"
        )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_process_executor_driver_and_worker_killed_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    search = {**BAYES_12, "executor": "process", "n_jobs": 2}
    plugins = {"disable": ["mlflow", "report"]}
    config = write_toml(tmp_path / "run.toml", run_config(search=search, plugins=plugins))
    reference = _result(subprocess.run(_cli(config, "--set", "run.dir='reference'"), capture_output=True, text=True))
    for index, (at, worker) in enumerate([(3, False), (7, True)]):
        runs = tmp_path / f"runs{index}"
        config_i = write_toml(
            tmp_path / f"run{index}.toml", run_config(search=search, plugins=plugins, run={"dir": str(runs)})
        )
        run_id = _kill_when(_cli(config_i), runs, "trial", None, at, worker=worker)
        resumed = _result(subprocess.run(_cli(config_i, "--resume", run_id), capture_output=True, text=True))
        assert resumed["run_id"] == run_id
        _same_trials(resumed, reference)


@pytest.mark.slow
def test_cli_resume_of_a_finished_or_unknown_run_is_one_line_exit_2(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "run.toml", run_config(plugins={"disable": ["mlflow", "report"]}))
    done = _result(subprocess.run(_cli(config), capture_output=True, text=True))
    finished = subprocess.run(_cli(config, "--resume", done["run_id"]), capture_output=True, text=True)
    assert finished.returncode == 2
    assert finished.stderr.strip() == f"error: run.resume: run {done['run_id']} finished; there is nothing to continue"
    unknown = subprocess.run(_cli(config, "--resume", "feedface"), capture_output=True, text=True)
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "no journal for run 'feedface' in trainhooks-runs" in unknown.stderr
