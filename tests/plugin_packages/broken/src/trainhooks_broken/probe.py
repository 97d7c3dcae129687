"""Leaves a marker file when imported, so tests can prove a blocked plugin is never imported."""

import os
from pathlib import Path

from trainhooks.hooks import hookimpl

_marker = os.environ.get("TRAINHOOKS_PROBE_MARKER")
if _marker:
    Path(_marker).write_text("imported")


class Plugin:
    @hookimpl
    def trainhooks_on_run_start(self, event):
        pass
