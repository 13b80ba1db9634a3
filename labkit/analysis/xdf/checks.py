"""What the XDF import checks beyond the framing: the footer's sample count and stamps on
another clock than the clock offsets."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from labkit.signal.sync import foreign_clock_gap_s

#: pyxdf's thresholds for an anomalous last clock offset (``_detect_corrupted_clock_offset``)
_LAST_OFFSET_INTERVAL_RATIO = 10.0
_LAST_OFFSET_ZSCORE = 10.0


@dataclass(frozen=True)
class FooterCheck:
    """How a stream's samples compare with its footer's ``sample_count``.

    ``keep`` is the number of samples to import, ``drop_last_offset`` whether the last
    clock offset goes too, ``note`` what to report ('' when the counts agree).
    """

    keep: int
    drop_last_offset: bool
    note: str


def footer_sample_count(footer_xml: str) -> int | None:
    """The footer's ``<sample_count>``, or None when the footer has none (or is no XML)."""
    if not footer_xml:
        return None
    try:
        text = (ET.fromstring(footer_xml).findtext("sample_count") or "").strip()
        return int(text) if text else None
    except (ET.ParseError, ValueError):
        return None


def _last_offset_is_anomalous(times: np.ndarray, values: np.ndarray) -> bool:
    """pyxdf's test of the last clock offset: its interval is > 10x the median interval,
    or its value is > 10 robust SDs from the others (liblsl#246)."""
    if len(times) < 3:
        return False
    intervals = np.diff(times)
    median_interval = float(np.median(intervals[:-1]))
    last = abs(float(intervals[-1]))
    ratio = last / median_interval if median_interval > 0 else (np.inf if last > 0 else 1.0)
    others = values[:-1]
    mad = float(np.median(np.abs(others - np.median(others))))
    z = abs(float(values[-1] - np.median(others))) / (1.4826 * mad) if mad > np.finfo(float).eps else 0.0
    return bool(ratio > _LAST_OFFSET_INTERVAL_RATIO or z > _LAST_OFFSET_ZSCORE)


def check_footer(n_samples: int, footer_xml: str, offsets: list[tuple[float, float]]) -> FooterCheck:
    """Honour the footer's sample count as pyxdf does, or say how it differs.

    pyxdf drops the samples beyond the footer's ``sample_count`` and the last clock offset
    when both are there: more samples than the footer counted and an anomalous last offset
    (an outlet destroyed while LabRecorder's inlet was connected writes one extra sample
    and a garbage offset: pylsl#67, liblsl#246). Any other difference keeps every sample
    (LabRecorder may write the footer before the last samples arrive) and is reported.
    """
    count = footer_sample_count(footer_xml)
    if count is None or count == n_samples:
        return FooterCheck(n_samples, False, "")
    times = np.array([p[0] for p in offsets], dtype=np.float64)
    values = np.array([p[1] for p in offsets], dtype=np.float64)
    if n_samples > count and _last_offset_is_anomalous(times, values):
        return FooterCheck(count, True,
                           f"{n_samples - count} samples beyond the footer's sample_count {count} "
                           "with an anomalous last clock offset (liblsl#246): both dropped, as "
                           "pyxdf does")
    return FooterCheck(n_samples, False,
                       f"the footer's sample_count is {count} but the file holds {n_samples} "
                       "samples: all kept")


def foreign_clock_note(stamps: np.ndarray, offsets: list[tuple[float, float]]) -> str:
    """Why a stream keeps its own clock ('' when its stamps are on its offsets' clock).

    XDF offsets are ``(collection time on the sender clock, offset)``; stamps far outside
    the span of those collection times are on another clock (:func:`foreign_clock_gap_s`).
    """
    if not offsets or len(stamps) == 0:
        return ""
    sender_ct = np.array([p[0] for p in offsets], dtype=np.float64)
    gap = foreign_clock_gap_s(stamps, sender_ct)
    if not gap:
        return ""
    return (f"stamps near {float(np.median(stamps)):.6g} s but clock offsets measured near "
            f"{float(np.median(sender_ct)):.6g} s ({gap:.3g} s apart): another clock, so the "
            "offsets are not applied and it keeps its own clock")


def footer_rtts(footer_xml: str, offsets: list[tuple[float, float]]) -> np.ndarray:
    """Round-trip times of the clock offsets from a footer labkit wrote (NaN when unknown).

    XDF's ClockOffset chunks have no round-trip time; labkit's export writes it as an
    ``<rtt>`` beside each ``<offset>``'s ``<time>`` and ``<value>`` in LabRecorder's footer
    copy of the offsets (other readers ignore it). It is used only when the footer's
    offsets are exactly the file's ClockOffset chunks.
    """
    out = np.full(len(offsets), np.nan)
    if not footer_xml or not offsets:
        return out
    try:
        nodes = ET.fromstring(footer_xml).findall("clock_offsets/offset")
        if len(nodes) != len(offsets):
            return out
        rtts = []
        for node, (t, v) in zip(nodes, offsets, strict=True):
            if float(node.findtext("time") or "nan") != t or float(node.findtext("value") or "nan") != v:
                return out
            rtts.append(float(node.findtext("rtt") or "nan"))
    except (ET.ParseError, ValueError):
        return out
    return np.asarray(rtts, dtype=np.float64)
