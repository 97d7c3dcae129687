"""What the report plugin costs on the quickstart: the same run with it on and off, each in a fresh process.

``examples/quickstart.toml`` (a 20-trial Bayesian search of SGDClassifier on breast_cancer, 5-fold
CV, 10 epochs, a held-out split) runs with every built-in plugin except mlflow (it has its own
benchmark) and progress (terminal output), once with the report plugin and once without, in
interleaved rounds, each run in a fresh Python process (as ``trainhooks tune`` is), BLAS pinned to
one thread. The report's drawing process starts (and imports matplotlib, niced) inside the timed
run; the run does not wait for it, so after an "on" run the benchmark waits, untimed, for that
run's figures (``figures.json``) before the next run starts, and checks that all five were drawn.

Prints, per variant, the medians of the run's wall time (``Session.run_config``, what the summary's
``wall_time_s`` covers) and of the whole process (start to exit: what a user of ``trainhooks tune``
waits for), the ratio of the medians on/off, the extra seconds (median on - median off) and the
median of each round's own ratio. Goal (issue 15): under 3% of wall (ratio < 1.03).

Beside the walls, measures that a busy machine does not blur: the driver's CPU time during the run,
the sum of the trials' own durations (what contention on the spare core slows), and for "on" the
CPU time the drawing process had used when the run returned (without MLflow it starts with the
last planned trial, so this is only that trial's share of its imports; see docs/reading-results.md).

With ``--mlflow`` both variants log to a SQLite store in the work directory. The mlflow plugin
logs the figures from its writer process once they are drawn, without the run (or the process)
waiting for them; the benchmark waits, untimed, for that writer process to exit before the next
run, and checks that the figures reached the MLflow parent run.

Run:  .venv/bin/python benchmarks/report_overhead.py [--rounds 7] [--mlflow]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _rounds import rotated

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
VARIANTS = ("off", "on")


def child(variant: str, mlflow: bool) -> None:
    """One timed run in this (fresh) process; prints its run id and times as JSON."""
    import warnings

    import trainhooks
    from trainhooks.config import load_config
    from trainhooks.plugin_loader import BUILTIN_PLUGINS

    warnings.filterwarnings("ignore")
    overrides = {"experiment.tracking_uri": "sqlite:///mlflow.db"} if mlflow else {}
    config = load_config(QUICKSTART, overrides)
    disabled = [name for name in ("progress",) if name in BUILTIN_PLUGINS] + ([] if mlflow else ["mlflow"])
    if variant == "off":
        disabled.append("report")
    session = trainhooks.Session(disable=disabled, autoload=False)
    started, started_cpu = time.perf_counter(), time.process_time()
    result = session.run_config(config)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    trials = sum(trial["duration_s"] for trial in result.trials)
    drawing = _drawing_cpu(Path("trainhooks-runs") / result.run_id / "report" / "drawing.json")
    times = {"wall": wall, "cpu": cpu, "trials": trials, "drawing": drawing}
    tracked: dict[str, object] = {}
    if mlflow:  # the writer process may outlive this one (it logs the figures once drawn)
        from trainhooks.plugins.mlflow._process import writer_process

        tracked = {"parent": result.summary["links"]["mlflow"]["run_id"], "writer_pid": writer_process()._proc.pid}
    print(json.dumps({"run_id": result.run_id, **times, **tracked}))


def _drawing_cpu(drawing_file: Path) -> float:
    """CPU seconds the report's drawing process has used so far (0 without one, or when it has exited)."""
    if not drawing_file.is_file():
        return 0.0
    pid = json.loads(drawing_file.read_text())["pid"]
    if pid == os.getpid():  # not started yet
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def run(variant: str, workdir: Path, mlflow: bool) -> dict[str, float]:
    """Run one variant in a fresh process; after an "on" run, wait (untimed) for its figures."""
    from trainhooks.plugins.report._drawing import wait_for_figures

    command = [sys.executable, __file__, "--child", variant, *(["--mlflow"] if mlflow else [])]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=workdir, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True)
    process_wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{variant} run failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    folder = workdir / "trainhooks-runs" / out["run_id"] / "report"
    if variant == "on":
        assert wait_for_figures(folder, timeout_s=120), "the drawing process did not finish"
        drawn = sorted(p.name for p in folder.glob("*.png"))
        assert len(drawn) == 5, drawn
    else:
        assert not folder.exists()
    if mlflow:  # the MLflow writer finishes behind the run: wait for it too, then check what it logged
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(out["writer_pid"]).wait(timeout=120)
        logged = sorted(p.name for p in workdir.glob(f"mlruns/*/{out['parent']}/artifacts/report/*.png"))
        assert logged == (drawn if variant == "on" else []), logged
    return {key: out[key] for key in ("wall", "cpu", "trials", "drawing")} | {"process": process_wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of both variants (default 7)")
    parser.add_argument(
        "--mlflow", action="store_true",
        help="keep the mlflow plugin on in both variants (a SQLite store in the work directory)",
    )  # fmt: skip
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mlflow)
        return
    workdir = Path(tempfile.mkdtemp(prefix="report-bench-"))  # the report's files go to ./trainhooks-runs here
    run("on", workdir, args.mlflow), run("off", workdir, args.mlflow)  # warm-up: file cache, bytecode, the store
    times: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    for round_ in range(args.rounds):
        for variant in rotated(VARIANTS, round_):
            times[variant].append(run(variant, workdir, args.mlflow))

    def med(variant: str, key: str) -> float:
        return statistics.median(t[key] for t in times[variant])

    mlflow = "mlflow on (SQLite)" if args.mlflow else "mlflow off"
    print(f"quickstart ({QUICKSTART.name}, {mlflow}): {args.rounds} interleaved rounds, fresh processes, medians")
    for variant in VARIANTS:
        spread = ", ".join(f"{t['wall']:.2f}" for t in times[variant])
        run_wall, process_wall, cpu, trials, drawing = (
            med(variant, key) for key in ("wall", "process", "cpu", "trials", "drawing")
        )  # fmt: skip
        print(
            f"  report {variant:3s}  run wall {run_wall:6.3f} s   process wall {process_wall:6.3f} s"
            f"   driver CPU {cpu:6.3f} s   trials {trials:6.3f} s   drawing CPU by the run's end {drawing:5.3f} s"
            f"   (run walls: {spread})"
        )
    for key, label in (("wall", "run wall"), ("process", "process wall"), ("trials", "trials"), ("cpu", "driver CPU")):
        on, off = med("on", key), med("off", key)
        paired = statistics.median(
            a[key] / b[key] for a, b in zip(times["on"], times["off"], strict=True)
        )  # fmt: skip
        print(
            f"  {label:12s} on/off: ratio of medians {on / off:.3f}, extra {on - off:+.3f} s, "
            f"median of per-round ratios {paired:.3f}   (goal: < 1.03)"
        )


if __name__ == "__main__":
    main()
