"""The pluggy project name and the two markers every plugin uses."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "trainhooks"
"""The pluggy project name; also the entry-point group third-party plugins register in."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
