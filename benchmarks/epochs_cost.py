"""What epochs cost: a one-epoch trainhooks grid against the bare loop, and what scoring each epoch adds.

The problem (issue 16 item 5): sklearn's digits (pixels scaled to 0..1), ``SGDClassifier(loss="log_loss",
random_state=0)``, a grid of 8 ``alpha`` values (1e-6..1e-1, log-spaced) x ``penalty`` l2/l1/elasticnet
= 24 candidates, 5 stratified folds, accuracy, the best candidate refit at the end.

- ``bare``: ``cross_validate`` (what ``cross_val_score`` runs) over ``ParameterGrid``, then the refit.
- ``th-1``: ``trainhooks.tune(strategy="grid", max_epochs=1)``: each fold is trained by the
  estimator's own ``fit`` (``max_iter``, ``tol``), exactly what the bare loop trains.
- ``th-10@k`` for k in 1, 2, 5, 10: ``max_epochs = 10`` (ten ``partial_fit`` passes per fold)
  with ``eval_every = k``: the folds are scored, and ``epoch-ended`` sent to the plugins, after
  every k-th epoch and the last.

trainhooks runs with what a user always has: the ``early_stopping`` (idle without settings),
``rbac`` (allows everything without a policy) and ``data_checks`` plugins and the run journal;
``mlflow``, ``progress``, ``metrics`` and ``report`` are blocked (``--no-plugin``) so that tracking
and display costs (benchmarks/mlflow_overhead.py, benchmarks/peers.py) stay out of the numbers.

Each variant runs in a fresh process (BLAS pinned to one thread; trainhooks also gets
``blas_threads = 1``), interleaved over ``--rounds`` rounds; medians are printed:

- ``wall``: the whole process (imports included); ``CPU``: its CPU time (steadier on a busy
  machine); ``search``: the search call alone (its CPU time too, for the ratios);
  ``train``/``score``: the summed fit and score times of the trials, the refit not included (the
  bare loop's from ``cross_validate``).
- for trainhooks, from each trial's own accounting: ``train`` = the summed ``fit_time_s``
  and ``score`` = the rest of the trials' ``duration_s`` (scoring the folds, building the
  ``epoch-ended`` event, the plugins' hooks and the journal line). The cost of one scored epoch is
  the difference in ``score`` between ``eval_every = 1`` and ``10`` divided by the difference in
  scored epochs, against the cost of one trained epoch (``train`` / epochs trained).

Goal: ``th-1`` / ``bare`` <= 1.03 (search and whole process); the per-epoch numbers give the rule
of thumb in docs/tuning.md ("What epochs cost").

    .venv/bin/python benchmarks/epochs_cost.py --rounds 5
    .venv/bin/python benchmarks/epochs_cost.py --rounds 1 --quick   # 6 candidates, to try it out
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

from _rounds import rotated
from peers import ONE_THREAD, TH_BLOCKED, Timeline

SEED, FOLDS, SCORING, EPOCHS = 0, 5, "accuracy", 10
EVERY = (1, 2, 5, 10)
VARIANTS = ("bare", "th-1", *(f"th-{EPOCHS}@{k}" for k in EVERY))


def _problem(quick: bool) -> tuple[Any, Any, Any, dict[str, list[Any]]]:
    """The data, the estimator and the grid every variant uses."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier

    X, y = load_digits(return_X_y=True)
    alphas = [float(a) for a in np.logspace(-6, -1, 2 if quick else 8)]
    grid = {"alpha": alphas, "penalty": ["l2", "l1", "elasticnet"]}
    return X / 16.0, y, SGDClassifier(loss="log_loss", random_state=SEED), grid


def run_bare(quick: bool) -> dict[str, Any]:
    from sklearn.model_selection import ParameterGrid

    X, y, estimator, grid = _problem(quick)
    started, started_cpu = time.perf_counter(), time.process_time()
    timeline, best = Timeline(), (-1.0, {})
    for params in ParameterGrid(grid):
        score = timeline.cross_validate(estimator, params, X, y, FOLDS)
        best = max(best, (score, params), key=lambda t: t[0])
    train, score = timeline.fit_s, timeline.score_s  # the trials' (trainhooks' exclude the refit too)
    timeline.refit(estimator, best[1], X, y)
    search, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return {"search_s": search, "search_cpu_s": cpu, "best": best[0], "train_s": train, "score_s": score}


def run_trainhooks(quick: bool, max_epochs: int, eval_every: int) -> dict[str, Any]:
    import trainhooks

    X, y, estimator, grid = _problem(quick)
    started, started_cpu = time.perf_counter(), time.process_time()
    result = trainhooks.tune(
        estimator, grid, X, y,
        strategy="grid", n_trials=len(grid["alpha"]) * len(grid["penalty"]), cv=FOLDS, scoring=SCORING,
        random_state=SEED, max_epochs=max_epochs, eval_every=eval_every, n_jobs=1, blas_threads=1,
        disable=[*TH_BLOCKED, "mlflow"],
    )  # fmt: skip
    search, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    trials = result.results
    return {
        "search_s": search,
        "search_cpu_s": cpu,
        "best": result.best_score,
        "train_s": sum(t.fit_time_s for t in trials),
        "score_s": sum(t.duration_s - t.fit_time_s for t in trials),
        "epochs": sum(t.epochs for t in trials),
        "scored": sum(len(t.history) for t in trials),
        "trials": len(trials),
    }


