"""``labkit export SESSION --bids ROOT``: a simulated battery session as a BIDS dataset,
checked by the official BIDS validator and read back with independent readers.

Known answers: the session's own samples (the BDF keeps EMG within its quantisation step,
the motion and physio tables keep mocap and plate samples exactly), its trials and
events, and a session written here with a known run of dropped EMG samples.
The validator is the BIDS project's Deno validator (PyPI ``bids-validator-deno``, in the
test extra); outside CI a machine without it skips those tests with the reason.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.analysis.bids import export_bids
from labkit.analysis.bids.emg import outward, record_layout
from labkit.analysis.synthetic import write_battery_session
from labkit.cli import main

#: Warnings the validator gives on an export: metadata the session does not hold (authors,
#: licence, institution, serial numbers, electrode make, task instructions), all "recommended".
EXPECTED_WARNINGS = {
    "NO_AUTHORS", "TOO_FEW_AUTHORS", "JSON_KEY_RECOMMENDED", "SIDECAR_KEY_RECOMMENDED",
}


def _validator() -> list[str]:
    exe = shutil.which("bids-validator-deno") or str(Path(sys.executable).with_name("bids-validator-deno"))
    if not Path(exe).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("bids-validator-deno is missing; the test extra installs it")
        pytest.skip("the BIDS validator is not installed (pip install bids-validator-deno, in the "
                    "test extra)")
    return [exe]


def _validate(root: Path) -> dict:
    run = subprocess.run([*_validator(), "--format", "json", str(root)], capture_output=True,
                         text=True, timeout=300)
    assert run.stdout, run.stderr
    return json.loads(run.stdout)


def _issues(report: dict, severity: str) -> list[dict]:
    return [i for i in report["issues"]["issues"] if i["severity"] == severity]


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def battery(tmp_path_factory) -> Path:
    """A simulated imtp battery session (3 pulls; plates, 8 EMG channels, 20 markers)."""
    return write_battery_session(tmp_path_factory.mktemp("bids") / "battery.h5", seed=3, n_trials=3)


@pytest.fixture(scope="module")
def exported(battery) -> Path:
    root = battery.parent / "bids"
    assert main(["export", str(battery), "--bids", str(root)]) == 0
    return root


def _emg_dir(root: Path) -> Path:
    return root / "sub-SIM003" / "emg"


def test_validator_reports_no_errors(exported):
    report = _validate(exported)
    errors = _issues(report, "error")
    assert errors == [], errors
    warnings = _issues(report, "warning")
    assert {w["code"] for w in warnings} <= EXPECTED_WARNINGS, warnings
    summary = report["summary"]
    assert set(summary["modalities"]) >= {"emg", "motion"}
    assert summary["subjects"] == ["SIM003"] and summary["totalFiles"] == 18


def test_validator_checks_the_emg_sidecar(exported, tmp_path):
    # the validator really reads the EMG files: a required EMG field removed is an error
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    sidecar = _emg_dir(broken) / "sub-SIM003_task-imtp_emg.json"
    content = json.loads(sidecar.read_text())
    del content["EMGReference"]
    sidecar.write_text(json.dumps(content))
    errors = _issues(_validate(broken), "error")
    assert any(e.get("subCode") == "EMGReference" for e in errors), errors


def test_emg_bdf_keeps_samples_within_the_quantisation_step(battery, exported):
    mne = pytest.importorskip("mne", reason="mne reads BDF independently of the writer (test extra)")
    import edfio

    bdf = _emg_dir(exported) / "sub-SIM003_task-imtp_emg.bdf"
    raw = mne.io.read_raw_bdf(bdf, preload=True, verbose="error")
    header = edfio.read_bdf(bdf)
    with labkit.open_session(battery) as s:
        emg = s.stream("emg")
    labels = [lab for lab in emg.labels if lab != "counter"]
    n = emg.n_samples
    assert raw.info["sfreq"] == pytest.approx(emg.rate_hz, rel=1e-12)
    assert len(raw.ch_names) == len(labels) and raw.n_times >= n
    worst = 0.0
    for j, (label, sig) in enumerate(zip(labels, header.signals, strict=True)):
        step_uv = (sig.physical_max - sig.physical_min) / (sig.digital_max - sig.digital_min)
        stored_v = emg.data[:, emg.labels.index(label)].astype(np.float64)
        read_v = raw.get_data(picks=[j])[0][:n]  # mne reads "uV" and returns volts
        err_steps = np.max(np.abs(read_v - stored_v)) / (step_uv * 1e-6)
        worst = max(worst, err_steps)
        assert sig.physical_dimension == "uV"
    assert worst <= 0.5 + 1e-6, worst  # rounding to the nearest level: at most half a step
    print(f"EMG BDF round trip: worst error {worst:.6f} quantisation steps over {len(labels)} channels")


def test_motion_and_force_tables_keep_samples_exactly(battery, exported):
    with labkit.open_session(battery) as s:
        mocap, force, emg = s.stream("mocap"), s.stream("force"), s.stream("emg")
    motion_dir = exported / "sub-SIM003" / "motion"
    stem = "sub-SIM003_task-imtp_tracksys-mocap"
    table = np.loadtxt(motion_dir / f"{stem}_motion.tsv", delimiter="\t")
    channels = pd.read_csv(motion_dir / f"{stem}_channels.tsv", sep="\t", keep_default_na=False)
    assert list(channels["name"][:4]) == ["latency", "LASI.x", "LASI.y", "LASI.z"]
    assert list(channels["component"][1:4]) == ["x", "y", "z"]
    assert set(channels["type"][1:]) == {"POS"} and set(channels["units"][1:]) == {"m"}
    assert channels["tracked_point"][4] == "RASI"
    cols = [i for i, t in enumerate(mocap.channels["type"]) if t != "counter"]
    np.testing.assert_array_equal(table[:, 1:].astype(np.float32), mocap.data[:, cols])
    np.testing.assert_allclose(table[:, 0], mocap.times - mocap.times[0], atol=1e-12)
    sidecar = json.loads((motion_dir / f"{stem}_motion.json").read_text())
    assert sidecar["SamplingFrequency"] == mocap.rate_hz and sidecar["POSChannelCount"] == 60
    assert sidecar["TrackedPointsCount"] == 20

    physio = _emg_dir(exported) / "sub-SIM003_task-imtp_recording-force_physio"
    with gzip.open(f"{physio}.tsv.gz", "rt") as fh:
        plates = np.loadtxt(fh, delimiter="\t")
    meta = json.loads(Path(f"{physio}.json").read_text())
    assert meta["Columns"] == [lab for lab in force.labels if lab != "counter"]
    assert meta["fp1.Fz"]["Units"] == "N" and meta["fp1.Mx"]["Units"] == "N.m"
    np.testing.assert_array_equal(plates, force.data[:, :12])
    assert meta["StartTime"] == pytest.approx(force.times[0] - emg.times[0], abs=1e-9)


def test_events_hold_the_trials_and_cues(battery, exported):
    with labkit.open_session(battery) as s:
        trials, events, t0 = s.trials, s.events, s.stream("emg").times[0]
    table = pd.read_csv(_emg_dir(exported) / "sub-SIM003_task-imtp_events.tsv", sep="\t",
                        keep_default_na=False, na_values=["n/a"])
    rows = table[table["trial_id"].notna()]
    assert list(rows["trial_type"]) == ["imtp"] * 3 and list(rows["status"]) == ["valid"] * 3
    np.testing.assert_allclose(rows["onset"], trials["start"] - t0, atol=1e-9)
    np.testing.assert_allclose(rows["duration"], trials["end"] - trials["start"], atol=1e-9)
    assert sorted(table["trial_type"][table["trial_id"].isna()]) == sorted(events["label"])
    assert list(table["onset"]) == sorted(table["onset"])


def test_dropped_emg_samples_stay_in_place(tmp_path):
    # a Trigno-like stream that lost samples 500..549 (a wireless dropout): the BDF keeps
    # every later sample at its own time, the gap is 0 and marked in _events.tsv
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, StreamSpec, emg_channel

    rate = 29 / 0.0135
    idx = np.r_[0:500, 550:2000]
    volts = (1e-4 * np.sin(idx / 7.0)).astype(np.float32)
    spec = StreamSpec("emg", "emg", [emg_channel("gluteus_maximus", "r", "1"), COUNTER], rate,
                      "float32", device={"manufacturer": "Delsys", "model": "Trigno"})
    path = tmp_path / "gap.h5"
    with SessionWriter(path, [spec], subject="GAP01", protocol="imtp", fsync=False) as w:
        w.append("emg", np.c_[volts, idx], 100.0 + idx / rate)
    with pytest.warns(labkit.errors.LabkitWarning, match="50 dropped samples in 1 gaps"):
        export_bids(path, tmp_path / "bids")
    emg_dir = tmp_path / "bids" / "sub-GAP01" / "emg"
    import edfio

    sig = edfio.read_bdf(emg_dir / "sub-GAP01_task-imtp_emg.bdf").signals[0]
    step_uv = (sig.physical_max - sig.physical_min) / (sig.digital_max - sig.digital_min)
    np.testing.assert_allclose(sig.data[idx], volts * 1e6, atol=step_uv / 2 + 1e-9)
    assert np.all(np.abs(sig.data[500:550]) <= step_uv)
    events = pd.read_csv(emg_dir / "sub-GAP01_task-imtp_events.tsv", sep="\t")
    gap = events[events["trial_type"] == "samples_missing"].iloc[0]
    assert gap["onset"] == pytest.approx(500 / rate, abs=1e-9)
    assert gap["duration"] == pytest.approx(50 / rate, abs=1e-9)
    channels = pd.read_csv(emg_dir / "sub-GAP01_task-imtp_channels.tsv", sep="\t")
    assert (channels["target_muscle"][0], channels["side"][0]) == ("gluteus maximus", "right")
    assert json.loads((emg_dir / "sub-GAP01_task-imtp_emg.json").read_text())["EMGReference"] == "Bipolar"


def test_record_layout_and_header_ranges():
    assert record_layout(2000.0) == (20, 0.01)
    assert record_layout(29 / 0.0135) == (29, 0.0135)  # Trigno: 29 samples per 13.5 ms frame
    assert record_layout(148.1481481481481) == (2, 0.0135)
    # physical ranges are rounded away from the data so that no sample is clipped
    assert outward(-1348.24127, up=False) == -1348.25 and outward(1183.6651, up=True) == 1183.666
    assert outward(0.000123456, up=True) == 0.000124


def test_cli_refuses_a_second_export_and_bad_labels(battery, exported, capsys):
    code, _, err = _run(capsys, "export", battery, "--bids", exported)
    assert code == 2 and "exists" in err and "--overwrite" in err and "Traceback" not in err
    code, _, err = _run(capsys, "export", battery, "--bids", exported, "--sub", "SIM-3")
    assert code == 2 and "--sub 'SIM-3' is not a BIDS label" in err and "'SIM3'" in err
    code, _, err = _run(capsys, "export", battery, "--bids", exported, "-o", exported / "x.c3d")
    assert code == 2 and "give one" in err
    code, _, err = _run(capsys, "export", battery, "-o", exported / "x", "--run", "2")
    assert code == 2 and "--sub/--ses/--task/--run are for BIDS export" in err


def test_more_sessions_go_into_one_dataset(tmp_path, capsys):
    battery = write_battery_session(tmp_path / "one.h5", seed=4, n_trials=1)  # one pull: quick
    root = tmp_path / "lab"
    code, _, err = _run(capsys, "export", battery, "--bids", root, "--sub", "A01", "--ses", "pre",
                          "--task", "imtp", "--run", "1")
    assert code == 0, err
    code, _, err = _run(capsys, "export", battery, "--bids", root, "--sub", "B02", "--ses", "pre")
    assert code == 0, err
    stale = root / "sub-A01" / "ses-pre" / "emg" / "sub-A01_ses-pre_task-imtp_run-1_stale_emg.json"
    stale.write_text("{}")
    code, _, err = _run(capsys, "export", battery, "--bids", root, "--sub", "A01", "--ses", "pre",
                        "--task", "imtp", "--run", "1", "--overwrite")
    assert code == 0, err
    assert not stale.exists()  # --overwrite removes the run's files before writing
    participants = pd.read_csv(root / "participants.tsv", sep="\t")
    assert list(participants["participant_id"]) == ["sub-A01", "sub-B02"]
    assert (root / "sub-A01" / "ses-pre" / "motion" /
            "sub-A01_ses-pre_task-imtp_tracksys-mocap_run-1_motion.tsv").exists()
    assert _issues(_validate(root), "error") == []


def test_an_imported_real_recording_validates(tmp_path, capsys):
    # data/c3d/Gait.c3d (BTKData, data/README.md): a Motion Analysis walk, 2 plates and 16
    # EMG channels at 1000 Hz, 33 markers at 100 Hz; its frame is the file's own
    pytest.importorskip("ezc3d", reason="ezc3d is the test extra for C3D files")
    gait = Path(__file__).resolve().parents[2] / "data" / "c3d" / "Gait.c3d"
    h5, root = tmp_path / "gait.h5", tmp_path / "bids"
    assert main(["import", str(gait), "-o", str(h5)]) == 0
    code, _, err = _run(capsys, "export", h5, "--bids", root)
    assert code == 2 and "no athlete code; give a subject label with --sub" in err
    code, _, err = _run(capsys, "export", h5, "--bids", root, "--sub", "MA01", "--task", "walk")
    assert code == 0, err
    assert _issues(_validate(root), "error") == []
    emg_dir = root / "sub-MA01" / "emg"
    channels = pd.read_csv(emg_dir / "sub-MA01_task-walk_channels.tsv", sep="\t")
    assert len(channels) == 16 and set(channels["side"]) == {"left", "right"}
    frame = json.loads((root / "sub-MA01" / "motion" / "sub-MA01_task-walk_tracksys-mocap_channels.json")
                       .read_text())["reference_frame"]["Levels"]
    assert list(frame) == ["source"]  # not claimed to be labkit's lab frame


def test_a_force_only_session_goes_to_beh(tmp_path):
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, PLATE_COMPONENTS, StreamSpec, plate_channel

    spec = StreamSpec("plates", "force", [*(plate_channel("fp1", c) for c in PLATE_COMPONENTS), COUNTER],
                      1000.0, "float64")
    n = 3000
    loads = np.zeros((n, 6))
    loads[:, 2] = 700.0 + np.arange(n) * 0.01  # Fz in N
    path = tmp_path / "force.h5"
    with SessionWriter(path, [spec], subject="F01", protocol="cmj", fsync=False) as w:
        w.append("plates", np.c_[loads, np.arange(n)], 10.0 + np.arange(n) / 1000.0)
        w.add_trial(1, "cmj", 10.5, 12.5, "valid")
    export_bids(path, tmp_path / "bids")
    beh = tmp_path / "bids" / "sub-F01" / "beh"
    with gzip.open(beh / "sub-F01_task-cmj_recording-plates_physio.tsv.gz", "rt") as fh:
        np.testing.assert_array_equal(np.loadtxt(fh, delimiter="\t"), loads)
    events = pd.read_csv(beh / "sub-F01_task-cmj_events.tsv", sep="\t")
    assert events["onset"].tolist() == [0.5] and events["trial_type"].tolist() == ["cmj"]
    assert _issues(_validate(tmp_path / "bids"), "error") == []


def test_segment_orientations_and_emg_in_millivolts(tmp_path):
    # a mocap stream of segment frames (position + orientation quaternion, as labkit's
    # simulated mocap with output: segments) and EMG stored in mV with one NaN sample (as an
    # imported C3D may hold): quaternions are ORNT quat_w..quat_z, mV becomes uV, NaN 0
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, ChannelSpec, StreamSpec

    seg = [ChannelSpec(f"pelvis.{a}", "m", "position", extra={"segment": "pelvis", "axis": a}) for a in "xyz"]
    seg += [ChannelSpec(f"pelvis.{a}", "", "orientation", extra={"segment": "pelvis", "axis": a})
            for a in ("qw", "qx", "qy", "qz")]
    mocap = StreamSpec("frames", "mocap", [*seg, COUNTER], 200.0, "float32")
    emg = StreamSpec("emg", "emg", [ChannelSpec("vastus_lateralis_l", "mV", "emg", muscle="vastus_lateralis",
                                                side="l"), COUNTER], 1000.0, "float32")
    n = 400
    pose = np.tile(np.array([0.1, 0.0, 0.95, 1.0, 0.0, 0.0, 0.0], dtype=np.float32), (n, 1))
    mv = np.linspace(-1.0, 1.0, 2 * n, dtype=np.float32)
    mv[10] = np.nan
    path = tmp_path / "seg.h5"
    with SessionWriter(path, [mocap, emg], subject="SEG01", protocol="cmj", fsync=False) as w:
        w.append("frames", np.c_[pose, np.arange(n)], 50.0 + np.arange(n) / 200.0)
        w.append("emg", np.c_[mv, np.arange(2 * n)], 50.0 + np.arange(2 * n) / 1000.0)
    with pytest.warns(labkit.errors.LabkitWarning, match="1 NaN or infinite samples are written as 0"):
        export_bids(path, tmp_path / "bids")
    subject = tmp_path / "bids" / "sub-SEG01"
    channels = pd.read_csv(subject / "motion" / "sub-SEG01_task-cmj_tracksys-frames_channels.tsv",
                           sep="\t", keep_default_na=False)
    orientation = channels[channels["type"] == "ORNT"]
    assert list(orientation["component"]) == ["quat_w", "quat_x", "quat_y", "quat_z"]
    assert set(orientation["units"]) == {"n/a"} and set(orientation["tracked_point"]) == {"pelvis"}
    import edfio

    sig = edfio.read_bdf(subject / "emg" / "sub-SEG01_task-cmj_emg.bdf").signals[0]
    step_uv = (sig.physical_max - sig.physical_min) / (sig.digital_max - sig.digital_min)
    expected_uv = np.where(np.isnan(mv), 0.0, mv.astype(np.float64) * 1e3)
    assert sig.physical_dimension == "uV" and sig.label == "vast_late_l"
    np.testing.assert_allclose(sig.data[: 2 * n], expected_uv, atol=step_uv / 2 + 1e-9)
    assert _issues(_validate(tmp_path / "bids"), "error") == []


def test_a_refused_overwrite_keeps_the_previous_export(tmp_path):
    """`--overwrite` deleted the run's old files before checking the new session: an EMG
    stream that recorded nothing then failed with an unexpected ValueError and left neither
    export. Now it is refused in one line and the old files stay as they were."""
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, StreamSpec, emg_channel

    rate = 29 / 0.0135
    spec = StreamSpec("emg", "emg", [emg_channel("gluteus_maximus", "r", "1"), COUNTER], rate, "float32")
    good, empty = tmp_path / "good.h5", tmp_path / "empty.h5"
    idx = np.arange(2000)
    with SessionWriter(good, [spec], subject="OW01", protocol="imtp", fsync=False) as w:
        w.append("emg", np.c_[(1e-4 * np.sin(idx / 7.0)).astype(np.float32), idx], 100.0 + idx / rate)
    with SessionWriter(empty, [spec], subject="OW01", protocol="imtp", fsync=False):
        pass
    export_bids(good, tmp_path / "bids")
    emg_dir = tmp_path / "bids" / "sub-OW01" / "emg"
    before = {p.name: p.read_bytes() for p in emg_dir.iterdir()}
    with pytest.raises(labkit.errors.ConfigError, match="holds no samples"):
        export_bids(empty, tmp_path / "bids", overwrite=True)
    assert {p.name: p.read_bytes() for p in emg_dir.iterdir()} == before
