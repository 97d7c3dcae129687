"""Headless Chromium for the report tests: find it, screenshot a page, dump its DOM after load."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The first Chromium-family browser on PATH, or ``None``."""
    return next((path for path in map(shutil.which, NAMES) if path), None)


def _run(browser: str, page: Path, *flags: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:  # a fresh profile every time
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                "--virtual-time-budget=10000",
                *flags,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )


def screenshot(browser: str, page: Path, out: Path, *, width: int = 1200, height: int = 3200) -> None:
    """Render ``page`` and save a PNG screenshot of the top ``width`` x ``height`` pixels to ``out``."""
    proc = _run(browser, page, f"--screenshot={out}", f"--window-size={width},{height}")
    assert out.is_file(), proc.stderr[-2000:]


def dom_after_load(browser: str, page: Path) -> str:
    """The page's DOM as Chromium serialises it after loading (scripts have run)."""
    proc = _run(browser, page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
