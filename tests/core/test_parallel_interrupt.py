"""Ctrl-C during a process search: the run closes cleanly and no worker process is left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers import HELPER_PATH, ctrl_c_enabled

SCRIPT = """
import sys, time
import trainhooks
from sklearn.linear_model import SGDClassifier
from trainhooks.testing import EventRecorder, make_session
from parallel_helpers import FragileSGD, data


class Announce:
    @trainhooks.hookimpl
    def trainhooks_on_epoch_end(self, event):
        if event.trial_id == 1:  # trial 0 trains on the driver's thread while the pool starts
            print("EPOCH", flush=True)


if __name__ == "__main__":
    recorder = EventRecorder()
    session = make_session(recorder, Announce())
    X, y = data()
    try:
        session.tune(FragileSGD(delay_s=0.5), {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}}, X, y,
                     n_trials=6, cv=2, max_epochs=20, executor="process", n_jobs=2)
    except trainhooks.SearchInterrupted as stopped:
        ended = [e for e in recorder.events if e.name == "trial-ended"]
        print("INTERRUPTED", stopped.result.summary["stop_reason"], recorder.names[-1],
              sorted({e.error for e in ended}), flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_ends_the_run_cleanly_and_stops_the_workers(tmp_path: Path) -> None:
    script = tmp_path / "search.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {"PYTHONPATH": HELPER_PATH, "PATH": "/usr/bin:/bin"}
    driver = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_enabled,
    )
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().strip() == "EPOCH"  # a worker trains trial 1, the driver trial 0
        workers = psutil.Process(driver.pid).children(recursive=True)
        assert len(workers) >= 2
        driver.send_signal(signal.SIGINT)  # what Ctrl-C sends (to the driver; workers ignore it)
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    last = [line for line in out.splitlines() if line.startswith("INTERRUPTED")]
    assert last, err
    assert last[0].startswith("INTERRUPTED interrupted run-ended") and "'interrupted'" in last[0]
    deadline = time.monotonic() + 30
    while any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers):
        assert time.monotonic() < deadline, [w.pid for w in workers if w.is_running()]
        time.sleep(0.2)
