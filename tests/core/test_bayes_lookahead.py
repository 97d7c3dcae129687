"""``bayes`` computes the next point while the current trial trains, reproducibly for a seed.

Point ``k + 1`` is computed on the helper process from the results of trials ``0..k-1`` and a lie
for trial ``k``, started the moment point ``k`` is handed out. Whether it is ready when the search
asks for it (a slow trial) or the ask waits (a fast one), the same seed gives the same trials.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest
from sklearn.linear_model import LogisticRegression

from trainhooks.config import BayesSettings
from trainhooks.hooks import hookimpl
from trainhooks.space import SearchSpace
from trainhooks.strategies import BayesStrategy

SPACE = SearchSpace.parse(
    {"alpha": {"low": 1e-6, "high": 1e-1, "log": True}, "l1_ratio": {"low": 0.0, "high": 1.0}, "penalty": ["l2", "l1"]}
)
N_TRIALS, N_INITIAL = 8, 3


def objective(params: dict) -> float:
    a = math.log10(params["alpha"]) + 3.0
    b = params["l1_ratio"] - 0.3
    return 1.0 - 0.05 * a * a - 0.2 * b * b - (0.02 if params["penalty"] == "l2" else 0.0)


def search(
    *, slow: bool, seed: int = 0, lookahead: bool = True, n_trials: int = N_TRIALS, **more: object
) -> BayesStrategy:
    """Ask/tell like the sequential search loop; a slow trial lasts until the next point is computed."""
    settings = BayesSettings(n_initial_points=N_INITIAL, lookahead=lookahead, **more)
    strategy = BayesStrategy(SPACE, random_state=seed, n_trials=n_trials, settings=settings)
    for _ in range(n_trials):
        params = strategy.ask()
        if slow and strategy.lookahead is not None:
            strategy.lookahead.result()  # the trial outlasts the background computation
        strategy.tell(params, objective(params))
    return strategy


def asked(strategy: BayesStrategy) -> list[list]:
    return [p.points[0] for p in strategy.proposals]


def helpers(parent: psutil.Process | None = None) -> list[psutil.Process]:
    """The live bayes helper processes started by ``parent`` (this process by default)."""
    found = []
    for child in (parent or psutil.Process()).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "bayes_lookahead" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # it exited meanwhile
            pass
    return found


def test_slow_and_fast_trials_give_the_same_points_for_a_seed() -> None:
    slow, fast = search(slow=True), search(slow=False)
    try:
        assert asked(slow) == asked(fast)
        # the points after the random ones were computed by the helper process; with slow trials
        # every one of them was ready when the search asked for it (nothing waited for the GP)
        assert [p.where for p in slow.proposals] == ["here"] * N_INITIAL + ["process"] * (N_TRIALS - N_INITIAL)
        assert slow.ready_at_ask == N_TRIALS - N_INITIAL
        assert asked(search(slow=False, seed=1)) != asked(fast)
    finally:
        slow.close()
        fast.close()


def test_the_next_point_is_computed_while_the_trial_trains_and_a_tell_only_records() -> None:
    strategy = BayesStrategy(SPACE, random_state=0, n_trials=6, settings=BayesSettings(n_initial_points=2))
    try:
        params = strategy.ask()
        for k in range(1, 6):
            running = strategy.lookahead  # point k, started when point k-1 was handed out
            assert running is not None
            computed = len(strategy.proposals)
            running.result()  # trial k-1 trains until the computation is done
            strategy.tell(params, objective(params))
            assert strategy.lookahead is running and len(strategy.proposals) == computed  # no GP work in tell
            params = strategy.ask()
            # points 0 and 1 are random; from point 2 on each ask took the point computed during the trial
            assert strategy.ready_at_ask == max(0, k - 1)
        assert strategy.lookahead is None  # nothing is computed beyond n_trials
    finally:
        strategy.close()


def test_point_k_plus_1_does_not_know_trial_k_but_point_k_plus_2_does() -> None:
    settings = BayesSettings(n_initial_points=2)
    runs = []
    for score_of_p1 in (0.9, 0.1):
        strategy = BayesStrategy(SPACE, random_state=0, n_trials=5, settings=settings)
        p0 = strategy.ask()
        strategy.tell(p0, 0.5)
        p1 = strategy.ask()  # point 2 starts now, from p0's score and a lie for p1
        strategy.tell(p1, score_of_p1)
        p2 = strategy.ask()
        strategy.tell(p2, 0.5)
        p3 = strategy.ask()  # computed from the snapshot at p2's ask: p1's real score is in it
        runs.append((p0, p1, p2, p3))
        strategy.close()
    assert runs[0][:3] == runs[1][:3] and runs[0][3] != runs[1][3]


def test_without_lookahead_each_point_knows_the_previous_result_and_no_process_starts() -> None:
    before = {helper.pid for helper in helpers()}
    strategy = search(slow=False, lookahead=False)
    assert strategy.lookahead is None and strategy.ready_at_ask == 0
    assert {p.where for p in strategy.proposals} == {"here"}
    assert {helper.pid for helper in helpers()} <= before


def test_a_helper_process_that_dies_costs_time_not_reproducibility() -> None:
    reference = asked(search(slow=False))
    settings = BayesSettings(n_initial_points=N_INITIAL)
    strategy = BayesStrategy(SPACE, random_state=0, n_trials=N_TRIALS, settings=settings)
    for k in range(N_TRIALS):
        params = strategy.ask()
        if k == N_INITIAL:
            for helper in helpers():
                helper.kill()
        strategy.tell(params, objective(params))
    assert asked(strategy) == reference
    assert strategy.proposals[-1].where == "here"


def test_the_optimizer_cost_settings_reach_every_proposal_wherever_it_is_computed() -> None:
    """``kernel_restarts`` and ``n_points`` travel with the snapshot: the helper process and the driver
    (after the helper is killed) compute the same points for a seed, and other settings other points."""
    cheap = {"kernel_restarts": 0, "n_points": 200, "n_restarts_optimizer": 1}
    slow, fast = search(slow=True, **cheap), search(slow=False, **cheap)
    settings = BayesSettings(n_initial_points=N_INITIAL, **cheap)
    strategy = BayesStrategy(SPACE, random_state=0, n_trials=N_TRIALS, settings=settings)
    try:
        for k in range(N_TRIALS):
            params = strategy.ask()
            if k == N_INITIAL + 1:  # the helper dies with a proposal queued: the rest are computed here
                for helper in helpers():
                    helper.kill()
            strategy.tell(params, objective(params))
        assert asked(slow) == asked(fast) == asked(strategy)
        assert {p.where for p in slow.proposals[N_INITIAL:]} == {"process"}
        assert strategy.proposals[-1].where == "here"
        assert asked(search(slow=False))[N_INITIAL:] != asked(fast)[N_INITIAL:]
    finally:
        for each in (slow, fast, strategy):
            each.close()


def test_the_optimizer_cost_settings_are_checked_one_line_each() -> None:
    from trainhooks.config import parse_config
    from trainhooks.errors import ConfigError

    bayes = {"n_points": 0, "kernel_restarts": -1}
    with pytest.raises(ConfigError) as caught:
        parse_config({"model": {"estimator": "sklearn.linear_model.SGDClassifier"}, "search": {"bayes": bayes}})
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"search.bayes.{key}" for key in bayes]


def test_the_helper_imports_skopt_before_its_first_request() -> None:
    """~0.8 s of imports happen while the random first trials run, not at the first model-based point."""
    code = "import io, sys; from trainhooks.bayes_lookahead import serve; "
    code += "serve(io.BytesIO(), io.BytesIO()); print('skopt' in sys.modules)"  # no request: EOF at once
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "True"


def test_the_helper_process_dies_with_the_driver() -> None:
    driver = textwrap.dedent(
        """
        import sys, time
        from trainhooks.config import BayesSettings
        from trainhooks.space import SearchSpace
        from trainhooks.strategies import BayesStrategy

        space = SearchSpace.parse({"x": {"low": 0.0, "high": 1.0}})
        strategy = BayesStrategy(space, random_state=0, n_trials=50, settings=BayesSettings(n_initial_points=2))
        for _ in range(3):
            p = strategy.ask()
            strategy.tell(p, -p["x"])
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        (helper,) = helpers(psutil.Process(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        helper.wait(timeout=20)  # its stdin closed with the driver: it exits on its own
    finally:
        proc.kill()
        proc.wait()


# -- through a real search -----------------------------------------------------------------------


class Probe:
    """Registers ``bayes_probe``: the built-in bayes strategy, kept here so the test can see it."""

    plugin_name = "probe"
    strategy: BayesStrategy | None = None

    @hookimpl
    def trainhooks_register_strategies(self) -> dict:
        def factory(space, *, random_state=None, n_trials=None):
            settings = BayesSettings(n_initial_points=2)
            Probe.strategy = BayesStrategy(space, random_state=random_state, n_trials=n_trials, settings=settings)
            return Probe.strategy

        return {"bayes_probe": factory}


class SlowLogisticRegression(LogisticRegression):
    """A trial that lasts until the search's next point is computed (the slow-trial case)."""

    def fit(self, X, y, sample_weight=None):
        if Probe.strategy is not None and Probe.strategy.lookahead is not None:
            Probe.strategy.lookahead.result()
        return super().fit(X, y, sample_weight=sample_weight)


def test_a_search_gives_the_same_trials_with_slow_and_fast_trials(small_xy, trainhooks_session) -> None:
    X, y = small_xy
    space = {"C": {"low": 1e-3, "high": 10.0, "log": True}}
    runs, ready = [], []
    for estimator in (SlowLogisticRegression(max_iter=200), LogisticRegression(max_iter=200)):
        result = trainhooks_session(Probe()).tune(
            estimator, space, X, y, strategy="bayes_probe", n_trials=6, cv=2, random_state=3
        )
        runs.append([(t["params"], t["mean_test_score"]) for t in result.trials])
        assert Probe.strategy is not None
        ready.append(Probe.strategy.ready_at_ask)
        Probe.strategy.close()
        Probe.strategy = None
    assert runs[0] == runs[1]
    assert ready[0] == 6 - 2  # slow trials: every model-based point was ready when asked
