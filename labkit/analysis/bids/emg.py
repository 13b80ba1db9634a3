"""EMG as the BIDS EMG datatype: ``_emg.bdf`` (24-bit BDF, written with edfio), ``_emg.json``,
``_channels.tsv`` (muscle and side per channel) and ``_channels.json``.

The BDF holds the EMG channels in microvolts (``uV``, the EDF+ spelling; from V, mV or uV) and any other
numeric channel of the stream (type MISC, its own unit); the ``counter`` channel is not
data and is left out (the gaps it shows are kept: see :mod:`.placement`). Each channel's
physical range is its data range rounded outward to what the 8-character header field
holds, so the quantisation step is ``(physical max - physical min) / (2**24 - 1)`` and
every sample reads back within half a step.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from labkit.analysis.bids.naming import RunEntities
from labkit.analysis.bids.placement import Grid, sample_grid
from labkit.analysis.bids.tables import write_json, write_tsv
from labkit.errors import ConfigError, LabkitWarning
from labkit.session.reader import Stream

#: microvolts per unit of EMG channels stored in volts or a submultiple
_MICROVOLTS = {"V": 1e6, "mV": 1e3, "uV": 1.0, "\u00b5V": 1.0, "\u03bcV": 1.0}
_LABEL_CHARS = 16  # EDF header: 16 ASCII characters per signal label
_RECORD_CHARS = 8  # EDF header: 8 characters for the data-record duration
_SIDES = {"l": "left", "r": "right", "left": "left", "right": "right"}
_CHANNEL_COLUMNS = ("name", "type", "units", "description", "target_muscle", "side",
                    "signal_electrode", "reference", "group", "status")


def record_layout(rate_hz: float) -> tuple[int, float]:
    """Samples per data record and the record duration (s) for ``rate_hz``.

    EDF needs a whole number of samples per record and a duration of at most 8 characters;
    the shortest such record of at least 10 ms is taken (short records: little padding at
    the end), e.g. 2000 Hz -> (20, 0.01 s), Trigno's 2148.148... Hz -> (29, 0.0135 s).
    """
    best = None
    for n in range(1, math.ceil(rate_hz * 60) + 1):
        text = _fit(n / rate_hz)
        if text is None:
            continue
        duration = float(text)
        if abs(n / duration - rate_hz) <= 1e-12 * rate_hz:
            best = (n, duration)
            if duration >= 0.01:
                break
    if best is None:
        raise ConfigError(f"EMG rate {rate_hz!r} Hz cannot be written to BDF: no whole number of "
                          "samples fits a data record whose duration has at most 8 characters")
    return best


def _fit(seconds: float) -> str | None:
    """``seconds`` as at most 8 characters, or None when that changes the value."""
    for decimals in range(7, -1, -1):
        text = f"{seconds:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{seconds:.0f}"
        if len(text) <= _RECORD_CHARS and text not in ("0", ""):
            return text if math.isclose(float(text), seconds, rel_tol=1e-12) else None
    return None


def outward(value: float, up: bool) -> float:
    """``value`` rounded away from the data (up for a maximum) to at most 8 characters."""
    for decimals in range(7, -1, -1):
        scale = 10.0 ** decimals
        rounded = (math.ceil if up else math.floor)(value * scale) / scale
        text = f"{rounded:.{decimals}f}"
        if len(text) <= 8:
            return float(text)
    raise ConfigError(f"EMG value {value!r} is too large for a BDF header field (8 characters)")


def edf_labels(labels: list[str]) -> list[str]:
    """Unique signal labels of at most 16 ASCII characters: the label when it fits, else each
    word but the last cut to 4 letters (``gluteus_maximus_l`` -> ``glut_maxi_l``), else
    ``ch<n>``."""
    out: list[str] = []
    for i, label in enumerate(labels):
        ascii_label = label.encode("ascii", "replace").decode().replace("?", "_")
        if len(ascii_label) > _LABEL_CHARS:
            words = re.split(r"[_\s]+", ascii_label)
            ascii_label = "_".join([w[:4] for w in words[:-1]] + words[-1:])
        if len(ascii_label) > _LABEL_CHARS or ascii_label in out or not ascii_label:
            ascii_label = f"ch{i + 1}"
        out.append(ascii_label)
    return out


def _is_bipolar(device: dict[str, Any]) -> bool:
    """Delsys Trigno sensors (and labkit's simulation of them) are bipolar surface sensors."""
    text = " ".join(str(device.get(k, "")) for k in ("manufacturer", "model")).lower()
    return any(word in text for word in ("delsys", "trigno", "labkit", "simulated"))


def write_emg(stream: Stream, folder: Path, entities: RunEntities, *, recording: str | None,
              task_fields: dict[str, str], start_utc: datetime | None, labkit_version: str
              ) -> tuple[list[Path], Grid]:
    """Write one EMG stream; returns the files and the grid (its ``start_s`` is the BDF's
    first sample on the session clock, the time origin of the files beside it)."""
    try:
        import edfio
    except ImportError:
        raise ConfigError('BIDS export writes EMG with edfio, which is not installed; install the '
                          'extra: pip install "labkit[bids]"') from None

    cols = [i for i, t in enumerate(stream.channels["type"]) if t != "counter"]
    if stream.channel_format == "string" or not cols or stream.rate_hz <= 0:
        raise ConfigError(f"stream {stream.name!r} is not a regular numeric EMG stream; it cannot be "
                          "written as BIDS EMG")
    if stream.n_samples == 0:
        raise ConfigError(f"stream {stream.name!r} holds no samples; a BIDS EMG file needs data "
                          "(record again, or leave the stream out of the session)")
    grid = sample_grid(stream.times, stream.rate_hz, stream.name)
    per_record, record_s = record_layout(stream.rate_hz)
    # whole records: zeros after the last sample (RecordingDuration says where data ends)
    n_padded = -(-grid.n_places // per_record) * per_record
    data = np.zeros((n_padded, len(cols)))
    samples = stream.data[:, cols].astype(np.float64)
    not_finite = ~np.isfinite(samples)
    if not_finite.any():  # BDF holds integers only: a NaN sample (an imported gap) becomes 0
        warnings.warn(f"stream {stream.name!r}: {int(not_finite.sum())} NaN or infinite samples are "
                      "written as 0 in the BDF file", LabkitWarning, stacklevel=2)
        samples[not_finite] = 0.0
    data[:grid.n_places] = grid.fill(samples, 0.0)
    rows_ch = stream.channels.iloc[cols]
    is_emg = (rows_ch["type"].str.lower() == "emg").to_numpy()
    units = rows_ch["unit"].to_numpy(dtype=object)
    to_uv = np.array([_MICROVOLTS.get(u, 0.0) for u in units])
    scale = np.where(is_emg & (to_uv > 0), to_uv, 1.0)
    data *= scale
    names = edf_labels(list(rows_ch["label"]))
    bipolar = _is_bipolar(stream.device)
    signals, channel_rows = [], []
    for j, (row, name) in enumerate(zip(rows_ch.itertuples(index=False), names, strict=True)):
        unit = "uV" if is_emg[j] and to_uv[j] > 0 else (row.unit or "")
        lo, hi = float(data[:, j].min()), float(data[:, j].max())
        if hi - lo < 1e-9 * max(abs(lo), abs(hi), 1.0):  # a flat channel still needs a range
            lo, hi = lo - 1.0, hi + 1.0
        signals.append(edfio.BdfSignal(data[:, j], stream.rate_hz, label=name,
                                       physical_dimension=unit[:8],
                                       physical_range=(outward(lo, False), outward(hi, True))))
        muscle = str(getattr(row, "muscle", "") or "")
        channel_rows.append((
            name, "EMG" if is_emg[j] else "MISC", unit or "n/a", f"labkit channel {row.label}",
            muscle.replace("_", " ") if is_emg[j] else None,
            _SIDES.get(str(getattr(row, "side", "") or "").lower()),
            name if is_emg[j] and bipolar else None,
            ("bipolar" if bipolar else None) if is_emg[j] else "n/a",
            str(getattr(row, "device_channel", "") or "") or None, "good"))
    stem = dict(recording=recording)
    bdf_path = folder / entities.name("emg", ".bdf", **stem)
    start = start_utc.replace(microsecond=0) if start_utc else None
    edfio.Bdf(signals, patient=edfio.Patient(code=entities.sub),
              recording=edfio.Recording(startdate=start.date() if start else None,
                                        equipment_code=_ascii_code(stream.device.get("model", "X"))),
              starttime=start.time() if start else None,
              data_record_duration=record_s).write(bdf_path)
    if grid.gaps:
        missing = sum(n for _, n in grid.gaps)
        warnings.warn(f"stream {stream.name!r}: {missing} dropped samples in {len(grid.gaps)} gaps are "
                      "written as 0 in the BDF file and marked 'samples_missing' in _events.tsv",
                      LabkitWarning, stacklevel=2)
    n_emg = int(is_emg.sum())
    sidecar = {
        **task_fields,
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": (
            "labkit records the target muscle and side of each sensor (channels.tsv); the "
            "placement procedure itself is not recorded in the session."),
        "EMGReference": "Bipolar" if bipolar else "n/a",
        "SamplingFrequency": stream.rate_hz,
        "PowerLineFrequency": "n/a",
        "RecordingType": "continuous",
        "SoftwareFilters": "n/a",
        "HardwareFilters": "n/a",
        "EMGChannelCount": n_emg,
        "RecordingDuration": grid.n_places / stream.rate_hz,
        "Manufacturer": str(stream.device.get("manufacturer", "")) or "n/a",
        "ManufacturersModelName": str(stream.device.get("model", "")) or "n/a",
        "SoftwareVersions": f"labkit {labkit_version}",
    }
    if stream.device.get("serial"):
        sidecar["DeviceSerialNumber"] = str(stream.device["serial"])
    files = [bdf_path, write_json(folder / entities.name("emg", ".json", **stem), sidecar)]
    channels_tsv = write_tsv(folder / entities.name("channels", ".tsv", **stem), _CHANNEL_COLUMNS,
                             channel_rows)
    files += [channels_tsv, write_json(channels_tsv.with_suffix(".json"), {
        "side": {"Description": "Body side of the target muscle.",
                 "Levels": {"left": "left side", "right": "right side"}},
        "group": {"Description": "Sensor (device channel) the channel comes from."},
    })]
    return files, grid


def _ascii_code(text: str) -> str:
    """An EDF+ subfield: printable ASCII without spaces."""
    code = re.sub(r"[^!-~]", "_", str(text))
    return code[:40] or "X"
