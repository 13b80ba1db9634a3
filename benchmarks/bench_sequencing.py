"""Benchmark: joint angles and triple-extension sequencing of many CMJs from markers.

1,000 CMJ trials of 3 s at 200 Hz with 60 markers each (the simulated athlete's 20
lower-body markers, Plug-in Gait plus medial knee and ankle, and 40 other markers a lab
also labels, e.g. upper body and clusters; 0.3 mm noise). Prints medians of repeats
and the ratio measured in the same run:

  * labkit: ``labkit.trials.sequencing.jump_sequencing_table`` over all trials (marker
    set found by its labels, Plug-in Gait frames and YXZ angles, both legs, 10 Hz zero-lag
    low-pass, peak extension velocities, onsets, lags, order, take-off angles: the
    ``seq_*`` metrics of the trials table, from the fused kernel of
    ``labkit.signal.kinematics.triple_extension_batch``), against
  * a straightforward vectorised numpy implementation over all trials at once:
    sagittal-plane segment angles in the pelvis frame from the same markers (Harrington
    hip centres, mid-epicondyle knee and mid-malleolus ankle centres), the same low-pass,
    central differences, peak extension velocity with parabolic sub-frame timing.
    Checked to agree with labkit (same order in every trial, lags close).

Fairness: the peer does less per trial (planar angles, no onsets or take-off angles)
but over the whole 3 s record, while labkit reads only the frames its analysis uses (the
1 s search window plus the filter's reach, about 320 of 600 frames; the peer could window
too). labkit runs numba's threads (2 here), the peer one; the one-thread ratio is printed
by ``NUMBA_NUM_THREADS=1``. Both are timed the same number of times.

Target: labkit >= 5x faster. Also printed: ``jump_sequencing`` one trial at a time (the
composed path that ``labkit analyze`` runs per trial, also the batch's reference; checked
equal to the batch), and a profile of the batch.

Usage: .venv/bin/python benchmarks/bench_sequencing.py [--trials 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

import numpy as np
from scipy import signal as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._timing import machine_line, timed  # noqa: E402
from labkit.devices.sim.athlete import STREAMED_MARKERS, Athlete, AthleteParams  # noqa: E402
from labkit.signal.window import Window  # noqa: E402
from labkit.trials.sequencing import jump_sequencing, jump_sequencing_table  # noqa: E402

FS = 200.0
N_OTHER = 40  # markers beside the lower body, which the analysis must skip


def make_trials(n_trials: int, seconds: float = 3.0, n_base: int = 8, seed: int = 0):
    """(labels, data (n_trials, n, 3 * 60) float32, times (n,), take-off times (n_trials,)):
    ``n_base`` simulated athletes' CMJs, each trial one of them with its own noise."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    t = 1.0 + np.arange(n) / FS
    base, takeoffs = [], []
    for b in range(n_base):
        a = Athlete(AthleteParams(seed=b))
        e = a.go("cmj", cue_s=1.5, trial=1)
        takeoffs.append(next(m for m in a.truth(e) if m["event"] == "kinematics")["takeoff_s"])
        base.append(a.markers(t, STREAMED_MARKERS))  # (n, 20, 3)
    other = rng.normal([0.0, 0.0, 1.3], 0.2, (N_OTHER, 3))  # upper body, roughly still
    names = [*STREAMED_MARKERS, *(f"X{i:02d}" for i in range(N_OTHER))]
    labels = [f"{m}.{ax}" for m in names for ax in "xyz"]
    pick = np.arange(n_trials) % n_base
    lower = np.stack(base)[pick]  # (T, n, 20, 3)
    rest = np.broadcast_to(other, (n_trials, n, N_OTHER, 3))
    xyz = np.concatenate([lower, rest], axis=2) + rng.normal(0.0, 0.0003, (n_trials, n, len(names), 3))
    return labels, xyz.reshape(n_trials, n, -1).astype(np.float32), t, np.array(takeoffs)[pick]


# ---- numpy ------------------------------------------------------------------------------

