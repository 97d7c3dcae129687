"""hooks/ is the whole plugin contract: plugins need nothing else from trainhooks, and it needs nothing back.

Checked statically with ``ast``, over the sources as they are in the repository:

- the example plugin (examples/) and the test plugin packages (tests/plugin_packages/) import
  from trainhooks only ``trainhooks.hooks`` and its submodules;
- hooks/ imports nothing from the core or the built-in plugins (DESIGN section 1).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO

CONTRACT = "trainhooks.hooks"
SKIPPED_DIRS = {"build", "dist", "__pycache__"}


def python_files(root: Path) -> list[Path]:
    """Source files under ``root``, without build output (``build/``, ``*.egg-info``) or caches."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if not any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in path.relative_to(root).parts)
    )


def imported_names(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """``(line, absolute dotted name)`` of everything ``path`` imports; relative imports resolved in ``package``.

    ``from a import b`` yields ``a.b`` (``b`` may be a module or a name defined in ``a``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def is_contract(module: str) -> bool:
    return module == CONTRACT or module.startswith(CONTRACT + ".")


def trainhooks_beyond_contract(path: Path, package: str) -> list[str]:
    """``file:line: imports name`` for every import of trainhooks outside the contract."""
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    return [
        f"{shown}:{line}: imports {name}"
        for line, name in imported_names(path, package)
        if (name == "trainhooks" or name.startswith("trainhooks.")) and not is_contract(name)
    ]


PLUGIN_SOURCES = [
    *python_files(REPO / "examples" / "eventlog-plugin"),
    *python_files(REPO / "tests" / "plugin_packages"),
]
"""The plugin packages. Other examples (examples/tabular) are user scripts of the Python API, not plugins."""


def test_the_plugin_sources_are_found() -> None:
    names = {path.name for path in PLUGIN_SOURCES}
    assert {"latin.py", "misspelt.py", "probe.py"} <= names


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_contract(path: Path) -> None:
    # a plugin's relative imports stay inside its own package, whatever we call it here
    assert trainhooks_beyond_contract(path, "plugin_package") == []


HOOKS_SOURCES = python_files(REPO / "hooks")


@pytest.mark.parametrize("path", HOOKS_SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_hooks_import_nothing_from_core_or_plugins(path: Path) -> None:
    package = ".".join([CONTRACT, *path.relative_to(REPO / "hooks").parts[:-1]])
    assert trainhooks_beyond_contract(path, package) == []


def test_the_check_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import trainhooks\n"
        "from trainhooks import hooks\n"  # the same as import trainhooks.hooks
        "from trainhooks.space import SearchSpace\n"
        "import trainhooks.hooks.signals\n"
        "from trainhooks.hooks import hookimpl\n"
        "from .. import config\n",
        encoding="utf-8",
    )
    found = [line.split(": imports ")[1] for line in trainhooks_beyond_contract(bad, "trainhooks.hooks.specs")]
    assert found == ["trainhooks", "trainhooks.space.SearchSpace"]  # hooks.specs' ".." is still the contract
    found = [line.split(": imports ")[1] for line in trainhooks_beyond_contract(bad, "trainhooks.hooks")]
    assert found == ["trainhooks", "trainhooks.space.SearchSpace", "trainhooks.config"]
