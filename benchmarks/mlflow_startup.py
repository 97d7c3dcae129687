"""What the mlflow plugin adds to a whole ``trainhooks tune`` process: its fixed cost (issue 16).

Three jobs, each the quickstart's (examples/quickstart.toml: SGDClassifier on breast_cancer, 5-fold
CV, roc_auc) changed by ``--set``:

- ``short``: random search, 20 trials of 10 epochs: about 3 s of process wall with the plugin off
- ``long``:  random search on digits, 60 trials of 30 epochs: about 30 s off
- ``demo``:  the quickstart as ``make demo`` runs it (bayes, 20 trials, every default plugin)

and each in these variants, every one a fresh ``trainhooks tune`` process in a new directory:

- ``off``:   ``--no-plugin mlflow``
- ``cold``:  MLflow on, a new store (``./mlflow.db`` does not exist yet), the store template of this
             MLflow version already cached (every run after the first one on a machine)
- ``first``: ``cold`` with an empty cache directory too: the very first run on a machine
- ``warm``:  MLflow on, a store that already holds earlier runs

In ``short`` and ``long`` the ``report``, ``metrics`` and ``progress`` plugins are blocked in every
variant (they draw, serve and print: noise here). Rounds are interleaved (each round runs every job
and variant, in a rotated order); BLAS is pinned to one thread. Printed per job: the median process
wall and the summary's ``wall_time_s`` of each variant, and for each MLflow variant its ratio to
``off`` and the seconds it adds (medians of the per-round differences). Goals: ``long`` cold <= 1.05x
off; ``short`` cold <= 1 s extra; ``demo`` cold process under 6 s.

    .venv/bin/python benchmarks/mlflow_startup.py [--rounds 5] [--jobs short,long,demo]

Run it on a quiet machine: it measures seconds, and other processes on 2 cores change them.
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

from _rounds import rotated

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "examples" / "quickstart.toml"
TRAINHOOKS = Path(sys.executable).with_name("trainhooks")
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
QUIET = ["--no-plugin", "report", "--no-plugin", "metrics", "--no-plugin", "progress"]
JOBS: dict[str, list[str]] = {
    "short": [*QUIET, "--set", 'search.strategy="random"', "--n-trials", "20"],
    "long": [
        *QUIET,
        "--set",
        'search.strategy="random"',
        "--set",
        'data.dataset="digits"',
        "--set",
        'search.scoring="accuracy"',
        "--set",
        "search.max_epochs=30",
        "--n-trials",
        "60",
    ],
    "demo": [],
}
VARIANTS = ("off", "cold", "first", "warm")
MLFLOW_VARIANTS = VARIANTS[1:]


def run_once(job: str, variant: str, work: Path, cache: Path) -> tuple[float, float]:
    """One fresh process; returns its wall time and the summary's ``wall_time_s``."""
    fresh = variant != "warm"  # the warm store's directory is made, with one untimed run, before the rounds
    cwd = Path(tempfile.mkdtemp(prefix=f"{job}-{variant}-", dir=work)) if fresh else work / f"warm-{job}"
    if variant == "first":
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    env = {**os.environ, **ONE_THREAD, "TRAINHOOKS_CACHE_DIR": str(cache)}
    env.pop("MLFLOW_TRACKING_URI", None)  # every variant uses ./mlflow.db of its directory
    command = [str(TRAINHOOKS), "tune", str(QUICKSTART), "--json", "-q", *JOBS[job]]
    if variant == "off":
        command += ["--no-plugin", "mlflow"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{job}/{variant} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary = json.loads(done.stdout)["summary"]
    if variant != "off" and "mlflow" not in summary.get("links", {}):
        raise SystemExit(f"{job}/{variant}: the run was not logged to MLflow: {summary.get('notes')}")
    if fresh:
        shutil.rmtree(cwd, ignore_errors=True)
    return wall, float(summary["wall_time_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--jobs", default="short,long,demo", help="comma-separated: short, long, demo")
    args = parser.parse_args()
    jobs = [job.strip() for job in args.jobs.split(",") if job.strip()]
    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
        raise SystemExit(f"--jobs: unknown {', '.join(unknown)} (known: {', '.join(JOBS)})")

    work = Path(tempfile.mkdtemp(prefix="mlflow-startup-"))
    cache = work / "cache"
    try:
        for job in jobs:  # untimed: the cached template, and each warm store with one run in it
            (work / f"warm-{job}").mkdir()
            run_once(job, "warm", work, cache)
        walls: dict[tuple[str, str], list[float]] = {}
        inner: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for job in jobs:
                for variant in rotated(VARIANTS, round_):
                    wall, wall_in = run_once(job, variant, work, cache)
                    walls.setdefault((job, variant), []).append(wall)
                    inner.setdefault((job, variant), []).append(wall_in)
                    print(f"round {round_ + 1} {job:5} {variant:5} {wall:6.2f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nmedians of {args.rounds} rounds (a fresh process each, BLAS 1 thread)")
    print(f"{'job':6} {'variant':8} {'process s':>10} {'run s':>8} {'vs off':>8} {'extra s':>8}")
    for job in jobs:
        off = walls[(job, "off")]
        for variant in VARIANTS:
            mine = walls[(job, variant)]
            run_s = statistics.median(inner[(job, variant)])
            line = f"{job:6} {variant:8} {statistics.median(mine):10.2f} {run_s:8.2f}"
            if variant in MLFLOW_VARIANTS:
                ratio = statistics.median(m / o for m, o in zip(mine, off, strict=True))
                extra = statistics.median(m - o for m, o in zip(mine, off, strict=True))
                line += f" {ratio:7.3f}x {extra:+8.2f}"
            print(line)
    print("goals: long cold <= 1.05x off; short cold <= +1.00 s; demo cold process < 6 s")


if __name__ == "__main__":
    main()