def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def numpy_sequencing(labels, data, t, takeoffs, *, lowpass_hz=10.0, search_before_s=1.0):
    """Peak extension velocity times (s, relative to take-off) per side and joint, and the
    lags (ms), for all trials at once."""
    col = {lb: i for i, lb in enumerate(labels)}

    def mk(name):
        i = col[f"{name}.x"]
        return data[:, :, i : i + 3].astype(np.float64)

    lasi, rasi, lpsi, rpsi = mk("LASI"), mk("RASI"), mk("LPSI"), mk("RPSI")
    y = _unit(lasi - rasi)
    mid_a = 0.5 * (lasi + rasi)
    xr = mid_a - 0.5 * (lpsi + rpsi)
    x = _unit(xr - np.sum(xr * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    pw = np.linalg.norm(lasi - rasi, axis=-1, keepdims=True)
    pd = np.linalg.norm(xr, axis=-1, keepdims=True)
    b, a = sps.butter(2, lowpass_hz / (FS / 2))
    out = {}
    for side, sgn, s in (("l", 1.0, "L"), ("r", -1.0, "R")):
        hip = mid_a + (-0.24 * pd - 0.0099) * x + sgn * (0.33 * pw + 0.0073) * y + (-0.30 * pw - 0.0109) * z
        knee = 0.5 * (mk(f"{s}KNE") + mk(f"{s}KNM"))
        ankle = 0.5 * (mk(f"{s}ANK") + mk(f"{s}ANM"))
        foot = mk(f"{s}TOE") - mk(f"{s}HEE")

        def pitch(v, up):  # angle of v in the pelvis sagittal plane, from pointing `up`
            return np.degrees(np.arctan2(np.sum(v * x, axis=-1), up * np.sum(v * z, axis=-1)))

        thigh, shank = pitch(knee - hip, -1.0), pitch(ankle - knee, -1.0)
        foot_up = np.degrees(np.arctan2(np.sum(foot * z, axis=-1), np.sum(foot * x, axis=-1)))
        flex = {"hip": thigh, "knee": thigh - shank, "ankle": foot_up - shank}
        i_to = (takeoffs - t[0]) * FS
        frames = np.arange(t.size)[None, :]
        inside = (frames >= np.floor(i_to - search_before_s * FS)[:, None]) & (frames <= i_to[:, None])
        for j, ang in flex.items():
            ext_vel = -np.gradient(sps.filtfilt(b, a, ang, axis=1), 1 / FS, axis=1)
            k = np.clip(np.where(inside, ext_vel, -np.inf).argmax(axis=1), 1, t.size - 2)
            v0, v1, v2 = (np.take_along_axis(ext_vel, (k + d)[:, None], axis=1)[:, 0] for d in (-1, 0, 1))
            den = v0 - 2 * v1 + v2
            frac = np.where(den != 0, 0.5 * (v0 - v2) / np.where(den != 0, den, 1.0), 0.0)
            out[f"{j}_{side}"] = (k + frac) / FS + t[0] - takeoffs
        out[f"hip_knee_{side}"] = 1000 * (out[f"knee_{side}"] - out[f"hip_{side}"])
        out[f"knee_ankle_{side}"] = 1000 * (out[f"ankle_{side}"] - out[f"knee_{side}"])
    return out


# ---- labkit -----------------------------------------------------------------------------

def labkit_per_trial(labels, data, t, takeoffs):
    return [jump_sequencing(Window(labels, data[i], t, FS, "mocap"), float(takeoffs[i])).metrics
            for i in range(data.shape[0])]  # fmt: skip


def labkit_batch(labels, data, t, takeoffs):
    return jump_sequencing_table(labels, data, t, takeoffs, fs_hz=FS)


def check_batch_equals_per_trial(df, per_trial) -> float:
    """The batch's row of every trial equals jump_sequencing's metrics (NaN where it has
    NaN, within 1e-9 elsewhere); returns the largest numeric difference."""
    worst = 0.0
    for i, m in enumerate(per_trial):
        assert df.at[i, "seq_note"] == "", (i, df.at[i, "seq_note"])
        for k, v in m.items():
            got = df.at[i, k]
            if isinstance(v, str):
                assert got == v, (i, k, got, v)
                continue
            assert np.isnan(got) == np.isnan(v), (i, k, got, v)
            if not np.isnan(v):
                worst = max(worst, abs(float(got) - v))
    assert worst < 1e-9, worst
    return worst


def check_agreement(lab, npo) -> float:
    """Same order in every trial and lags within 5 ms (one frame is 5 ms; the peer's
    planar angles and three-frame peaks differ from labkit's a little); returns the
    largest |lag difference| (ms)."""
    worst = 0.0
    for i, m in enumerate(lab):
        for s in ("l", "r"):
            order = ">".join(sorted(("hip", "knee", "ankle"), key=lambda j: npo[f"{j}_{s}"][i]))
            assert m[f"seq_order_{s}"] == order, (i, s, m[f"seq_order_{s}"], order)
            for k in ("hip_knee", "knee_ankle"):
                d = abs(m[f"seq_{k}_lag_{s}_ms"] - npo[f"{k}_{s}"][i])
                assert np.isfinite(d), (i, s, k)
                worst = max(worst, d)
    assert worst <= 5.0, worst
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    print(machine_line())
    labels, data, t, takeoffs = make_trials(a.trials)
    print(f"{a.trials} CMJs x {t.size / FS:g} s at {FS:g} Hz, {len(labels) // 3} markers")
    labkit_batch(labels, data[:2], t, takeoffs[:2])  # warm-up (compiles or loads the kernel)
    df = labkit_batch(labels, data, t, takeoffs)
    per_trial = labkit_per_trial(labels, data, t, takeoffs)
    worst = check_agreement(df.to_dict("records"), numpy_sequencing(labels, data, t, takeoffs))
    print(f"numpy and labkit agree: the same order in every trial, lags within {worst:.2f} ms")
    diff = check_batch_equals_per_trial(df, per_trial)
    print(f"labkit batch equals jump_sequencing trial by trial (largest difference {diff:.1e})")
    t_lab, all_lab = timed(lambda: labkit_batch(labels, data, t, takeoffs), a.repeats)
    t_np, all_np = timed(lambda: numpy_sequencing(labels, data, t, takeoffs), a.repeats)
    t_one, _ = timed(lambda: labkit_per_trial(labels, data, t, takeoffs), 1)

    def fmt(ts):
        return ", ".join(f"{x:.3f}" for x in ts)

    print(f"labkit batch (jump_sequencing_table): median {t_lab:.3f} s  [{fmt(all_lab)}]  "
          f"{1000 * t_lab / a.trials:.3f} ms/trial")
    print(f"numpy vectorised: median {t_np:.3f} s  [{fmt(all_np)}]  {1000 * t_np / a.trials:.3f} ms/trial")
    print(f"labkit per trial (jump_sequencing): {t_one:.2f} s  {1000 * t_one / a.trials:.2f} ms/trial")
    ratio = t_np / t_lab
    print(f"RATIO labkit vs numpy: {ratio:.2f}x  (target >= 5x{'' if ratio >= 5 else ': MISSED'})")
    prof = cProfile.Profile()
    prof.enable()
    labkit_batch(labels, data, t, takeoffs)
    prof.disable()
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(12)
    print(f"labkit batch profile, {a.trials} trials, by own time:")
    print("\n".join(line for line in s.getvalue().splitlines() if line.strip())[:3000])


if __name__ == "__main__":
    main()
