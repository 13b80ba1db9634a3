"""A real headless Chromium for the web tests, driven by Playwright (its Python package only:
the browser is Debian's /usr/bin/chromium, never a download)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """Debian's chromium, or skip with the reason (`.ci/run` installs it in CI)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not installed (apt-get install chromium): the web screens are not checked")
    return path


@contextlib.contextmanager
def chromium(viewport=(1400, 1000)):
    """A fresh browser (own profile folder) and a function making pages of it."""
    path = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install "
                                   "playwright; no `playwright install`: Debian's chromium is used)")
    with tempfile.TemporaryDirectory(prefix="labkit-chromium-") as profile, sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=path, headless=True, args=FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]})
        try:
            yield context
        finally:
            context.close()
