"""How much does trainhooks add to a plain cross-validated grid search?

The same grid, data, folds, scorer and thread settings, run three ways in one process:

1. a bare loop over ``cross_val_score`` (the floor),
2. scikit-learn's ``GridSearchCV`` (refit off, as the loop does not refit either),
3. ``trainhooks.Session.tune`` with every built-in plugin loaded except MLflow (which has its own
   benchmark); one epoch per trial, so each fold is fitted exactly once as in 1 and 2.

Each is repeated ``--repeats`` times in interleaved order; medians are reported with the ratio to
the bare loop. Run:  python benchmarks/overhead.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import trainhooks

GRID = {"logisticregression__C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], "logisticregression__tol": [1e-4, 1e-3, 1e-2]}
BLAS_THREADS = 1


def estimator():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))


def bare_loop(X, y, cv) -> float:
    best = -1.0
    for params in ParameterGrid(GRID):
        best = max(best, cross_val_score(estimator().set_params(**params), X, y, cv=cv, scoring="roc_auc").mean())
    return best


def grid_search(X, y, cv) -> float:
    search = GridSearchCV(estimator(), GRID, cv=cv, scoring="roc_auc", refit=False, n_jobs=1)
    return search.fit(X, y).best_score_


def make_trainhooks(session: trainhooks.Session) -> Callable:
    def run(X, y, cv) -> float:
        result = session.tune(
            estimator(),
            GRID,
            X,
            y,
            strategy="grid",
            n_trials=10_000,
            cv=cv,
            scoring="roc_auc",
            max_epochs=1,
            blas_threads=BLAS_THREADS,
        )
        return result.best_score

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_breast_cancer(return_X_y=True)
    cv = StratifiedKFold(5)
    session = trainhooks.Session(disable=["mlflow", "progress"], autoload=False)
    contenders: dict[str, Callable] = {
        "bare cross_val_score loop": bare_loop,
        "sklearn GridSearchCV": grid_search,
        "trainhooks.tune": make_trainhooks(session),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    scores: dict[str, float] = {}
    n_trials = len(ParameterGrid(GRID))
    with threadpool_limits(limits=BLAS_THREADS):
        for name, run in contenders.items():  # warm-up: imports, caches
            scores[name] = run(X, y, cv)
        for _ in range(args.repeats):
            for name, run in contenders.items():
                start = time.perf_counter()
                run(X, y, cv)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["bare cross_val_score loop"])
    print(f"{n_trials} grid points x 5 folds, breast_cancer, {args.repeats} repeats, {BLAS_THREADS} BLAS thread(s)")
    print(f"plugins loaded in the trainhooks session: {', '.join(session.plugin_names)}")
    print(f"{'contender':28} {'median s':>9} {'min s':>7} {'vs loop':>8} {'best score':>11}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:28} {median:9.3f} {min(values):7.3f} {median / base:8.3f} {scores[name]:11.5f}")


if __name__ == "__main__":
    main()
