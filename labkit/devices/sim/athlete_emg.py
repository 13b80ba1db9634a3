"""EMG model of the simulated athlete: activation per task, envelopes, ECG, surface EMG.

EMG per channel ``<muscle>_<side>``: ``envelope(t) * shaped(i) + noise(i) + ECG(t)``;
the envelope rises linearly over ``emg_rise_s`` from ``t_on - emg_lead_s[muscle]`` to the
task's level (fraction of MVC times ``emg_mvc_v``); ``shaped`` is unit-variance noise with
a typical surface-EMG spectrum (FIR filtered white noise, indexed by sample); trunk
channels carry ECG when asked. ``weak_emg`` and ``missing_emg`` (per effort or for the
whole session) scale a channel's burst by ``weak_emg_factor`` or remove it.

Functions of the parameters, the efforts in play and time; the
:class:`~labkit.devices.sim.athlete.Athlete` keeps the timeline, the noise and the
filter caches. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from labkit.devices.sim.athlete_force import cmj_shape

if TYPE_CHECKING:
    from labkit.devices.sim.athlete import AthleteParams, Effort

__all__ = ["CMJ_LEVELS", "IMTP_LEVELS", "TRUNK_MUSCLES", "activation_levels", "add_trunk_ecg",
           "burst_end", "ecg", "emg_envelope", "emg_fir", "has_trunk", "shaped_emg", "split_label"]

TRUNK_MUSCLES = ("external_oblique", "internal_oblique", "multifidus")

# Activation (fraction of MVC) per task; "both" sides unless the task has a tested side.
IMTP_LEVELS = {"gluteus_maximus": 0.8, "gluteus_medius": 0.5, "rectus_femoris": 0.5,
               "tensor_fasciae_latae": 0.4, "biceps_femoris": 0.7, "semitendinosus": 0.7,
               "vastus_lateralis": 0.9, "gastrocnemius": 0.7, "soleus": 0.6,
               "external_oblique": 0.4, "internal_oblique": 0.4, "multifidus": 0.7,
               "iliopsoas": 0.2}
CMJ_LEVELS = {"gluteus_maximus": 0.7, "gluteus_medius": 0.4, "rectus_femoris": 0.6,
              "tensor_fasciae_latae": 0.3, "biceps_femoris": 0.5, "semitendinosus": 0.5,
              "vastus_lateralis": 0.9, "gastrocnemius": 0.8, "soleus": 0.7,
              "external_oblique": 0.3, "internal_oblique": 0.3, "multifidus": 0.5,
              "iliopsoas": 0.3}


def split_label(label: str) -> tuple[str, str]:
    """``"<muscle>_<side>"`` -> ``(muscle, side)``; ``(label, "")`` without an l/r side."""
    muscle, _, side = label.rpartition("_")
    if side not in ("l", "r") or not muscle:
        return label, ""
    return muscle, side


def emg_fir(fs_hz: float, n_taps: int = 63) -> np.ndarray:
    """FIR taps shaping white noise to a surface-EMG spectrum (peak near 80 Hz), unit gain
    in variance: ``P(f) ~ fh^4 f^2 / ((f^2 + fl^2)(f^2 + fh^2)^2)``, fl = 50, fh = 150 Hz."""
    nfft = 1024
    f = np.fft.rfftfreq(nfft, 1.0 / fs_hz)
    fl, fh = 50.0, 150.0
    gain = np.sqrt(fh**4 * f**2 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2))
    h = np.fft.irfft(gain, nfft)
    h = np.roll(h, n_taps // 2)[:n_taps] * np.hanning(n_taps + 2)[1:-1]
    return h / np.sqrt(np.sum(h**2))


def activation_levels(e: Effort) -> dict[tuple[str, str], float]:
    """Activation (fraction of MVC) per ``(muscle, side)`` taking part in the effort."""
    both = ("l", "r")
    out: dict[tuple[str, str], float] = {}
    if e.task in ("imtp", "cmj"):
        table = IMTP_LEVELS if e.task == "imtp" else CMJ_LEVELS
        out = {(m, s): v for m, v in table.items() for s in both}
    elif e.task == "isometric_hip_extension":
        s = e.side or "r"
        other = "l" if s == "r" else "r"
        out = {(m, s): v for m, v in (("gluteus_maximus", 0.9), ("biceps_femoris", 0.8),
                                      ("semitendinosus", 0.8), ("multifidus", 0.4))}
        out.update({("multifidus", other): 0.3, ("gluteus_medius", other): 0.2})
    elif e.task == "isometric_hip_flexion":
        s = e.side or "r"
        out = {(m, s): v for m, v in (("rectus_femoris", 0.8), ("tensor_fasciae_latae", 0.7),
                                      ("iliopsoas", 0.8))}
        out.update({(m, x): 0.3 for m in ("external_oblique", "internal_oblique") for x in both})
    elif e.task == "isometric_trunk_rotation":
        # turning left: right external oblique with left internal oblique
        eo, io = ("r", "l") if e.direction == "left" else ("l", "r")
        out = {("external_oblique", eo): 0.8, ("internal_oblique", io): 0.8,
               ("external_oblique", io): 0.2, ("internal_oblique", eo): 0.2,
               ("multifidus", "l"): 0.5, ("multifidus", "r"): 0.5}
    elif e.task == "mvc":
        sides = (e.side,) if e.side else both
        out = {(e.muscle or "gluteus_maximus", s): 1.0 for s in sides}
    return out


def burst_end(p: AthleteParams, e: Effort) -> float:
    """When the EMG burst of an effort starts to fall: takeoff for a CMJ, else relaxing."""
    if e.task == "cmj":
        c = cmj_shape(p)
        return e.onset_s + c.t1 + c.t2
    return e.end_s


def emg_envelope(p: AthleteParams, efforts: Iterable[Effort], t: np.ndarray,
                 labels: Sequence[str]) -> np.ndarray:
    """EMG amplitude (RMS volts) per channel label, shape (n, len(labels)), noise-free."""
    out = np.zeros((t.size, len(labels)))
    keys = [split_label(lb) for lb in labels]
    for e in efforts:
        levels = activation_levels(e)
        weak, missing = e.channels_with("weak_emg"), e.channels_with("missing_emg")
        end = burst_end(p, e)
        for j, (lb, key) in enumerate(zip(labels, keys, strict=True)):
            level = levels.get(key, 0.0)
            if level <= 0 or lb in missing:
                continue
            if lb in weak:
                level *= p.weak_emg_factor
            b = e.onset_s - p.emg_lead_s.get(key[0], 0.05)
            up = np.clip((t - b) / p.emg_rise_s, 0.0, 1.0)
            at_end = min(1.0, max(0.0, (end - b) / p.emg_rise_s))
            down = np.where(t >= end, np.clip(1.0 - (t - end) / p.emg_fall_s, 0.0, 1.0) * at_end, up)
            out[:, j] += level * p.emg_mvc_v * down
    for j, lb in enumerate(labels):
        if lb in p.missing_emg_channels:
            out[:, j] = 0.0
        elif lb in p.weak_emg_channels:
            out[:, j] *= p.weak_emg_factor
    return out


def ecg(p: AthleteParams, phase_s: float, t: np.ndarray) -> np.ndarray:
    """ECG as seen on the trunk (volts at the R wave = ``ecg_amplitude_v``).

    Beats every ``60 / heart_rate_bpm`` s from ``phase_s``, each shifted by up to 3 % of
    a beat (a slow sine over 7.3 beats); each beat is a Q, R and S Gaussian.
    """
    beat = 60.0 / p.heart_rate_bpm
    k = np.round((t - phase_s) / beat)
    out = np.zeros_like(t)
    for dk in (-1.0, 0.0, 1.0):
        kk = k + dk
        tb = phase_s + kk * beat + 0.03 * beat * np.sin(2 * np.pi * kk / 7.3)
        tt = t - tb
        for off, w, a in ((-0.025, 0.008, -0.15), (0.0, 0.010, 1.0), (0.025, 0.009, -0.3)):
            out += a * np.exp(-0.5 * ((tt - off) / w) ** 2)
    return p.ecg_amplitude_v * out


def shaped_emg(env: np.ndarray, white: np.ndarray, fir: np.ndarray, noise_v: float) -> np.ndarray:
    """Envelope times EMG-shaped noise plus white instrument noise, per channel.

    ``white`` holds ``fir.size - 1`` samples of history before the first output sample
    (so the filter has no start-up transient) and two columns per channel: the first
    ``n_channels`` are shaped by ``fir``, the others are the instrument noise.
    """
    n, nch = env.shape
    out = np.empty((n, nch))
    for j in range(nch):
        shaped = np.convolve(white[:, j], fir, mode="valid")
        out[:, j] = env[:, j] * shaped + noise_v * white[fir.size - 1:, nch + j]
    return out


def has_trunk(labels: Sequence[str]) -> bool:
    """Whether any channel label is a trunk muscle (those carry ECG)."""
    return any(split_label(lb)[0] in TRUNK_MUSCLES for lb in labels)


def add_trunk_ecg(out: np.ndarray, labels: Sequence[str], ecg_v: np.ndarray) -> None:
    """Add ECG to the trunk channels of ``out`` in place: left side full, right at 60 %."""
    for j, lb in enumerate(labels):
        muscle, side = split_label(lb)
        if muscle in TRUNK_MUSCLES:
            out[:, j] += (1.0 if side == "l" else 0.6) * ecg_v
