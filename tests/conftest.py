"""Fixtures shared by the core's tests. Plugin-author fixtures come from trainhooks.testing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from builders import breast_cancer
from helpers import REPO

TRAINHOOKS = Path(sys.executable).with_name("trainhooks")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty directory, so nothing lands in the repository."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the example plugin and the broken test plugins installed by pip."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO / "examples" / "eventlog-plugin"),
            str(REPO / "tests" / "plugin_packages" / "broken"),
        ],
        check=True,
    )
    return target


CliRunner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_cli() -> CliRunner:
    """Run the installed ``trainhooks`` command; ``site`` adds a plugin directory to its path."""

    def run(*args: str, site: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        if site is not None:
            full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), full_env.get("PYTHONPATH")]))
        return subprocess.run([str(TRAINHOOKS), *args], capture_output=True, text=True, env=full_env, timeout=300)

    return run


@pytest.fixture(scope="session")
def small_xy() -> tuple[np.ndarray, np.ndarray]:
    """300 standardised rows of breast_cancer: quick to fit, two classes."""
    return breast_cancer(300)
