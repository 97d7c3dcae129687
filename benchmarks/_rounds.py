"""Interleaved rounds for the benchmarks: every variant once per round, in an order that rotates.

On a shared machine whose load comes and goes, a variant that always ran first (or right after
the slowest one) would be measured under different conditions from the others every round.
"""

from __future__ import annotations

from collections.abc import Sequence


def rotated(names: Sequence[str], round_: int) -> list[str]:
    """``names`` in round ``round_``'s order: shifted by one each round, so none always goes first."""
    shift = round_ % len(names)
    return [*names[shift:], *names[:shift]]
