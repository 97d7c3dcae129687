"""The tabular example's job run three ways: trainhooks, RandomizedSearchCV + MLflow autolog, Optuna.

The job (issue 12): examples/tabular/data.csv (3000 rows: numbers, strings, gaps, string labels),
20% held out (stratified, seed 0), the automatic preprocessing + SGDClassifier(loss="log_loss")
pipeline, 12 random trials over ``clf__alpha`` (log-uniform 1e-6..0.1), ``clf__penalty`` and
``clf__l1_ratio``, the same 3 stratified folds (sklearn's ``StratifiedKFold(3)``), ``f1_macro``,
two workers. Each variant tracks to its own fresh SQLite MLflow store where it logs.

- **trainhooks**: ``trainhooks tune`` on examples/tabular/tune.toml changed to the same job as the
  peers: ``strategy = "tpe"`` (Optuna's sampler, as the optuna variant), ``max_epochs = 1`` so each
  fold is one plain ``fit`` of the pipeline with the SGD step's ``max_iter = 15`` and ``tol`` (what
  the peers train), per-fold median pruning (``warmup_epochs = 0``, ``min_trials = 3``: Optuna's
  ``MedianPruner(n_startup_trials=3)``), the sequential executor (on a job of 36 fits of ~10 ms,
  worker processes cost more to start than they save: see trainhooks-process); plugins
  ``report``, ``metrics`` and ``progress`` blocked (the other variants draw, serve and print
  nothing); MLflow on. **trainhooks-nolog**: the same with the mlflow plugin blocked too.
  **trainhooks-process**: trainhooks-nolog on the process executor with two workers, as the peers
  use two. **trainhooks-epochs**: the example exactly as written (15 ``partial_fit`` epochs per
  fold, each scored, random search, two worker processes), MLflow off: what training by epochs
  costs on a model this fast.
- **sklearn**: ``RandomizedSearchCV(n_iter=12, random_state=0, n_jobs=2)`` after
  ``mlflow.sklearn.autolog()``; the SGD step gets ``max_iter=15`` (the same epoch budget; sklearn's
  own ``tol`` stop applies).
- **optuna**: ``TPESampler(seed)`` + ``MedianPruner(n_startup_trials=3)``, the trial reporting
  its running mean after each fold (``trial.report``/``should_prune``), ``n_jobs=2`` (threads),
  ``max_iter=15``, the best params refit at the end; no MLflow.

Each variant runs in a fresh process (imports included in its wall time), the variants interleaved
in ``--rounds`` rounds; BLAS is pinned to one thread in every process. Round ``r`` gives every
variant the search seed ``r`` (trainhooks' ``search.random_state``, Optuna's ``TPESampler(seed)``,
``RandomizedSearchCV(random_state)``; the model's own seed stays 0): with 12 trials the best score
is mostly the luck of the sampled points, so scores are compared over seeds, not on one. Printed:
median wall time, median and mean best cross-validation score (the search's own, over complete
trials) and held-out f1_macro of the refit model, and trainhooks' ratios to the others.

    .venv/bin/python benchmarks/tabular.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomllib
from _rounds import rotated

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "tabular"
TARGET, N_TRIALS, FOLDS, EPOCHS, SEED, JOBS = "risk", 12, 3, 15, 0, 2
"""``SEED``: the data split's and the model's seed, fixed; the search's seed is the round's number."""
VARIANTS = ("trainhooks", "trainhooks-nolog", "trainhooks-process", "trainhooks-epochs", "sklearn", "optuna")
"""``trainhooks-nolog``: the same run with the mlflow plugin blocked too (Optuna logs nothing either)."""
PEERS = ("sklearn", "optuna")
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _data() -> tuple[Any, Any, Any, Any]:
    """The training and held-out rows, split as trainhooks splits them (stratified, seed 0)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(EXAMPLE / "data.csv")
    X, y = frame.drop(columns=[TARGET]), frame[TARGET]
    return train_test_split(X, y, test_size=0.2, random_state=SEED, stratify=y)


def _pipeline() -> Any:
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline

    from trainhooks.pipelines import auto_preprocessor

    clf = SGDClassifier(loss="log_loss", random_state=SEED, max_iter=EPOCHS)
    return Pipeline([("prep", auto_preprocessor()), ("clf", clf)])


def _held_out(model: Any, X_te: Any, y_te: Any) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_te, model.predict(X_te), average="macro"))


def run_sklearn(seed: int) -> dict[str, Any]:
    import warnings

    import mlflow
    from scipy.stats import loguniform, uniform
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X_tr, X_te, y_tr, y_te = _data()
    mlflow.set_experiment("tabular")
    mlflow.sklearn.autolog()
    space = {
        "clf__alpha": loguniform(1e-6, 1e-1),
        "clf__penalty": ["l2", "l1", "elasticnet"],
        "clf__l1_ratio": uniform(0.0, 1.0),
    }
    search = RandomizedSearchCV(
        _pipeline(), space, n_iter=N_TRIALS, cv=StratifiedKFold(FOLDS), scoring="f1_macro",
        random_state=seed, n_jobs=JOBS,
    )  # fmt: skip
    search.fit(X_tr, y_tr)
    return {"best_score": float(search.best_score_), "test_score": _held_out(search, X_te, y_te), "pruned": 0}


