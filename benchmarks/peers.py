"""trainhooks beside its peers on one problem: grid search and model-based search (issue 16 item 7).

Every variant runs the same data, space, folds, scoring and budget, in a fresh process (imports,
store creation and interpreter exit included in its wall time), one process each (``n_jobs = 1``),
BLAS pinned to one thread; the variants are interleaved in ``--rounds`` rounds (the order rotates
each round) and the medians printed. Every variant refits its best candidate at the end, as
GridSearchCV does by default.

**Grid** (sklearn's digits, ``LogisticRegression``, 12 values of ``C`` x ``fit_intercept`` = 24
candidates, 5 stratified folds, accuracy):

- ``bare``: ``cross_validate`` (what ``cross_val_score`` runs) over ``ParameterGrid``, then a refit
- ``gscv``: ``GridSearchCV``; ``gscv-autolog``: the same after ``mlflow.sklearn.autolog()``
- ``th-grid-off`` / ``th-grid-on``: ``trainhooks.tune(strategy="grid", max_epochs=1)`` with the
  mlflow plugin blocked / on

**Model-based** (digits, ``SVC``, ``C`` log-uniform 1e-2..1e3 and ``gamma`` log-uniform
1e-5..1e-1, 30 trials, 3 folds, accuracy, each library's default settings; round ``r`` gives
every variant the search seed ``r``, data, folds and model unchanged):

- ``th-bayes-off`` / ``th-bayes-on``: ``strategy="bayes"`` (skopt GP), mlflow plugin blocked / on
- ``bayessearchcv``: skopt's ``BayesSearchCV``; ``skopt-ask-tell``: a raw skopt ``Optimizer`` loop
- ``th-tpe``: ``strategy="tpe"`` (the ``optuna`` extra); ``optuna-tpe``: an Optuna study with
  ``TPESampler(seed)``; ``optuna-tpe-mlflow``: the same with ``MLflowCallback``
  (needs ``optuna-integration[mlflow]``; skipped with the reason printed when it is missing)

trainhooks runs with the ``progress``, ``metrics`` and ``report`` plugins blocked (the peers draw
and serve nothing) and everything a user always has (``early_stopping``, ``rbac``,
``data_checks``, the run journal) left on. Every MLflow variant gets a fresh SQLite store in its own
temporary directory (also its working directory). trainhooks gets ``blas_threads = 1``: by default it
sizes native thread pools to cores / n_jobs (2 here) whatever ``OPENBLAS_NUM_THREADS`` says.

The search seed: in round ``r`` (counted from 0) every model-based variant searches with seed ``r``
(trainhooks' ``random_state``, ``BayesSearchCV(random_state)``, ``Optimizer(random_state)``,
``TPESampler(seed)``). With 30 trials, which variant reaches a good point first is largely one
seed's luck, so samplers are compared over seeds, not on one. The data, the folds (unshuffled
``StratifiedKFold``, no held-out split) and the model do not depend on it; the grid family is
deterministic and ignores it.

Printed per variant (medians over rounds):

- ``wall``: from starting the process to its exit; ``CPU``: the CPU time of that process and of
  the processes it waited for (steadier than wall on a busy machine, blind to idle waits).
- ``work``: the summed fit + score time of the variant's trials plus its refit (peers: sklearn's
  ``fit_time``/``score_time``/``refit_time_``; trainhooks: each trial's ``duration_s`` from the
  run journal, and the refit as the time from the last ``trial-ended`` to ``model-fitted``).
- ``ovh/trial``: (wall - work) / trials: imports, the optimizer, bookkeeping, tracking, everything
  the user waits for that is not training or scoring. ``loop ms/trial``: the same between the first
  trial's end and the last's, per trial (start-up and finish left out): the time the framework
  shows between trials (asking and telling the optimizer, events, tracking). For grid also ``vs bare``: (wall - the bare
  loop's wall) / trials, the price of the framework over writing the loop yourself.
- ``best``: the best mean cross-validation score found.
- ``to-target``: seconds from process start until the variant's best-so-far came within 0.2% of
  the best score any variant of the same family found in that round (so with that round's seed);
  a round in which the variant never got there counts as its wall time of that round.
  Completion times come from the run journal (``trainhooks-runs/<run_id>/journal.jsonl``,
  ``trial-ended`` timestamps) for trainhooks, from a timing scorer wrapper (GridSearchCV,
  BayesSearchCV) or the loop itself for the peers.

Then, per model-based variant, over the rounds (seeds): the median and mean best score, in how many
rounds it reached the target, and its median time to target over those rounds only; then the ratios
against the goals of issue 16 (time-to-target ratios use the medians above, misses counted as the wall).

    .venv/bin/python benchmarks/peers.py --rounds 7          # the full comparison (~9 min, 7 seeds)
    .venv/bin/python benchmarks/peers.py --rounds 1 --quick  # small budgets, to try it out
    .venv/bin/python benchmarks/peers.py --variants bare,th-grid-off --rounds 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _rounds import rotated

GRID_VARIANTS = ("bare", "gscv", "gscv-autolog", "th-grid-off", "th-grid-on")
MODEL_VARIANTS = (
    "th-bayes-off",
    "th-bayes-on",
    "bayessearchcv",
    "skopt-ask-tell",
    "th-tpe",
    "optuna-tpe",
    "optuna-tpe-mlflow",
)
SEED, SCORING, TARGET_GAP = 0, "accuracy", 0.002
"""``SEED``: the grid family's seed (its search does not draw); a model-based search's seed is the round's number."""
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
TH_BLOCKED = ["progress", "metrics", "report"]
"""trainhooks plugins blocked in every trainhooks variant (``--no-plugin`` on the command line)."""


