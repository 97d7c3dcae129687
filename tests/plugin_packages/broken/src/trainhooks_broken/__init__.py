"""Plugins that are broken on purpose, for trainhooks' loader tests."""
