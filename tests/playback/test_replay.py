"""``labkit replay``: a recorded session published again on LSL, recorded by labkit's own
recorder, gives every sample back.

The session is written with known drifting clocks and jitter (force 1000 Hz, EMG
2148.148148148148 Hz, both with sample counters; a marker stream; clock offsets every 0.5 s),
its streams are replayed on loopback at twice real time (their stamps keep the recording's
spacing) and recorded by :class:`labkit.record.recorder.Recorder` as ``labkit record`` does.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import yaml

import labkit
from labkit.config.hardware import load_hardware_config
from labkit.errors import ConfigError
from labkit.playback import SessionPlayer
from labkit.record.recorder import Recorder
from labkit.session.writer import SessionWriter
from labkit.spec import COUNTER, ChannelSpec, StreamSpec, emg_channel, plate_channel

T0 = 3_000.0
RATES = {"force": 1000.0, "emg": 2148.148148148148}
CLOCKS = {"force": (1.5, 60e-6), "emg": (-0.4, -30e-6), "cues": (0.2, 0.0)}
TIME_TOL_S = 1e-3  # the acceptance: times within 1 ms after sync


def _sender(key, t):
    ahead, drift = CLOCKS[key]
    return t + ahead + drift * (t - T0)


def write_session(path, tag: str, duration_s: float = 3.0, seed: int = 2):
    rng = np.random.default_rng(seed)
    specs = [
        StreamSpec("force", "force", [plate_channel("fp1", c) for c in ("Fx", "Fy", "Fz")] + [COUNTER],
                   RATES["force"], "float64", f"{tag}-force", {"manufacturer": "AMTI", "serial": "7"}),
        StreamSpec("emg", "emg", [emg_channel("vastus_lateralis", "r", "1"), COUNTER], RATES["emg"],
                   "float32", f"{tag}-emg", {"manufacturer": "Delsys"}),
        StreamSpec("cues", "markers", [ChannelSpec("marker")], 0.0, "string", f"{tag}-cues"),
    ]
    with SessionWriter(path, specs, flush_interval_s=3600.0, fsync=False) as w:
        for key, rate in RATES.items():
            n = int(duration_s * rate)
            t = T0 + np.arange(n) / rate
            data = np.column_stack([rng.normal(0, 100, (n, 3 if key == "force" else 1)), np.arange(n)])
            w.append(key, data, _sender(key, t) + rng.normal(0, 0.2e-3, n))
        t = T0 + np.array([0.5, 1.25, 2.5])
        w.append("cues", np.array([["go"], ["stop ü"], ["end"]], dtype=object), _sender("cues", t))
        for key in CLOCKS:
            for ct in np.arange(T0, T0 + duration_s, 0.5):
                w.add_clock_offset(key, ct, ct - _sender(key, ct) + rng.normal(0, 5e-6), 1e-4)
    return path


def _recorder(tag, out):
    cfg = {"name": "replay-test", "source_prefix": tag,
           "devices": [{"name": k, "kind": "lsl", "match": {"source_id": f"{tag}-{k}"}} for k in RATES],
           "recording": {"streams": list(RATES), "flush_interval_s": 0.25, "clock_offset_interval_s": 0.5,
                         "resolve_timeout_s": 20}}
    config, text = load_hardware_config("replay-test.yaml", text=yaml.safe_dump(cfg, sort_keys=False))
    return Recorder(config, out, config_text=text)


def _record_replay(tmp_path, source, tag, *, expected, **player_kw):
    """Replay ``source`` into a recorder; stop once it holds ``expected`` samples per stream."""
    player = SessionPlayer(source, **player_kw).open()
    rec = _recorder(tag, tmp_path / "replayed.h5")
    try:
        rec.start()
        cues = rec.wait_for_stream(lambda spec: spec.source_id == f"{tag}-cues", timeout_s=20)
        assert cues is not None
        player.start(wait_for_consumers_s=20)
        assert player.status.waiting_for == []
        end = time.monotonic() + 60
        while time.monotonic() < end:
            got = {s.name: s.samples for s in rec.status()}
            if all(got.get(k, 0) >= n for k, n in expected.items()):
                break
            time.sleep(0.1)
        if player_kw.get("loop"):
            player.stop()
        assert player.wait(30) and player.error is None
        time.sleep(0.3)
    finally:
        out = rec.stop()
        player.stop()
    return out, cues


def test_recording_a_replay_gives_every_sample_back(tmp_path):
    """The acceptance of `labkit replay` + `labkit record`: every sample of every stream back
    (the counter channel has no gap), the data bit for bit, the metadata as recorded, and the
    synchronised times equal to the original's (one constant shift) within 1 ms."""
    tag = f"rp{uuid.uuid4().hex[:8]}"
    source = write_session(tmp_path / "source.h5", tag)
    with labkit.open_session(source) as s:
        expected = {n: s.stream(n).n_samples for n in s.streams}
    t_start = time.monotonic()
    out, cues = _record_replay(tmp_path, source, tag, expected=expected, speed=2.0)
    print(f"\nreplay of 3.0 s at speed 2 recorded in {time.monotonic() - t_start:.1f} s")
    with labkit.open_session(source) as a, labkit.open_session(out) as b:
        shifts = []
        for name, got_name in (("force", "force"), ("emg", "emg"), ("cues", cues)):
            x, y = a.stream(name), b.stream(got_name)
            assert y.n_samples == x.n_samples, name
            if x.counter is not None:
                np.testing.assert_array_equal(y.counter, x.counter)
                assert not np.any(np.diff(y.counter) != 1)
            if name == "cues":
                assert list(y.data[:, 0]) == list(x.data[:, 0])
            else:
                np.testing.assert_array_equal(y.data, x.data)
            assert (y.type, y.source_id, y.rate_hz, y.device) == (x.type, x.source_id, x.rate_hz, x.device)
            assert y.labels == x.labels and list(y.channels["unit"]) == list(x.channels["unit"])
            shifts.append(np.median(y.times - x.times))
        shift = float(np.median(shifts))
        for name, got_name in (("force", "force"), ("emg", "emg"), ("cues", cues)):
            err = b.stream(got_name).times - shift - a.stream(name).times
            rms, worst = float(np.sqrt(np.mean(err**2))), float(np.max(np.abs(err)))
            print(f"{name}: replayed - original - shift: RMS {rms * 1e6:.1f} us, max {worst * 1e6:.1f} us")
            assert worst < TIME_TOL_S


