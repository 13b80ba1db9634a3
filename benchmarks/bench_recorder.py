"""Recorder load: CPU per wall second and loss, measured in one run.

1. Typical lab (the simulated lab: 2 plates at 2000 Hz, 16 EMG at 2148.148 Hz, mocap at
   200 Hz, ground truth) for --lab-seconds (default 60): recorder CPU time / wall time
   (target <= 0.10 of one core) and lost samples (target 0).
2. Stress: publishers in another process, N streams x 64 channels at R Hz; the default
   level is 8 x 64 x 2000 Hz = 1.02 M channel-samples/s for --stress-seconds (default 30),
   then doubling levels for 10 s each; prints the highest load recorded without loss.

The publishers run in separate processes, so the CPU figures are the recorder's own
(its process includes liblsl's receiving threads).

Usage: python benchmarks/bench_recorder.py [--lab-seconds 60] [--stress-seconds 30] [--skip-lab]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labkit.lsl.loopback import configure_loopback  # noqa: E402

configure_loopback(f"bench-{uuid.uuid4().hex[:8]}")

import numpy as np  # noqa: E402

import labkit  # noqa: E402
from labkit.config.hardware import load_hardware_config  # noqa: E402
from labkit.record.recorder import Recorder  # noqa: E402


def _lost(path: Path) -> dict[str, int]:
    out = {}
    with labkit.open_session(path) as s:
        for name in s.streams:
            st = s.stream(name)
            c = st.counter
            if c is None or len(c) == 0:
                continue
            out[name] = int((c[-1] - c[0] + 1) - len(c))
    return out


def _record(config_text: str, out: Path, seconds: float) -> tuple[float, float, Path]:
    config, text = load_hardware_config("bench.yaml", text=config_text)
    rec = Recorder(config, out, config_text=text)
    rec.start(resolve_timeout_s=20)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    rec.stop()
    return cpu, wall, out


def typical_lab(seconds: float, tmp: Path) -> None:
    prefix = f"benchlab{uuid.uuid4().hex[:6]}"
    cfg_text = (REPO / "hardware_configs" / "simulated.yaml").read_text().replace(
        "source_prefix: labkit-sim", f"source_prefix: {prefix}")
    cfg_path = tmp / "lab.yaml"
    cfg_path.write_text(cfg_text)
    sim = subprocess.Popen([sys.executable, "-m", "labkit.cli", "simulate", "--config", str(cfg_path),
                            "--duration", str(seconds + 30)], env=os.environ.copy(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cpu, wall, out = _record(cfg_text, tmp / "lab.h5", seconds)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    lost = _lost(out)
    with labkit.open_session(out) as s:
        rates = {n: s.stream(n).effective_rate_hz() for n in s.streams if s.stream(n).rate_hz > 0}
    print(f"TYPICAL LAB {seconds:g} s: recorder CPU {cpu:.2f} s / wall {wall:.2f} s = "
          f"{cpu / wall:.3f} of one core (target <= 0.10); lost samples {lost} (target 0)")
    print("  effective rates: " + ", ".join(f"{k} {v:.3f} Hz" for k, v in rates.items()))


def stress_level(n_streams: int, n_channels: int, rate: float, seconds: float, tmp: Path
                 ) -> tuple[float, dict[str, int]]:
    prefix = f"stress{uuid.uuid4().hex[:6]}"
    pub = subprocess.Popen([sys.executable, str(REPO / "benchmarks" / "_lsl_publisher.py"), prefix,
                            str(n_streams), str(n_channels), str(rate), str(seconds + 25)],
                           stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert pub.stdout.readline().strip() == "ready"
        devices = "\n".join(f"  - {{name: s{k}, kind: lsl, match: {{source_id: {prefix}-s{k}}}}}"
                            for k in range(n_streams))
        text = (f"name: stress\nsource_prefix: {prefix}\ndevices:\n{devices}\n"
                f"recording: {{streams: [{', '.join(f's{k}' for k in range(n_streams))}], "
                "record_markers: false}\n")
        cpu, wall, out = _record(text, tmp / f"stress-{prefix}.h5", seconds)
    finally:
        pub.terminate()
        pub.wait(timeout=30)
    lost = _lost(out)
    rate_total = n_streams * n_channels * rate
    print(f"STRESS {n_streams} x {n_channels} ch x {rate:g} Hz = {rate_total / 1e6:.2f} M "
          f"channel-samples/s for {seconds:g} s: CPU {cpu / wall:.2f} of one core, "
          f"lost {sum(lost.values())} samples, file {out.stat().st_size / 1e6:.0f} MB")
    out.unlink()
    return rate_total, lost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab-seconds", type=float, default=60.0)
    ap.add_argument("--stress-seconds", type=float, default=30.0)
    ap.add_argument("--skip-lab", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="labkit-bench-rec-"))
    if not args.skip_lab:
        typical_lab(args.lab_seconds, tmp)
    best = 0.0
    levels = [(8, 64, 2000.0, args.stress_seconds), (8, 64, 4000.0, 10.0), (16, 64, 4000.0, 10.0)]
    for n, c, r, secs in levels:
        total, lost = stress_level(n, c, r, secs, tmp)
        if sum(lost.values()) == 0:
            best = max(best, total)
        else:
            break
    print(f"highest load recorded without loss: {best / 1e6:.2f} M channel-samples/s "
          f"(target >= 1.0 M)")
    _ = np


if __name__ == "__main__":
    main()