def budget(quick: bool) -> dict[str, int]:
    """Grid candidates and folds, model-based trials and folds (``--quick``: a try-out size)."""
    if quick:
        return {"grid_c": 3, "grid_folds": 3, "trials": 8, "model_folds": 3}
    return {"grid_c": 12, "grid_folds": 5, "trials": 30, "model_folds": 3}


# -- the problem, shared by every variant -------------------------------------------------------


def _data() -> tuple[Any, Any]:
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def _grid(b: dict[str, int]) -> dict[str, list[Any]]:
    import numpy as np

    return {"C": [float(c) for c in np.logspace(-4, 1, b["grid_c"])], "fit_intercept": [True, False]}


def _lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def _svc() -> Any:
    from sklearn.svm import SVC

    return SVC()


BOUNDS = {"C": (1e-2, 1e3), "gamma": (1e-5, 1e-1)}  # both log-uniform


def _quiet() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)


class Timeline:
    """Per-trial completion times and scores, and the summed fit and score times (the refit is a fit)."""

    def __init__(self) -> None:
        self.trials: list[tuple[float, float | None, float]] = []  # (ended at, score, fit + score s)
        self.fit_s = self.score_s = 0.0

    @property
    def work_s(self) -> float:
        return self.fit_s + self.score_s

    def cross_validate(self, estimator: Any, params: dict[str, Any], X: Any, y: Any, folds: int) -> float:
        """One trial the way a hand-written loop does it: ``cross_validate``, timed by sklearn."""
        from sklearn.base import clone
        from sklearn.model_selection import cross_validate

        out = cross_validate(clone(estimator).set_params(**params), X, y, cv=folds, scoring=SCORING)
        score = float(out["test_score"].mean())
        fit, scoring = float(out["fit_time"].sum()), float(out["score_time"].sum())
        self.fit_s, self.score_s = self.fit_s + fit, self.score_s + scoring
        self.trials.append((time.time(), score, fit + scoring))
        return score

    def refit(self, estimator: Any, params: dict[str, Any], X: Any, y: Any) -> None:
        from sklearn.base import clone

        started = time.perf_counter()
        clone(estimator).set_params(**params).fit(X, y)
        self.fit_s += time.perf_counter() - started

    def out(self) -> dict[str, Any]:
        return {"trials": self.trials, "work_s": self.work_s}


