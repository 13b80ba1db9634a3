"""LSL on loopback for the device tests, with a session id of its own per test process.

liblsl reads its configuration once, at its first use, so the configuration is written
when this conftest is imported: before any test module (or labkit module) loads pylsl.
"""

from __future__ import annotations

import uuid

import pytest

from labkit.lsl.loopback import configure_loopback

LSL_SESSION_ID = f"labkit-test-{uuid.uuid4().hex}"
configure_loopback(LSL_SESSION_ID)


@pytest.fixture(scope="session", autouse=True)
def lsl_session_id() -> str:
    """The liblsl session id of this test process (only its streams are visible)."""
    return LSL_SESSION_ID


@pytest.fixture
def prefix() -> str:
    """A source_prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"

