"""What the mlflow plugin costs, and how it compares with GridSearchCV + ``mlflow.sklearn.autolog()``.

One process, the quickstart-sized problem (breast_cancer, SGDClassifier, 5-fold CV, roc_auc,
20 epochs) as a 20-point grid, timed in interleaved rounds; medians of the rounds:

- ``off``:      trainhooks tune, no plugins, every epoch scored (a 20-point learning curve per trial)
- ``on``:       the same with the mlflow plugin (SQLite store, every trial a child run with its
                epoch history, summary, artifacts and the refit model logged)
- ``off@20``, ``on@20``: the same with ``eval_every = 20``: only the final model of each fold is
                scored, which is what GridSearchCV computes (like for like)
- ``gscv``:     sklearn GridSearchCV alone (``max_iter = 20, tol = None``: 20 epochs, no curve)
- ``autolog``:  sklearn GridSearchCV under ``mlflow.sklearn.autolog()`` (same SQLite kind of store)

Goals (issue 4): on/off <= 1.10, and the whole run faster than GridSearchCV+autolog. The variants
run one after another in each round, so ``on`` follows ``off`` by seconds; on a shared machine
whose load comes and goes, the median of those per-round ratios is the steadier number.
Run:  .venv/bin/python benchmarks/mlflow_overhead.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, train_test_split

GRID = {
    "alpha": [float(a) for a in np.logspace(-6, -1, 5)],
    "penalty": ["l2", "elasticnet"],
    "l1_ratio": [0.15, 0.5],
}  # 20 points, like the quickstart's 20 trials
EPOCHS, FOLDS, SCORING = 20, 5, "roc_auc"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed repetitions of each variant (default 5)")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    import mlflow

    import trainhooks
    from trainhooks.plugin_loader import BUILTIN_PLUGINS

    X, y = load_breast_cancer(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    estimator = SGDClassifier(loss="log_loss", random_state=0)
    work = Path(tempfile.mkdtemp(prefix="mlflow-bench-"))
    th_uri = f"sqlite:///{work / 'trainhooks.db'}"
    autolog_uri = f"sqlite:///{work / 'autolog.db'}"
    others = [name for name in BUILTIN_PLUGINS if name != "mlflow"]
    off = trainhooks.Session(disable=[*others, "mlflow"], autoload=False)
    on = trainhooks.Session(disable=others, autoload=False)

    def tune(session: trainhooks.Session, eval_every: int) -> Callable[[], None]:
        def run() -> None:
            session.tune(
                estimator,
                GRID,
                X,
                y,
                strategy="grid",
                n_trials=20,
                cv=FOLDS,
                scoring=SCORING,
                max_epochs=EPOCHS,
                eval_every=eval_every,
                test_size=0.2,
                experiment="bench",
                plugin_config={"mlflow": {"tracking_uri": th_uri}},
            )

        return run

    def gscv() -> None:
        search = GridSearchCV(
            SGDClassifier(loss="log_loss", random_state=0, max_iter=EPOCHS, tol=None), GRID, cv=FOLDS, scoring=SCORING
        )
        search.fit(X_train, y_train)

    def autolog() -> None:
        mlflow.set_tracking_uri(autolog_uri)
        mlflow.set_experiment("bench-autolog")
        mlflow.sklearn.autolog(silent=True)
        try:
            gscv()
        finally:
            mlflow.sklearn.autolog(disable=True)

    variants = {
        "off": tune(off, 1),
        "on": tune(on, 1),
        "off@20": tune(off, EPOCHS),
        "on@20": tune(on, EPOCHS),
        "gscv": gscv,
        "autolog": autolog,
    }
    for run in variants.values():  # warm-up: imports, database creation and migrations
        run()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)

    med = {name: statistics.median(values) for name, values in wall.items()}
    med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"quickstart-sized grid: 20 trials x {FOLDS} folds x {EPOCHS} epochs, {args.rounds} rounds, medians")
    print("  variant     wall s   process CPU s   (wall of each round)")
    for name, value in med.items():
        spread = ", ".join(f"{t:.2f}" for t in wall[name])
        print(f"  {name:8s} {value:8.3f}   {med_cpu[name]:8.3f}        ({spread})")
    print("ratios: of the median walls, the median of each round's own wall ratio (the two runs of a")
    print("round are seconds apart, so it resists load that comes and goes), and of the median CPU:")
    for label, a, b, goal in (
        ("plugin on / plugin off (every epoch scored)", "on", "off", "goal <= 1.10"),
        ("plugin on / plugin off (eval_every = 20)", "on@20", "off@20", "goal <= 1.10"),
        ("plugin on, eval_every = 20 / GridSearchCV+autolog", "on@20", "autolog", "goal < 1, like for like"),
        ("plugin on, every epoch / GridSearchCV+autolog", "on", "autolog", "20x the scoring, for the curves"),
        ("plugin off, eval_every = 20 / GridSearchCV alone", "off@20", "gscv", "the core itself"),
        ("plugin off, every epoch / GridSearchCV alone", "off", "gscv", "the core with curves"),
        ("GridSearchCV+autolog / GridSearchCV alone", "autolog", "gscv", "autolog's own overhead"),
    ):
        paired = statistics.median(x / y for x, y in zip(wall[a], wall[b], strict=True))
        print(f"  {label:51s} {med[a] / med[b]:6.3f}  {paired:6.3f}  {med_cpu[a] / med_cpu[b]:6.3f}   ({goal})")


if __name__ == "__main__":
    main()
