"""A page rendered by headless Chromium (Debian's; `.ci/run` installs it in CI), as the
report tests check it: the screenshot's pixels, or a skip with a reason outside CI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def screenshot(html_path: Path, tmp_path: Path, *, height_px: int = 2000) -> np.ndarray:
    """RGB(A) pixels of ``html_path`` rendered 1200 px wide and ``height_px`` tall."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium): HTML checked, rendering not")
    shot = tmp_path / f"{html_path.stem}.png"
    subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    f"--window-size=1200,{height_px}", html_path.as_uri()],
                   capture_output=True, timeout=90, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    import matplotlib.image as mpimg

    return mpimg.imread(shot)
