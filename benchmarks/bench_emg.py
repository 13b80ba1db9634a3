"""EMG benchmark: 16 channels x 10 min at 2148.148 Hz (20.6 M samples) through band-pass,
rectification, envelope and onset detection.  All ratios are measured in one run:

(a) labkit vs the SAME steps with scipy.signal.sosfiltfilt + numpy (offset removal,
    20-450 Hz band-pass, rectification, 20 Hz envelope, automatic quietest-window
    baseline, mean + 3 SD threshold, min_on / hysteresis / min_off debounce, peak RMS per
    burst; vectorised numpy, checked to give the same bursts as labkit): like with like
    is labkit WITHOUT refinement; the refinement is timed separately.
(b) NeuroKit2 ``emg_process`` and (c) BioSPPy ``filter_signal`` + each onset detector,
    run from benchmarks/.venv-peers (setup_peers_venv.sh) in a subprocess on a shorter
    signal (1 channel x ``--peer-seconds``) and scaled per sample to the full input, in
    rounds interleaved with labkit runs (one round = labkit once, every peer once) so each
    ratio is measured under one machine load.

Also: labkit's compile cost in a fresh process (every kernel is cached, parallel ones too:
labkit/_numba.py) with a warm and a cold numba cache, and labkit's peak memory in a fresh
process (VmHWM after resetting it via /proc/self/clear_refs, above the RSS once the input
is loaded and the kernels are compiled).  Timings are medians of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_emg.py [--minutes 10] [--repeat 5] [--no-peers]
        [--threads 1]                       # labkit on one thread (scipy/numpy use one)
    benchmarks/.venv-peers/bin/python benchmarks/bench_emg.py     # same; peers either way
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEER_PY = HERE / ".venv-peers" / "bin" / "python"
REST_S = 1.5  # synth_emg(lead_s=1.5): the first 1.5 s are rest


# ------------------------------------------------------------------ input signal


def make_input(minutes, channels):
    from labkit.signal.emg_synth import TRIGNO_FS_HZ, synth_emg

    fs = TRIGNO_FS_HZ
    n = round(minutes * 60 * fs)
    x = np.empty((n, channels))
    for c in range(channels):
        x[:, c] = synth_emg(fs, n / fs, snr_db=20, seed=c).x[:n]
    return x, fs


# ------------------------------------------------------ scipy + numpy, same steps


def numpy_pipeline(x, fs, *, threshold_sd=3.0, min_on_s=0.040, min_off_s=0.050,
                   baseline_window_s=0.5, baseline_tolerance=0.25, peak_window_s=0.05):
    """labkit.emg.detect_onsets(refine=False) step by step with scipy + numpy."""
    from scipy import signal as sps

    from labkit.signal.emg import butter_sos  # the same filter design (coefficients only)

    n, n_ch = x.shape
    bp = sps.sosfiltfilt(butter_sos(fs, low_hz=20.0, high_hz=450.0), x - x.mean(axis=0),
                         axis=0)
    env = sps.sosfiltfilt(butter_sos(fs, high_hz=20.0), np.abs(bp), axis=0)
    win = round(baseline_window_s * fs)
    step = max(1, win // 2)
    starts = np.arange((n - win) // step + 1) * step
    cs = np.zeros((n + 1, n_ch))
    np.cumsum(bp * bp, axis=0, out=cs[1:])
    power = (cs[starts + win] - cs[starts]) / win
    min_on, min_off = round(min_on_s * fs), round(min_off_s * fs)
    pw = round(peak_window_s * fs)
    out = []
    for c in range(n_ch):
        keep = starts[power[:, c] <= power[:, c].min() * (1.0 + baseline_tolerance)]
        seg = env[(keep[:, None] + np.arange(win)).ravel(), c]
        mean, sd = seg.mean(), seg.std(ddof=1)
        thr, thr_off = mean + threshold_sd * sd, mean  # offset_sd = 0: hysteresis
        e = env[:, c]
        d = np.diff((e > thr).astype(np.int8), prepend=0, append=0)
        rs, re = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        long = re - rs >= min_on
        rs, re = rs[long], re[long]
        low = np.flatnonzero(~(e > thr_off))
        k = np.searchsorted(low, re)
        ends = np.where(k < low.size, low[np.minimum(k, low.size - 1)], n)
        _, first = np.unique(ends, return_index=True)  # runs inside a held burst merge
        rs, ends = rs[first], ends[first]
        new = np.r_[True, rs[1:] - ends[:-1] >= min_off] if rs.size else np.empty(0, bool)
        g = np.flatnonzero(new)
        on, off = rs[g], ends[np.r_[g[1:] - 1, rs.size - 1]] if g.size else ends[:0]
        # peak of the trailing moving RMS (window shorter at the burst start) per burst
        if on.size:
            lens = off - on
            idx = np.repeat(on - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(lens.sum())
            lo = np.maximum(np.repeat(on, lens), idx - pw + 1)
            ms = (cs[idx + 1, c] - cs[lo, c]) / (idx + 1 - lo)
            peak = np.sqrt(np.maximum.reduceat(ms, np.r_[0, np.cumsum(lens)[:-1]]))
        else:
            peak = np.empty(0)
        out.append((on, off, peak))
    return out


# ------------------------------------------------------------------ subprocesses


COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from labkit.signal import emg
from labkit.signal.emg_synth import TRIGNO_FS_HZ, synth_emg
t_imp = time.perf_counter() - t0
x = np.stack([synth_emg(TRIGNO_FS_HZ, 20.0, seed=c).x for c in range(16)], axis=1)
t0 = time.perf_counter(); emg.detect_onsets(x, TRIGNO_FS_HZ); t1 = time.perf_counter() - t0
t0 = time.perf_counter(); emg.detect_onsets(x, TRIGNO_FS_HZ); t2 = time.perf_counter() - t0
print(t_imp, t1, t2)
"""

