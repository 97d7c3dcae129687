"""Meta-tests: every hook spec is documented in its docstring and in docs/, with its real arguments."""

from __future__ import annotations

import inspect
import re

import pytest
from helpers import REPO

from trainhooks.hooks import PROJECT_NAME
from trainhooks.hooks.specs import SPEC_MODULES
from trainhooks.plugin_loader import new_plugin_manager

DOCS = REPO / "docs"

SPECS = [
    (name, fn)
    for module in SPEC_MODULES
    for name, fn in inspect.getmembers(module, inspect.isfunction)
    if name.startswith(f"{PROJECT_NAME}_")
]


def test_the_design_hooks_all_exist() -> None:
    names = {name for name, _ in SPECS}
    assert {
        "trainhooks_on_run_start",
        "trainhooks_on_trial_start",
        "trainhooks_on_epoch_end",
        "trainhooks_on_trial_end",
        "trainhooks_on_search_stopped",
        "trainhooks_on_model_registered",
        "trainhooks_on_run_end",
        "trainhooks_on_run_error",
        "trainhooks_on_plugin_error",
        "trainhooks_should_stop_trial",
        "trainhooks_should_stop_search",
        "trainhooks_check_permission",
        "trainhooks_configure",
        "trainhooks_register_strategies",
    } <= names
    manager = new_plugin_manager()
    assert all(getattr(manager.hook, name).spec is not None for name in names)


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=[name for name, _ in SPECS])
def test_spec_docstring_says_when_each_param_and_the_return(name: str, spec) -> None:
    doc = inspect.getdoc(spec) or ""
    summary = doc.splitlines()[0] if doc else ""
    assert summary.endswith((".", "?")), f"{name}: needs a one-line summary"
    for param in inspect.signature(spec).parameters:
        assert f":param {param}:" in doc, f"{name}: no :param {param}: in its docstring"
    assert "return" in doc.lower() or "Stops at first non-None result" in doc, f"{name}: return semantics missing"
    if getattr(spec, f"{PROJECT_NAME}_spec", {}).get("firstresult"):
        assert "Stops at first non-None result." in doc


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=[name for name, _ in SPECS])
def test_every_hook_has_a_generated_entry_with_its_real_arguments_and_flags(name: str, spec) -> None:
    """docs/hooks.md is generated (docs/generate_reference.py; test_reference_docs.py keeps it current)."""
    page = (DOCS / "hooks.md").read_text(encoding="utf-8")
    args = ", ".join(inspect.signature(spec).parameters)
    assert f"`{name}({args})`" in page, f"docs/hooks.md has no entry `{name}({args})`"
    entry = page.split(f"`{name}({args})`", 1)[1].split("\n### ", 1)[0]
    first_line = (inspect.getdoc(spec) or "").splitlines()[0]
    assert first_line.replace("``", "`") in entry, f"docs/hooks.md: {name} does not show its docstring"
    flags = next(line for line in entry.splitlines() if line.startswith("Flags:"))
    firstresult = bool(getattr(spec, f"{PROJECT_NAME}_spec", {}).get("firstresult"))
    assert ("`firstresult`" in flags) == firstresult, f"docs/hooks.md: {name} shows the wrong flags: {flags}"


def test_docs_do_not_mention_hooks_that_do_not_exist() -> None:
    known = {name for name, _ in SPECS}
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS.glob("*.md"))
    mentioned = set(re.findall(r"\b(trainhooks_(?:on|should|check|configure|register|cli)[a-z_]*)\b", text))
    assert mentioned <= known, f"docs mention unknown hooks: {sorted(mentioned - known)}"
