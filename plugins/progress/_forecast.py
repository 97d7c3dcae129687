"""How far a run is and when it will end: counts, best so far, rate and ETA (no I/O, no clock of its own).

The ETA is what people plan by, so it follows how the core actually runs trials: ``slots`` trials
at a time (``search.n_jobs``), until ``n_trials`` have ended or ``timeout_s`` has passed, whichever
comes first. It is estimated from the wall time of the trials that ended (``duration_s``): the
remaining trials take ``remaining x mean duration / slots`` (never more slots than trials left),
minus the time the running trials have already spent. Every method takes ``now`` from the caller's
clock, so a test drives it with a fake one.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Eta:
    """Seconds until the run should end, and which budget ends it (``"n_trials"`` or ``"timeout"``)."""

    seconds: float
    bound: str


@dataclass
class Forecast:
    """The state of one run as the progress display sees it."""

    total: int
    """Trials the run may start (``search.n_trials``; 1 for a train run)."""
    started_at: float
    """When the run started, on the caller's clock."""
    slots: int = 1
    """Trials that run at the same time (``search.n_jobs``)."""
    timeout_s: float | None = None
    """``search.timeout_s``: no trial starts after it."""
    counts: dict[str, int] = field(default_factory=lambda: {"complete": 0, "pruned": 0, "failed": 0})
    best: float | None = None
    best_trial: int | None = None
    durations: list[float] = field(default_factory=list)
    running: dict[int, float] = field(default_factory=dict)  # trial id -> when it started

    @property
    def done(self) -> int:
        """Trials that ended, whatever their state."""
        return sum(self.counts.values())

    def trial_started(self, trial_id: int, now: float) -> None:
        self.running[trial_id] = now

    def trial_ended(self, trial_id: int, state: str, score: float | None, duration_s: float) -> None:
        """Count the trial; a complete trial with a finite score may become the best (greater is better)."""
        self.running.pop(trial_id, None)
        self.counts[state] = self.counts.get(state, 0) + 1
        self.durations.append(max(0.0, duration_s))
        finite = score is not None and math.isfinite(score)
        if state == "complete" and finite and (self.best is None or score > self.best):  # type: ignore[operator]
            self.best, self.best_trial = score, trial_id

    def rate_per_min(self, now: float) -> float | None:
        """Trials ended per minute of wall time so far (``None`` before the first one)."""
        elapsed = now - self.started_at
        return self.done / elapsed * 60.0 if self.done and elapsed > 0 else None

    def eta(self, now: float) -> Eta | None:
        """Time left until the run ends, or ``None`` while there is nothing to estimate from."""
        remaining = max(0, self.total - self.done)
        by_trials: float | None = None
        if remaining == 0:
            by_trials = 0.0
        elif self.durations:
            mean = statistics.fmean(self.durations)
            spent = sum(min(now - t, mean) for t in self.running.values())
            by_trials = max(0.0, remaining * mean - spent) / max(1, min(self.slots, remaining))
        by_timeout = None if self.timeout_s is None else max(0.0, self.started_at + self.timeout_s - now)
        if by_timeout is not None and (by_trials is None or by_timeout < by_trials):
            return Eta(by_timeout, "timeout")
        return None if by_trials is None else Eta(by_trials, "n_trials")


def format_duration(seconds: float) -> str:
    """``42s``, ``3:05``, ``1:02:03``: short enough for one status line."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}" if minutes else f"{secs}s"


__all__ = ["Eta", "Forecast", "format_duration"]