def test_loop_replays_again_with_increasing_stamps(tmp_path):
    """--loop: the second pass follows the first (stamps one pass later, counter restarting:
    a new segment), every sample of both passes recorded."""
    tag = f"rp{uuid.uuid4().hex[:8]}"
    source = write_session(tmp_path / "source.h5", tag, duration_s=1.0)
    with labkit.open_session(source) as s:
        one = {n: s.stream(n).n_samples for n in ("force", "emg")}
        times = [s.stream(n).times for n in s.streams]
        span = max(t[-1] for t in times) - min(t[0] for t in times)  # the last cue ends the pass
    out, _ = _record_replay(tmp_path, source, tag, expected={k: 2 * n for k, n in one.items()},
                            speed=2.0, loop=True)
    with labkit.open_session(out) as b:
        for name, n in one.items():
            c = b.stream(name).counter
            assert len(c) >= 2 * n
            np.testing.assert_array_equal(c[:2 * n], np.concatenate([np.arange(n), np.arange(n)]))
            raw = b.stream(name).raw_times
            step = raw[n] - raw[0]
            print(f"\n{name}: second pass stamped {step:.6f} s after the first (pass span {span:.6f} s)")
            assert abs(step - (span + 1 / RATES["emg"])) < 1e-3


def test_a_stream_on_its_own_clock_starts_with_the_others(tmp_path):
    """A session imported from a muse-lsl recording (muse-lsl issue #196: Unix-time stamps,
    clock offsets measured on the LSL clock) keeps that stream on its own clock; the replay
    starts it with the others instead of waiting 1.7e9 s for it."""
    tag = f"rp{uuid.uuid4().hex[:8]}"
    specs = [StreamSpec("eeg", "other", [ChannelSpec("TP9"), COUNTER], 256.0, "float32", f"{tag}-eeg"),
             StreamSpec("force", "force", [plate_channel("fp1", "Fz"), COUNTER], 1000.0, "float64",
                        f"{tag}-force")]
    path = tmp_path / "muse.h5"
    with SessionWriter(path, specs, flush_interval_s=3600.0, fsync=False) as w:
        k = np.arange(256)
        w.append("eeg", np.column_stack([np.sin(k), k]), 1_688_462_154.0 + k / 256.0)
        k = np.arange(1000)
        w.append("force", np.column_stack([k * 0.5, k]), T0 + 0.25 + k / 1000.0)
        for ct in (T0, T0 + 0.5, T0 + 1.0):
            w.add_clock_offset("eeg", ct, -4e-6)
    player = SessionPlayer(path, speed=4.0)
    assert player.duration_s == pytest.approx(0.999, abs=1e-6)  # both start at T0 + 0.25 s
    with player:
        player.start()
        assert player.wait(20) and player.error is None
    assert player.status.sent == {"eeg": 256, "force": 1000}


