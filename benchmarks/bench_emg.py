"""EMG benchmark: 16 channels x 10 min at 2148.148 Hz through band-pass, rectification,
envelope and onset detection; labkit vs the same steps with scipy.signal.sosfiltfilt +
numpy, measured in one run.  Peers (NeuroKit2, BioSPPy) when importable (run in
benchmarks/.venv-peers, see setup_peers_venv.sh).

    .venv/bin/python benchmarks/bench_emg.py [--minutes 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from scipy import signal as sps

from labkit.signal import emg
from labkit.signal.emg_synth import TRIGNO_FS_HZ, synth_emg


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def scipy_pipeline(x, fs):
    sos = emg.butter_sos(fs, low_hz=20.0, high_hz=450.0)
    bp = sps.sosfiltfilt(sos, x - x.mean(axis=0), axis=0)
    env = sps.sosfiltfilt(emg.butter_sos(fs, high_hz=20.0), np.abs(bp), axis=0)
    base = env[: round(fs)]
    active = env > base.mean(axis=0) + 3 * base.std(axis=0, ddof=1)
    d = np.diff(active.astype(np.int8), axis=0)
    return np.nonzero(d == 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    fs = TRIGNO_FS_HZ
    n = round(a.minutes * 60 * fs)
    x = np.empty((n, a.channels))
    for c in range(a.channels):
        x[:, c] = synth_emg(fs, n / fs, snr_db=20, seed=c).x[:n]
    emg.detect_onsets(x[: round(20 * fs)], fs)  # compile / load cache
    base_rss, peak0 = rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_lab, t_sp = [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        df = emg.detect_onsets(x, fs)
        t_lab.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        scipy_pipeline(x, fs)
        t_sp.append(time.perf_counter() - t0)
    lab, sp = np.median(t_lab), np.median(t_sp)
    print(f"input {n} x {a.channels} = {x.size / 1e6:.1f} M samples ({x.nbytes / 2**20:.0f} MiB)")
    print(f"labkit detect_onsets (band-pass, rectify, envelope, onsets, refine): "
          f"{lab:.2f} s  {x.size / lab / 1e6:.1f} M samples/s  ({len(df)} bursts)")
    print(f"scipy sosfiltfilt + numpy (no refinement):                       "
          f"{sp:.2f} s  {x.size / sp / 1e6:.1f} M samples/s")
    print(f"ratio scipy/labkit: {sp / lab:.2f}x (median of {a.repeat})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS above the input-resident baseline: {max(peak - max(peak0, base_rss), 0):.0f}"
          f" MiB = {max(peak - max(peak0, base_rss), 0) / (x.nbytes / 2**20):.2f} x input "
          "(includes the scipy baseline's own temporaries)")


if __name__ == "__main__":
    main()
