"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository (real recordings); skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (CI has ../shared beside the clone)")
    return SHARED_DATA
