"""What each ``[search.bayes]`` setting costs and reaches: CPU per proposal, regret, trials to target.

Every variant is a :class:`trainhooks.strategies.BayesStrategy` with the settings under test and the
default lookahead, asked and told like the sequential search loop; its proposals are computed in
this process instead of the helper process (the same points: a proposal is a pure function of its
request), so their cost is read as CPU time (``time.process_time``), which other users of a shared
machine do not inflate. Objectives (``--objectives``):

- ``smooth``: a smooth score over a log-scale real, a real and a categorical (like the quickstart's
  SGD space), peak 1.0 at alpha = 1e-3, l1_ratio = 0.3, penalty = "l1"
- ``hart6``: skopt's Hartmann 6-D function (negated; six reals, several local optima)
- ``svc``: the real job of ``benchmarks/bayes_overhead.py``: ``SVC`` on digits scaled to [0, 1],
  C log-uniform 1e-2..1e3, gamma log-uniform 1e-5..1e-1, 3-fold accuracy (a point's score is
  cached, so the random first points shared by every GP variant are fitted once); Optuna's
  ``TPESampler`` runs beside it as ``optuna-tpe`` when optuna is installed
- ``svc-raw``: the same on digits as loaded (pixel values 0..16), the job of ``peers.py``: another
  landscape (the RBF kernel's distances are 256 times larger, so is the best ``gamma`` smaller)

Printed per objective and variant, over ``--rounds`` seeds (the variants interleaved, every
variant sees the same seeds): median CPU ms per model-based proposal and at the last one (the
proposal with the most points), the regret after ``--trials`` (best possible score minus best found;
for ``svc`` the best accuracy any run found), median, mean and worst, and the median number of trials
until the best score so far came within 0.2% (``svc``) or 1e-3 (synthetic) of the best possible.

    .venv/bin/python benchmarks/bayes_settings.py [--rounds 5] [--trials 30] [--objectives smooth,hart6,svc]

``--profile VARIANT`` instead times one variant's proposals at 10, 20 and 30 points of the ``svc``
job, split by where the CPU goes (kernel fit, acquisition samples, acquisition L-BFGS, the rest),
and prints cProfile's top functions of the 30-point proposal.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import math
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from trainhooks import bayes_lookahead
from trainhooks.config import BayesSettings
from trainhooks.space import SearchSpace
from trainhooks.strategies import BayesStrategy

SVC_TARGET_GAP, SYNTHETIC_TARGET_GAP = 0.002, 1e-3

VARIANTS: dict[str, dict[str, Any]] = {
    "skopt defaults (before)": {"kernel_restarts": 2, "n_points": 10000, "n_restarts_optimizer": 5},
    "default: n_points 1000 + lbfgs 2": {},
    "n_points 1000": {"n_points": 1000, "n_restarts_optimizer": 5},
    "default + n_points 3000": {"n_points": 3000},
    "lbfgs restarts 2": {"n_points": 10000, "n_restarts_optimizer": 2},
    "kernel restarts 1": {"kernel_restarts": 1, "n_points": 10000, "n_restarts_optimizer": 5},
    "kernel restarts 0": {"kernel_restarts": 0, "n_points": 10000, "n_restarts_optimizer": 5},
    "default + kernel restarts 1": {"kernel_restarts": 1},
    "default + EI": {"acq_func": "EI"},
    "default + sampling": {"acq_optimizer": "sampling"},
    "default + 5 initial points": {"n_initial_points": 5},
    "default + 7 initial points": {"n_initial_points": 7},
    "default without lookahead": {"lookahead": False},
    "RF": {"base_estimator": "RF"},
    "ET": {"base_estimator": "ET"},
}


class Objective:
    """A search space, a score to maximise, and the best score it can reach (``None``: the best found)."""

    def __init__(self, space: dict[str, Any], score: Callable[[dict[str, Any]], float], best: float | None) -> None:
        self.space = SearchSpace.parse(space)
        self.score = score
        self.best = best


def _smooth(params: dict[str, Any]) -> float:
    a = math.log10(params["alpha"]) + 3.0
    b = params["l1_ratio"] - 0.3
    return 1.0 - 0.05 * a * a - 0.2 * b * b - (0.02 if params["penalty"] == "l2" else 0.0)


def _hart6(params: dict[str, Any]) -> float:
    from skopt.benchmarks import hart6

    return -float(hart6([params[f"x{i}"] for i in range(6)]))


@functools.cache
def _svc_data(scaled: bool) -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold

    X, y = load_digits(return_X_y=True)
    return (X / 16.0 if scaled else X), y, StratifiedKFold(3)


@functools.cache
def _svc_cached(C: float, gamma: float, scaled: bool) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y, cv = _svc_data(scaled)
    return float(cross_val_score(SVC(C=C, gamma=gamma), X, y, cv=cv, scoring="accuracy").mean())


def _svc(params: dict[str, Any], scaled: bool = True) -> float:
    return _svc_cached(float(params["C"]), float(params["gamma"]), scaled)


SVC_SPACE = {"C": {"low": 1e-2, "high": 1e3, "log": True}, "gamma": {"low": 1e-5, "high": 1e-1, "log": True}}
OBJECTIVES: dict[str, Objective] = {
    "smooth": Objective(
        {
            "alpha": {"low": 1e-6, "high": 1e-1, "log": True},
            "l1_ratio": {"low": 0.0, "high": 1.0},
            "penalty": ["l2", "l1"],
        },
        _smooth,
        1.0,
    ),
    "hart6": Objective({f"x{i}": {"low": 0.0, "high": 1.0} for i in range(6)}, _hart6, 3.32237),
    "svc": Objective(SVC_SPACE, _svc, None),
    "svc-raw": Objective(SVC_SPACE, functools.partial(_svc, scaled=False), None),
}


class _Clock:
    """CPU seconds of every model-based proposal, computed in this process."""

    def __init__(self) -> None:
        self.proposals: list[float] = []

    def __enter__(self) -> _Clock:
        self._propose = bayes_lookahead.propose

        def timed(request: bayes_lookahead.Request) -> bayes_lookahead.Proposal:
            started = time.process_time()
            proposal = self._propose(request)
            if request.fits:
                self.proposals.append(time.process_time() - started)
            return proposal

        bayes_lookahead.propose = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        bayes_lookahead.propose = self._propose  # type: ignore[assignment]


def run(objective: Objective, settings: dict[str, Any], trials: int, seed: int) -> dict[str, Any]:
    """One search: CPU per proposal, and the score of every trial in order."""
    strategy = BayesStrategy(objective.space, random_state=seed, n_trials=trials, settings=BayesSettings(**settings))
    scores = []
    with _Clock() as clock:
        for _ in range(trials):
            params = strategy.ask()
            scores.append(objective.score(params))
            strategy.tell(params, scores[-1])
    return {"proposals": clock.proposals, "scores": scores}


def run_optuna(objective: Objective, trials: int, seed: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    scores = []

    def score(trial: optuna.Trial) -> float:
        params = {
            name: trial.suggest_float(name, d["low"], d["high"], log=d.get("log", False))
            for name, d in SVC_SPACE.items()
        }
        scores.append(objective.score(params))
        return scores[-1]

    started = time.process_time()
    study.optimize(score, n_trials=trials)
    return {"proposals": [(time.process_time() - started) / trials], "scores": scores, "cpu_includes_trials": True}


def trials_to(scores: list[float], target: float) -> int | None:
    """How many trials it took until the best score so far reached ``target`` (``None``: never)."""
    best = -math.inf
    for n, score in enumerate(scores, 1):
        best = max(best, score)
        if best >= target:
            return n
    return None


def report(name: str, objective: Objective, runs: dict[str, list[dict[str, Any]]], trials: int) -> None:
    rounds = len(next(iter(runs.values())))
    best_found = [max(max(variant_runs[i]["scores"]) for variant_runs in runs.values()) for i in range(rounds)]
    print(f"\n{name}: {trials} trials, {rounds} seeds (CPU ms: this process, shared machine: read as ratios)")
    header = (
        f"{'ms/proposal':>11} {'ms at last':>10} {'regret med':>10} {'mean':>9} {'worst':>9} {'trials to target':>17}"
    )
    print(f"{'variant':26} {header}")
    for variant, variant_runs in runs.items():
        proposals = [p for r in variant_runs for p in r["proposals"]]
        last = [r["proposals"][-1] for r in variant_runs if r["proposals"]]
        regrets, reached = [], []
        for i, r in enumerate(variant_runs):
            best = objective.best if objective.best is not None else best_found[i]
            regrets.append(best - max(r["scores"]))
            gap = SVC_TARGET_GAP * best if objective.best is None else SYNTHETIC_TARGET_GAP
            reached.append(trials_to(r["scores"], best - gap))
        hits = sorted(n for n in reached if n is not None)
        to_target = f"{statistics.median(hits):.0f} ({len(hits)}/{len(reached)})" if hits else f"- (0/{len(reached)})"
        note = "*" if variant_runs[0].get("cpu_includes_trials") else ""
        print(
            f"{variant:26} {1000 * statistics.median(proposals):10.1f}{note:1} {1000 * statistics.median(last):10.1f} "
            f"{statistics.median(regrets):10.2e} {statistics.mean(regrets):9.2e} {max(regrets):9.2e} {to_target:>17}"
        )
    if any(r[0].get("cpu_includes_trials") for r in runs.values()):
        print("  * optuna-tpe: CPU per trial including the trial itself (its sampler is not timed apart)")


def profile(variant: str, trials: int) -> None:
    """CPU per proposal at 10, 20 and 30 points of the svc job, split by where it goes."""
    from skopt.optimizer import optimizer as skopt_optimizer

    objective = OBJECTIVES["svc"]
    strategy = BayesStrategy(
        objective.space, random_state=0, n_trials=trials, settings=BayesSettings(**VARIANTS[variant])
    )
    requests = []
    for _ in range(trials):
        requests.append(strategy._request(1))
        params = strategy.ask()
        strategy.tell(params, objective.score(params))
    parts: dict[str, float] = {}

    def timed(part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                parts[part] = parts.get(part, 0.0) + time.process_time() - started

        return wrapper

    from sklearn.gaussian_process import GaussianProcessRegressor

    skopt_optimizer.fmin_l_bfgs_b = timed("acquisition L-BFGS", skopt_optimizer.fmin_l_bfgs_b)
    skopt_optimizer._gaussian_acquisition = timed("acquisition samples", skopt_optimizer._gaussian_acquisition)
    GaussianProcessRegressor.fit = timed("kernel fit", GaussianProcessRegressor.fit)  # type: ignore[method-assign]
    repeat = 5
    for points in (10, 20, trials - 1):
        request = requests[points]
        parts.clear()
        started = time.process_time()
        for _ in range(repeat):
            bayes_lookahead.propose(request)
        total = (time.process_time() - started) / repeat
        split = {part: spent / repeat for part, spent in parts.items()}
        split["rest"] = total - sum(split.values())
        shown = "  ".join(f"{part} {1000 * spent:.1f}" for part, spent in split.items())
        print(f"{variant}, {len(request.y)} points: {1000 * total:.1f} CPU ms per proposal ({shown})")
    profiler = cProfile.Profile()
    profiler.runcall(bayes_lookahead.propose, requests[trials - 1])
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(20)
    print(text.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="seeds; every variant runs every seed")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds are first-seed .. first-seed + rounds - 1")
    parser.add_argument(
        "--objectives", default=",".join(OBJECTIVES), help=f"comma-separated subset of {list(OBJECTIVES)}"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of the variants")
    parser.add_argument("--profile", metavar="VARIANT", help="profile one variant's proposals instead")
    args = parser.parse_args()
    np.seterr(all="ignore")
    bayes_lookahead._HelperProcess = _NoHelper  # type: ignore[misc,assignment]
    if args.profile:
        profile(args.profile, args.trials)
        return
    variants = [v for v in args.variants.split(",") if v]
    for name in (o for o in args.objectives.split(",") if o):
        objective = OBJECTIVES[name]
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        with_optuna = name.startswith("svc") and _has_optuna()
        if with_optuna:
            runs["optuna-tpe"] = []
        for seed in range(args.first_seed, args.first_seed + args.rounds):  # interleaved: every variant once per seed
            for variant in variants:
                runs[variant].append(run(objective, VARIANTS[variant], args.trials, seed))
            if with_optuna:
                runs["optuna-tpe"].append(run_optuna(objective, args.trials, seed))
        report(name, objective, runs, args.trials)


class _NoHelper:
    """In place of the helper process: the strategy then computes every proposal in this process."""

    def __init__(self) -> None:
        raise OSError("benchmarks/bayes_settings.py times proposals on this process's CPU clock")


def _has_optuna() -> bool:
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
