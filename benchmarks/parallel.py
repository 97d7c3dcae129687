"""Parallel scaling: one CPU-bound search sequentially, in 2 worker processes, on Dask, and with joblib.

Every variant runs the same seeded random search (GradientBoostingClassifier, single-threaded tree
building, 3 folds, 3 epochs; by default 3600 rows, trials of about 1.2 s on this 2-core machine,
the workload of issue 16's table; ``--rows 1500`` gives 0.46 s trials) through the public API
with no plugins, in a fresh Python process (imports, fork server and pool start included, as a
user's script pays them); the wall time is measured inside that process from just before
``tune()`` to its return (the refit of the best trial included):

- ``sequential``: ``executor="sequential"``.
- ``process``: ``executor="process", n_jobs=2``.
- ``dask-running``: ``executor="dask", n_jobs=2`` on a 2-worker LocalCluster this script starts
  once (connecting is the only start-up cost).
- ``dask-new``: the same, the executor starting its own LocalCluster every run.
- ``joblib``: the sequential run's parameter sets through ``joblib.Parallel(n_jobs=2)`` (loky), each
  running ``trainhooks.trial.run_trial`` on the same folds (the same work, no driver round trips),
  then the best refit in the driver: what a hand-written pool over the same candidates gets.

Rounds are interleaved (every variant once per round) so load from other programs hits them alike;
medians are printed. BLAS and OpenMP are pinned to 1 thread in every process. Before each round
the script measures the **ceiling**: two independent fits of one representative trial in two
processes at once versus one after the other (what the machine offers right now; Linux shares CPU
between sessions, so on a busy machine two processes get less than 2x). Each speed-up is printed
with its ratio to the ceiling.

``--timeline`` also prints, for every variant, where each run's wall time went, from the run's own
events (``trial-ended`` receipt time minus the trial's ``duration_s`` on its worker): start-up
(``tune()`` called to the first trial training), busy and idle time per worker while trials ran,
the tail (one worker done, another still training), the refit (last ``trial-ended`` to
``model-fitted``) and the end. Per worker it prints how many trials it ran and when its first one
started (for ``process``, the worker processes' first start is when the pool was up; "driver" are the
trials the driver trained on a thread until then).

    .venv/bin/python benchmarks/parallel.py --rounds 3 --timeline      # the full comparison
    .venv/bin/python benchmarks/parallel.py --rounds 3 --timeline --rows 1500
                                         # trials of 0.46 s: the fork server's one-off import (0.73 s
                                         # of CPU) weighs 2.5x as much
    .venv/bin/python benchmarks/parallel.py --rounds 1 --trials 6      # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VARIANTS = ("sequential", "process", "dask-running", "dask-new", "joblib")
SPACE = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "max_depth": [2, 3, 4],
    "subsample": {"low": 0.6, "high": 1.0},
}
FOLDS, EPOCHS, SEED = 3, 3, 0
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _data(rows: int) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=rows, n_features=30, n_informative=10, random_state=SEED)


def _estimator() -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=40, random_state=SEED)


def _timeline(events: list[Any], results: list[Any], t0: float, t_end: float) -> dict[str, Any]:
    """Where the run's wall time went, from its events (wall-clock seconds since ``t0``)."""
    ended = {e.trial_id: e.timestamp - t0 for e in events if type(e).__name__ == "TrialEnded"}
    fitted = [e.timestamp - t0 for e in events if type(e).__name__ == "ModelFitted"]
    busy: dict[str, list[tuple[float, float]]] = {}
    for r in results:
        end = ended[r.trial_id]
        busy.setdefault(r.worker or "driver", []).append((end - r.duration_s, end))
    first = min(start for spans in busy.values() for start, _ in spans)
    last = max(ended.values())
    per_worker = {}
    for worker, spans in sorted(busy.items()):
        spans.sort()
        worked = sum(e - s for s, e in spans)
        done = spans[-1][1]
        per_worker[worker] = {
            "trials": len(spans),
            "busy_s": worked,
            "start_s": spans[0][0],
            "idle_s": (last - first) - worked - (last - done),  # gaps between its trials
            "tail_s": last - done,  # finished, waiting for the others' last trial
        }
    refit_end = fitted[-1] if fitted else last
    return {
        "startup_s": first,
        "search_s": last - first,
        "refit_s": refit_end - last,
        "end_s": (t_end - t0) - refit_end,
        "workers": per_worker,
    }


