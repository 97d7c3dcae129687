"""What the run journal costs: examples/quickstart.toml with ``[run] journal`` on and off.

One process, the quickstart as it ships (20-trial bayes search, breast_cancer, SGDClassifier,
5-fold CV, 10 epochs), plugins blocked so only the journal differs. The two variants alternate
within each round (which one goes first alternates too), and the median of the per-round on/off
ratios is reported beside the medians of each variant: on a shared machine whose load comes and
goes, the paired ratio is the steadier number. On a loaded machine even that swings by more than
the journal costs, so the time spent inside the journal writer (JSON encoding, writes, the fsync
at each trial boundary, plugin states) is also summed over each journaled run and given as a
share of that run's wall time: the journal's cost measured directly.

Goal (issue 13): on/off <= 1.02 (2 % wall).
Run:  .venv/bin/python benchmarks/journal.py [--rounds 7]
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
from trainhooks.journal import JournalWriter
from trainhooks.plugin_loader import BUILTIN_PLUGINS
from trainhooks.resume import RunJournal

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.toml"


INSIDE = [0.0]
"""Seconds spent in the journal's writing methods since the last reset."""


def _timed(method):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            INSIDE[0] += time.perf_counter() - started

    return wrapper


JournalWriter.write = _timed(JournalWriter.write)  # type: ignore[method-assign]
RunJournal.trial_boundary = _timed(RunJournal.trial_boundary)  # type: ignore[method-assign]  # includes states


def timed_run(journal: bool, root: Path) -> float:
    config = load_config(QUICKSTART, {"run.journal": journal, "run.dir": str(root)})
    session = trainhooks.Session(disable=list(BUILTIN_PLUGINS), autoload=False)
    started = time.perf_counter()
    session.run_config(config, "tune")
    return time.perf_counter() - started


def fsync_cost(root: Path, n: int = 200) -> float:
    """Median seconds of one append + flush + fsync of a trial-boundary-sized line."""
    path = root / "fsync-probe.jsonl"
    line = "x" * 2000 + "\n"
    times = []
    with path.open("a", encoding="utf-8") as fh:
        for _ in range(n):
            started = time.perf_counter()
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of each variant (default 7)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed_run(True, root / "warmup")  # imports, caches
        on, off, ratios, shares = [], [], [], []
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            got = {}
            for journal in order:
                INSIDE[0] = 0.0
                got[journal] = timed_run(journal, root / f"r{i}")
                if journal:
                    shares.append(INSIDE[0] / got[journal])
            on.append(got[True])
            off.append(got[False])
            ratios.append(got[True] / got[False])
            print(
                f"round {i + 1}: on {got[True]:.3f} s, off {got[False]:.3f} s, ratio {ratios[-1]:.3f}, "
                f"inside the journal {shares[-1]:.2%}",
                flush=True,
            )
        sync = fsync_cost(root)
        journal_bytes = sum(p.stat().st_size for p in (root / "r0").glob("*/journal.jsonl"))
    print(f"median wall: journal on {statistics.median(on):.3f} s, off {statistics.median(off):.3f} s")
    print(f"median on/off ratio: {statistics.median(ratios):.4f} (goal <= 1.02)")
    print(f"time inside the journal: median {statistics.median(shares):.2%} of the run's wall time")
    print(f"one fsync'ed boundary line: {sync * 1e3:.2f} ms; journal size: {journal_bytes / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
