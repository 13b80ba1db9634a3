"""The dataset's top-level files: ``dataset_description.json``, ``participants.tsv`` (with
``participants.json``) and ``README.md``. Exporting more sessions into one root adds their
participants and leaves the description and README as they are."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labkit.analysis.bids.tables import write_json, write_tsv

#: The BIDS release whose EMG datatype (merged in 1.11.0) and physio rules the export follows.
BIDS_VERSION = "1.11.1"

_README = """# labkit BIDS export

Sessions recorded with labkit (force plates, EMG, motion capture) exported with
`labkit export SESSION --bids ROOT`.

- `emg/`: EMG as 24-bit BDF (microvolts), one `_emg.bdf` per EMG stream, with
  `_channels.tsv` (target muscle and side per channel) and `_events.tsv`.
- `motion/`: motion capture per tracking system (`tracksys-<stream>`): `_motion.tsv` with a
  `latency` column, `_channels.tsv`, `_events.tsv`.
- force plates: `_recording-<stream>_physio.tsv.gz` beside the EMG (or the motion data),
  forces in N and moments in N.m as labkit stores them; `StartTime` in `_physio.json` ties
  them to the EMG file's first sample. BIDS has no force-plate datatype.
- `_events.tsv`: the session's events (cues, weighing, markers) and trials; onsets from the
  first sample of the data file beside it.
"""


def write_dataset_files(root: Path, participant: str, *, labkit_version: str) -> list[Path]:
    """Write (or add to) the top-level files; returns the files written or changed."""
    written = []
    description = root / "dataset_description.json"
    if not description.exists():
        written.append(write_json(description, {
            "Name": "labkit sessions",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "raw",
            "GeneratedBy": [{"Name": "labkit", "Version": labkit_version,
                             "Description": "labkit export --bids"}],
        }))
    if not any(root.glob("README*")):
        readme = root / "README.md"
        readme.write_text(_README, encoding="utf-8")
        written.append(readme)
    participants = root / "participants.tsv"
    pid = f"sub-{participant}"
    if participants.exists():
        table = pd.read_csv(participants, sep="\t", dtype=str, keep_default_na=False)
        if pid not in set(table.get("participant_id", [])):
            table = pd.concat([table, pd.DataFrame({"participant_id": [pid]})], ignore_index=True)
            written.append(write_tsv(participants, list(table.columns),
                                     table.fillna("n/a").itertuples(index=False)))
    else:
        written.append(write_tsv(participants, ["participant_id"], [(pid,)]))
    sidecar = root / "participants.json"
    if not sidecar.exists():
        written.append(write_json(sidecar, {"participant_id": {
            "Description": "BIDS subject label; labkit's athlete code with characters other than "
                           "letters and digits removed (or the --sub given)."}}))
    return written
