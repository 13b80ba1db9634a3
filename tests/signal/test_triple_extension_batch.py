"""The fused batch kernel of triple extension against its slow reference, the composed
path (frames_from_markers -> lower_limb_angles -> triple_extension, and
labkit.trials.sequencing.jump_sequencing), trial by trial; and against the simulated
athlete's truth."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.devices.sim.athlete import STREAMED_MARKERS, Athlete, AthleteParams
from labkit.errors import SignalError
from labkit.signal import kinematics as kin
from labkit.signal.window import Window
from labkit.trials.sequencing import jump_sequencing, jump_sequencing_table

FS = 200.0
JOINTS = ("hip", "knee", "ankle")


def _trials(n_trials=4, seconds=3.0, *, jitter_s=0.0, extra=True, seed=0):
    """Simulated CMJs (one athlete each, 0.3 mm marker noise) plus markers the analysis
    must skip; per-trial frame times (session clock, optionally jittered); take-offs and
    the truth of each."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    names = [*STREAMED_MARKERS, *(("C7", "T10", "STRN") if extra else ())]
    labels = [f"{m}.{ax}" for m in names for ax in "xyz"]
    data, times, takeoffs, truths = [], [], [], []
    for i in range(n_trials):
        a = Athlete(AthleteParams(seed=10 + i))
        cue = 20.0 * i + 1.5
        e = a.go("cmj", cue_s=cue, trial=i + 1)
        truth = next(m for m in a.truth(e) if m["event"] == "kinematics")
        t = cue - 0.5 + np.arange(n) / FS + rng.uniform(-jitter_s, jitter_s, n)
        xyz = a.markers(t, STREAMED_MARKERS)
        if extra:
            xyz = np.concatenate([xyz, rng.normal([0.0, 0.0, 1.4], 0.1, (n, 3, 3))], axis=1)
        data.append((xyz + rng.normal(0.0, 0.0003, xyz.shape)).reshape(n, -1))
        times.append(t)
        takeoffs.append(truth["takeoff_s"])
        truths.append(truth)
    return labels, np.stack(data), np.stack(times), np.array(takeoffs), truths


def _reference(labels, data, times, takeoff, **opts):
    """The composed path for one trial: per side a TripleExtension and the unfiltered
    sagittal angles."""
    marker_options = {"names": opts.pop("marker_names", "auto"),
                      "hip_centre_method": opts.pop("hip_centre_method", "harrington")}
    frames = kin.frames_from_channels(labels, data, marker_options=marker_options)
    ang = kin.lower_limb_angles(frames)
    out = {}
    for s in ("l", "r"):
        sag = [ang.sagittal(j, s) for j in JOINTS]
        te = kin.triple_extension(*sag, FS, takeoff_s=takeoff, t0_s=float(times[0]), **opts)
        out[s] = (te, {j: float(np.interp(takeoff, times, x)) for j, x in zip(JOINTS, sag, strict=True)})
    return out


OPTION_SETS = [
    {},
    {"hip_centre_method": "bell", "onset": "fraction", "onset_fraction": 0.2, "peak_fit_fraction": None},
    {"lowpass_hz": None, "subframe": False, "lag_event": "onset", "search_before_s": 0.6},
    {"lowpass_hz": 6.0, "filter_order": 4, "tolerance_frames": 3.0},
]


@pytest.mark.parametrize("opts", OPTION_SETS, ids=["default", "bell-fraction", "unfiltered-onset", "6hz-4th"])
def test_batch_equals_the_composed_path_trial_by_trial(opts):
    """Every event of every trial and side equals the reference to 1e-9 (ms, deg/s, deg),
    with per-trial jittered frame times, float32 data and markers to skip."""
    labels, data, times, takeoffs, _ = _trials(3, jitter_s=0.0005)
    data = data.astype(np.float32)
    b = kin.triple_extension_batch(labels, data, times, takeoffs, fs_hz=FS, **opts)
    assert b.errors == [None] * 3
    for i in range(3):
        ref = _reference(labels, data[i], times[i], float(takeoffs[i]), **dict(opts))
        for si, s in enumerate("lr"):
            te, at_to = ref[s]
            for ji, j in enumerate(JOINTS):
                assert b.peak_velocity_s[i, si, ji] == pytest.approx(te.peak_velocity_s[j], abs=1e-12)
                assert b.peak_velocity_deg_s[i, si, ji] == pytest.approx(te.peak_velocity_deg_s[j], abs=1e-9)
                assert b.onset_s[i, si, ji] == pytest.approx(te.onset_s[j], abs=1e-12, nan_ok=True)
                assert b.takeoff_angle_deg[i, si, ji] == pytest.approx(at_to[j], abs=1e-9)
            for pi, k in enumerate(("hip_knee", "knee_ankle")):
                assert b.lags_ms[i, si, pi] == pytest.approx(te.lags_ms[k], abs=1e-9)
            assert b.order[i, si] == ">".join(te.order)
            assert list(b.rank[i, si]) == [te.order.index(j) + 1 for j in JOINTS]
            want = np.nan if te.proximal_to_distal is None else float(te.proximal_to_distal)
            assert b.proximal_to_distal[i, si] == pytest.approx(want, nan_ok=True)