class _TimedScorer:
    """A scorer that notes when each call ends: a search's fold-by-fold timeline (n_jobs = 1)."""

    def __init__(self) -> None:
        from sklearn.metrics import get_scorer

        self.scorer = get_scorer(SCORING)
        self.ends: list[float] = []

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        score = self.scorer(estimator, X, y)
        self.ends.append(time.time())
        return score

    def search_out(self, search: Any, folds: int) -> dict[str, Any]:
        """Timeline of a fitted sklearn-style search: candidate k ends with its last fold's score."""
        res = search.cv_results_
        scores = [float(s) for s in res["mean_test_score"]]
        ends = [self.ends[(k + 1) * folds - 1] for k in range(len(scores))]
        works = [folds * float(f + s) for f, s in zip(res["mean_fit_time"], res["mean_score_time"], strict=True)]
        trials = list(zip(ends, scores, works, strict=True))
        return {"trials": trials, "work_s": sum(works) + float(search.refit_time_)}


# -- the variants (each runs in its own process: ``--run NAME``) --------------------------------


def run_bare(b: dict[str, int], seed: int) -> dict[str, Any]:
    from sklearn.model_selection import ParameterGrid

    X, y = _data()
    timeline, best = Timeline(), (-1.0, {})
    for params in ParameterGrid(_grid(b)):
        score = timeline.cross_validate(_lr(), params, X, y, b["grid_folds"])
        best = max(best, (score, params), key=lambda t: t[0])
    timeline.refit(_lr(), best[1], X, y)
    return timeline.out()


def run_gscv(b: dict[str, int], seed: int, autolog: bool = False) -> dict[str, Any]:
    from sklearn.model_selection import GridSearchCV

    X, y = _data()
    if autolog:
        import mlflow

        mlflow.set_experiment("peers")
        mlflow.sklearn.autolog(silent=True)
    scorer = _TimedScorer()
    search = GridSearchCV(_lr(), _grid(b), cv=b["grid_folds"], scoring=scorer, n_jobs=1)
    search.fit(X, y)
    return scorer.search_out(search, b["grid_folds"])


def run_bayessearchcv(b: dict[str, int], seed: int) -> dict[str, Any]:
    from skopt import BayesSearchCV
    from skopt.space import Real

    X, y = _data()
    space = {name: Real(lo, hi, prior="log-uniform") for name, (lo, hi) in BOUNDS.items()}
    scorer = _TimedScorer()
    search = BayesSearchCV(
        _svc(), space, n_iter=b["trials"], cv=b["model_folds"], scoring=scorer, random_state=seed, n_jobs=1
    )
    search.fit(X, y)
    return scorer.search_out(search, b["model_folds"])


def run_skopt_ask_tell(b: dict[str, int], seed: int) -> dict[str, Any]:
    from skopt import Optimizer
    from skopt.space import Real

    X, y = _data()
    names = list(BOUNDS)
    opt = Optimizer([Real(lo, hi, prior="log-uniform") for lo, hi in BOUNDS.values()], random_state=seed)
    timeline, best = Timeline(), (-1.0, {})
    for _ in range(b["trials"]):
        point = opt.ask()
        params = dict(zip(names, (float(v) for v in point), strict=True))
        score = timeline.cross_validate(_svc(), params, X, y, b["model_folds"])
        opt.tell(point, -score)
        best = max(best, (score, params), key=lambda t: t[0])
    timeline.refit(_svc(), best[1], X, y)
    return timeline.out()


def run_optuna(b: dict[str, int], seed: int, mlflow_callback: bool = False) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = _data()
    timeline = Timeline()

    def objective(trial: optuna.Trial) -> float:
        params = {name: trial.suggest_float(name, lo, hi, log=True) for name, (lo, hi) in BOUNDS.items()}
        return timeline.cross_validate(_svc(), params, X, y, b["model_folds"])

    callbacks = []
    if mlflow_callback:
        from optuna.integration.mlflow import MLflowCallback

        callbacks.append(MLflowCallback(tracking_uri=os.environ["MLFLOW_TRACKING_URI"], metric_name=SCORING))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=b["trials"], callbacks=callbacks)
    timeline.refit(_svc(), study.best_params, X, y)
    return timeline.out()


