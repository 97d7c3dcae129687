"""Strategies and spaces in isolation: ask/tell contracts that searches rely on."""

from __future__ import annotations

import math

import pytest
from scipy import stats
from skopt.space import Real

import trainhooks.space
from trainhooks import hooks
from trainhooks.hooks import BatchStrategy, SettingsError, Strategy
from trainhooks.space import Categorical, Integer, SearchSpace
from trainhooks.strategies import BayesStrategy, GridStrategy, RandomStrategy

SPACE_GRID = SearchSpace.parse({"a": [1, 2], "b": ["x"]})
SPACE = SearchSpace.parse({"alpha": {"low": 1e-4, "high": 1.0, "log": True}, "kind": ["a", "b"]})


def test_bayes_never_tells_the_optimizer_nan() -> None:
    strategy = BayesStrategy(SPACE, random_state=0, n_trials=6)
    first = strategy.ask()
    strategy.tell(first, None)  # failed before anything completed: nothing to tell yet
    assert strategy.optimizer().yi == []
    strategy.tell(strategy.ask(), 0.8)
    strategy.tell(strategy.ask(), 0.6)
    strategy.tell(strategy.ask(), float("nan"))  # failed/non-finite: told the worst seen score
    strategy.tell(strategy.ask(), None)
    told = strategy.optimizer().yi
    assert told == [-0.8, -0.6, -0.6, -0.6]
    assert all(math.isfinite(v) for v in told)
    strategy.close()


def test_bayes_points_are_plain_python_and_inside_the_space() -> None:
    strategy = BayesStrategy(SPACE, random_state=1, n_trials=8)
    for i in range(6):
        point = strategy.ask()
        assert type(point["alpha"]) is float and 1e-4 <= point["alpha"] <= 1.0
        assert point["kind"] in ("a", "b") and type(point["kind"]) is str
        strategy.tell(point, -abs(math.log10(point["alpha"]) + 2) + i * 0)


def test_bayes_ask_many_gives_distinct_points() -> None:
    strategy = BayesStrategy(SPACE, random_state=0, n_trials=12)
    for _ in range(4):
        p = strategy.ask()
        strategy.tell(p, p["alpha"])
    batch = strategy.ask_many(3)
    assert len({tuple(sorted(p.items())) for p in batch}) == 3


def test_random_is_seeded_and_uses_distributions() -> None:
    space = SearchSpace.parse({"C": stats.loguniform(1e-3, 1e3), "n": {"low": 1, "high": 9}, "k": ["x", "y"]})
    first = [RandomStrategy(space, random_state=3, n_trials=5).ask() for _ in range(1)]
    again = [RandomStrategy(space, random_state=3, n_trials=5).ask() for _ in range(1)]
    assert first == again
    strategy = RandomStrategy(space, random_state=3, n_trials=50)
    points = [strategy.ask() for _ in range(50)]
    assert strategy.ask() is None
    assert all(1 <= p["n"] <= 9 and type(p["n"]) is int for p in points)
    assert all(1e-3 <= p["C"] <= 1e3 for p in points)


def test_grid_enumerates_lists_and_small_int_ranges() -> None:
    strategy = GridStrategy(SearchSpace.parse({"a": [1, 2], "b": {"low": 0, "high": 2}}))
    points = []
    while (p := strategy.ask()) is not None:
        points.append(p)
    assert len(points) == 6 and {"a": 2, "b": 2} in points


def test_skopt_dimensions_are_accepted_for_bayes_and_distributions_refused() -> None:
    space = SearchSpace.parse({"alpha": Real(1e-3, 1.0, prior="log-uniform", name="alpha")})
    assert 1e-3 <= BayesStrategy(space, random_state=0).ask()["alpha"] <= 1.0
    with pytest.raises(SettingsError, match=r"search\.space\.C: Bayesian search cannot use a scipy distribution"):
        BayesStrategy(SearchSpace.parse({"C": stats.uniform(0, 1)}))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"low": 1, "high": 1}, "search.space.x.low: must be < high"),
        ({"low": -1.0, "high": 1.0, "log": True}, "search.space.x.low: must be > 0 for a log range"),
        ({"low": 0.5}, "search.space.x: a range needs both 'low' and 'high'"),
        ({"low": 0, "high": 1, "step": 2}, "search.space.x: unknown key 'step'"),
        ({"low": 0.5, "high": 2, "type": "int"}, "search.space.x: an int range needs whole numbers"),
        ({"low": "a", "high": 2}, "search.space.x.low: must be a finite number"),
        ([], "search.space.x: needs at least one choice"),
        ("l2", "search.space.x: expected a list of choices or a range"),
    ],
)
def test_bad_dimensions_name_their_path(spec, message) -> None:
    with pytest.raises(SettingsError) as info:
        SearchSpace.parse({"x": spec})
    assert str(info.value).startswith(message)


def test_parsed_dimension_types() -> None:
    space = SearchSpace.parse({"a": ["x"], "b": {"low": 1, "high": 5}, "c": {"low": 1, "high": 5, "type": "float"}})
    assert isinstance(space.dimensions["a"], Categorical)
    assert isinstance(space.dimensions["b"], Integer)
    assert space.dimensions["c"].__class__.__name__ == "Real"


def test_trainhooks_space_is_the_contracts_space() -> None:
    for name in ("Categorical", "Real", "Integer", "Distribution", "SkoptDimension", "SearchSpace"):
        assert getattr(trainhooks.space, name) is getattr(hooks, name)


def test_only_bayes_offers_batches() -> None:
    strategies = [GridStrategy(SPACE_GRID), RandomStrategy(SPACE, n_trials=2), BayesStrategy(SPACE, random_state=0)]
    assert all(isinstance(s, Strategy) for s in strategies)
    assert [isinstance(s, BatchStrategy) for s in strategies] == [False, False, True]
    batch = strategies[2].ask_many(3)
    assert len(batch) == 3 and len({tuple(sorted(p.items())) for p in batch}) == 3


def test_bayes_settings_choose_the_surrogate_and_acquisition() -> None:
    from sklearn.ensemble import ExtraTreesRegressor

    from trainhooks.config import BayesSettings

    settings = BayesSettings(base_estimator="ET", acq_func="EI", acq_optimizer="sampling", n_initial_points=2)
    strategy = BayesStrategy(SPACE, random_state=0, n_trials=10, settings=settings)
    for i in range(4):
        strategy.tell(strategy.ask(), 0.1 * i)
    optimizer = strategy.optimizer()
    assert isinstance(optimizer.models[-1], ExtraTreesRegressor)
    assert optimizer.acq_func == "EI"


def test_bad_bayes_settings_are_one_line_each_naming_the_key() -> None:
    from trainhooks.config import parse_config
    from trainhooks.errors import ConfigError

    bayes = {"base_estimator": "SVR", "acq_func": "UCB", "n_restarts_optimizer": 0, "n_initial_points": 0}
    with pytest.raises(ConfigError) as caught:
        parse_config({"model": {"estimator": "sklearn.linear_model.SGDClassifier"}, "search": {"bayes": bayes}})
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"search.bayes.{key}" for key in bayes]
    with pytest.raises(ConfigError, match=r'^search\.bayes: acq_optimizer = "lbfgs" needs base_estimator = "GP"'):
        parse_config(
            {
                "model": {"estimator": "sklearn.linear_model.SGDClassifier"},
                "search": {"bayes": {"base_estimator": "RF", "acq_optimizer": "lbfgs"}},
            }
        )