MEMORY_SNIPPET = """
import sys, tracemalloc, numpy as np
from labkit.signal import emg
from labkit.signal.emg_synth import TRIGNO_FS_HZ
def status():
    d = {}
    for line in open('/proc/self/status'):
        k = line.split(':')[0]
        if k in ('VmRSS', 'VmHWM'):
            d[k] = int(line.split()[1]) * 1024
    return d
x = np.load(sys.argv[1])
emg.detect_onsets(x[: round(20 * TRIGNO_FS_HZ)], TRIGNO_FS_HZ)  # compile first
refine = sys.argv[2] == '1'
try:
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset VmHWM to the current RSS
    reset = True
except OSError:
    reset = False
base = status()['VmRSS']
tracemalloc.start()
emg.detect_onsets(x, TRIGNO_FS_HZ, refine=refine)
_, traced = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(x.nbytes, status()['VmHWM'] - base if reset else -1, traced)
"""


def compile_cost(cold):
    env = dict(os.environ)
    tmp = None
    if cold:
        tmp = tempfile.TemporaryDirectory()
        env["NUMBA_CACHE_DIR"] = tmp.name
    try:
        r = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                           capture_output=True, text=True, cwd=HERE.parent)
    finally:
        if tmp:
            tmp.cleanup()
    t_imp, t1, t2 = (float(v) for v in r.stdout.split())
    return t_imp, t1, t2


def peak_memory(path, refine):
    r = subprocess.run([sys.executable, "-c", MEMORY_SNIPPET, str(path), "1" if refine else "0"],
                       check=True, capture_output=True, text=True, cwd=HERE.parent)
    nbytes, hwm, traced = (int(v) for v in r.stdout.split())
    return nbytes, hwm, traced


# ------------------------------------------------------------------- peer worker