def run_trainhooks(b: dict[str, int], seed: int, strategy: str, mlflow_on: bool) -> dict[str, Any]:
    """trainhooks.tune as a user calls it (grid: seed ``SEED``); the timeline is read back from the run's journal."""
    import trainhooks

    X, y = _data()
    if strategy == "grid":
        estimator, space, n_trials, folds, seed = _lr(), _grid(b), 2 * b["grid_c"], b["grid_folds"], SEED
    else:
        estimator, n_trials, folds = _svc(), b["trials"], b["model_folds"]
        space = {name: {"low": lo, "high": hi, "log": True} for name, (lo, hi) in BOUNDS.items()}
    result = trainhooks.tune(
        estimator, space, X, y,
        strategy=strategy, n_trials=n_trials, cv=folds, scoring=SCORING, random_state=seed,
        max_epochs=1, n_jobs=1, blas_threads=1, experiment="peers",
        tracking_uri=os.environ["MLFLOW_TRACKING_URI"] if mlflow_on else None,
        disable=TH_BLOCKED + ([] if mlflow_on else ["mlflow"]),
    )  # fmt: skip
    return journal_timeline(Path("trainhooks-runs") / result.run_id / "journal.jsonl")


def journal_timeline(path: Path) -> dict[str, Any]:
    """Trial completion times, scores and work (trial durations + refit) from a run journal."""
    events = [r["event"] for r in map(json.loads, path.read_text().splitlines()) if r.get("k") == "event"]
    ended = [e for e in events if e["name"] == "trial-ended"]
    fitted = [e["timestamp"] for e in events if e["name"] == "model-fitted"]
    trials = [(e["timestamp"], e["score"] if e["state"] == "complete" else None, e["duration_s"]) for e in ended]
    refit = fitted[0] - ended[-1]["timestamp"] if fitted and ended else 0.0
    return {"trials": trials, "work_s": sum(e["duration_s"] for e in ended) + refit}


RUNNERS: dict[str, Callable[[dict[str, int], int], dict[str, Any]]] = {
    "bare": run_bare,
    "gscv": run_gscv,
    "gscv-autolog": lambda b, seed: run_gscv(b, seed, autolog=True),
    "th-grid-off": lambda b, seed: run_trainhooks(b, seed, "grid", mlflow_on=False),
    "th-grid-on": lambda b, seed: run_trainhooks(b, seed, "grid", mlflow_on=True),
    "th-bayes-off": lambda b, seed: run_trainhooks(b, seed, "bayes", mlflow_on=False),
    "th-bayes-on": lambda b, seed: run_trainhooks(b, seed, "bayes", mlflow_on=True),
    "bayessearchcv": run_bayessearchcv,
    "skopt-ask-tell": run_skopt_ask_tell,
    "th-tpe": lambda b, seed: run_trainhooks(b, seed, "tpe", mlflow_on=False),
    "optuna-tpe": run_optuna,
    "optuna-tpe-mlflow": lambda b, seed: run_optuna(b, seed, mlflow_callback=True),
}
"""Each variant's body, given the budget and the round's search seed (the grid family ignores it)."""


def skip_reason(name: str) -> str | None:
    """Why a variant cannot run in this environment (a missing optional package), or None."""
    if name == "optuna-tpe-mlflow" and importlib.util.find_spec("optuna_integration") is None:
        return "optuna-integration is not installed (pip install 'optuna-integration[mlflow]')"
    return None


# -- the driver -----------------------------------------------------------------------------------


def run_variant(name: str, quick: bool, seed: int) -> dict[str, Any]:
    """One variant with search seed ``seed`` in a fresh process in a fresh directory; its timeline
    relative to process start."""
    with tempfile.TemporaryDirectory(prefix=f"peers-{name}-") as tmp:
        env = {**os.environ, **ONE_THREAD, "MLFLOW_TRACKING_URI": f"sqlite:///{Path(tmp) / 'mlflow.db'}"}
        command = [sys.executable, str(Path(__file__).resolve()), "--run", name, "--seed", str(seed)]
        command += ["--quick"] if quick else []
        t0, started, cpu0 = time.time(), time.perf_counter(), _children_cpu()
        proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    trials = [(t - t0, score, work) for t, score, work in out["trials"]]
    best = max(s for _, s, _ in trials if s is not None)
    loop = loop_overhead(trials)
    return {"wall_s": wall, "cpu_s": cpu, "work_s": out["work_s"], "trials": trials, "best": best, "loop_s": loop}


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (theirs included, e.g. the MLflow writer)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def loop_overhead(trials: list[tuple[float, float | None, float]]) -> float:
    """Time between trials per trial: from the first trial's end to the last's, minus their work.

    What a user sees the framework spend per trial once the search is running (asking the
    optimizer, telling it, events, tracking), without the start-up and the end.
    """
    if len(trials) < 2:
        return 0.0
    return (trials[-1][0] - trials[0][0] - sum(work for _, _, work in trials[1:])) / (len(trials) - 1)


