"""The Python example of docs/scaling.md runs as written, as a script (worker processes import it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

PAGE = REPO / "docs" / "scaling.md"


@pytest.mark.slow
def test_the_scaling_example_runs_as_a_script(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1
    script = tmp_path / "search.py"
    script.write_text(blocks[0], encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    score, params = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert 0.5 < float(score) <= 1.0 and "alpha" in params