def run_variant(variant: str, trials: int, rows: int, address: str | None, candidates: Path) -> dict[str, Any]:
    """One measured run of ``variant`` in this (fresh) process."""
    X, y = _data(rows)
    if variant == "joblib":
        return _run_joblib(X, y, json.loads(candidates.read_text()))
    from trainhooks import Session
    from trainhooks.plugin_loader import BUILTIN_PLUGINS
    from trainhooks.testing import EventRecorder

    options: dict[str, Any] = {"executor": "sequential"}
    if variant != "sequential":
        options = {"executor": "process" if variant == "process" else "dask", "n_jobs": 2}
    if variant == "dask-running":
        options["dask_address"] = address
    recorder = EventRecorder()
    session = Session(plugins=[recorder], disable=list(BUILTIN_PLUGINS), autoload=False)
    t0 = time.time()
    result = session.tune(
        _estimator(), SPACE, X, y, strategy="random", n_trials=trials, cv=FOLDS, max_epochs=EPOCHS,
        scoring="accuracy", random_state=SEED, **options,
    )  # fmt: skip
    t_end = time.time()
    if variant == "sequential":
        candidates.write_text(json.dumps([r.params for r in sorted(result.results, key=lambda r: r.trial_id)]))
    return {
        "wall_s": t_end - t0,
        "best_score": result.best_score,
        "best_params": result.best_params,
        "fit_s": result.summary["fit_time_s"],
        "timeline": _timeline(recorder.events, result.results, t0, t_end),
    }


class _NoStops:
    def report(self, trial_id: int, epoch: int, metrics: dict[str, Any]) -> None:
        return None


def _joblib_trial(task: Any) -> Any:
    import os

    from trainhooks.trial import run_trial

    result = run_trial(task, _NoStops())
    result.worker = f"pid {os.getpid()}"
    return result