def time_to_target(trials: list[tuple[float, float | None, float]], target: float) -> float | None:
    """The first completion time at which the best score so far reaches ``target``."""
    best = float("-inf")
    for at, score, _ in trials:
        best = max(best, float("-inf") if score is None else score)
        if best >= target:
            return at
    return None


def _ttt_or_wall(run: dict[str, Any]) -> float:
    """The run's time to target; a run that never reached it counts as its whole wall time."""
    return run["wall_s"] if run["ttt"] is None else run["ttt"]


def _fmt(value: float | None, spec: str) -> str:
    return "-".rjust(int(spec.split(".")[0])) if value is None else format(value, spec)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def seeds(runs: dict[str, list[dict[str, Any]]]) -> None:
    """The model-based variants over the rounds' seeds: best score, and how often and how fast each
    reached the round's target (the median time over the rounds that reached it only)."""
    model = {name: rs for name, rs in runs.items() if name in MODEL_VARIANTS}
    if not model:
        return
    print(f"\nmodel-based, over {len(next(iter(model.values())))} seeds (round r searches with seed r):")
    print("  variant            best median    mean   reached target   to-target s, median of those")
    for name, rs in model.items():
        best = [r["best"] for r in rs]
        hit = [r["ttt"] for r in rs if r["ttt"] is not None]
        print(
            f"  {name:18s} {statistics.median(best):11.4f} {statistics.fmean(best):7.4f}"
            f"   {len(hit):5d} of {len(rs):<5d}   {_fmt(statistics.median(hit) if hit else None, '10.2f')}"
        )