def _quiet(fn, *a, **k):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def peer_worker(path, repeat):
    """Run in the peer venv: time each peer on one channel; print JSON."""
    x = np.load(path)
    fs = float(np.load(path.replace(".npy", "_fs.npy")))
    res = {"n_samples": int(x.size), "versions": {}}
    times = {}
    try:
        import neurokit2 as nk

        res["versions"]["neurokit2"] = nk.__version__
        times["neurokit2 emg_process"] = lambda: _quiet(nk.emg_process, x,
                                                        sampling_rate=round(fs))
    except ImportError:
        pass
    try:
        import biosppy
        from biosppy.signals import emg as E
        from biosppy.signals import tools as st

        res["versions"]["biosppy"] = biosppy.__version__
        rest = [0, int(REST_S * fs)]

        def filt():
            return _quiet(st.filter_signal, signal=x, ftype="butter", band="bandpass",
                          order=4, frequency=[20.0, 450.0], sampling_rate=fs)[0]

        detectors = {
            "find_onsets": lambda f: E.find_onsets(signal=f, sampling_rate=fs,
                                                   size=0.05),
            "hodges_bui": lambda f: E.hodges_bui_onset_detector(
                signal=f, rest=rest, sampling_rate=fs, size=int(0.025 * fs), threshold=3),
            "bonato": lambda f: E.bonato_onset_detector(
                signal=f, rest=rest, sampling_rate=fs, threshold=3,
                active_state_duration=int(0.03 * fs), samples_above_fail=1, fail_size=5),
            "solnik": lambda f: E.solnik_onset_detector(
                signal=f, rest=rest, sampling_rate=fs, threshold=3,
                active_state_duration=int(0.025 * fs)),
            "lidierth": lambda f: E.lidierth_onset_detector(
                signal=f, rest=rest, sampling_rate=fs, size=int(0.025 * fs), threshold=3,
                active_state_duration=int(0.025 * fs), fail_size=int(0.01 * fs)),
        }
        for name, det in detectors.items():
            times[f"biosppy filter_signal + {name}"] = (
                lambda det=det: _quiet(det, filt()))
    except ImportError:
        pass
    out = {}
    for name, fn in times.items():
        t = []
        try:
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                t.append(time.perf_counter() - t0)
            out[name] = float(np.median(t))
        except Exception as exc:  # reported, not hidden
            out[name] = f"{type(exc).__name__}: {exc}"
    res["times"] = out
    print(json.dumps(res))


def run_peers(x1, fs, repeat, tmpdir):
    py = PEER_PY if PEER_PY.exists() else None
    if py is None:
        return None, f"{PEER_PY} not found: run benchmarks/setup_peers_venv.sh"
    p = os.path.join(tmpdir, "peer.npy")
    np.save(p, x1)
    np.save(p.replace(".npy", "_fs.npy"), np.float64(fs))
    r = subprocess.run([str(py), __file__, "--peer-worker", p, "--peer-repeat", str(repeat)],
                       capture_output=True, text=True, cwd=HERE.parent)
    if r.returncode:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr else "peer worker failed"
    return json.loads(r.stdout.strip().splitlines()[-1]), None


# ---------------------------------------------------------------------------- main


def refine_inputs(x, fs, dfc):
    """The refiner's inputs rebuilt from public outputs: the band-passed signal, the
    coarse bursts, the windows of detect_onsets and the baseline variance over the
    baseline windows recorded in the parameters."""
    from labkit.signal import emg

    p = dfc.attrs["params"]
    filtered = emg.bandpass(emg.remove_offset(x), fs, low_hz=p["low_hz"], high_hz=p["high_hz"],
                            order=p["order"])
    ch = dfc.channel.to_numpy().astype(np.int64)
    on = np.round(dfc.onset_s.to_numpy() * fs).astype(np.int64)
    off = np.round(dfc.offset_s.to_numpy() * fs).astype(np.int64)
    prev = np.zeros_like(off)
    same = np.r_[False, ch[1:] == ch[:-1]]
    prev[same] = off[:-1][same[1:]]
    lo = np.maximum(on - round(p["refine_pre_s"] * fs), prev)
    hi = np.minimum(np.minimum(on + round(p["refine_post_s"] * fs), off), x.shape[0])
    base_var = np.array([
        np.mean(np.concatenate([filtered[round(a * fs):round(b * fs), c] for a, b in w]) ** 2)
        for c, w in enumerate(p["baseline_used_s"])
    ])
    return filtered, ch, lo, on, hi, base_var, off


