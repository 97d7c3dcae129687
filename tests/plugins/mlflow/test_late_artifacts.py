"""Files still being written when a run ends reach the MLflow parent run later, and nobody waits for them.

The ``report`` plugin's figures are such files (drawn in the background, ``ready_file`` =
``figures.json``). Here a plugin announces a file that it writes only when the test says so, which
makes the timing deterministic: the run returns with the file missing (the writer waits up to
120 s, far longer than the test's timeout), the file then appears on the parent run, and a process
that exits first leaves the writing to its writer process, which exits once it is done.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import CtrlCAfter

from trainhooks.hooks import ArtifactsWritten, RunContext, RunStarted, hookimpl
from trainhooks.runner import SearchInterrupted
from trainhooks.testing import EventRecorder, make_session, small_search


class LateFiles:
    """Announces ``late.png`` (and ``never.png``, which it never writes) at run start; writes it on :meth:`finish`."""

    plugin_name = "late_files"

    def __init__(self, folder: Path, name: str = "late") -> None:
        self.figure, self.never, self.ready = folder / f"{name}.png", folder / "never.png", folder / f"{name}.ready"
        self._run: RunContext | None = None

    @hookimpl
    def trainhooks_configure(self, config: Any, run: RunContext) -> None:
        self._run = run

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        assert self._run is not None
        self._run.emit(
            ArtifactsWritten,
            kind="late",
            paths=(str(self.figure), str(self.never)),
            artifact_path="late",
            ready_file=str(self.ready),
        )

    def finish(self) -> None:
        self.figure.write_bytes(b"\x89PNG not really")
        self.ready.write_text("{}")


def logged(store: Any, parent_id: str) -> list[str]:
    return sorted(Path(f.path).name for f in store.client.list_artifacts(parent_id, "late"))


def test_the_run_does_not_wait_for_files_still_being_written_and_they_arrive_later(
    mlflow_store: Any, tmp_path: Path
) -> None:
    late = LateFiles(tmp_path)
    session = make_session(EventRecorder(), late, builtins=("mlflow",))
    result = small_search(
        session, n_trials=2, experiment=mlflow_store.experiment, plugin_config=mlflow_store.plugin_config()
    )
    mlflow_plugin = session.get_plugin("mlflow")

    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED" and parent.data.tags["trainhooks.run_id"] == result.run_id
    assert logged(mlflow_store, parent.info.run_id) == []  # the run ended without them
    assert not mlflow_plugin.wait(0.2)

    late.finish()
    assert mlflow_plugin.wait(30)
    assert logged(mlflow_store, parent.info.run_id) == ["late.png"]  # never.png was not produced


class FinishEarlierRunsFiles:
    """At the first trial's end, writes an earlier run's late files and waits until they are logged."""

    plugin_name = "finish_earlier"

    def __init__(self, late: LateFiles, mlflow_plugin: Any) -> None:
        self.late, self.mlflow_plugin, self.logged = late, mlflow_plugin, False

    @hookimpl
    def trainhooks_on_trial_end(self) -> None:
        if not self.logged:
            self.late.finish()
            self.logged = self.mlflow_plugin.wait(30)


def test_an_earlier_runs_late_files_logged_while_its_resumed_run_goes_on(mlflow_store: Any, tmp_path: Path) -> None:
    """The late write keeps the interrupted run's own state: the resumed run (same key) keeps writing."""
    first = LateFiles(tmp_path, "first")
    session = make_session(EventRecorder(), first, CtrlCAfter(1), builtins=("mlflow",))
    config = mlflow_store.plugin_config()
    with pytest.raises(SearchInterrupted) as caught:
        small_search(session, n_trials=4, experiment=mlflow_store.experiment, plugin_config=config)
    run_id = caught.value.result.run_id

    finisher = FinishEarlierRunsFiles(first, session.get_plugin("mlflow"))
    session = make_session(EventRecorder(), finisher, builtins=("mlflow",))
    small_search(session, n_trials=4, experiment=mlflow_store.experiment, plugin_config=config, resume=run_id)
    assert finisher.logged

    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED"
    children = mlflow_store.children(parent.info.run_id)
    assert sorted(int(c.data.tags["trainhooks.trial_id"]) for c in children) == [0, 1, 2, 3]
    assert all(c.info.status == "FINISHED" and "score" in c.data.metrics for c in children)
    assert logged(mlflow_store, parent.info.run_id) == ["first.png"]


SCRIPT = """
import json, sys
sys.path[:0] = [{tests!r}, {here!r}]
from test_late_artifacts import LateFiles
from pathlib import Path
from trainhooks.plugins.mlflow._process import writer_process
from trainhooks.testing import EventRecorder, make_session, small_search

session = make_session(EventRecorder(), LateFiles(Path({folder!r})), builtins=("mlflow",))
result = small_search(session, n_trials=2, experiment="late", plugin_config={{"mlflow": {{"tracking_uri": {uri!r}}}}})
print(json.dumps({{"run_id": result.run_id, "writer_pid": writer_process()._proc.pid}}))
"""


@pytest.mark.slow
def test_a_process_that_ends_first_leaves_them_to_its_writer_process(mlflow_sqlite_uri: str, tmp_path: Path) -> None:
    """``trainhooks tune`` exits without waiting; the writer process logs the files, then exits."""
    from mlflow_support import Store

    here = Path(__file__).parent
    script = SCRIPT.format(tests=str(here.parents[1]), here=str(here), folder=str(tmp_path), uri=mlflow_sqlite_uri)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=tmp_path, capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    writer = psutil.Process(out["writer_pid"])
    assert writer.is_running() and writer.status() != psutil.STATUS_ZOMBIE  # it outlived its driver

    LateFiles(tmp_path).finish()
    store = Store(mlflow_sqlite_uri, "late")
    (parent,) = store.parents()
    deadline = time.monotonic() + 30
    while logged(store, parent.info.run_id) != ["late.png"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logged(store, parent.info.run_id) == ["late.png"]
    writer.wait(timeout=30)  # and it exits once they are logged
