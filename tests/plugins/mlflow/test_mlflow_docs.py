"""The Python example in docs/mlflow.md runs as written (and logs where it says)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import REPO

DOC = REPO / "docs" / "mlflow.md"


@pytest.mark.slow
def test_mlflow_doc_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/mlflow.md:example", "exec"), {"__name__": "__docs__"})
    assert not (tmp_path / "mlflow.db").exists()  # it logged to its own store, as it says


def test_mlflow_doc_lists_every_setting() -> None:
    from trainhooks.plugins.mlflow import MlflowSettings

    text = DOC.read_text(encoding="utf-8")
    for name in MlflowSettings.model_fields:
        assert re.search(rf"^#? ?{name} = ", text, re.MULTILINE), name
