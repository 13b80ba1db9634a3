"""Analytic jumps with known answers, for the jump tests.

A jump is a continuous force profile F(t) (N): quiet standing, a movement ending at the
take-off instant T where F reaches 0, a flight at 0 N, and a landing. The truth is
computed from the continuous profile, not from the sampled trace: the take-off velocity
is the net impulse over m, integrated on a 1 MHz grid (trapezoid error ~1e-10 m/s), the
flight lasts 2 v / g and the landing is at T + 2 v / g. The trace is F sampled at the
lab's rate plus seeded Gaussian noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

G = 9.80665
FINE_HZ = 1.0e6


@dataclass(frozen=True)
class Jump:
    """A sampled jump and its truth (times in s from the first sample)."""

    f: np.ndarray
    fs: float
    bw: float
    onset_s: float
    takeoff_s: float
    landing_s: float
    v_to: float

    @property
    def flight_s(self) -> float:
        return self.landing_s - self.takeoff_s

    @property
    def height_m(self) -> float:
        return self.v_to**2 / (2 * G)


def _landing(u: np.ndarray, bw: float, v: float, tl: float = 0.06) -> np.ndarray:
    """Landing force ``u`` s after touchdown: BW plus an impact that stops the fall."""
    m = bw / G
    return bw + m * v / (tl * math.e) * (u / tl) * np.exp(1.0 - u / tl)


def _profile(kind: str, bw: float, t1: float, dip: float, t2: float, push: float,
             taper: float):
    """F(s) of the movement, s from the onset, and the movement's duration."""
    def constant(s):
        # unweighting BW - dip for t1 / 2, braking BW + dip for t1 / 2 (v = 0 at t1),
        # push BW + push for t2, then a linear drop to 0 N over `taper`; levels change
        # over 4 ms ramps (a step between samples is not a sampled signal)
        r = 0.004
        knots = [0.0, r, t1 / 2 - r, t1 / 2 + r, t1 - r, t1 + r, t1 + t2 - taper, t1 + t2]
        vals = [bw, bw - dip, bw - dip, bw + dip, bw + dip, bw + push, bw + push, 0.0]
        return np.interp(s, knots, vals)

    def smooth(s):
        # net -dip sin(2 pi s / t1) (v = 0 at t1), then BW (1 - u / t2) + push sin(pi u / t2)
        # whose last `taper` s fade to 0 N with a half cosine (zero slope at take-off)
        out = bw - dip * np.sin(2 * np.pi * s / t1)
        u = s - t1
        prop = bw * (1 - u / t2) + push * np.sin(np.pi * u / t2)
        if taper <= 0:  # the simulated athlete's push: 0 N at take-off with a finite slope
            return np.where(u >= 0, prop, out)
        t_a = t2 - taper
        f_a = bw * (1 - t_a / t2) + push * np.sin(np.pi * t_a / t2)
        fade = f_a * 0.5 * (1 + np.cos(np.pi * (u - t_a) / taper))
        return np.where(u >= 0, np.where(u < t_a, prop, fade), out)

    return {"constant": constant, "smooth": smooth}[kind], t1 + t2


def jump(kind: str = "smooth", *, fs: float = 2000.0, bw: float = 785.0, quiet_s: float = 1.5,
         t1: float = 0.6, dip_frac: float = 0.5, t2: float = 0.25, push: float = 1900.0,
         taper_s: float = 0.010, after_s: float = 1.5, noise_n: float = 2.0, seed: int = 0,
         phase: float = 0.0, before: np.ndarray | None = None) -> Jump:
    """One analytic jump sampled at ``fs`` (see the module docstring).

    ``phase`` (0..1) shifts the whole profile by a fraction of a sample, so that
    landmarks fall between samples; ``before`` is prepended (force in N at ``fs``, e.g.
    an empty plate and a step-on) and the quiet standing follows it.
    """
    prof, dur = _profile(kind, bw, t1, bw * dip_frac, t2, push, taper_s)
    m = bw / G
    s_fine = np.arange(0.0, dur, 1.0 / FINE_HZ)
    s_fine = np.r_[s_fine, dur]
    v_to = float(np.trapezoid(prof(s_fine) - bw, s_fine) / m)
    t_f = 2 * v_to / G
    pre = 0 if before is None else before.shape[0]
    onset = pre / fs + quiet_s + phase / fs
    takeoff = onset + dur
    landing = takeoff + t_f
    n = pre + round((quiet_s + dur + t_f + after_s) * fs)
    t = np.arange(n) / fs
    f = np.full(n, bw)
    s = t - onset
    mv = (s >= 0) & (s < dur)
    f[mv] = prof(s[mv])
    f[(t >= takeoff) & (t < landing)] = 0.0
    ld = t >= landing
    f[ld] = _landing(t[ld] - landing, bw, v_to)
    if before is not None:
        f[:pre] = before
    f = f + np.random.default_rng(seed).normal(0.0, noise_n, n)
    return Jump(f, fs, bw, onset, takeoff, landing, v_to)


def step_on(fs: float, empty_s: float, ramp_s: float, bw: float) -> np.ndarray:
    """An empty plate for ``empty_s``, then the athlete steps on over ``ramp_s``."""
    t = np.arange(round((empty_s + ramp_s) * fs)) / fs
    x = np.clip((t - empty_s) / ramp_s, 0.0, 1.0)
    return bw * (0.5 - 0.5 * np.cos(np.pi * x))