def run_optuna(seed: int) -> dict[str, Any]:
    import warnings

    import numpy as np
    import optuna
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import StratifiedKFold

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X_tr, X_te, y_tr, y_te = _data()
    folds = list(StratifiedKFold(FOLDS).split(X_tr, y_tr))
    scorer = get_scorer("f1_macro")

    def objective(trial: optuna.Trial) -> float:
        params = {
            "clf__alpha": trial.suggest_float("clf__alpha", 1e-6, 1e-1, log=True),
            "clf__penalty": trial.suggest_categorical("clf__penalty", ["l2", "l1", "elasticnet"]),
            "clf__l1_ratio": trial.suggest_float("clf__l1_ratio", 0.0, 1.0),
        }
        scores = []
        for step, (train, test) in enumerate(folds, start=1):
            model = clone(_pipeline()).set_params(**params).fit(X_tr.iloc[train], y_tr.iloc[train])
            scores.append(scorer(model, X_tr.iloc[test], y_tr.iloc[test]))
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned
        return float(np.mean(scores))

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
    )  # fmt: skip
    study.optimize(objective, n_trials=N_TRIALS, n_jobs=JOBS)
    best = clone(_pipeline()).set_params(**study.best_params).fit(X_tr, y_tr)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return {"best_score": float(study.best_value), "test_score": _held_out(best, X_te, y_te), "pruned": pruned}


def _write_config(path: Path, seed: int, like_for_like_executor: str | None) -> None:
    """Write the example's config with the round's search seed; changed to the peers' job (see the
    module docstring) on ``like_for_like_executor`` unless that is None (the example as written)."""
    import tomli_w

    with open(EXAMPLE / "tune.toml", "rb") as fh:
        config = tomllib.load(fh)
    config["search"]["random_state"] = seed
    if like_for_like_executor is not None:
        config["model"]["steps"][-1]["params"]["max_iter"] = EPOCHS
        config["search"].update(strategy="tpe", max_epochs=1, executor=like_for_like_executor)
        config["plugins"]["early_stopping"].update(pruner="median", warmup_epochs=0, min_trials=3)
    path.write_text(tomli_w.dumps(config))


def _trainhooks_command(name: str, workdir: Path, seed: int) -> list[str]:
    shutil.copy(EXAMPLE / "data.csv", workdir / "data.csv")
    executor = {"trainhooks-epochs": None, "trainhooks-process": "process"}.get(name, "sequential")
    _write_config(workdir / "tune.toml", seed, executor)
    blocked = ["report", "metrics", "progress"] + (["mlflow"] if name != "trainhooks" else [])
    trainhooks = Path(sys.executable).with_name("trainhooks")
    return [str(trainhooks), "tune", "tune.toml", "--json", "-q", *(f"--no-plugin={p}" for p in blocked)]


def run_variant(name: str, workdir: Path, seed: int) -> dict[str, Any]:
    """One variant with search seed ``seed`` in a fresh process under ``workdir``: its numbers and wall time."""
    env = {**os.environ, **ONE_THREAD, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}
    if name.startswith("trainhooks"):
        command = _trainhooks_command(name, workdir, seed)
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--run", name, "--seed", str(seed)]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    if name.startswith("trainhooks"):
        summary = json.loads(proc.stdout)["summary"]
        out = {"best_score": summary["best_score"], "test_score": summary["test_score"], "pruned": summary["n_pruned"]}
    else:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**out, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each runs every variant once)")
    parser.add_argument("--run", choices=PEERS, help=argparse.SUPPRESS)  # one variant, in this process
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # its search seed
    args = parser.parse_args()
    if args.run:
        print(json.dumps((run_sklearn if args.run == "sklearn" else run_optuna)(args.seed)))
        return

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    for round_ in range(args.rounds):
        for name in rotated(VARIANTS, round_):
            with tempfile.TemporaryDirectory(prefix=f"tabular-{name}-") as tmp:
                runs[name].append(run_variant(name, Path(tmp), seed=round_))
            last = runs[name][-1]
            print(
                f"round {round_ + 1} (seed {round_}) {name:18s} wall {last['wall_s']:6.2f} s  best cv f1_macro "
                f"{last['best_score']:.4f}  held-out {last['test_score']:.4f}  pruned {last['pruned']}",
                flush=True,
            )

    print(f"\nmedian of {args.rounds} rounds (one process per variant and round, BLAS 1 thread, {JOBS} workers):")
    wall = {name: statistics.median(r["wall_s"] for r in rs) for name, rs in runs.items()}
    for name, rs in runs.items():
        best = [r["best_score"] for r in rs]
        test = [r["test_score"] for r in rs]
        print(
            f"  {name:18s} wall {wall[name]:6.2f} s  best cv f1_macro median {statistics.median(best):.4f} "
            f"mean {statistics.fmean(best):.4f}  held-out median {statistics.median(test):.4f} "
            f"mean {statistics.fmean(test):.4f}"
        )
    for mine, other in (
        ("trainhooks", "sklearn"),
        ("trainhooks", "optuna"),
        ("trainhooks-nolog", "optuna"),
        ("trainhooks-process", "trainhooks-nolog"),
        ("trainhooks-epochs", "trainhooks-nolog"),
    ):
        print(f"  {mine} / {other}: wall x{wall[mine] / wall[other]:.2f}")


if __name__ == "__main__":
    main()
