"""Hook specifications, one module per domain; :data:`SPEC_MODULES` lists them all."""

from . import data, decisions, lifecycle, setup, state

SPEC_MODULES = (lifecycle, decisions, data, setup, state)

__all__ = ["SPEC_MODULES", "data", "decisions", "lifecycle", "setup", "state"]
