"""What do the ``rbac`` and ``metrics`` plugins cost?

Part 1, a small real search (SGDClassifier, 300 rows, 6 trials, 3 folds, 3 epochs) run four ways in
one process, interleaved: no plugin (the floor), ``metrics`` (textfile at the end), ``rbac`` (policy
and fsync'ed audit log), and both. Medians over ``--repeats`` runs, ratio to the floor.

Part 2, one permission decision: the policy alone, the policy plus an audit record without fsync and
lock (what a naive log would do), and the real audit append (flock + fsync). Median per call.

Run:  python benchmarks/rbac_metrics.py [--repeats 7] [--checks 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from trainhooks.plugins.rbac import AuditLog, Policy
from trainhooks.testing import EventRecorder, make_session, small_search

POLICY = """
[roles.viewer]
permissions = ["run.train:sandbox-*"]
[roles.scientist]
inherits = ["viewer"]
permissions = ["run.tune:exp-*", "model.register:fraud-*"]
[users]
alice = ["scientist"]
[groups.team]
members = ["bob", "carol", "dave"]
roles = ["viewer"]
"""


def search_variants(workdir: Path) -> dict[str, dict]:
    policy = workdir / "policy.toml"
    policy.write_text(POLICY)
    rbac = {"policy": str(policy), "audit_log": str(workdir / "audit.jsonl")}
    metrics = {"textfile": str(workdir / "run.prom")}
    return {
        "no plugin": {"builtins": [], "config": {}},
        "metrics": {"builtins": ["metrics"], "config": {"metrics": metrics}},
        "rbac+audit": {"builtins": ["rbac"], "config": {"rbac": rbac}},
        "rbac+metrics": {"builtins": ["rbac", "metrics"], "config": {"rbac": rbac, "metrics": metrics}},
    }


def time_searches(workdir: Path, repeats: int) -> dict[str, list[float]]:
    variants = search_variants(workdir)
    times: dict[str, list[float]] = {name: [] for name in variants}
    sessions = {
        name: make_session(EventRecorder(), builtins=v["builtins"], principal="alice") for name, v in variants.items()
    }
    for name, v in variants.items():  # warm-up: imports, first fit
        small_search(sessions[name], n_trials=1, experiment="exp-1", plugin_config=v["config"])
    for _ in range(repeats):
        for name, v in variants.items():
            start = time.perf_counter()
            small_search(sessions[name], n_trials=6, experiment="exp-1", plugin_config=v["config"])
            times[name].append(time.perf_counter() - start)
    return times


def naive_append(path: Path, record: dict) -> None:
    with path.open("a") as fh:
        fh.write(json.dumps(record) + "\n")


def time_checks(workdir: Path, n: int) -> dict[str, float]:
    (workdir / "policy.toml").write_text(POLICY)
    policy = Policy.load(workdir / "policy.toml")
    log, naive = AuditLog(workdir / "bench-audit.jsonl"), workdir / "naive.jsonl"

    def per_call(fn) -> float:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    def decide():
        return policy.decide("carol", "run.train", "sandbox-3")

    def decide_naive():
        d = decide()
        naive_append(naive, {"principal": "carol", "allowed": d.allowed, "rule": d.rule})

    def decide_audited():
        d = decide()
        log.append(
            principal="carol",
            action="run.train",
            resource="sandbox-3",
            allowed=d.allowed,
            rule=d.rule,
            reason=d.reason,
            plugins=["rbac"],
        )

    return {
        "policy only": per_call(decide),
        "policy + naive append": per_call(decide_naive),
        "policy + audit (flock+fsync)": per_call(decide_audited),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.chdir(workdir)
        times = time_searches(workdir, args.repeats)
        floor = statistics.median(times["no plugin"])
        print(f"small search (6 trials), median of {args.repeats} interleaved runs:")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:<14} {median * 1000:8.1f} ms   x{median / floor:.3f} of no plugin")
        checks = time_checks(workdir, args.checks)
        base = checks["policy only"]
        print(f"one permission decision, median of {args.checks} calls:")
        for name, value in checks.items():
            print(f"  {name:<30} {value * 1e6:9.1f} us   x{value / base:.1f} of policy only")


if __name__ == "__main__":
    main()
