"""The wheel built from the tree holds every module of core/, hooks/ and plugins/, under trainhooks."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO

FOLDERS = {"core": "trainhooks", "hooks": "trainhooks/hooks", "plugins": "trainhooks/plugins"}


@pytest.mark.slow
def test_wheel_contains_every_module(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next(tmp_path.glob("trainhooks-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, package in FOLDERS.items():
        for source in (REPO / folder).rglob("*.py"):
            relative = source.relative_to(REPO / folder)
            if folder == "core" and relative.parts[0] in ("hooks", "plugins"):
                continue
            expected.add(f"{package}/{relative.as_posix()}")
    missing = sorted(expected - names)
    assert not missing, f"modules missing from the wheel (add their package to setup.cfg): {missing}"
    assert not any(n.startswith(("core/", "plugins/", "hooks/")) for n in names), "no top-level core/plugins module"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "trainhooks = trainhooks.cli.console:run" in text and "[pytest11]" in text
