"""Trigno client throughput against the loopback emulator, through to LSL.

Prints, in one run:

* the highest emulated frame rate (multiples of the device's real 2148.15 Hz EMG rate:
  29 samples per 13.5 ms frame, 16 sensors) that the client holds without loss for
  ``--seconds`` -- every frame the emulator sent was received, framed, converted and
  pushed to LSL, with a contiguous counter, and the emulator was never held back by TCP
  backpressure by more than one frame -- and its ratio to the real rate (target >= 20x);
* the CPU time of the client's receive thread per second of streaming at the real rate
  (the cost of one Trigno stream), from ``/proc/self/task/<tid>/stat``.

Usage: python benchmarks/bench_trigno.py [--seconds 3] [--max-factor 160]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

import numpy as np

from labkit.lsl.loopback import configure_loopback

configure_loopback(f"bench-trigno-{uuid.uuid4().hex[:8]}")

from labkit.config.hardware import Trigno  # noqa: E402
from labkit.devices.sim.trigno_server import TrignoEmulator  # noqa: E402
from labkit.devices.trigno import TrignoSource  # noqa: E402

SPF, FRAME_S = 29, 0.0135
REAL_HZ = SPF / FRAME_S
SENSORS = [{"sensor": k, "muscle": m, "side": s}
           for k, (m, s) in enumerate([(m, s) for s in "lr" for m in
                                       ("gluteus_maximus", "gluteus_medius", "rectus_femoris",
                                        "tensor_fasciae_latae", "biceps_femoris", "external_oblique",
                                        "internal_oblique", "multifidus")], start=1)]
BLOCK = (np.random.default_rng(0).standard_normal((4096, 16)) * 1e-4).astype("<f4")


def samples(index, t_s):
    """Cheap data so the emulator is not the bottleneck."""
    i = np.asarray(index) % len(BLOCK)
    return BLOCK[i]


def thread_cpu_s(native_id: int) -> float:
    with open(f"/proc/self/task/{native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(factor: float, seconds: float) -> dict:
    emu = TrignoEmulator(samples, samples_per_frame=SPF, frame_interval_s=FRAME_S / factor)
    with emu:
        dev = Trigno(kind="trigno", name="emg", sensors=SENSORS, command_port=emu.command_port,
                     emg_port=emu.emg_port)
        src = TrignoSource(dev, f"bench-{uuid.uuid4().hex[:6]}")
        with src:
            tid = src._thread.native_id
            cpu0, t0 = thread_cpu_s(tid), time.monotonic()
            time.sleep(seconds)
            due = int(((emu._clock() - emu.t0) * emu.rate_hz) // SPF) * SPF
            sent = emu._sent_g
            cpu = thread_cpu_s(tid) - cpu0
            wall = time.monotonic() - t0
            deadline = time.monotonic() + 2.0
            while src.n_sent < sent and time.monotonic() < deadline:
                time.sleep(0.01)
            received = src.n_sent
    held = (received >= sent) and (due - sent) <= SPF and not src.gaps
    return {"factor": factor, "rate_hz": emu.rate_hz, "sent": sent, "received": received,
            "lag_frames": (due - sent) / SPF, "held": held, "cpu_per_s": cpu / wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--max-factor", type=float, default=160.0)
    args = ap.parse_args()
    real = run(1.0, args.seconds)
    print(f"real rate {REAL_HZ:.3f} Hz (16 sensors x float32): client thread CPU "
          f"{1e3 * real['cpu_per_s']:.2f} ms per s ({100 * real['cpu_per_s']:.2f} % of one core), "
          f"lossless: {real['held']}")
    best = 1.0
    factor = 5.0
    while factor <= args.max_factor:
        r = run(factor, args.seconds)
        print(f"x{factor:>5.0f}: {r['rate_hz']:>10.0f} samples/s sent {r['sent']:>8d} received "
              f"{r['received']:>8d} emulator behind {r['lag_frames']:5.1f} frames "
              f"client CPU {100 * r['cpu_per_s']:5.1f} %  {'held' if r['held'] else 'LOST/BEHIND'}")
        if not r["held"]:
            break
        best = factor
        factor *= 2
    print(f"max lossless throughput: {best * REAL_HZ:.0f} samples/s = {best:.0f}x the real rate "
          f"(target >= 20x): {'OK' if best >= 20 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
