"""Force plates as BIDS physio: ``_recording-<stream>_physio.tsv.gz`` and ``_physio.json``.

BIDS has no force-plate datatype. Its "physiological and other continuous recordings"
(``_physio``) are the one BIDS file for a regular multi-channel signal recorded beside a
datatype's data: the validator accepts them in the ``emg``, ``motion`` and ``beh``
folders, ``Columns`` names each column and each column's ``Units`` is stated, and
``StartTime`` ties the first sample to the data file beside it. Writing the forces as
motion channels instead would call them positions of tracked points (BIDS Motion's
components are only x, y, z and quaternion parts), and a non-BIDS file in
``.bidsignore`` would not be validated at all; docs/bids.md says more.

Columns: the stream's channels in order (``fp1.Fx`` ... ``fp2.Mz``; N and N.m, the load on
the plate as labkit stores it), without ``counter``; one row per sample on the nominal
grid, a dropped sample's row ``n/a``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labkit.analysis.bids.naming import RunEntities
from labkit.analysis.bids.placement import sample_grid
from labkit.analysis.bids.tables import write_json, write_matrix
from labkit.errors import ConfigError
from labkit.session.reader import Stream

_DESCRIBE = {"Fx": "force along the plate's x axis", "Fy": "force along the plate's y axis",
             "Fz": "vertical force", "Mx": "moment about the plate's x axis",
             "My": "moment about the plate's y axis", "Mz": "moment about the plate's z axis"}


def write_force(stream: Stream, folder: Path, entities: RunEntities, *, recording: str,
                task_fields: dict[str, str], reference_start_s: float | None, labkit_version: str
                ) -> tuple[list[Path], float]:
    """Write one force stream as physio; ``StartTime`` is its first sample minus
    ``reference_start_s`` (the first sample of the data file it accompanies; None: it is
    its own reference). Returns the files and its first sample's synchronised time."""
    cols = [i for i, t in enumerate(stream.channels["type"]) if t != "counter"]
    if stream.channel_format == "string" or not cols or stream.rate_hz <= 0 or stream.n_samples == 0:
        raise ConfigError(f"stream {stream.name!r} is not a regular numeric force stream; it cannot be "
                          "written as BIDS physio")
    grid = sample_grid(stream.times, stream.rate_hz, stream.name)
    data = grid.fill(stream.data[:, cols].astype(np.float64), np.nan)
    rows_ch = stream.channels.iloc[cols]
    stem = dict(recording=recording)
    tsv = write_matrix(folder / entities.name("physio", ".tsv.gz", **stem), data,
                       [stream.data.dtype] * len(cols))
    columns = list(rows_ch["label"])
    sidecar = {
        **task_fields,
        "SamplingFrequency": stream.rate_hz,
        "StartTime": 0.0 if reference_start_s is None else round(grid.start_s - reference_start_s, 9),
        "Columns": columns,
        "PhysioType": "generic",
        "Manufacturer": str(stream.device.get("manufacturer", "")) or "n/a",
        "ManufacturersModelName": str(stream.device.get("model", "")) or "n/a",
        "SoftwareVersions": f"labkit {labkit_version}",
        "Description": (f"labkit stream {stream.name!r} ({stream.type}): force-plate loads as "
                        "labkit stores them (the load on the plate, plate frame, moments about "
                        "the plate origin); no force-plate datatype exists in BIDS."),
    }
    for row in rows_ch.itertuples(index=False):
        comp = str(getattr(row, "component", "") or "")
        plate = str(getattr(row, "plate", "") or "")
        what = _DESCRIBE.get(comp, f"channel {row.label}")
        sidecar[row.label] = {"Description": f"{plate} {what}".strip(), "Units": row.unit or "n/a"}
    json_path = write_json(folder / entities.name("physio", ".json", **stem), sidecar)
    return [tsv, json_path], grid.start_s
