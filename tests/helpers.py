"""Plain helpers shared by tests in every folder (fixtures live in the conftest.py files)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from trainhooks.hooks import hookimpl

REPO = Path(__file__).resolve().parent.parent
"""The repository root: docs/, examples/ and the code folders are found from here."""

HELPER_PATH = os.pathsep.join(str(REPO / "tests" / folder) for folder in ("", "core"))
"""``PYTHONPATH`` for a child process that imports the tests' helper modules (builders, parallel_helpers)."""


def ctrl_c_enabled() -> None:
    """``preexec_fn`` for a child that a test interrupts: Ctrl-C (SIGINT) back to its default.

    A shell starts background jobs with SIGINT ignored, and children inherit that; Python then
    never raises KeyboardInterrupt. Tests run from such a job would otherwise see no Ctrl-C at all.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class CtrlCAfter:
    """Presses Ctrl-C (raises KeyboardInterrupt) when the k-th trial has ended."""

    plugin_name = "ctrl_c"

    def __init__(self, k: int) -> None:
        self.k, self.ended = k, 0

    @hookimpl
    def trainhooks_on_trial_end(self) -> None:
        self.ended += 1
        if self.ended == self.k:
            raise KeyboardInterrupt