def report(runs: dict[str, list[dict[str, Any]]], b: dict[str, int]) -> None:
    """The per-variant medians, then the ratios against issue 16's goals."""
    n_grid, n_model = 2 * b["grid_c"], b["trials"]
    med: dict[str, dict[str, float | None]] = {}
    for name, rs in runs.items():
        n = n_grid if name in GRID_VARIANTS else n_model
        med[name] = {
            "wall": statistics.median(r["wall_s"] for r in rs),
            "cpu": statistics.median(r["cpu_s"] for r in rs),
            "work": statistics.median(r["work_s"] for r in rs),
            "ovh": statistics.median((r["wall_s"] - r["work_s"]) / n for r in rs),
            "loop": statistics.median(r["loop_s"] for r in rs),
            "best": statistics.median(r["best"] for r in rs),
            "ttt": statistics.median(_ttt_or_wall(r) for r in rs),
        }
    bare = runs.get("bare")
    print(f"\nmedians of {len(next(iter(runs.values())))} rounds (fresh process each, n_jobs=1, BLAS 1 thread):")
    print(
        "  variant              wall s    CPU s   work s  ovh/trial ms  loop ms/trial  vs bare ms/trial"
        "   best   to-target s (a miss counts as the wall)"
    )
    for name, m in med.items():
        vs_bare = "-"
        if name in GRID_VARIANTS and bare is not None:
            per_round = [(r["wall_s"] - b_["wall_s"]) / n_grid for r, b_ in zip(runs[name], bare, strict=True)]
            vs_bare = f"{1000 * statistics.median(per_round):8.0f}"
        print(
            f"  {name:18s} {m['wall']:8.2f} {m['cpu']:8.2f} {m['work']:8.2f} {1000 * m['ovh']:12.0f}  "
            f"{1000 * m['loop']:13.0f}  {vs_bare:>16s}  "
            f"{m['best']:.4f}  {_fmt(m['ttt'], '10.2f')}"
        )
    seeds(runs)

    def ratio(a: str, b_: str, key: str = "wall") -> float | None:
        if a not in med or b_ not in med or med[a][key] is None or med[b_][key] is None:
            return None
        return med[a][key] / med[b_][key]  # type: ignore[operator]

    def diff(a: str, b_: str) -> float | None:
        return med[a]["wall"] - med[b_]["wall"] if a in med and b_ in med else None  # type: ignore[operator]

    ovh, loop = (med.get("th-bayes-off", {}).get(key) for key in ("ovh", "loop"))
    print("\nagainst issue 16's goals:")
    goals = (
        ("bayes: visible time between trials (plugin off), ms", _ms(loop), "<= 20"),
        ("bayes: all overhead per trial (plugin off), ms", _ms(ovh), "info"),
        ("bayes: the same, raw skopt ask/tell loop, ms", _ms(med.get("skopt-ask-tell", {}).get("ovh")), "info"),
        ("bayes: the same, Optuna TPE, ms", _ms(med.get("optuna-tpe", {}).get("ovh")), "info"),
        ("bayes: time-to-target / Optuna TPE's (miss = wall)", ratio("th-bayes-off", "optuna-tpe", "ttt"), "<= 1"),
        ("bayes: wall plugin on / off", ratio("th-bayes-on", "th-bayes-off"), "<= 1.05"),
        ("grid: wall plugin on - off, s", diff("th-grid-on", "th-grid-off"), "<= 1 s"),
        ("grid: wall plugin on / off", ratio("th-grid-on", "th-grid-off"), "info"),
        ("grid: wall trainhooks (off) / bare loop", ratio("th-grid-off", "bare"), "<= 1.03 (item 5)"),
        ("grid: wall trainhooks (on) / GridSearchCV + autolog", ratio("th-grid-on", "gscv-autolog"), "< 1"),
        ("grid: wall trainhooks (off) / GridSearchCV", ratio("th-grid-off", "gscv"), "info"),
        ("bayes: wall trainhooks (off) / Optuna TPE", ratio("th-bayes-off", "optuna-tpe"), "info"),
        ("bayes: wall trainhooks (off) / raw skopt ask-tell", ratio("th-bayes-off", "skopt-ask-tell"), "info"),
        ("tpe: wall trainhooks tpe / Optuna TPE", ratio("th-tpe", "optuna-tpe"), "info"),
        ("tpe: time-to-target th tpe / Optuna TPE (miss = wall)", ratio("th-tpe", "optuna-tpe", "ttt"), "info"),
    )
    for label, value, goal in goals:
        print(f"  {label:52s} {_fmt(value, '8.3f')}   (goal {goal})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each runs every variant once)")
    parser.add_argument("--quick", action="store_true", help="small budgets (3x2 grid x 3 folds, 8 trials)")
    parser.add_argument("--variants", help="comma-separated subset of the variants (default: all)")
    parser.add_argument("--run", choices=list(RUNNERS), help=argparse.SUPPRESS)  # one variant, in this process
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)  # its search seed
    args = parser.parse_args()
    b = budget(args.quick)
    if args.run:
        _quiet()
        print(json.dumps(RUNNERS[args.run](b, args.seed)))
        return

    chosen = args.variants.split(",") if args.variants else list(RUNNERS)
    unknown = sorted(set(chosen) - set(RUNNERS))
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)} (choose from {', '.join(RUNNERS)})")
    variants = []
    for name in chosen:
        reason = skip_reason(name)
        if reason:
            print(f"skipping {name}: {reason}")
        else:
            variants.append(name)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name in rotated(variants, round_):
            runs[name].append(run_variant(name, args.quick, seed=round_))
            last = runs[name][-1]
            print(
                f"round {round_ + 1} (seed {round_}) {name:18s} wall {last['wall_s']:6.2f} s  "
                f"work {last['work_s']:6.2f} s  best {last['best']:.4f}",
                flush=True,
            )
        for family in (GRID_VARIANTS, MODEL_VARIANTS):  # the target: best of the family in this round
            members = [runs[name][-1] for name in variants if name in family]
            if members:
                target = max(r["best"] for r in members) * (1 - TARGET_GAP)
                for r in members:
                    r["ttt"] = time_to_target(r["trials"], target)
    report(runs, b)


if __name__ == "__main__":
    main()
