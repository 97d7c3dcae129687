"""The tabular example from Python: the job of tune.toml, with the table as a pandas DataFrame.

Run it from anywhere:  python examples/tabular/tune.py
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

import trainhooks
from trainhooks.pipelines import auto_preprocessor

HERE = Path(__file__).parent


def main(disable: Sequence[str] = ()) -> trainhooks.RunResult:
    """Tune the pipeline and print the outcome; ``disable`` blocks plugins by name (e.g. ``["mlflow"]``)."""
    frame = pd.read_csv(HERE / "data.csv")
    X, y = frame.drop(columns=["risk"]), frame["risk"]
    pipeline = Pipeline(
        [
            ("prep", auto_preprocessor()),  # what estimator = "auto" builds in tune.toml
            ("clf", SGDClassifier(loss="log_loss", random_state=0)),
        ]
    )
    space = {
        "clf__alpha": {"low": 1e-6, "high": 1e-1, "log": True},
        "clf__penalty": ["l2", "l1", "elasticnet"],
        "clf__l1_ratio": {"low": 0.0, "high": 1.0},
    }
    result = trainhooks.tune(
        pipeline,
        space,
        X,
        y,
        experiment="tabular",
        test_size=0.2,
        strategy="random",
        n_trials=12,
        cv=3,
        scoring="f1_macro",
        random_state=0,
        max_epochs=15,
        executor="process",
        n_jobs=2,
        plugin_config={"early_stopping": {"patience": 3, "pruner": "median", "warmup_epochs": 2, "min_trials": 3}},
        disable=disable,
    )
    summary = result.summary
    print(f"best f1_macro {summary['best_score']:.3f} with {summary['best_params']}")
    print(
        f"held-out f1_macro {summary['test_score']:.3f}; {summary['n_complete']} complete, {summary['n_pruned']} pruned"
    )
    return result


if __name__ == "__main__":
    main()
