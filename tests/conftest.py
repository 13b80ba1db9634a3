"""Shared test helpers.

LSL stays on this machine in tests: liblsl reads its configuration once, at its first
use, so the loopback configuration (with a session id of this test process, so parallel
test runs never see each other's streams) is written when this conftest is imported,
before any test module loads pylsl. Child processes inherit it through ``LSLAPICFG``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from labkit.lsl.loopback import configure_loopback

REPO = Path(__file__).resolve().parents[1]
#: the public recordings the tests use (data/README.md: sources and licences); every clone has them
SHARED_DATA = REPO / "data"

LSL_SESSION_ID = f"labkit-test-{uuid.uuid4().hex}"
configure_loopback(LSL_SESSION_ID)


@pytest.fixture
def shared_data() -> Path:
    """``data/`` of the repository: the real recordings (data/README.md)."""
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} is missing: it ships with the repository"
    return SHARED_DATA
