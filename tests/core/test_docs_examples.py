"""The Python examples in the core's docs run as written.

A code block whose first line is ``# name.py`` is saved under that name (a module the next blocks
import, or a ``test_*.py`` run with pytest); any other ``python`` block is executed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

DOCS = REPO / "docs"
PAGES = ["configuration.md", "index.md", "tuning.md", "writing-plugins.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_python_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no python example"
    monkeypatch.syspath_prepend(str(tmp_path))
    for code in blocks:
        first = code.splitlines()[0].strip()
        name = first[2:].strip() if re.fullmatch(r"# [\w-]+\.py", first) else None
        if name is None:
            exec(compile(code, f"{page}:example", "exec"), {"__name__": "__docs__"})
            continue
        (tmp_path / name).write_text(code, encoding="utf-8")
        if name.startswith("test_"):
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "mlflow.db").exists()
