"""The pluggy project name and the two markers every plugin uses."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "trainhooks"
"""The pluggy project name; also the entry-point group third-party plugins register in."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (only hooks/specs/ uses it): ``@hookspec`` or ``@hookspec(firstresult=True)``."""
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementation: ``@hookimpl``, or ``@hookimpl(tryfirst=True)`` /
``@hookimpl(trylast=True)`` to be called before or after the other plugins. Hook wrappers
(``wrapper=True``, ``hookwrapper=True``) are refused when the plugin is loaded."""

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