def _run_joblib(X: Any, y: Any, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    from trainhooks.results import best_result
    from trainhooks.trial import TrialTask, fit_for_epochs

    folds = list(StratifiedKFold(FOLDS).split(X, y))
    tasks = [
        TrialTask(i, _estimator(), p, X, y, folds, scoring="accuracy", max_epochs=EPOCHS, blas_threads=1)
        for i, p in enumerate(candidates)
    ]
    t0 = time.time()
    results = Parallel(n_jobs=2)(delayed(_joblib_trial)(t) for t in tasks)
    best = best_result(results)
    fit_for_epochs(_estimator(), best.params, X, y, best.best_epoch, EPOCHS)
    return {"wall_s": time.time() - t0, "best_score": best.score, "best_params": best.params}


def _fit_once(rows: int) -> float:
    """One representative trial's fits (3 folds of the middle candidate), timed where they run."""
    from sklearn.model_selection import cross_val_score

    X, y = _data(rows)
    started = time.perf_counter()
    cross_val_score(_estimator().set_params(max_depth=3, learning_rate=0.1), X, y, cv=FOLDS)
    return time.perf_counter() - started


def ceiling(pool: Any, rows: int) -> float:
    """Two independent CPU-bound fits one after the other, divided by the same two in two processes at once."""
    started = time.perf_counter()
    pool.apply(_fit_once, (rows,))
    pool.apply(_fit_once, (rows,))
    serial = time.perf_counter() - started
    started = time.perf_counter()
    pool.map(_fit_once, [rows, rows])
    return serial / (time.perf_counter() - started)


def _child(variant: str, args: argparse.Namespace, address: str | None, candidates: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--variant", variant, "--trials", str(args.trials), "--rows", str(args.rows)]
    command += ["--candidates", str(candidates)] + (["--address", address] if address else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _print_timelines(runs: dict[str, list[dict[str, Any]]]) -> None:
    print("\nwhere the wall time went (medians over rounds, seconds; from the runs' events):")
    print(
        f"{'variant':<14} {'start-up':>8} {'search':>7} {'refit':>6} {'end':>6}  "
        "per worker (driver = trials the driver trained while the pool started) trials: first start / busy / "
        "idle gaps / tail"
    )
    for variant, results in runs.items():
        lines = [r["timeline"] for r in results if "timeline" in r]
        if not lines:
            continue

        def med(key: str, lines: list[dict[str, Any]] = lines) -> float:
            return statistics.median(t[key] for t in lines)

        workers = []
        for i, name in enumerate(lines[0]["workers"]):
            stats = [list(t["workers"].values())[i] for t in lines if len(t["workers"]) > i]
            keys = ("trials", "start_s", "busy_s", "idle_s", "tail_s")
            n, first, b, g, tail = (statistics.median(s[k] for s in stats) for k in keys)
            label = "driver" if name == "driver" else f"w{i}"
            workers.append(f"{label} {n:.0f}: {first:.2f} / {b:.2f} / {g:.2f} / {tail:.2f}")
        start, search, refit, end = med("startup_s"), med("search_s"), med("refit_s"), med("end_s")
        print(f"{variant:<14} {start:8.2f} {search:7.2f} {refit:6.2f} {end:6.2f}  " + " | ".join(workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3600, help="rows of data: 3600 gives ~1.2 s trials here")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS)
    )
    parser.add_argument("--timeline", action="store_true", help="also print where each variant's wall time went")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one variant in this process
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--candidates", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.trials, args.rows, args.address, args.candidates)))
        return

    os.environ.update(ONE_THREAD)  # every variant process, the ceiling's pool and the cluster's workers inherit it
    import logging
    import multiprocessing

    from distributed import LocalCluster

    variants = [v for v in VARIANTS if v in args.variants.split(",")]
    if "joblib" in variants:  # it reuses the sequential run's candidates: sequential runs first
        variants = ["sequential", *[v for v in variants if v != "sequential"]]
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR,
    )  # fmt: skip
    pool = multiprocessing.get_context("spawn").Pool(2)
    pool.map(_fit_once, [200, 200])  # both pool processes started and warm before measuring
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    ceilings: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        candidates = Path(tmp) / "candidates.json"
        try:
            for rnd in range(1, args.rounds + 1):
                ceilings.append(ceiling(pool, args.rows))
                print(f"round {rnd}: ceiling {ceilings[-1]:.2f}x", flush=True)
                for variant in variants:
                    runs[variant].append(_child(variant, args, cluster.scheduler_address, candidates))
                    print(f"round {rnd}: {variant:<14} {runs[variant][-1]['wall_s']:6.2f} s", flush=True)
        finally:
            pool.terminate()
            cluster.close()

    best = {v: round(r[-1]["best_score"], 12) for v, r in runs.items()}
    if len(set(best.values())) != 1:
        print(f"WARNING: the variants found different best scores: {best}")
    top = statistics.median(ceilings)
    fit = statistics.median(r["fit_s"] for r in runs.get("sequential", [])) / args.trials if "sequential" in runs else 0
    print(
        f"\n{args.trials} trials x {FOLDS} folds x {EPOCHS} epochs, {args.rows} rows, ~{fit:.2f} s of fitting "
        f"per trial, {os.cpu_count()} cores, BLAS 1 thread, median of {args.rounds} interleaved rounds"
    )
    spread = f"range {min(ceilings):.2f}-{max(ceilings):.2f}"
    print(f"ceiling (2 fits at once vs one after the other): median {top:.2f}x ({spread})")
    base = statistics.median(r["wall_s"] for r in runs["sequential"]) if "sequential" in runs else None
    print(f"{'variant':<14} {'median s':>9} {'min s':>7} {'speed-up':>9} {'/ ceiling':>10}")
    for variant, results in runs.items():
        walls = [r["wall_s"] for r in results]
        median = statistics.median(walls)
        speedup = base / median if base else float("nan")
        print(f"{variant:<14} {median:9.2f} {min(walls):7.2f} {speedup:8.2f}x {speedup / top:9.0%}")
    if args.timeline:
        _print_timelines(runs)


if __name__ == "__main__":
    main()
