"""docs/early-stopping.md: its Python examples run as written and show what the page says."""

from __future__ import annotations

import re

import pytest
from helpers import REPO

from trainhooks.plugins.early_stopping import StopReason, parse_settings

PAGE = REPO / "docs" / "early-stopping.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.mark.parametrize("index", range(2))
@pytest.mark.slow
def test_python_examples_run(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(blocks("python")[index], f"{PAGE.name}[python {index}]", "exec"), {})
    out = capsys.readouterr().out
    assert out.strip()
    if index == 1:
        assert out.strip().splitlines()[-1] == "search_patience"


def test_toml_example_is_a_valid_table() -> None:
    import tomllib

    table = tomllib.loads(blocks("toml")[0])["plugins"]["early_stopping"]
    assert parse_settings(table).pruner == "median"


def test_every_reason_and_parameter_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    from trainhooks.plugins.early_stopping import EarlyStoppingSettings

    missing = [f"`{r.value}`" for r in StopReason if f"`{r.value}`" not in text]
    missing += [f"`{k}`" for k in EarlyStoppingSettings.model_fields if f"| `{k}` |" not in text]
    assert missing == []
