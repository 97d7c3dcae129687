"""What a ``bayes`` search costs between trials: trainhooks (lookahead on/off) vs raw skopt vs Optuna TPE.

The job (issue 16): 30 trials of ``SVC`` on sklearn's digits (C log-uniform 1e-2..1e3, gamma
log-uniform 1e-5..1e-1), 3 folds (``StratifiedKFold(3)``, accuracy), one process, seed = round.

- ``lookahead``:    trainhooks ``strategy = "bayes"`` (default: the next point is computed on the
                    helper process while a trial trains)
- ``old-defaults``: the same with skopt's own acquisition search, the defaults before they were
                    measured (``n_points = 10000``, ``n_restarts_optimizer = 5``; the helper's
                    early ``import skopt`` helps both)
- ``no-lookahead``: the same with ``[search.bayes] lookahead = false`` (each point after the
                    previous result, in the driver: what ``bayes`` did before)
- ``thread``:       the lookahead on a thread of the driver instead of the helper process (the
                    alternative the process was chosen over; kept here to re-check that choice)
- ``skopt``:        a bare ``skopt.Optimizer`` ask/tell loop around ``cross_validate`` (skopt's defaults)
- ``optuna``:       Optuna's ``TPESampler(seed)`` around the same ``cross_validate``

Every variant runs in a fresh process (BLAS pinned to one thread), the variants interleaved over
``--rounds``. Printed per variant, medians over rounds: visible framework time per trial (the span
from the first trial's start to the last one's end, minus the trials' own fit + score time, over
the trials: what the search adds on the critical path), the wall time of the whole search call, the
trials' own time (if the helper process slows the trials, it shows here), the best
cross-validation accuracy and the time to target (from the search call until the best score so far
came within 0.2% of the best any variant found in that round, as ``peers.py`` counts it); then
ratios against the others. Goals: ``lookahead`` <= 20 ms per trial, its time to target no worse
than ``optuna``'s.

    .venv/bin/python benchmarks/bayes_overhead.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from _rounds import rotated
from peers import TARGET_GAP, time_to_target

N_TRIALS, FOLDS = 30, 3
VARIANTS = ("lookahead", "old-defaults", "no-lookahead", "thread", "skopt", "optuna")
OLD_DEFAULTS = {"n_points": 10000, "n_restarts_optimizer": 5}
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
SPACE = {"C": {"low": 1e-2, "high": 1e3, "log": True}, "gamma": {"low": 1e-5, "high": 1e-1, "log": True}}


def _data() -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y, StratifiedKFold(FOLDS)


def _cv(params: dict[str, Any], X: Any, y: Any, cv: Any) -> tuple[float, float]:
    """(mean accuracy, seconds of fit + score) of one parameter set."""
    from sklearn.model_selection import cross_validate
    from sklearn.svm import SVC

    started = time.perf_counter()
    scores = cross_validate(SVC(**params), X, y, cv=cv, scoring="accuracy")["test_score"]
    return float(scores.mean()), time.perf_counter() - started


def run_trainhooks(variant: str, seed: int) -> dict[str, Any]:
    from sklearn.svm import SVC

    import trainhooks
    from trainhooks.hooks import hookimpl
    from trainhooks.plugin_loader import BUILTIN_PLUGINS

    if variant == "thread":
        _use_a_thread()

    class Clock:
        plugin_name = "clock"

        def __init__(self) -> None:
            self.first_start = self.last_end = 0.0
            self.ends: list[tuple[float, float | None, float]] = []  # (since the call, score, work)

        @hookimpl
        def trainhooks_on_trial_start(self, event: Any) -> None:
            self.first_start = self.first_start or time.perf_counter()

        @hookimpl
        def trainhooks_on_trial_end(self, event: Any) -> None:
            self.last_end = time.perf_counter()
            self.ends.append((self.last_end - started, event.score, event.duration_s))

    X, y, cv = _data()
    clock = Clock()
    session = trainhooks.Session(plugins=[clock], disable=list(BUILTIN_PLUGINS), autoload=False)
    bayes = {"lookahead": variant != "no-lookahead", **(OLD_DEFAULTS if variant == "old-defaults" else {})}
    started = time.perf_counter()
    result = session.tune(
        SVC(),
        SPACE,
        X,
        y,
        strategy="bayes",
        n_trials=N_TRIALS,
        cv=cv,
        scoring="accuracy",
        random_state=seed,
        bayes=bayes,
        run={"journal": False},
    )
    wall = time.perf_counter() - started
    busy = sum(t["duration_s"] for t in result.trials)
    overhead = (clock.last_end - clock.first_start - busy) / N_TRIALS
    return {"overhead_s": overhead, "wall_s": wall, "busy_s": busy, "best": result.best_score, "trials": clock.ends}


def _use_a_thread() -> None:
    """Swap the helper process for a one-thread pool in the driver (the rejected alternative)."""
    from concurrent.futures import ThreadPoolExecutor

    from trainhooks import bayes_lookahead

    class Thread:
        alive = True

        def __init__(self) -> None:
            self._pool = ThreadPoolExecutor(1)

        def submit(self, request: Any) -> Any:
            return self._pool.submit(bayes_lookahead.propose, request)

        def close(self) -> None:
            self._pool.shutdown()

    bayes_lookahead._HelperProcess = Thread  # type: ignore[misc,assignment]


def run_skopt(seed: int) -> dict[str, Any]:
    from skopt import Optimizer

    X, y, cv = _data()
    started = time.perf_counter()
    optimizer = Optimizer([(1e-2, 1e3, "log-uniform"), (1e-5, 1e-1, "log-uniform")], random_state=seed)
    best, busy, ends = 0.0, 0.0, []
    for _ in range(N_TRIALS):
        C, gamma = optimizer.ask()
        score, spent = _cv({"C": C, "gamma": gamma}, X, y, cv)
        optimizer.tell([C, gamma], -score)
        best, busy = max(best, score), busy + spent
        ends.append((time.perf_counter() - started, score, spent))
    wall = time.perf_counter() - started
    return {"overhead_s": (wall - busy) / N_TRIALS, "wall_s": wall, "busy_s": busy, "best": best, "trials": ends}


def run_optuna(seed: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y, cv = _data()
    busy, ends = 0.0, []

    def objective(trial: optuna.Trial) -> float:
        nonlocal busy
        params = {"C": trial.suggest_float("C", 1e-2, 1e3, log=True)}
        params["gamma"] = trial.suggest_float("gamma", 1e-5, 1e-1, log=True)
        score, spent = _cv(params, X, y, cv)
        busy += spent
        ends.append((time.perf_counter() - started, score, spent))
        return score

    started = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=N_TRIALS)
    wall = time.perf_counter() - started
    best = study.best_value
    return {"overhead_s": (wall - busy) / N_TRIALS, "wall_s": wall, "busy_s": busy, "best": best, "trials": ends}


def run_one(variant: str, seed: int) -> dict[str, Any]:
    if variant == "skopt":
        return run_skopt(seed)
    if variant == "optuna":
        return run_optuna(seed)
    return run_trainhooks(variant, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (each runs every variant once)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {VARIANTS}")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # one variant, in this process
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run, args.seed)))
        return

    variants = [v for v in args.variants.split(",") if v]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    env = {**os.environ, **ONE_THREAD}
    for round_ in range(args.rounds):
        for name in rotated(variants, round_):
            command = [sys.executable, __file__, "--run", name, "--seed", str(round_)]
            proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
            runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            last = runs[name][-1]
            print(
                f"round {round_ + 1} {name:13s} overhead {1000 * last['overhead_s']:7.1f} ms/trial  "
                f"wall {last['wall_s']:6.2f} s  trials {last['busy_s']:6.2f} s  best {last['best']:.4f}",
                flush=True,
            )
        target = max(rs[-1]["best"] for rs in runs.values()) * (1 - TARGET_GAP)  # this round's
        for rs in runs.values():
            reached = time_to_target(rs[-1].pop("trials"), target)
            rs[-1]["ttt_s"] = reached if reached is not None else float("inf")

    print(f"\nmedians of {args.rounds} rounds ({N_TRIALS} trials, {FOLDS} folds, one process, BLAS 1 thread):")
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    for name, m in med.items():
        print(
            f"  {name:13s} overhead {1000 * m['overhead_s']:7.1f} ms/trial  wall {m['wall_s']:6.2f} s  "
            f"trials {m['busy_s']:6.2f} s  best {m['best']:.4f}  to target {m['ttt_s']:6.2f} s"
        )
    if "lookahead" in med:
        for other in (v for v in med if v != "lookahead"):
            wall = med["lookahead"]["wall_s"] / med[other]["wall_s"]
            ttt = med["lookahead"]["ttt_s"] / med[other]["ttt_s"]
            print(f"  lookahead / {other:13s} wall x{wall:.2f}  time to target x{ttt:.2f}")
        print(f"  goal: lookahead overhead <= 20 ms/trial: {1000 * med['lookahead']['overhead_s']:.1f} ms")
    if "lookahead" in med and "optuna" in med:
        ttt = med["lookahead"]["ttt_s"] / med["optuna"]["ttt_s"]
        print(f"  goal: lookahead time to target <= Optuna TPE's: x{ttt:.2f}")


if __name__ == "__main__":
    main()
