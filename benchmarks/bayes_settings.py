"""What each ``[search.bayes]`` setting costs and reaches: 30 asks/tells of skopt's Optimizer.

Every variant runs in this one process, interleaved over rounds (so machine load hits them alike),
on the same fixed objective and space (a log-scale real, a real and a categorical, like the
quickstart's SGD space), through :class:`trainhooks.strategies.BayesStrategy` with the settings
under test. It prints, per variant, the median optimizer time per trial (ask + tell: what the
driver spends between trials) and the regret after 30 trials (1 - best value; the maximum is 1.0),
median and worst over rounds (each round is another seed).

    .venv/bin/python benchmarks/bayes_settings.py [--rounds 3] [--trials 30]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from trainhooks.config import BayesSettings
from trainhooks.space import SearchSpace
from trainhooks.strategies import BayesStrategy

SPACE = SearchSpace.parse(
    {"alpha": {"low": 1e-6, "high": 1e-1, "log": True}, "l1_ratio": {"low": 0.0, "high": 1.0}, "penalty": ["l2", "l1"]}
)

VARIANTS: dict[str, dict] = {
    "default (GP, gp_hedge, auto)": {},
    "GP, EI": {"acq_func": "EI"},
    "GP, gp_hedge, sampling": {"acq_optimizer": "sampling"},
    "GP, gp_hedge, lbfgs x2": {"acq_optimizer": "lbfgs", "n_restarts_optimizer": 2},
    "RF": {"base_estimator": "RF"},
    "ET": {"base_estimator": "ET"},
}


def objective(params: dict) -> float:
    """A smooth score with its peak (1.0) at alpha = 1e-3, l1_ratio = 0.3, penalty = "l1"."""
    a = math.log10(params["alpha"]) + 3.0
    b = params["l1_ratio"] - 0.3
    return 1.0 - 0.05 * a * a - 0.2 * b * b - (0.02 if params["penalty"] == "l2" else 0.0)


def run(settings: dict, trials: int, seed: int) -> tuple[float, float]:
    """(seconds of ask + tell per trial, best value) for one search."""
    strategy = BayesStrategy(SPACE, random_state=seed, n_trials=trials, settings=BayesSettings(**settings))
    best, spent = -math.inf, 0.0
    for _ in range(trials):
        start = time.perf_counter()
        params = strategy.ask()
        spent += time.perf_counter() - start
        score = objective(params)
        start = time.perf_counter()
        strategy.tell(params, score)
        spent += time.perf_counter() - start
        best = max(best, score)
    return spent / trials, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    bests: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_ in range(args.rounds):
        for name, settings in VARIANTS.items():  # interleaved: every variant once per round, seed = round
            per_trial, best = run(settings, args.trials, seed=round_)
            times[name].append(per_trial)
            bests[name].append(best)
    print(f"{'variant':32} {'ms/trial':>9} {'regret (median)':>16} {'regret (worst)':>15}")
    for name in VARIANTS:
        print(
            f"{name:32} {1000 * statistics.median(times[name]):9.1f} "
            f"{1 - statistics.median(bests[name]):16.1e} {1 - min(bests[name]):15.1e}"
        )


if __name__ == "__main__":
    main()
