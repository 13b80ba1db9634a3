"""``_events.tsv`` of one data file: the session's events (cues, weighing, markers) and
trials, with onsets relative to that file's first sample.

Columns: ``onset``, ``duration`` (s; 0 for an event, end - start for a trial, ``n/a`` for
a trial still running), ``trial_type`` (the event label, e.g. ``go``, ``weigh``, or
the trial's test for a trial row, e.g. ``imtp``), ``value`` (the event's value as stored,
JSON text where structured), ``source`` (who sent the event: ``protocol``, ``operator``, a
marker stream), and for trial rows ``trial_id``, ``side``, ``attempt``, ``status``,
``reason``. Times are rounded to the nanosecond. ``_events.json`` describes every column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labkit.analysis.bids.tables import write_json, write_tsv

COLUMNS = ("onset", "duration", "trial_type", "value", "source", "trial_id", "side", "attempt",
           "status", "reason")

DESCRIPTION = {
    "onset": {"Description": "Time of the event or trial start from the first sample of the data "
                             "file (labkit session clock, synchronised).", "Units": "s"},
    "duration": {"Description": "0 for an event; trial end - trial start for a trial.", "Units": "s"},
    "trial_type": {"Description": "For an event its labkit label (for example go, weigh, "
                                  "protocol_started, a marker text); for a trial its test (labkit "
                                  "test catalogue name, e.g. imtp, cmj)."},
    "value": {"Description": "The event's value as labkit stored it (JSON text where structured)."},
    "source": {"Description": "Who sent the event: protocol, operator, or the marker stream it was "
                              "mirrored from."},
    "trial_id": {"Description": "labkit trial id (trial rows; n/a for events)."},
    "side": {"Description": "Side of a sided or directional trial.",
             "Levels": {"left": "left", "right": "right"}},
    "attempt": {"Description": "Attempt number of the trial."},
    "status": {"Description": "Trial status.",
               "Levels": {"valid": "accepted", "invalid": "rejected (see reason)",
                          "aborted": "stopped before its end", "running": "not finished"}},
    "reason": {"Description": "Why a trial is invalid."},
}


def event_rows(events: pd.DataFrame, trials: pd.DataFrame, start_s: float) -> list[tuple]:
    """Rows of ``COLUMNS``, sorted by onset, from session ``events`` and ``trials`` (session
    clock) with onsets relative to ``start_s``."""
    rows = []
    for e in events.itertuples(index=False):
        rows.append((_ns(float(e.time) - start_s), 0.0, e.label, e.value, e.source,
                     None, None, None, None, None))
    for t in trials.itertuples(index=False):
        end = float(t.end)
        rows.append((_ns(float(t.start) - start_s), _ns(end - float(t.start)) if np.isfinite(end) else None,
                     t.test, None, None, int(t.id), t.side, int(t.attempt), t.status, t.reason))
    # stable: an event and a trial at the same time keep the session's order (events first)
    return sorted(rows, key=lambda r: r[0])


def gap_rows(gaps: list[tuple[int, int]], rate_hz: float, stream: str) -> list[tuple]:
    """Rows marking dropped samples (``samples_missing``, duration = the samples missing)."""
    return [(_ns(first / rate_hz), _ns(n / rate_hz), "samples_missing", f"{n} samples", stream,
             None, None, None, None, None) for first, n in gaps]


def _ns(seconds: float) -> float:
    """Seconds rounded to the nanosecond (float noise of the clock subtraction dropped)."""
    return round(seconds, 9)


def write_events(folder: Path, name: str, rows: list[tuple]) -> list[Path]:
    """``<name>`` (``..._events.tsv``) and its ``.json`` description in ``folder``."""
    tsv = write_tsv(folder / name, COLUMNS, rows)
    return [tsv, write_json(tsv.with_suffix(".json"), DESCRIPTION)]
