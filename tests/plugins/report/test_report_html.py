"""``trainhooks report``: a real ``trainhooks tune`` run, then one self-contained HTML page built from
what the plugin saved; unknown ids are one line and exit 2; the page renders in headless Chromium
with every figure loaded (skipped, with the reason, where no browser is installed)."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser import dom_after_load, find_browser, screenshot
from builders import run_config, write_toml
from PIL import Image

TRAINHOOKS = Path(sys.executable).with_name("trainhooks")
QUIET = ["--no-plugin", "mlflow", "--no-plugin", "metrics", "--no-plugin", "progress"]


class Images(HTMLParser):
    """Collects every <img src> and every external link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.sources.append(values.get("src") or "")
        for key in ("src", "href"):
            if (values.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(values[key] or "")


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict]:
    """One real CLI tune (8 random trials, a held-out split) in its own directory: (dir, run id, --json)."""
    work = tmp_path_factory.mktemp("report-run")
    config = run_config(
        data={"test_size": 0.2, "random_state": 0},
        search={"n_trials": 8, "space": {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1"]}},
    )
    write_toml(work / "run.toml", config)
    proc = subprocess.run(
        [str(TRAINHOOKS), "tune", "run.toml", "--json", *QUIET], cwd=work, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)
    return work, output["run_id"], output


def report(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TRAINHOOKS), "report", *args], cwd=work, capture_output=True, text=True, timeout=120)


def decoded_images(page: str) -> list[Image.Image]:
    parser = Images()
    parser.feed(page)
    assert parser.external == [], "the page must not fetch anything"
    images = []
    for source in parser.sources:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix), source[:40]
        image = Image.open(io.BytesIO(base64.b64decode(source[len(prefix) :], validate=True)))
        image.load()
        images.append(image)
    return images


@pytest.mark.slow
def test_report_writes_one_self_contained_page_from_the_saved_run(saved_run, tmp_path: Path) -> None:
    work, run_id, output = saved_run
    out = tmp_path / "page.html"
    proc = report(work, run_id[:8], "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert len(decoded_images(page)) == 5  # history, importance, partial dependence, curves, evaluation
    assert page.count('<tr class="') == len(output["trials"])  # one row per trial in the trials table
    assert f"trainhooks tune {run_id}" in page and "held-out class 1: precision" in page

    moved = tmp_path / "elsewhere"
    (work / "trainhooks-runs").rename(moved)
    try:
        assert report(work, run_id, "-o", str(out)).returncode == 2
        proc = report(work, run_id, "-o", str(out), "--dir", str(moved))
        assert proc.returncode == 0, proc.stderr
    finally:
        moved.rename(work / "trainhooks-runs")


@pytest.mark.slow
def test_an_unknown_run_id_is_one_line_with_the_near_miss_and_exit_2(saved_run) -> None:
    work, run_id, _ = saved_run
    typo = run_id[:-1] + ("0" if run_id[-1] != "0" else "1")
    proc = report(work, typo, "-o", "x.html")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: RUN_ID: no run {typo!r} in trainhooks-runs (did you mean {run_id!r}?)"
    ]
    assert not (work / "x.html").exists()


@pytest.mark.slow
def test_the_page_renders_in_headless_chromium_with_every_figure_loaded(saved_run, tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium-family browser on PATH (chromium, google-chrome); .ci/run installs one with apt-get")
    work, run_id, _ = saved_run
    page = tmp_path / "page.html"
    assert report(work, run_id, "-o", str(page)).returncode == 0

    checked = tmp_path / "checked.html"  # the same page plus a script that counts the images the browser decoded
    probe = (
        "<script>window.addEventListener('load', () => { const all = [...document.images];"
        " const ok = all.filter(i => i.complete && i.naturalWidth > 0).length;"
        " document.body.setAttribute('data-loaded', ok + '/' + all.length); });</script>"
    )
    checked.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    assert 'data-loaded="5/5"' in dom_after_load(browser, checked)

    shot = tmp_path / "shot.png"
    screenshot(browser, page, shot)
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    background = np.all(pixels > 245, axis=1)
    colourful = np.ptp(pixels.astype(int), axis=1) > 60  # figure colours, not grey text
    assert background.mean() < 0.97, "screenshot is blank"
    assert colourful.mean() > 0.005, "no figure visible in the screenshot"
