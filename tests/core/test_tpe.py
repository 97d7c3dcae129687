"""The ``tpe`` strategy: Optuna's TPE sampler behind trainhooks' ask/tell, in real searches."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from builders import run_config, write_toml
from parallel_helpers import FragileSGD, StopTrial, table, tune

from trainhooks.hooks import BatchStrategy, SettingsError
from trainhooks.space import SearchSpace
from trainhooks.testing import EventRecorder
from trainhooks.tpe import TpeStrategy

SPACE = SearchSpace.parse(
    {"x": {"low": -5.0, "high": 5.0}, "n": {"low": 1, "high": 100, "log": True}, "kind": ["a", "b", [1, 2]]}
)

HIDE_OPTUNA = """
import sys


class NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "optuna":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled)
"""


def _drive(strategy: TpeStrategy, n: int) -> list[dict]:
    """Ask and tell ``n`` points of a simple problem (best at x = 2, kind = 'b')."""
    asked = []
    for _ in range(n):
        point = strategy.ask()
        asked.append(point)
        strategy.tell(point, -((point["x"] - 2.0) ** 2) + (1.0 if point["kind"] == "b" else 0.0))
    return asked


def test_points_are_plain_values_inside_the_space_and_the_same_for_a_seed() -> None:
    first = _drive(TpeStrategy(SPACE, random_state=3), 15)
    assert first == _drive(TpeStrategy(SPACE, random_state=3), 15)
    assert first != _drive(TpeStrategy(SPACE, random_state=4), 15)
    for point in first:
        assert type(point["x"]) is float and -5.0 <= point["x"] <= 5.0
        assert type(point["n"]) is int and 1 <= point["n"] <= 100
        assert point["kind"] in ("a", "b", [1, 2])


def test_tpe_finds_the_good_region_of_a_simple_problem() -> None:
    asked = _drive(TpeStrategy(SPACE, random_state=0), 40)
    best = max(asked, key=lambda p: -((p["x"] - 2.0) ** 2) + (p["kind"] == "b"))
    assert abs(best["x"] - 2.0) < 0.3 and best["kind"] == "b"
    late = asked[25:]  # after the random start-up, most points sit near the optimum
    assert sum(abs(p["x"] - 2.0) < 1.5 for p in late) >= len(late) // 2


def test_pruned_and_failed_trials_are_told_as_pruned_never_as_a_number() -> None:
    strategy = TpeStrategy(SPACE, random_state=0)
    strategy.tell(strategy.ask(), None)
    strategy.tell(strategy.ask(), float("nan"))
    strategy.tell(strategy.ask(), 0.5)
    states = [t.state.name for t in strategy._study.trials]
    values = [t.value for t in strategy._study.trials]
    assert states == ["PRUNED", "PRUNED", "COMPLETE"]
    assert values == [None, None, 0.5] and not any(v is not None and math.isnan(v) for v in values)


def test_a_batch_is_distinct_points_and_tpe_is_a_batch_strategy() -> None:
    strategy = TpeStrategy(SPACE, random_state=0)
    assert isinstance(strategy, BatchStrategy)
    batch = strategy.ask_many(4)
    assert len({repr(sorted(p.items())) for p in batch}) == 4


@pytest.mark.parametrize("spec", [pytest.param("scipy", id="scipy"), pytest.param("skopt", id="skopt")])
def test_scipy_and_skopt_dimensions_are_refused_naming_the_dimension(spec: str) -> None:
    if spec == "scipy":
        from scipy import stats

        dimension = stats.uniform(0, 1)
    else:
        from skopt.space import Real

        dimension = Real(0.0, 1.0)
    with pytest.raises(SettingsError, match=r"^search\.space\.c: tpe takes lists of choices and low/high ranges"):
        TpeStrategy(SearchSpace.parse({"c": dimension}), random_state=0)


def test_a_search_with_pruned_and_failed_trials_completes_and_is_reproducible() -> None:
    runs = [
        tune(
            EventRecorder(),
            StopTrial(trial_id=1, epoch=2),
            estimator=FragileSGD(raise_if_alpha_above=0.05),
            strategy="tpe",
            n_trials=8,
            random_state=5,
        )
        for _ in range(2)
    ]
    assert table(runs[0]) == table(runs[1])
    states = [row["state"] for row in runs[0].trials]
    assert states[1] == "pruned" and "complete" in states


@pytest.mark.slow
def test_a_parallel_process_search_is_reproducible_for_a_seed() -> None:
    runs = [
        tune(EventRecorder(), strategy="tpe", executor="process", n_jobs=2, n_trials=6, random_state=2)
        for _ in range(2)
    ]
    assert table(runs[0]) == table(runs[1])
    assert len({row["params"]["alpha"] for row in runs[0].trials}) == 6


@pytest.mark.slow
def test_tpe_settings_from_a_file_and_no_optuna_log_lines(run_cli, tmp_path: Path) -> None:
    config = write_toml(
        tmp_path / "tpe.toml",
        run_config(search={"strategy": "tpe", "n_trials": 4, "tpe": {"n_startup_trials": 2, "multivariate": True}}),
    )
    proc = run_cli("tune", str(config), "--no-plugin", "mlflow", "--no-plugin", "report")
    assert proc.returncode == 0, proc.stderr
    assert "optuna" not in (proc.stdout + proc.stderr).lower()


@pytest.mark.slow
def test_tpe_without_optuna_is_one_line_naming_the_extra(run_cli, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_OPTUNA, encoding="utf-8")
    config = write_toml(tmp_path / "tpe.toml", run_config(search={"strategy": "tpe"}))
    proc = run_cli("tune", str(config), env={"PYTHONPATH": str(site), "TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: search.strategy: ")
    assert "pip install 'trainhooks[optuna]'" in lines[0]


def test_strategy_settings_reach_the_strategy_from_python() -> None:
    recorder = EventRecorder()
    bayes = tune(recorder, strategy="bayes", n_trials=4, bayes={"base_estimator": "RF", "n_initial_points": 2})
    assert bayes.summary["n_complete"] == 4
    assert recorder.of("run-started")[0].config["search"]["bayes"]["base_estimator"] == "RF"
    tpe = tune(EventRecorder(), strategy="tpe", n_trials=3, tpe={"n_startup_trials": 2})
    assert tpe.summary["n_complete"] == 3
