"""The run journal (docs/durability.md): written by the core for every run, readable back, and a
run that cannot write it stops (exit 1) instead of going on with results it cannot keep."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import breast_cancer, run_config, write_toml
from sklearn.linear_model import SGDClassifier

from trainhooks.hooks import Event, RunFailed, RunStarted, hookimpl
from trainhooks.journal import JOURNAL_NAME, JournalError, read_journal
from trainhooks.testing import EventRecorder, make_session

SPACE = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1"]}
SEARCH: dict[str, Any] = {"strategy": "bayes", "n_trials": 5, "cv": 3, "max_epochs": 2, "random_state": 0}


def _tune(session: Any, **kwargs: Any) -> Any:
    X, y = breast_cancer(240)
    return session.tune(SGDClassifier(random_state=0), SPACE, X, y, **{**SEARCH, **kwargs})


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_event_plugins_got_is_in_the_journal_in_order_with_trial_boundaries(tmp_path: Path) -> None:
    recorder = EventRecorder()
    result = _tune(
        make_session(recorder, builtins=["early_stopping"]), plugin_config={"early_stopping": {"patience": 1}}
    )
    path = tmp_path / "trainhooks-runs" / result.run_id / JOURNAL_NAME
    records = _records(path)
    header = records[0]
    assert header["k"] == "run" and header["run_id"] == result.run_id and header["random_state"] == 0
    assert set(header["digests"]) == {"experiment", "data", "model", "search", "plugins"}  # [run] is not content
    journaled = [Event.from_dict(r["event"]) for r in records if r["k"] == "event"]
    assert journaled == recorder.events
    trials = [r for r in records if r["k"] == "trial"]
    assert [t["result"]["trial_id"] for t in trials] == [row["trial_id"] for row in result.trials]
    assert [t["result"]["score"] for t in trials] == [row["mean_test_score"] for row in result.trials]
    # each plugin's state (trainhooks_state_dict) is kept at every boundary, by plugin name
    assert trials[-1]["plugins"]["early_stopping"]["search"]["n_trials"] == 5
    assert len([r for r in records if r["k"] == "tell"]) == 5
    journal = read_journal(path)
    assert journal.status == "finished" and journal.last_seq == recorder.events[-1].seq


def test_journal_false_writes_nothing_and_run_dir_moves_it(tmp_path: Path) -> None:
    _tune(make_session(EventRecorder()), run={"journal": False})
    assert not (tmp_path / "trainhooks-runs").exists()
    result = _tune(make_session(EventRecorder()), run={"dir": "elsewhere/runs"})
    assert (tmp_path / "elsewhere" / "runs" / result.run_id / JOURNAL_NAME).is_file()


def test_an_unwritable_journal_directory_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file, not a directory")
    recorder = EventRecorder()
    with pytest.raises(JournalError, match=r"run\.dir: cannot write the run journal blocked/"):
        _tune(make_session(recorder), run={"dir": "blocked"})
    assert recorder.events == []  # no run-started: nothing ran that could not be kept


class Unkeepable:
    """A plugin whose state is not JSON: reported like any bad setup answer, the run goes on."""

    plugin_name = "unkeepable"

    @hookimpl
    def trainhooks_state_dict(self) -> dict[str, Any]:
        return {"when": object()}


def test_a_state_that_is_not_json_is_reported_and_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    result = _tune(make_session(EventRecorder(), Unkeepable()), n_trials=2)
    trials = [r for r in _records(tmp_path / "trainhooks-runs" / result.run_id / JOURNAL_NAME) if r["k"] == "trial"]
    assert [t["plugins"] for t in trials] == [{}, {}]
    assert "plugin 'unkeepable'" in caplog.text and "not JSON-ready" in caplog.text


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    result = _tune(make_session(EventRecorder()), n_trials=2)
    path = tmp_path / "trainhooks-runs" / result.run_id / JOURNAL_NAME
    whole = read_journal(path)
    text = path.read_text()
    path.write_text(text + '{"k":"event","event":{"name":"trial-sta')  # killed mid-write
    assert read_journal(path).events == whole.events
    lines = text.splitlines(keepends=True)
    path.write_text("".join(lines[:3]) + "garbage\n" + "".join(lines[3:]))
    with pytest.raises(Exception, match=rf"{JOURNAL_NAME}:4: not a journal line"):
        read_journal(path)


@pytest.mark.slow
def test_a_full_disk_mid_run_stops_it_with_exit_1_and_it_can_be_resumed(tmp_path: Path) -> None:
    """A real write failure: the process may write no file beyond 8 kB (RLIMIT_FSIZE; EFBIG).

    The run stops with one line (exit 1) instead of going on; with room again, ``--resume``
    finishes it with the same trials as a run that never stopped.
    """
    config = write_toml(
        tmp_path / "run.toml",
        run_config(search={"strategy": "bayes", "n_trials": 8, "random_state": 0}, plugins={"disable": ["mlflow"]}),
    )
    base = [str(config), "--json", "-q", "--no-plugin", "mlflow", "--no-plugin", "report"]
    limited = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8_000, 8_000))\n"
        "from trainhooks.cli.app import main\n"
        "main(sys.argv[1:])\n"
    )
    full = subprocess.run(
        [sys.executable, "-c", limited, "tune", *base], capture_output=True, text=True, timeout=300, check=False
    )
    assert full.returncode == 1, full.stderr
    (line,) = [ln for ln in full.stderr.splitlines() if ln.startswith("error:")]
    assert "cannot write the run journal" in line and "File too large" in line
    (journal_path,) = (tmp_path / "trainhooks-runs").glob(f"*/{JOURNAL_NAME}")
    journal = read_journal(journal_path)
    assert journal.status == "crashed" and 0 < len(journal.trials) < 8
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "trainhooks.cli", "tune", *base, *args], capture_output=True, text=True, timeout=300
    )
    resumed = run("--resume", journal.run_id)
    assert resumed.returncode == 0, resumed.stderr
    reference = run("--set", "run.dir='reference'")
    assert reference.returncode == 0, reference.stderr
    rows = lambda out: [(t["params"], t["mean_test_score"], t["state"]) for t in json.loads(out)["trials"]]  # noqa: E731
    assert rows(resumed.stdout) == rows(reference.stdout)
    assert json.loads(resumed.stdout)["run_id"] == journal.run_id


def test_run_started_reaches_plugins_after_the_journal_header(tmp_path: Path) -> None:
    recorder = EventRecorder()
    result = _tune(make_session(recorder), n_trials=1)
    records = _records(tmp_path / "trainhooks-runs" / result.run_id / JOURNAL_NAME)
    assert records[0]["k"] == "run" and records[1]["event"]["name"] == RunStarted.name
    assert records[-1]["event"]["name"] == "run-ended" and not any(
        r.get("event", {}).get("name") == RunFailed.name for r in records
    )
