"""Recording onto a disk that fills up: real LSL from the simulated lab, a real full tmpfs
(when this machine lets the test mount one) or a real file-size limit (always).

Before: every inlet thread printed a traceback, nothing more was recorded, and
`labkit record` ended with "Segmentation fault" (exit 139). Now the first failed write
stops acquisition (every thread, no further write), one line names the file, the free
space and the fix, the exit status is 2, and what was committed is an exact prefix.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
import yaml

import labkit
from labkit.config.hardware import load_hardware_config
from labkit.devices.sim.lab import SimulatedLab
from labkit.errors import LowDiskSpaceWarning, SessionWriteError
from labkit.record.recorder import Recorder
from tests.disk import file_size_limit, limit_file_size, resize_tmpfs, small_tmpfs

from .labs import lab_config

DEVICES = ("force", "emg", "mocap")
LIMIT = 1_500_000  # the lab writes ~430 kB/s: full after ~3 s


def _direct_lab(devices=DEVICES):
    """The simulated lab with direct sources (no NI/Trigno driver in between), whose values
    ``source.producer`` reproduces exactly."""
    _, text = lab_config(devices)
    data = yaml.safe_load(text)
    for device in data["devices"]:
        if "driver" in device:
            device["driver"] = "direct"
    return load_hardware_config("test-lab.yaml", text=yaml.safe_dump(data, sort_keys=False))


def _recorder_threads() -> list[threading.Thread]:
    names = ("labkit-inlet-", "labkit-flush", "labkit-discovery")  # the recorder's threads
    return [t for t in threading.enumerate() if t.name.startswith(names) and t.is_alive()]


def _check_exact_prefix(path, lab) -> None:
    """Every stream holds contiguous samples, exactly the values the simulator produced."""
    with labkit.open_session(path) as s:
        for name in DEVICES:
            st = s.stream(name)
            counter = st.counter
            assert len(counter) > 200 and np.all(np.diff(counter) == 1), name
            src = lab.sources[name]
            truth = src.true_times_for_counter(counter)
            produced = src.producer.produce(src.global_index(counter), truth)
            np.testing.assert_allclose(st.data[:, :-1], produced, rtol=1e-6, atol=1e-6)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_recorder_stops_every_thread_at_the_first_failed_write(tmp_path):
    config, text = _direct_lab()
    path = tmp_path / "limited.h5"
    with SimulatedLab(config) as lab:
        with file_size_limit(LIMIT):
            rec = Recorder(config, path, config_text=text).start()
            t0 = time.monotonic()
            assert rec.wait(30.0), "the recording did not stop at the failed write"
            assert time.monotonic() - t0 < 15.0
            failure = rec.failure
            assert isinstance(failure, SessionWriteError) and failure.errno == 27  # EFBIG
            deadline = time.monotonic() + 5.0
            while _recorder_threads() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _recorder_threads() == []  # inlets, flusher, discovery: all stopped
        size, digest = path.stat().st_size, _sha(path)
        time.sleep(1.0)
        with pytest.raises(SessionWriteError) as info:
            rec.stop()
        assert info.value is failure
        assert (path.stat().st_size, _sha(path)) == (size, digest)  # nothing written after
        msg = str(failure)
        assert "\n" not in msg and msg.startswith(f"{path}: cannot write the session: ")
        assert "free on" in msg and f"labkit repair {path}" in msg
        _check_exact_prefix(path, lab)


def test_a_long_recording_on_too_small_a_disk_is_warned_before_it_starts(tmp_path):
    config, text = lab_config(("force",))
    path = tmp_path / "long.h5"
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    years = 2.0 * free / (2000 * (13 * 8 + 8))  # twice what this disk holds of 13 x f64 at 2 kHz
    with SimulatedLab(config):
        rec = Recorder(config, path, config_text=text, expected_duration_s=years)
        with pytest.warns(LowDiskSpaceWarning) as caught:
            rec.start()
        rec.stop()
    (w,) = [c for c in caught if issubclass(c.category, LowDiskSpaceWarning)]
    text_ = str(w.message)
    assert text_.startswith(f"{path}: only ") and f"{years:g} s of these 1 streams" in text_
    short = Recorder(config, tmp_path / "short.h5", config_text=text, expected_duration_s=5.0)
    with SimulatedLab(config), warnings.catch_warnings():
        warnings.simplefilter("error", LowDiskSpaceWarning)  # 5 s fit: no warning
        short.start()
        short.stop()


def _record_cli(cfg, out, *, limit: int | None, duration: float = 30.0):
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", "record", "--config", str(cfg), "--out", str(out),
         "--duration", f"{duration:g}", "--quiet"],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
        preexec_fn=limit_file_size(limit) if limit else None)


def _check_cli_failure(run, out, *, elapsed: float, warned: bool) -> str:
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert run.returncode != -signal.SIGSEGV and "Segmentation" not in run.stderr
    assert "Traceback" not in run.stderr and "saved" not in run.stdout
    assert elapsed < 25.0  # stopped at the failure, not at --duration 30
    lines = run.stderr.strip().splitlines()
    errors = [x for x in lines if x.startswith("labkit: error: ")]
    warnings_ = [x for x in lines if x.startswith("labkit: warning: ")]
    assert len(errors) == 1 and len(lines) == 1 + len(warnings_), run.stderr
    assert len(warnings_) == (1 if warned else 0), run.stderr
    line = errors[0]
    assert line.startswith(f"labkit: error: {out}: cannot write the session: ")
    assert "free on" in line and f"then run `labkit repair {out}`" in line
    return line


def test_labkit_record_under_a_file_size_limit(tmp_path):
    config, text = _direct_lab()
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    out = tmp_path / "limited.h5"
    with SimulatedLab(config) as lab:
        t0 = time.monotonic()
        run = _record_cli(cfg, out, limit=LIMIT)
        line = _check_cli_failure(run, out, elapsed=time.monotonic() - t0, warned=False)
        assert "largest size allowed" in line and "EFBIG" in line
        _check_exact_prefix(out, lab)  # readable as it is
        repair = subprocess.run([sys.executable, "-m", "labkit.cli", "repair", str(out)],
                                capture_output=True, text=True, timeout=60)
        assert repair.returncode == 0, repair.stderr
        _check_exact_prefix(out, lab)


def test_labkit_record_on_a_full_tmpfs(tmp_path):
    config, text = _direct_lab()
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    with small_tmpfs(tmp_path / "disk", "2m") as disk, SimulatedLab(config) as lab:
        out = disk / "full.h5"
        t0 = time.monotonic()
        run = _record_cli(cfg, out, limit=None)
        line = _check_cli_failure(run, out, elapsed=time.monotonic() - t0, warned=True)
        assert "the disk is full (ENOSPC;" in line
        assert "free space there or move the file to a disk with space" in line
        assert "only 2.1 MB free" in run.stderr  # the warning before the recording started
        _check_exact_prefix(out, lab)  # readable on the full disk
        repair = subprocess.run([sys.executable, "-m", "labkit.cli", "repair", str(out)],
                                capture_output=True, text=True, timeout=60)
        assert repair.returncode == 2 and "cannot repair it in place" in repair.stderr
        resize_tmpfs(disk, "32m")  # free space, then repair in place
        repair = subprocess.run([sys.executable, "-m", "labkit.cli", "repair", str(out)],
                                capture_output=True, text=True, timeout=60)
        assert repair.returncode == 0, repair.stderr
        _check_exact_prefix(out, lab)


def test_labkit_run_ends_the_protocol_run_with_the_line(tmp_path):
    """The recorder under `labkit run`: the run stops with the same line and says how to
    resume it."""
    out = tmp_path / "run.h5"
    t0 = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "run", "imtp", "--fast", "--unattended",
         "--athlete", "SIM01", "--out", str(out)],
        capture_output=True, text=True, timeout=180, env=os.environ.copy(),
        preexec_fn=limit_file_size(6_000_000, hard=True))  # as `ulimit -f 5860` would
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    assert "Traceback" not in run.stderr and "Segmentation" not in run.stderr
    errors = [x for x in run.stderr.splitlines() if x.startswith("labkit: error: ")]
    assert len(errors) == 1, run.stderr[-3000:]
    assert errors[0].startswith(f"labkit: error: {out}: cannot write the session: ")
    assert f"`labkit run imtp --resume {out}`" in errors[0]
    assert time.monotonic() - t0 < 120
    with labkit.open_session(out) as s:
        force = s.stream("force")
        assert force.n_samples > 0 and np.all(np.diff(force.counter) == 1)