def _cli(*args):
    return subprocess.Popen([sys.executable, "-m", "labkit.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_labkit_replay_and_labkit_record_as_two_processes(tmp_path):
    """The commands themselves: `labkit replay SESSION --speed 2` waits for a consumer on every
    stream, `labkit record` records it; every sample comes back (inspect: no lost samples)."""
    tag = f"rp{uuid.uuid4().hex[:8]}"
    source = write_session(tmp_path / "source.h5", tag)
    cfg = {"name": "replay-test", "source_prefix": tag,
           "devices": [{"name": k, "kind": "lsl", "match": {"source_id": f"{tag}-{k}"}} for k in RATES],
           "recording": {"streams": list(RATES), "flush_interval_s": 0.25, "resolve_timeout_s": 30}}
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    replay = _cli("replay", source, "--speed", "2", "--wait", "60")
    try:
        rec = _cli("record", "--config", tmp_path / "lab.yaml", "--out", tmp_path / "r.h5", "--duration", "8",
                   "--quiet")
        _, rec_err = rec.communicate(timeout=120)
        assert rec.returncode == 0, rec_err
        out, err = replay.communicate(timeout=60)
    finally:
        if replay.poll() is None:
            replay.kill()
    assert replay.returncode == 0, err
    assert "publishing cues, emg, force" in out and "no consumer" not in out
    with labkit.open_session(source) as a, labkit.open_session(tmp_path / "r.h5") as b:
        cues = next(n for n in b.streams if b.stream(n).source_id == f"{tag}-cues")
        for name, got in (("force", "force"), ("emg", "emg"), ("cues", cues)):
            x, y = a.stream(name), b.stream(got)
            assert y.n_samples == x.n_samples, name
            if x.counter is not None:
                np.testing.assert_array_equal(y.counter, x.counter)


def test_bad_arguments_are_one_line(tmp_path):
    source = write_session(tmp_path / "s.h5", "bad", duration_s=0.1)
    with pytest.raises(ConfigError, match=r"speed 0 is invalid; give a positive factor"):
        SessionPlayer(source, speed=0)
    with pytest.raises(ConfigError, match=r"no stream 'nope' to replay; the session has cues, emg, force"):
        SessionPlayer(source, streams=["nope"])
    done = subprocess.run([sys.executable, "-m", "labkit.cli", "replay", str(source), "--speed", "-1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("labkit: error: --speed -1.0 is invalid; give a positive factor "
                                   "(1 = real time)")
