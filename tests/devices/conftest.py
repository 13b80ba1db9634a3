"""Fixtures for the device tests.

LSL is configured for loopback once per test process, in the root ``tests/conftest.py``
(one session id for the process and the children it starts: two ids in one process would
let a child and its parent miss each other's streams).
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import LSL_SESSION_ID


@pytest.fixture(scope="session")
def lsl_session_id() -> str:
    """The liblsl session id of this test process (only its streams are visible)."""
    return LSL_SESSION_ID


@pytest.fixture
def prefix() -> str:
    """A source_prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"
