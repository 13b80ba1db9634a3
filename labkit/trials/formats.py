"""Metric units from metric names, and readable numbers with units for screens and reports
(``2608 N``, ``0.352 m``, ``51.7 ms``)."""

from __future__ import annotations

import math

__all__ = ["format_value", "metric_title", "metric_unit"]

# metric-name suffix -> unit ("{f}" is the force unit of the trial: N, or N.m for moments)
_SUFFIX_UNITS = (("_steps_min", "steps/min"), ("_n_s", "{f}/s"), ("_n_kg", "{f}/kg"), ("_ns", "{f}.s"),
                 ("_n", "{f}"),
                 ("_nm", "N.m"), ("_m_s", "m/s"), ("_deg_s", "deg/s"), ("_ms", "ms"), ("_m", "m"),
                 ("_s", "s"),
                 ("_w", "W"), ("_v", "V"), ("_j", "J"), ("_deg", "deg"), ("_rad", "rad"), ("_pct", "%"))


def metric_unit(metric: str, force_unit: str = "N") -> str:
    """The unit of a metric from its name (``rfd_0_100ms_n_s`` -> ``N/s``).

    Parameters
    ----------
    metric : str
        Metric name following labkit's units-in-names convention.
    force_unit : str
        Unit of the trial's force signal (``N``, or ``N.m`` for the free moment).

    Returns
    -------
    str
        The unit, or ``""`` for dimensionless metrics.

    Examples
    --------
    >>> metric_unit("rfd_0_100ms_n_s"), metric_unit("net_peak_force_n", "N.m")
    ('N/s', 'N.m')
    >>> metric_unit("emd_gluteus_maximus_r_ms"), metric_unit("rsi_mod"), metric_unit("asym_peak_force_pct")
    ('ms', '', '%')
    """
    for suffix, unit in _SUFFIX_UNITS:
        if metric.endswith(suffix):
            return unit.format(f=force_unit or "N")
    return ""


# units whose values are shown with a fixed number of decimals
_DECIMALS = {"m": 3, "s": 3, "ms": 1, "m/s": 2, "N/s": 0, "N.m/s": 0, "W": 0, "deg": 1, "N/kg": 1,
             "N.m/kg": 2, "": 2}
_SHOWN_UNIT = {"N.m": "N·m", "N.m/s": "N·m/s", "N.m.s": "N·m·s", "N.s": "N·s"}


def format_value(value: float, unit: str = "", *, with_unit: bool = True) -> str:
    """A value as a technician reads it: about three significant digits, never fewer than
    the unit's usual decimals, and the unit.

    Parameters
    ----------
    value : float
        The value (NaN gives ``""``).
    unit : str
        Its unit as labkit spells it (``N``, ``N/s``, ``N.m``, ``m``, ``ms``, ``V`` ...).
    with_unit : bool
        Append the unit (``N.m`` shown as ``N·m``).

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(2608.0134921, "N"), format_value(10203.4, "N/s"), format_value(0.35204, "m")
    ('2608 N', '10203 N/s', '0.352 m')
    >>> format_value(51.7241, "ms"), format_value(121.03, "N.m"), format_value(3.0e-4, "V")
    ('51.7 ms', '121 N·m', '0.300 mV')
    >>> format_value(float("nan"), "N"), format_value(-0.00844, "N"), format_value(3.898, "N.m.s")
    ('', '-0.01 N', '3.90 N·m·s')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "" if math.isnan(v) else f"{v}"
    if unit == "V" and abs(v) < 1.0:
        v, unit = v * 1e3, "mV"
        decimals = 3
    elif unit in _DECIMALS:
        decimals = _DECIMALS[unit]
    else:  # forces, impulses, moments: three significant digits, none from 100 up, at most 2
        decimals = 0 if v == 0 else min(2, max(0, 2 - math.floor(math.log10(abs(v)))))
    text = f"{v:.{decimals}f}"
    if text in ("-0", "-0.0", "-0.00", "-0.000"):
        text = text[1:]
    shown = _SHOWN_UNIT.get(unit, unit)
    return f"{text} {shown}" if with_unit and shown else text


# how a metric's name reads in a table heading
_TITLES = {"peak_force_n": "peak force", "net_peak_force_n": "net peak", "jump_height_m": "jump height",
           "rfd_0_100ms_n_s": "RFD 0-100 ms", "rfd_0_200ms_n_s": "RFD 0-200 ms",
           "time_to_peak_s": "time to peak", "flight_time_s": "flight time",
           "time_to_takeoff_s": "time to take-off", "relative_peak_force_n_kg": "relative peak",
           "rsi_mod": "RSI mod", "mvc_v": "MVC"}


def metric_title(metric: str) -> str:
    """A readable heading of a metric.

    Parameters
    ----------
    metric : str
        A metric name (``rfd_0_100ms_n_s``).

    Returns
    -------
    str
        ``RFD 0-100 ms``; names without a heading of their own get spaces for underscores.
    """
    return _TITLES.get(metric, metric.replace("_", " "))
