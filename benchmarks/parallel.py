"""Wall time of one CPU-bound search run sequentially, in 2 worker processes and on a 2-worker Dask cluster.

Every mode runs the same seeded random search (GradientBoostingClassifier, single-threaded tree
building, trials of roughly 0.5-1 s on a 2-core machine) through the public API with no plugins.
Modes are interleaved repetition by repetition so that load from other programs hits them alike,
and the median of the repetitions is compared. Times include starting the workers: the process pool
for ``process`` (and, in the first repetition, the fork server that imports scikit-learn once
per Python process), the whole LocalCluster for ``dask``; ``dask (running cluster)`` connects to a
cluster started once beforehand, to show what the start-up costs.

The machine is shared, so before each repetition the script also measures how much parallelism
it can get at all: the same pure-Python CPU burn, twice in a row versus in two processes at once
("available"). A speed-up is only as good as that ceiling: Linux shares CPU time between sessions
(autogroup), so while other programs keep the machine busy, two processes of one program get
little more CPU than one.

    .venv/bin/python benchmarks/parallel.py            # 24 trials, 3 repetitions
    .venv/bin/python benchmarks/parallel.py --trials 8 --repeats 5
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import time
from typing import Any

from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier

from trainhooks import Session
from trainhooks.plugin_loader import BUILTIN_PLUGINS

SPACE = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "max_depth": [2, 3, 4],
    "subsample": {"low": 0.6, "high": 1.0},
}


def search(executor: str, n_trials: int, X: Any, y: Any, **options: Any) -> tuple[float, dict[str, Any]]:
    """Wall time of one search (start-up included) and its summary."""
    session = Session(disable=list(BUILTIN_PLUGINS), autoload=False)
    started = time.perf_counter()
    result = session.tune(
        GradientBoostingClassifier(n_estimators=40, random_state=0),
        SPACE,
        X,
        y,
        strategy="random",
        n_trials=n_trials,
        cv=3,
        max_epochs=3,
        scoring="accuracy",
        random_state=0,
        executor=executor,
        **options,
    )
    return time.perf_counter() - started, result.summary


def _burn(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - started


def available_speedup(pool: Any, n: int = 4_000_000) -> float:
    """Two CPU burns one after the other, divided by the same two in two processes at once."""
    started = time.perf_counter()
    _burn(n)
    _burn(n)
    serial = time.perf_counter() - started
    started = time.perf_counter()
    pool.map(_burn, [n, n])
    return serial / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1500)
    args = parser.parse_args()

    from distributed import LocalCluster

    X, y = make_classification(n_samples=args.rows, n_features=30, n_informative=10, random_state=0)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR,
    )  # fmt: skip
    modes: dict[str, dict[str, Any]] = {
        "sequential": {"executor": "sequential"},
        "process (2 workers)": {"executor": "process", "n_jobs": 2},
        "dask (2-worker LocalCluster)": {"executor": "dask", "n_jobs": 2},
        "dask (running cluster)": {"executor": "dask", "n_jobs": 2, "dask_address": cluster.scheduler_address},
    }
    times: dict[str, list[float]] = {name: [] for name in modes}
    summaries: dict[str, dict[str, Any]] = {}
    ceilings: list[float] = []
    # spawn, not forkserver: the executor's fork server must start with its own preload
    pool = multiprocessing.get_context("spawn").Pool(2)
    pool.map(_burn, [1, 1])  # start both pool processes before measuring
    try:
        for rep in range(args.repeats):
            ceilings.append(available_speedup(pool))
            print(f"  repetition {rep + 1}: available parallel speed-up now {ceilings[-1]:.2f}x", flush=True)
            for name, options in modes.items():
                options = dict(options)
                wall, summaries[name] = search(options.pop("executor"), args.trials, X, y, **options)
                times[name].append(wall)
                print(f"  repetition {rep + 1}: {name:<30} {wall:6.2f} s", flush=True)
    finally:
        cluster.close()
        pool.terminate()

    best = {name: s["best_score"] for name, s in summaries.items()}
    assert len(set(best.values())) == 1, f"the modes found different results: {best}"
    base = statistics.median(times["sequential"])
    fit = statistics.median(s["fit_time_s"] for s in [summaries["sequential"]]) / args.trials
    print(
        f"\n{args.trials} trials, {args.rows} rows, ~{fit:.2f} s of fitting per trial, "
        f"{os.cpu_count()} cores, median of {args.repeats}; available 2-process speed-up: "
        f"median {statistics.median(ceilings):.2f}x (range {min(ceilings):.2f}-{max(ceilings):.2f})"
    )
    print(f"{'mode':<30} {'median s':>9} {'min s':>7} {'speed-up':>9} {'first run s':>12}")
    for name, walls in times.items():
        median = statistics.median(walls)
        print(f"{name:<30} {median:9.2f} {min(walls):7.2f} {base / median:8.2f}x {walls[0]:12.2f}")
    print(
        "first run: the process executor's first search in a Python process also starts its fork server "
        "(imports scikit-learn once); later searches reuse it. A LocalCluster starts anew every search."
    )


if __name__ == "__main__":
    main()
