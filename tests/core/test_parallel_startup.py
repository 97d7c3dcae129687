"""The first process search in a Python process: the driver trains trials while the pool starts.

The fork server takes about a second to import scikit-learn, once per Python process. Meanwhile the
driver trains the first trials itself; the workers take over once they are up. A user sees the
same trials table as a sequential run, stop decisions applied at the same epochs, and the events
in the usual order. Each test runs its search in a fresh Python process, where the fork server is
not running yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import HELPER_PATH


def run_fresh(tmp_path: Path, source: str) -> Any:
    """Run ``source`` as a script in a fresh Python process (no fork server yet); its last line, parsed."""
    script = tmp_path / "search.py"
    script.write_text(source, encoding="utf-8")
    env = {"PYTHONPATH": HELPER_PATH, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


SCRIPT = """
import json
from parallel_helpers import FragileSGD, StopTrial, assert_run_order, table, tune
from trainhooks.testing import EventRecorder

if __name__ == "__main__":
    options = {"n_trials": 8, "max_epochs": 4}
    sequential = tune(EventRecorder(), StopTrial(trial_id=0, epoch=2), estimator=FragileSGD(), **options)
    recorder = EventRecorder()
    parallel = tune(recorder, StopTrial(trial_id=0, epoch=2), estimator=FragileSGD(delay_s=0.15),
                    executor="process", n_jobs=2, **options)
    assert_run_order(recorder.events)
    print(json.dumps({
        "sequential": table(sequential),
        "parallel": table(parallel),
        "workers": [r.worker for r in parallel.results],
        "best": [sequential.best_params, parallel.best_params],
    }))
"""


def test_the_driver_trains_while_the_pool_starts_and_the_results_equal_the_sequential_run(tmp_path: Path) -> None:
    out = run_fresh(tmp_path, SCRIPT)

    assert out["parallel"] == out["sequential"]
    assert out["best"][0] == out["best"][1]
    pruned = out["parallel"][0]
    assert (pruned[1], pruned[4]) == ("pruned", 2)  # the stop decision reached the driver's own trial
    workers = out["workers"]
    assert workers[0] == "driver"  # trial 0 started before the fork server had imported scikit-learn
    # trials of ~1.2 s (9.6 s in all): the pool is up long before the last one, and the workers took over
    assert any(w.startswith("pid ") for w in workers), workers


KILL_SCRIPT = """
import json, os, signal
import psutil
import trainhooks
from parallel_helpers import FragileSGD, table, tune
from trainhooks.testing import EventRecorder


class KillForkServer:
    killed = []

    @trainhooks.hookimpl
    def trainhooks_on_epoch_end(self, event):
        if not self.killed:  # the driver's first trial: the fork server is still importing scikit-learn
            for child in psutil.Process().children():
                if "forkserver" in " ".join(child.cmdline()):
                    os.kill(child.pid, signal.SIGKILL)
                    self.killed.append(child.pid)


if __name__ == "__main__":
    options = {"n_trials": 6, "max_epochs": 4}
    sequential = tune(EventRecorder(), estimator=FragileSGD(), **options)
    parallel = tune(EventRecorder(), KillForkServer(), estimator=FragileSGD(delay_s=0.1),
                    executor="process", n_jobs=2, **options)
    print(json.dumps({"killed": KillForkServer.killed, "sequential": table(sequential), "parallel": table(parallel),
                      "workers": [r.worker for r in parallel.results]}))
"""


def test_a_fork_server_killed_while_it_starts_is_started_again_and_the_search_completes(tmp_path: Path) -> None:
    out = run_fresh(tmp_path, KILL_SCRIPT)
    assert len(out["killed"]) == 1
    assert out["parallel"] == out["sequential"]  # every trial complete, as in the sequential run
    assert any(w.startswith("pid ") for w in out["workers"]), out["workers"]


UNSENDABLE_SCRIPT = """
import json
from parallel_helpers import FragileSGD, tune
from trainhooks import AllTrialsFailed
from trainhooks.testing import EventRecorder

if __name__ == "__main__":
    estimator = FragileSGD(die_marker=lambda: None, die_at=99)  # trains, but a lambda cannot be pickled
    try:
        tune(EventRecorder(), estimator=estimator, executor="process", n_jobs=2, n_trials=3)
    except AllTrialsFailed as failed:
        print(json.dumps([row["error"] for row in failed.result.trials]))
"""


def test_a_trial_that_cannot_be_sent_to_a_worker_fails_even_when_the_driver_would_train_it(tmp_path: Path) -> None:
    errors = run_fresh(tmp_path, UNSENDABLE_SCRIPT)
    assert len(errors) == 3 and all("cannot send the trial to a worker process" in e for e in errors), errors
