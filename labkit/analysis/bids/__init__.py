"""Export a session as a BIDS dataset (EMG, Motion, force plates as physio, events).

``export_bids(session, root)`` writes, under ``ROOT/sub-<sub>[/ses-<ses>]/``::

    emg/     ..._emg.bdf, _emg.json, _channels.tsv/.json, _events.tsv/.json
             ..._recording-<force stream>_physio.tsv.gz/.json      (force plates)
    motion/  ..._tracksys-<stream>_motion.tsv/.json, _channels.tsv/.json, _events.tsv/.json

and at ``ROOT`` ``dataset_description.json``, ``participants.tsv``/``.json`` and
``README.md`` (added to, never replaced, when the root holds other sessions). Stream by
stream type: ``emg`` -> BIDS EMG, ``mocap``/``rigid_body`` -> BIDS Motion (tracking system
= stream), ``force``/``force_raw`` -> physio beside the EMG (else the motion, else in
``beh/``); string streams are in the events already (the recorder mirrors markers into
``/events``); other streams are left out with a warning naming them. docs/bids.md is the
full description, with the validator run that checks it.
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from labkit.analysis.bids.dataset import BIDS_VERSION, write_dataset_files
from labkit.analysis.bids.events import event_rows, gap_rows, write_events
from labkit.analysis.bids.naming import RunEntities, bids_label, checked_label
from labkit.errors import ConfigError, LabkitWarning

__all__ = ["BIDS_VERSION", "export_bids"]

_EMG, _MOTION, _FORCE = ("emg",), ("mocap", "rigid_body"), ("force", "force_raw")


def _labels(names: list[str]) -> dict[str, str]:
    """A distinct BIDS label per stream name (``emg_2`` -> ``emg2``; clashes get a number)."""
    out: dict[str, str] = {}
    for name in names:
        base = bids_label(name) or "stream"
        label, k = base, 2
        while label in out.values():
            label, k = f"{base}{k}", k + 1
        out[name] = label
    return out


def _run_files(folder: Path, entities: RunEntities) -> list[Path]:
    """Files in ``folder`` of exactly this subject/session/task/run."""
    if not folder.is_dir():
        return []
    want = {"sub": entities.sub, "ses": entities.ses, "task": entities.task,
            "run": None if entities.run is None else str(entities.run)}
    found = []
    for path in folder.iterdir():
        parts = dict(p.split("-", 1) for p in path.name.split("_")[:-1] if "-" in p)
        if all(parts.get(k) == v for k, v in want.items()):
            found.append(path)
    return sorted(found)


def export_bids(session: str | os.PathLike[str], root: str | os.PathLike[str], *,
                subject: str | None = None, session_label: str | None = None,
                task: str | None = None, run: int | None = None,
                overwrite: bool = False) -> list[Path]:
    """Write one session into the BIDS dataset at ``root``.

    Parameters
    ----------
    session : str or Path
        The session file (.h5).
    root : str or Path
        The dataset folder (created if missing; its parent must exist).
    subject : str, optional
        Subject label; default: the session's athlete code without characters other than
        letters and digits (``SIM-001`` -> ``SIM001``).
    session_label : str, optional
        Session label (``ses-<label>`` folder and entity); default: none.
    task : str, optional
        Task label; default: the protocol name as a label (``hip_battery`` -> ``hipbattery``).
    run : int, optional
        Run index (``run-<n>``); default: none.
    overwrite : bool
        Replace this subject/session/task/run's files if they exist (they are removed
        first, so no file of an earlier export is left beside the new ones).

    Returns
    -------
    list of Path
        Every file written.

    Raises
    ------
    labkit.errors.ConfigError
        A label that is not a BIDS label, a session without an athlete code and no
        ``subject``, files of the same run already in ``root`` without ``overwrite``, a
        session with no stream BIDS can hold.
    """
    from labkit._version import __version__
    from labkit.session.reader import open_session

    root = Path(root)
    with open_session(session) as s:
        info = s.info
        sub = checked_label(subject, "--sub") if subject is not None else bids_label(info.get("subject", ""))
        if not sub:
            raise ConfigError(f"{session}: the session has no athlete code; give a subject label "
                              "with --sub (letters and digits)")
        ses = checked_label(session_label, "--ses") if session_label is not None else None
        protocol = str(info.get("protocol", "") or "")
        task_label = checked_label(task, "--task") if task is not None else (bids_label(protocol) or "labkit")
        if run is not None and (isinstance(run, bool) or int(run) < 0):
            raise ConfigError(f"--run {run!r} is invalid; give a whole number >= 0")
        entities = RunEntities(sub, task_label, ses, None if run is None else int(run))
        task_fields = {"TaskName": protocol or task_label}
        tests = list(dict.fromkeys(s.trials["test"]))
        if tests:
            task_fields["TaskDescription"] = (f"labkit protocol {task_fields['TaskName']}: "
                                              f"{', '.join(tests)} (each trial in _events.tsv)")
        streams = {name: s.stream(name) for name in s.streams}
        events, trials = s.events, s.trials
    by_kind = {kind: [n for n, st in streams.items() if st.type in types and st.channel_format != "string"]
               for kind, types in (("emg", _EMG), ("motion", _MOTION), ("force", _FORCE))}
    left_out = [n for n, st in streams.items() if st.channel_format != "string"
                and not any(n in names for names in by_kind.values())]
    if left_out:
        warnings.warn(f"{session}: streams {left_out} have no BIDS datatype (types "
                      f"{[streams[n].type for n in left_out]}) and are not exported", LabkitWarning,
                      stacklevel=2)
    if not any(by_kind.values()):
        raise ConfigError(f"{session}: no EMG, motion or force stream to export (streams: "
                          f"{sorted(streams)})")
    force_home = "emg" if by_kind["emg"] else "motion" if by_kind["motion"] else "beh"
    folders = {k: entities.folder(root, k) for k in ("emg", "motion", "beh")}
    existing = [p for f in folders.values() for p in _run_files(f, entities)]
    if existing and not overwrite:
        raise ConfigError(f"--bids {root}: {existing[0]} exists (this subject, session, task and run "
                          "were exported before); pass --overwrite to replace them, or give another "
                          "--ses or --run")
    root.mkdir(exist_ok=True)
    # the run's old files are set aside, not deleted, until the new ones are all written: a
    # refusal half way (an empty or unwritable stream) leaves the old export as it was
    kept = [(path, path.with_name(path.name + ".labkit-old")) for path in existing]
    for path, aside in kept:
        path.replace(aside)
    written: list[Path] = []
    try:
        written = _write_run(streams, by_kind, folders, force_home, entities, events, trials,
                             task_fields, _parse_utc(info.get("created_utc", "")), info, written)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for path, aside in kept:
            aside.replace(path)
        raise
    for _, aside in kept:
        aside.unlink()
    return written + write_dataset_files(root, sub, labkit_version=__version__)


def _write_run(streams: dict[str, Any], by_kind: dict[str, list[str]], folders: dict[str, Path],
               force_home: str, entities: Any, events: Any, trials: Any, task_fields: dict[str, Any],
               start_utc: datetime | None, info: Any, written: list[Path]) -> list[Path]:
    """Write one run's EMG, motion, force and events files; ``written`` grows as they are
    written (so a failure can remove them)."""
    from labkit._version import __version__
    from labkit.analysis.bids.emg import write_emg
    from labkit.analysis.bids.forceplates import write_force
    from labkit.analysis.bids.motion import write_motion

    starts: dict[str, float] = {}
    emg_labels = _labels(by_kind["emg"])
    for name in by_kind["emg"]:
        folders["emg"].mkdir(parents=True, exist_ok=True)
        recording = emg_labels[name] if len(by_kind["emg"]) > 1 else None
        files, grid = write_emg(streams[name], folders["emg"], entities, recording=recording,
                                task_fields=task_fields, start_utc=start_utc, labkit_version=__version__)
        starts.setdefault("emg", grid.start_s)
        rows = event_rows(events, trials, grid.start_s) + gap_rows(grid.gaps, streams[name].rate_hz, name)
        written.extend(files + write_events(folders["emg"], entities.name(
            "events", ".tsv", recording=recording), sorted(rows, key=lambda r: r[0])))
    for name, label in _labels(by_kind["motion"]).items():
        folders["motion"].mkdir(parents=True, exist_ok=True)
        files, start_s = write_motion(streams[name], folders["motion"], entities, tracksys=label,
                                      task_fields=task_fields, in_lab_frame=not info.get("source_format"),
                                      labkit_version=__version__)
        starts.setdefault("motion", start_s)
        written.extend(files + write_events(folders["motion"], entities.name(
            "events", ".tsv", tracksys=label), event_rows(events, trials, start_s)))
    for name, label in _labels(by_kind["force"]).items():
        folders[force_home].mkdir(parents=True, exist_ok=True)
        files, start_s = write_force(streams[name], folders[force_home], entities, recording=label,
                                     task_fields=task_fields, reference_start_s=starts.get(force_home),
                                     labkit_version=__version__)
        written += files
        if force_home == "beh" and "beh" not in starts:
            starts["beh"] = start_s
            written += write_events(folders["beh"], entities.name("events", ".tsv"),
                                    event_rows(events, trials, start_s))
    return written


def _parse_utc(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
