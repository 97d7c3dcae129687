"""Pure parts of the MLflow plugin: the alias guard, the trials table, batching and best-run marking."""

from __future__ import annotations

import pytest
from helpers import REPO

from trainhooks.hooks import TrialEnded
from trainhooks.plugins.mlflow._compare import best_runs
from trainhooks.plugins.mlflow._layout import TrialRecord, top_trials, trials_csv
from trainhooks.plugins.mlflow._registry import Holder, decide_promotion


@pytest.mark.parametrize(
    ("score", "holder", "min_improvement", "promote", "says"),
    [
        (0.90, None, 0.0, True, "it had no holder"),
        (0.91, Holder("1", 0.90, "roc_auc"), 0.0, True, "moved from v1 (0.9) to v2 (0.91)"),
        (0.90, Holder("1", 0.90, "roc_auc"), 0.0, False, "stays on v1: v2 scored 0.9 vs 0.9"),
        (0.905, Holder("1", 0.90, "roc_auc"), 0.01, False, ">= 0.01"),
        (0.95, Holder("1", 0.90, "accuracy"), 0.0, False, "scored with 'accuracy', not 'roc_auc'"),
        (0.95, Holder("1", None, "roc_auc"), 0.0, False, "no recorded held-out score"),
        (None, Holder("1", 0.90, "roc_auc"), 0.0, False, "v2 has no held-out score"),
    ],
)
def test_alias_moves_only_for_a_real_improvement(score, holder, min_improvement, promote, says) -> None:
    choice = decide_promotion(
        alias="champion", version="2", score=score, scoring="roc_auc", holder=holder, min_improvement=min_improvement
    )
    assert choice.promote is promote
    assert says in choice.reason


def ended(trial_id: int, state: str, score: float | None, **params: object) -> TrialRecord:
    event = TrialEnded(
        run_id="r",
        timestamp=1.0,
        seq=trial_id,
        trial_id=trial_id,
        params=params,
        state=state,
        score=score,
        score_std=0.0 if score is not None else None,
        fold_scores=(score, score) if score is not None else (),
        epochs=2,
        duration_s=0.5,
        error="ValueError: bad" if state == "failed" else None,
        stop_reason="pruned:median" if state == "pruned" else None,
    )
    return TrialRecord(trial_id, dict(params), 1000, ended=event, ended_ms=1500)


def test_top_trials_are_the_best_complete_ones_and_the_table_keeps_all() -> None:
    records = [
        ended(0, "complete", 0.8, alpha=1),
        ended(1, "failed", None, alpha=2),
        ended(2, "complete", 0.9, alpha=3, penalty="l1"),
        ended(3, "pruned", 0.95, alpha=4),
        ended(4, "complete", 0.9, alpha=5),
    ]
    assert [r.trial_id for r in top_trials(records, 2)] == [2, 4]
    lines = trials_csv(records).splitlines()
    assert lines[0].startswith("trial_id,state,param_alpha,param_penalty,mean_test_score,std_test_score,split0")
    assert len(lines) == 6
    assert lines[2].startswith("1,failed,2,,,,") and lines[2].endswith("ValueError: bad")
    assert "pruned:median" in lines[4]


def test_best_run_per_metric_knows_which_way_is_better() -> None:
    assert best_runs({"a": 0.9, "b": 0.8}, "best_score") == ["a"]
    assert best_runs({"a": 10.0, "b": 5.0}, "wall_time_s") == ["b"]
    assert best_runs({"a": 1.0, "b": 0.0}, "n_failed") == ["b"]
    assert best_runs({"a": 4, "b": 2}, "n_trials") == []
    assert best_runs({"a": 0.9, "b": 0.9}, "best_score") == []
    assert best_runs({"a": 0.9, "b": None}, "best_score") == []


def test_config_toml_reads_back_as_the_same_configuration(tmp_path) -> None:
    from trainhooks import load_config
    from trainhooks.plugins.mlflow._toml import dumps

    original = load_config(REPO / "examples" / "quickstart.toml").to_plain()
    original["plugins"]["mlflow"] = {"register_as": "a model", "min_improvement": 0.01, "log_trials": "top_k"}
    original["experiment"]["name"] = 'quotes "and" üñïcode'
    path = tmp_path / "config.toml"
    path.write_text(dumps(original), encoding="utf-8")
    assert load_config(path).to_plain() == original
