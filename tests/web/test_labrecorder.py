"""LabRecorder's remote-control protocol over a plain TCP socket drives a labkit recording:
streams selected, the file named by template, start and stop; the file holds the streams."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

import labkit
from labkit.devices.sim.lab import SimulatedLab
from labkit.errors import ConfigError
from labkit.web.control import RecordControl, expand_template
from labkit.web.labrecorder import LabRecorderPort
from tests.record.labs import lab_config


def _send(sock: socket.socket, line: str, timeout_s: float = 60.0) -> str:
    sock.sendall(line.encode() + b"\n")
    sock.settimeout(timeout_s)
    return sock.recv(4096).decode()


def test_template_placeholders_as_labrecorder_fills_them():
    assert expand_template("sub-%p/ses-%s/%m/sub-%p_ses-%s_task-%b[_acq-%a]_run-%r_%m.xdf",
                           participant="P01", session="S1", task="imtp", run=2) \
        == "sub-P01/ses-S1/beh/sub-P01_ses-S1_task-imtp_run-002_beh.h5"
    assert expand_template("sub-%p_task-%b[_acq-%a]_run-%r.xdf", participant="P01", task="cmj",
                           acquisition="fast", run=12) == "sub-P01_task-cmj_acq-fast_run-012.h5"
    assert expand_template("exp%n/block_%b.xdf", task="T", run=7) == "exp007/block_T.h5"


def test_a_labrecorder_script_records_the_selected_streams_into_the_templated_file(tmp_path):
    config, text = lab_config(devices=("force", "emg"), flush_interval_s=0.5)
    control = RecordControl(config, text, tmp_path)
    port = LabRecorderPort(control, port=0).start()
    try:
        with SimulatedLab(config), socket.create_connection(("127.0.0.1", port.port)) as sock:
            assert _send(sock, "select none") == "OK" and control.selected == []
            assert _send(sock, "select all") == "OK" and control.selected == ["force", "emg"]
            assert _send(sock, "select force") == "OK" and control.selected == ["force"]
            reply = _send(sock, "filename {root:" + str(tmp_path / "study") + "} "
                          "{template:sub-%p/ses-%s/sub-%p_ses-%s_task-%b_run-%r.xdf} "
                          "{participant:P07} {session:S2} {task:IMTP} {run:3}")
            assert reply == "OK"
            assert _send(sock, "update") == "OK"
            assert _send(sock, "frobnicate").startswith("ERROR unknown command 'frobnicate'")
            assert _send(sock, "start") == "OK"
            assert control.recording
            time.sleep(3.0)
            assert _send(sock, "stop") == "OK"
            assert not control.recording
            # a second start records all streams into the next run's file
            assert _send(sock, "select all") == "OK"
            assert _send(sock, "start") == "OK"
            time.sleep(2.0)
            assert _send(sock, "stop") == "OK"
    finally:
        port.stop()
    first = tmp_path / "study" / "sub-P07" / "ses-S2" / "sub-P07_ses-S2_task-IMTP_run-003.h5"
    second = first.with_name("sub-P07_ses-S2_task-IMTP_run-004.h5")
    for path, streams in ((first, {"force"}), (second, {"force", "emg"})):
        with labkit.open_session(path) as s:
            assert s.status == "complete" and s.info["subject"] == "P07"
            assert set(s.streams) >= streams and ("emg" in s.streams) == ("emg" in streams), s.streams
            for name in streams:
                st = s.stream(name)
                assert st.n_samples > 1.5 * st.rate_hz, (name, st.n_samples)  # seconds of it
                assert np.all(np.diff(st.counter) == 1), name  # no sample lost


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_labkit_record_with_rcs_port_is_driven_by_a_labrecorder_script(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    config, text = lab_config(devices=("force", "emg"), flush_interval_s=0.5)
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    port = _free_port()
    env = os.environ.copy()
    with SimulatedLab(config):
        rec = subprocess.Popen([sys.executable, "-m", "labkit.cli", "record", "--config", str(cfg),
                                "--rcs-port", str(port), "--out", str(tmp_path / "first.h5")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            line = rec.stdout.readline()
            assert f"LabRecorder remote control on 127.0.0.1:{port}" in line, (line, rec.stderr.read())
            with socket.create_connection(("127.0.0.1", port)) as sock:
                assert _send(sock, "select all") == "OK"
                assert _send(sock, "filename {root:" + str(tmp_path) + "} {template:exp%n/block_%b.xdf} "
                             "{task:Jumps} {run:5}") == "OK"
                assert _send(sock, "start") == "OK"
                time.sleep(2.5)
                assert _send(sock, "stop") == "OK"
        finally:
            rec.send_signal(signal.SIGINT)
            out, err = rec.communicate(timeout=60)
    assert rec.returncode == 0, err
    path = tmp_path / "exp005" / "block_Jumps.h5"
    assert f"remote: recording to {path}" in out.replace("\n", "")
    with labkit.open_session(path) as s:
        assert s.status == "complete" and set(s.streams) >= {"force", "emg"}
        for name in ("force", "emg"):
            st = s.stream(name)
            assert np.all(np.diff(st.counter) == 1) and st.n_samples > 1.5 * st.rate_hz


def test_remote_names_cannot_place_files_outside_the_study_root(tmp_path):
    """LabRecorder's port has no password: `filename {participant:../../../../tmp/pwn}` once
    expanded to a path outside the study root, and `{root:/anywhere}` was taken as given."""
    config, text = lab_config(devices=("force",))
    control = RecordControl(config, text, tmp_path / "study")
    inside = control.set_filename(root=str(tmp_path / "study" / "pilot"), participant="P01")
    assert inside.is_relative_to(tmp_path / "study" / "pilot")
    assert control.set_filename(root="block2").is_relative_to(tmp_path / "study" / "block2")
    for bad, match in (({"participant": "../../../../tmp/pwn"}, "participant"),
                       ({"task": "a/b"}, "task"),
                       ({"root": str(tmp_path / "elsewhere")}, "outside the study root"),
                       ({"template": "../%p.xdf"}, "climbs out"),
                       ({"template": "/tmp/%p.xdf"}, "climbs out")):
        with pytest.raises(ConfigError, match=match):
            control.set_filename(**bad)
    assert control.next_path().is_relative_to(tmp_path / "study" / "block2")  # nothing changed
    port = LabRecorderPort(control, port=0).start()
    try:
        with socket.create_connection(("127.0.0.1", port.port)) as sock:
            reply = _send(sock, "filename {root:/} {participant:P02}")
            assert reply.startswith("ERROR") and "outside the study root" in reply
    finally:
        port.stop()
    assert not (tmp_path / "elsewhere").exists()
