"""Names, dtypes and limits of the labkit session format, version 1.

This module is the single source of truth for the on-disk layout; ``docs/session-format.md``
describes the same layout for readers who use plain h5py or HDFView.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit import _json

FORMAT_NAME = "labkit-session"
FORMAT_VERSION = 1

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_RECOVERED = "recovered"
STATUS_INTERRUPTED = "interrupted"

STREAMS_GROUP = "streams"
RESULTS_GROUP = "results"
CONFIG_GROUP = "config"
EVENTS_PATH = "events"
TRIALS_PATH = "trials"
COMMIT_PATH = "committed"

#: Root attributes every session has (all UTF-8 strings except ``format_version``).
ROOT_ATTRS = (
    "format",
    "format_version",
    "session_id",
    "created_utc",
    "ended_utc",
    "labkit_version",
    "status",
    "subject",
    "operator",
    "protocol",
    "notes",
)


#: Stream types labkit knows; others are allowed but flagged by ``labkit inspect``.
STREAM_TYPES = ("force", "force_raw", "emg", "mocap", "markers", "rigid_body", "ground_truth",
                "counter", "other")

# Fixed-width UTF-8 strings in tables that grow during acquisition: HDF5 SWMR appends
# are only dependable for fixed-size types. Longer text is refused with a clear error,
# never truncated.
EVENT_LABEL_BYTES = 128
EVENT_VALUE_BYTES = 1024
EVENT_SOURCE_BYTES = 128
TRIAL_TEST_BYTES = 64
TRIAL_SIDE_BYTES = 16
TRIAL_STATUS_BYTES = 32
TRIAL_REASON_BYTES = 1024


def _utf8(n_bytes: int) -> np.dtype:
    import h5py

    return h5py.string_dtype("utf-8", n_bytes)


def event_dtype() -> np.dtype:
    """Row type of ``/events``: time (s, session clock), label, value, source."""
    return np.dtype(
        [
            ("time", "<f8"),
            ("label", _utf8(EVENT_LABEL_BYTES)),
            ("value", _utf8(EVENT_VALUE_BYTES)),
            ("source", _utf8(EVENT_SOURCE_BYTES)),
        ]
    )


def trial_dtype() -> np.dtype:
    """Row type of ``/trials``."""
    return np.dtype(
        [
            ("id", "<i8"),
            ("test", _utf8(TRIAL_TEST_BYTES)),
            ("side", _utf8(TRIAL_SIDE_BYTES)),
            ("attempt", "<i8"),
            ("start", "<f8"),
            ("end", "<f8"),
            ("status", _utf8(TRIAL_STATUS_BYTES)),
            ("reason", _utf8(TRIAL_REASON_BYTES)),
        ]
    )


def clock_offset_dtype() -> np.dtype:
    """Row type of ``/streams/<name>/clock_offsets`` (all seconds, float64).

    ``collection_time`` is on the receiver (session) clock; ``offset`` is receiver minus
    sender clock, so ``sender_time + offset`` is the session time; ``rtt`` is the
    round-trip time of the measurement.
    """
    return np.dtype([("collection_time", "<f8"), ("offset", "<f8"), ("rtt", "<f8")])


def to_json(value: Any) -> str:
    """Serialise provenance and descriptions as JSON text (never pickle).

    :mod:`labkit._json`'s file-format rule: NaN and infinities are kept (``NaN``,
    ``Infinity``), so they read back exactly.
    """
    return _json.dumps(value, nan="keep", sort_keys=True, ensure_ascii=False)