def med(ts):
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer-seconds", type=float, default=60.0)
    ap.add_argument("--peer-repeat", type=int, default=5)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--threads", type=int, default=0,
                    help="numba threads for labkit (default: numba's, one per CPU)")
    ap.add_argument("--peer-worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peer_worker:
        return peer_worker(a.peer_worker, a.peer_repeat)

    import numba

    from labkit.signal import emg

    if a.threads:
        numba.set_num_threads(a.threads)
    t0 = time.perf_counter()
    x, fs = make_input(a.minutes, a.channels)
    print(f"input: {x.shape[0]} x {x.shape[1]} at {fs:.3f} Hz = {x.size / 1e6:.1f} M samples "
          f"({x.nbytes / 2**20:.0f} MiB float64; generated in {time.perf_counter() - t0:.0f} s)"
          f"; numba threads {numba.get_num_threads()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    emg.detect_onsets(x[: round(20 * fs)], fs)  # compile / load the cache
    numpy_pipeline(x[: round(20 * fs)], fs)

    t_full, t_coarse, t_np, t_one = [], [], [], []
    threads = numba.get_num_threads()
    for _ in range(a.repeat):  # interleaved so that machine load hits all alike
        if threads > 1:  # labkit on one thread too (robust to a busy shared core)
            numba.set_num_threads(1)
            t0 = time.perf_counter()
            emg.detect_onsets(x, fs, refine=False)
            t_one.append(time.perf_counter() - t0)
            numba.set_num_threads(threads)
        t0 = time.perf_counter()
        df = emg.detect_onsets(x, fs)
        t_full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dfc = emg.detect_onsets(x, fs, refine=False)
        t_coarse.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = numpy_pipeline(x, fs)
        t_np.append(time.perf_counter() - t0)
    full, coarse, npt = med(t_full), med(t_coarse), med(t_np)
    # the refinement alone, timed directly (a difference of two noisy medians is not)
    args = refine_inputs(x, fs, dfc)
    t_ref = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        new_on = emg.REFINERS[emg.DEFAULT_REFINER](args[0], fs, *args[1:6])
        t_ref.append(time.perf_counter() - t0)
    refine = med(t_ref)
    new_on = np.where((new_on >= 0) & (new_on < args[6]), new_on, args[3])  # as detect_onsets
    same_ref = np.array_equal(new_on / fs, df.onset_s.to_numpy())
    n_np = sum(len(on) for on, _, _ in ref)
    same = n_np == len(dfc) and all(
        np.array_equal(on, np.round(dfc.onset_s[dfc.channel == c] * fs).astype(np.int64))
        and np.array_equal(off, np.round(dfc.offset_s[dfc.channel == c] * fs).astype(np.int64))
        and np.allclose(pk, dfc.peak[dfc.channel == c], rtol=1e-6)
        for c, (on, off, pk) in enumerate(ref)
    )
    sps_ = x.size
    print(f"\n(a) median of {a.repeat} runs, same input")
    print(f"  labkit detect_onsets, no refinement  {coarse:7.3f} s  {sps_ / coarse / 1e6:6.1f} M "
          f"samples/s  ({len(dfc)} bursts)")
    print(f"  scipy sosfiltfilt + numpy, same steps {npt:7.3f} s  {sps_ / npt / 1e6:6.1f} M "
          f"samples/s  ({n_np} bursts; identical to labkit's: {same})")
    print(f"  ratio (a) scipy+numpy / labkit:       {npt / coarse:7.2f} x   (target >= 2)")
    if t_one:
        one = med(t_one)
        print(f"  labkit no refinement, 1 thread        {one:7.3f} s  {sps_ / one / 1e6:6.1f} M "
              f"samples/s; ratio scipy+numpy / labkit 1 thread: {npt / one:.2f} x")
    print(f"  labkit refinement (posterior) alone   {refine:7.3f} s  ({len(df)} onsets; same "
          f"onsets as detect_onsets: {same_ref})")
    print("  runs (s): coarse " + " ".join(f"{t:.2f}" for t in t_coarse)
          + ("; coarse 1 thread " + " ".join(f"{t:.2f}" for t in t_one) if t_one else "")
          + "; scipy+numpy "
          + " ".join(f"{t:.2f}" for t in t_np) + "; refined " + " ".join(f"{t:.2f}" for t in t_full))
    print(f"  labkit detect_onsets, default (refined) {full:5.3f} s  {sps_ / full / 1e6:6.1f} M "
          f"samples/s; scipy+numpy (unrefined) / labkit refined: {npt / full:.2f} x")

    print("\ncompile cost in a fresh process (16 ch x 20 s; first call minus second call)")
    for cold in (False, True):
        t_imp, t1, t2 = compile_cost(cold)
        print(f"  {'cold numba cache' if cold else 'warm numba cache'}: import {t_imp:.2f} s, "
              f"first call {t1:.2f} s, second {t2:.3f} s -> compile/load {t1 - t2:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npy")
        np.save(path, x)
        print("\npeak memory of labkit detect_onsets in a fresh process (above the RSS with "
              "the input loaded and kernels compiled)")
        for r in (False, True):
            nbytes, hwm, traced = peak_memory(path, r)
            hwm_s = (f"{hwm / 2**20:.0f} MiB = {hwm / nbytes:.2f} x input" if hwm >= 0
                     else "n/a (clear_refs not writable)")
            print(f"  refine={r!s:5s}: peak RSS {hwm_s}; numpy allocations (tracemalloc) "
                  f"{traced / 2**20:.0f} MiB = {traced / nbytes:.2f} x  (target < 3 x)")

        if a.no_peers:
            return
        n1 = round(a.peer_seconds * fs)
        print(f"\npeers (peer venv, 1 channel x {a.peer_seconds:g} s = {n1} samples; scaled per "
              f"sample to {x.size / 1e6:.1f} M samples). {a.peer_repeat} rounds, each timing "
              "labkit on the full input and then every peer once, so that a round's ratio is "
              "measured under one machine load; ratios are medians over rounds [min-max]")
        x1 = np.ascontiguousarray(x[:n1, 0])
        rounds = []
        for _ in range(a.peer_repeat):
            t0 = time.perf_counter()
            emg.detect_onsets(x, fs, refine=False)
            t_c = time.perf_counter() - t0
            t0 = time.perf_counter()
            emg.detect_onsets(x, fs)
            t_f = time.perf_counter() - t0
            res, err = run_peers(x1, fs, 1, tmp)
            if res is None:
                print(f"  skipped: {err}")
                return
            rounds.append((t_c, t_f, res))
        res = rounds[0][2]
        print(f"  versions: {res['versions']}; labkit per round (s): coarse "
              + " ".join(f"{r[0]:.2f}" for r in rounds) + ", refined "
              + " ".join(f"{r[1]:.2f}" for r in rounds))
        scale = x.size / res["n_samples"]
        targets = {"neurokit2": 200.0, "biosppy": 20.0}
        print(f"  {'peer':40s} {'short s':>8s} {'full est s':>11s} {'/ coarse':>16s} "
              f"{'/ refined':>16s}  target: coarse, refined")
        for name in res["times"]:
            ts = [r[2]["times"][name] for r in rounds]
            bad = [t for t in ts if isinstance(t, str)]
            if bad:
                print(f"  {name:40s} failed: {bad[0]}")
                continue
            est = np.array(ts) * scale
            vs_c = est / np.array([r[0] for r in rounds])
            vs_f = est / np.array([r[1] for r in rounds])
            tgt = targets["neurokit2" if name.startswith("neurokit2") else "biosppy"]
            mc, mf = float(np.median(vs_c)), float(np.median(vs_f))
            print(f"  {name:40s} {med(ts):8.3f} {med(est):11.1f} "
                  f"{mc:6.0f}x [{vs_c.min():.0f}-{vs_c.max():.0f}] {mf:6.0f}x [{vs_f.min():.0f}-"
                  f"{vs_f.max():.0f}]  >= {tgt:g}x: {'yes' if mc >= tgt else 'NO'}, "
                  f"{'yes' if mf >= tgt else 'NO'}")
        print("  (coarse = labkit without refinement, like with like: the peers do not refine;"
              " refined = labkit's default)")

if __name__ == "__main__":
    main()
