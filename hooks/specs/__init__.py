"""Hook specifications, one module per domain; :data:`SPEC_MODULES` lists them all."""

from . import decisions, lifecycle, setup, state

SPEC_MODULES = (lifecycle, decisions, setup, state)

__all__ = ["SPEC_MODULES", "decisions", "lifecycle", "setup", "state"]