def test_table_equals_jump_sequencing_and_the_truth():
    """The trials-table batch gives jump_sequencing's metrics, key by key, for a shared
    time row; and the simulated truth (order, lags within 5 ms, take-off angles within
    2 deg) in every trial."""
    labels, data, times, takeoffs, truths = _trials(4, extra=False)
    t = times[0] - times[0, 0]  # one time row for all: each trial on its own take-off
    to = takeoffs - times[:, 0]
    df = jump_sequencing_table(labels, data, t, to, fs_hz=FS)
    assert len(df) == 4 and (df["seq_note"] == "").all()
    assert df.attrs["params"]["function"] == "labkit.trials.sequencing.jump_sequencing_table"
    for i, truth in enumerate(truths):
        m = jump_sequencing(Window(labels, data[i], t, FS, "mocap"), float(to[i])).metrics
        assert set(m) == set(df.columns) - {"seq_note"}
        for k, v in m.items():
            if isinstance(v, str):
                assert df.at[i, k] == v, k
            else:
                assert df.at[i, k] == pytest.approx(v, abs=1e-9, nan_ok=True), k
        for s in ("l", "r"):
            assert df.at[i, f"seq_order_{s}"] == ">".join(truth["order"])
            for k in ("hip_knee", "knee_ankle"):
                assert abs(df.at[i, f"seq_{k}_lag_{s}_ms"] - 1000 * truth["peak_velocity_lag_s"][k]) <= 5.0
            for j in JOINTS:
                assert abs(df.at[i, f"seq_{j}_takeoff_angle_{s}_deg"] - truth["takeoff_angles_deg"][j]) <= 2.0


def test_a_bad_trial_is_reported_and_the_others_kept():
    labels, data, times, takeoffs, _ = _trials(4, extra=False)
    data = data.copy()
    col = labels.index("RKNM.y")
    i_to = int((takeoffs[1] - times[1, 0]) * FS)
    data[1, i_to - 20, col] = np.nan  # a gap inside trial 1's search window
    takeoffs = takeoffs.copy()
    takeoffs[2] = times[2, -1] + 1.0  # trial 2: take-off after its record
    takeoffs[3] = np.nan  # trial 3: no take-off
    b = kin.triple_extension_batch(labels, data, times, takeoffs, fs_hz=FS)
    assert b.errors[0] is None and b.order[0, 0] == "hip>knee>ankle"
    assert f"angle[{i_to - 20}] of side r is NaN" in b.errors[1]
    assert "outside the record" in b.errors[2]
    assert "no take-off" in b.errors[3]
    assert np.all(np.isnan(b.lags_ms[1:])) and list(b.order[1:, 1]) == ["", "", ""]
    assert np.all(b.rank[1:] == 0)
    keep = [i for i, lb in enumerate(labels) if not lb.startswith("LANM")]
    with pytest.raises(SignalError, match="fit no supported marker set"):
        kin.triple_extension_batch([labels[i] for i in keep], data[:, :, keep], times, takeoffs, fs_hz=FS)
    with pytest.raises(SignalError, match="rigid bodies"):
        kin.triple_extension_batch(["pelvis.qw", *labels[1:]], data, times, takeoffs, fs_hz=FS)
    with pytest.raises(SignalError, match="takeoff_s has 2 values for 4 trials"):
        kin.triple_extension_batch(labels, data, times, takeoffs[:2], fs_hz=FS)
    with pytest.raises(SignalError, match=r"times_s has shape \(3,\)"):
        kin.triple_extension_batch(labels, data, times[0, :3], takeoffs, fs_hz=FS)


def test_one_side_ignores_the_other_sides_gap_and_missing_events_sort_last():
    """sides=("l",) analyses a trial whose right knee has a gap, as jump_sequencing does;
    with onsets as the lag event and a record that starts after some joints' onsets
    (NaN), the order puts those joints last in both paths."""
    labels, clean, times, takeoffs, _ = _trials(2, extra=False)
    data = clean.copy()
    i_to = int((takeoffs[0] - times[0, 0]) * FS)
    data[0, i_to - 20, labels.index("RKNM.y")] = np.nan
    df = jump_sequencing_table(labels, data, times, takeoffs, fs_hz=FS, sides=("l",))
    window = Window(labels, data[0], times[0], FS, "mocap")
    m = jump_sequencing(window, float(takeoffs[0]), sides=("l",)).metrics
    assert df.at[0, "seq_note"] == "" and not any(c.endswith("_r") or "_r_" in c for c in df.columns)
    for k, v in m.items():
        assert df.at[0, k] == (v if isinstance(v, str) else pytest.approx(v, abs=1e-9)), k
    both = kin.triple_extension_batch(labels, data, times, takeoffs, fs_hz=FS)
    assert "side r is NaN" in both.errors[0] and both.errors[1] is None
    # a record that starts 0.225 s before take-off (45 frames): the hip's and knee's
    # extension onsets lie before it, the ankle's inside
    start = [int((to - t[0]) * FS) - 45 for to, t in zip(takeoffs, times, strict=True)]
    short = np.stack([d[s:s + 75] for d, s in zip(clean, start, strict=True)])
    t_short = np.stack([t[s:s + 75] for t, s in zip(times, start, strict=True)])
    b = kin.triple_extension_batch(labels, short, t_short, takeoffs, fs_hz=FS, lag_event="onset",
                                   search_before_s=0.2, sides=("l",))
    assert np.isnan(b.onset_s[:, 0, :2]).all() and np.isfinite(b.onset_s[:, 0, 2]).all()
    for i in range(2):
        ref = _reference(labels, short[i], t_short[i], float(takeoffs[i]), lag_event="onset",
                         search_before_s=0.2)
        assert b.order[i, 0] == ">".join(ref["l"][0].order) == "ankle>hip>knee"
        assert b.order[i, 1] == "" and np.all(np.isnan(b.peak_velocity_s[i, 1]))
    with pytest.raises(SignalError, match="search_before_s=nan"):
        kin.triple_extension_batch(labels, data, times, takeoffs, fs_hz=FS, search_before_s=float("nan"))
    with pytest.raises(SignalError, match="sides="):
        kin.triple_extension_batch(labels, data, times, takeoffs, fs_hz=FS, sides=("x",))
