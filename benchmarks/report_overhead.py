"""What the report plugin costs on the quickstart: the same run with it on and off, in one process.

``examples/quickstart.toml`` (a 20-trial Bayesian search of SGDClassifier on breast_cancer, 5-fold
CV, 10 epochs, a held-out split) runs with every built-in plugin except mlflow (it has its own
benchmark) and progress (terminal output), once with the report plugin and once without, in
interleaved rounds. Each run gets a fresh Session, so the report's drawing process starts (and
imports matplotlib) inside the timed run, as in ``trainhooks tune``. Goal (issue 15): the report
costs under 3% of the wall time, its drawing being off the critical path.

Prints each variant's median wall and CPU time (this process only; the drawing process is a
child and not counted), the ratio of the medians and the median of each round's own ratio.
Run:  .venv/bin/python benchmarks/report_overhead.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import trainhooks
from trainhooks.config import load_config
from trainhooks.plugin_loader import BUILTIN_PLUGINS

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of both variants (default 5)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.chdir(tempfile.mkdtemp(prefix="report-bench-"))  # the report's files go to ./trainhooks-runs here
    config = load_config(QUICKSTART)
    always_off = [name for name in ("mlflow", "progress") if name in BUILTIN_PLUGINS]
    disabled = {"on": always_off, "off": [*always_off, "report"]}

    def run(variant: str) -> tuple[float, float]:
        session = trainhooks.Session(disable=disabled[variant], autoload=False)
        started, started_cpu = time.perf_counter(), time.process_time()
        result = session.run_config(config)
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        drawn = sorted(p.name for p in Path("trainhooks-runs", result.run_id, "report").glob("*.png"))
        assert (len(drawn) == 5) == (variant == "on"), drawn
        return wall, cpu

    run("on"), run("off")  # warm-up: imports, caches
    wall: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for round_ in range(args.rounds):
        for variant in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
            w, c = run(variant)
            wall[variant].append(w)
            cpu[variant].append(c)
    med = {v: statistics.median(x) for v, x in wall.items()}
    med_cpu = {v: statistics.median(x) for v, x in cpu.items()}
    print(f"quickstart ({QUICKSTART.name}): {args.rounds} interleaved rounds, medians")
    for variant in ("off", "on"):
        spread = ", ".join(f"{t:.2f}" for t in wall[variant])
        print(f"  report {variant:3s}  wall {med[variant]:7.3f} s   driver CPU {med_cpu[variant]:7.3f} s   ({spread})")
    paired = statistics.median(a / b for a, b in zip(wall["on"], wall["off"], strict=True))
    print(f"  on/off wall: ratio of medians {med['on'] / med['off']:.3f}, median of per-round ratios {paired:.3f}")
    print(f"  on/off driver CPU: {med_cpu['on'] / med_cpu['off']:.3f}   (goal: wall ratio < 1.03)")


if __name__ == "__main__":
    main()