def run_in_process(name: str, quick: bool) -> dict[str, Any]:
    if name == "bare":
        return run_bare(quick)
    if name == "th-1":
        return run_trainhooks(quick, 1, 1)
    return run_trainhooks(quick, EPOCHS, int(name.rsplit("@", 1)[1]))


def run_variant(name: str, quick: bool) -> dict[str, Any]:
    """``name`` in a fresh process: its numbers and the process's wall time."""
    command = [sys.executable, str(Path(__file__).resolve()), "--run", name, *(["--quick"] if quick else [])]
    with tempfile.TemporaryDirectory(prefix="epochs-cost-") as tmp:  # its run journal goes there
        started = time.perf_counter()
        proc = subprocess.run(
            command, cwd=tmp, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall_s": wall}


def report(runs: dict[str, list[dict[str, Any]]]) -> None:
    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    def paired(a: str, b: str, key: str) -> float:
        """The median of each round's own ratio (the two runs of a round are close in time)."""
        return statistics.median(x[key] / y[key] for x, y in zip(runs[a], runs[b], strict=True))

    rounds = len(runs["bare"])
    print(f"\nmedians of {rounds} rounds (fresh process each, n_jobs=1, BLAS 1 thread):")
    print("  variant      wall s   CPU s  search s   best    train s  score s  epochs/trial  scored/trial")
    for name in runs:
        line = (
            f"  {name:10s} {med(name, 'wall_s'):7.2f} {med(name, 'cpu_s'):7.2f}  {med(name, 'search_s'):7.2f}   "
            f"{med(name, 'best'):.4f}  {med(name, 'train_s'):7.2f}  {med(name, 'score_s'):7.2f}"
        )
        if name != "bare":
            n = med(name, "trials")
            line += f"  {med(name, 'epochs') / n:12.1f}  {med(name, 'scored') / n:12.1f}"
        print(line)

    print("\nmax_epochs = 1 against the bare loop (goal <= 1.03; paired: the median of each round's ratio):")
    for key, label in (
        ("search_s", "search call"),
        ("wall_s", "whole process"),
        ("search_cpu_s", "search CPU"),
        ("cpu_s", "process CPU"),
    ):
        ratio = med("th-1", key) / med("bare", key)
        print(f"  th-1 / bare, {label:14s} x{ratio:.3f}  (paired x{paired('th-1', 'bare', key):.3f})")

    every, once = f"th-{EPOCHS}@1", f"th-{EPOCHS}@{EPOCHS}"
    per_scored = [
        (a["score_s"] - b["score_s"]) / (a["scored"] - b["scored"])
        for a, b in zip(runs[every], runs[once], strict=True)
    ]
    per_trained = [r["train_s"] / r["epochs"] for r in runs[once]]
    scored, trained = statistics.median(per_scored), statistics.median(per_trained)
    print(f"\nepochs on (max_epochs = {EPOCHS}, {FOLDS} folds, one partial_fit pass per epoch):")
    print(f"  one trained epoch (all folds): {1000 * trained:.1f} ms; one scored epoch: {1000 * scored:.1f} ms more")
    print(f"  scoring an epoch costs {scored / trained:.0%} of training one")
    scored_cpu = statistics.median(
        (a["search_cpu_s"] - b["search_cpu_s"]) / (a["scored"] - b["scored"])
        for a, b in zip(runs[every], runs[once], strict=True)
    )
    trained_cpu = statistics.median((r["search_cpu_s"] - scored_cpu * r["scored"]) / r["epochs"] for r in runs[once])
    print(
        f"  in CPU time of the search call (steadier when the machine is busy): a scored epoch "
        f"{1000 * scored_cpu:.1f} ms, a trained epoch with its share of the rest {1000 * trained_cpu:.1f} ms "
        f"({scored_cpu / trained_cpu:.0%})"
    )
    for k in EVERY:
        name = f"th-{EPOCHS}@{k}"
        print(
            f"  eval_every = {k:2d}: search x{paired(name, once, 'search_s'):.3f} wall, "
            f"x{paired(name, once, 'search_cpu_s'):.3f} CPU of eval_every = {EPOCHS}; "
            f"scoring adds ~{scored / trained * med(name, 'scored') / med(name, 'epochs'):.0%} to training"
        )
    print(f"  th-{EPOCHS}@{EPOCHS} / th-1 (ten passes vs one fit to tol): x{paired(once, 'th-1', 'search_s'):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (each runs every variant once)")
    parser.add_argument("--quick", action="store_true", help="6 candidates instead of 24")
    parser.add_argument("--run", choices=VARIANTS, help=argparse.SUPPRESS)  # one variant, in this process
    args = parser.parse_args()
    if args.run:
        import warnings

        warnings.filterwarnings("ignore")
        out = run_in_process(args.run, args.quick)
        print(json.dumps({**out, "cpu_s": time.process_time()}))
        return
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    for round_ in range(args.rounds):
        for name in rotated(VARIANTS, round_):
            runs[name].append(run_variant(name, args.quick))
            last = runs[name][-1]
            print(
                f"round {round_ + 1} {name:10s} wall {last['wall_s']:6.2f} s  search {last['search_s']:6.2f} s  "
                f"best {last['best']:.4f}",
                flush=True,
            )
    report(runs)


if __name__ == "__main__":
    main()
