"""The test catalogue: one frozen entry per test a protocol can run.

Everything that differs between tests lives here and nowhere else: the signal a test
reads, the function that analyses a trial of it, the signal-core function whose keyword
parameters a protocol's ``analysis:`` options are, the metric its trials are ranked and
aggregated by, whether it is run per side or per direction, and what the simulated
athlete does when cued for it. The runner, the replay of stored sessions, the tidy
table, the report and the C3D importer read the catalogue instead of comparing test
names. Adding a test is adding one entry here plus its analysis function
(``docs/architecture.md`` shows a worked example).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from labkit.errors import ConfigError

__all__ = ["CATALOGUE", "EMG_METRICS", "RATIOS", "TESTS", "RatioEntry", "TestEntry", "entry",
           "force_tests", "side_of"]

#: what a test's trial signal is (see :func:`labkit.trials.isometric.trial_signal`)
SignalKind = Literal["sum_fz", "plate_fz", "sum_mz", "emg_channel", "belt_fz"]


@dataclass(frozen=True)
class TestEntry:
    """One test of the catalogue.

    Attributes
    ----------
    name : str
        The test's name in protocols, trials tables and results (``imtp``).
    title : str
        Human-readable name for screens and reports.
    kind : {"isometric", "jump", "mvc", "run"}
        Family of the analysis (which phases and figures apply).
    stream : str
        The session stream the analysis reads (``force`` or ``emg``).
    signal : str
        ``sum_fz`` (all plates' vertical force, body weight included), ``plate_fz`` (the
        side's plate), ``sum_mz`` (free moment of all plates), ``emg_channel``, ``belt_fz``
        (each foot's own vertical force: the left belt or plate ``fp1``, the right ``fp2``).
    sign : float
        +1 or -1: the sign that makes the effort positive (hip flexion unloads the plate:
        -1). For ``sum_mz`` the direction decides (left +1, right -1).
    unit : str
        Unit of the trial signal and of its force metrics (``N`` or ``N.m``).
    analysis : str
        Dotted name of the trial-analysis function ``(step, force, emg, body_weight_n)
        -> TrialOutcome``.
    core : str
        Dotted name of the signal-core function whose keyword-only parameters are the
        protocol's ``analysis:`` options for this test.
    headline : str
        The metric trials are ranked and aggregated by.
    headline_label : str
        How screens name it (``peak``, ``net peak``, ``jump height``).
    sided : bool
        Run on one side's plate: needs ``side`` or an enclosing ``per_side`` step.
    directional : bool
        Needs ``direction: left|right``.
    needs_muscle : bool
        Needs ``muscle`` (an EMG channel label).
    uses_body_weight : bool
        The analysis uses the weighed body weight (the athlete's weight is on the signal).
    sim_task : str
        The simulated athlete's motor task when cued for this test.
    min_window_s : float
        Shortest effort window the runner allows (a jump needs its flight and landing).
    metrics : tuple of str
        The metrics a trial of this test reports, as :mod:`fnmatch` patterns
        (``rfd_*ms_n_s``); the tidy table and the report keep only these (see
        :meth:`reports` and ``docs/metrics.md``).
    phases : tuple of str
        The phases of a jump, in order (``unweighting`` ... ``landing``); empty otherwise.
    paced : bool
        Run at a belt speed: needs ``speed_m_s`` on the trial step (cued to the athlete).
    reads_mocap : bool
        The analysis function takes the trial's mocap window too (``mocap=`` keyword).
    """

    name: str
    title: str
    kind: Literal["isometric", "jump", "mvc", "run"]
    stream: str
    signal: SignalKind
    sign: float
    unit: str
    analysis: str
    core: str
    headline: str
    headline_label: str
    sided: bool = False
    directional: bool = False
    needs_muscle: bool = False
    uses_body_weight: bool = False
    sim_task: str = ""
    min_window_s: float = 0.0
    metrics: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    paced: bool = False
    reads_mocap: bool = False

    def reports(self, metric: str) -> bool:
        """Whether a trial of this test reports ``metric`` (it matches one of :attr:`metrics`).

        Parameters
        ----------
        metric : str
            A metric name as in the results tables (``net_peak_force_n``).

        Returns
        -------
        bool

        Examples
        --------
        >>> entry("isometric_hip_flexion").reports("net_peak_force_n")
        True
        >>> entry("isometric_hip_flexion").reports("relative_peak_force_n_kg")
        False
        """
        return any(fnmatchcase(metric, pattern) for pattern in self.metrics)

    def analysis_function(self) -> Callable[..., Any]:
        """The trial-analysis function (imported on first use: protocols load without numba)."""
        return _resolve(self.analysis)

    def core_function(self) -> Callable[..., Any]:
        """The signal-core function whose parameters are this test's ``analysis:`` options."""
        return _resolve(self.core)


def _resolve(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


#: metrics of every force test: each muscle's EMG onset and electromechanical delay
EMG_METRICS = ("emg_onset_*_s", "emd_*_ms")
#: isometric metrics of the effort above the baseline: meaningful on any trial signal
_ISO_NET = ("onset_s", "onset_time_s", "onset_threshold_n", "baseline_sd_n", "weighing_range_n",
            "net_peak_force_n", "time_to_peak_s", "peak_rfd_n_s", "rfd_*ms_n_s", "impulse_0_*ms_ns")
#: isometric metrics of the signal's absolute level: only where the signal is the whole body's
#: vertical force (body weight on it); on one plate or the free moment they mean nothing
_ISO_ABSOLUTE = ("body_weight_n", "baseline_n", "pretension_n", "peak_force_n",
                 "relative_peak_force_n_kg", "force_at_*ms_n")
_JUMP_METRICS = ("body_weight_n", "baseline_sd_n", "weighing_range_n", "onset_s", "onset_time_s",
                 "takeoff_s", "takeoff_time_s", "landing_s", "landing_time_s", "flight_time_s",
                 "takeoff_velocity_m_s", "jump_height_m", "jump_height_flight_m",
                 "time_to_takeoff_s", "rsi_mod", "peak_force_n", "min_force_n",
                 "mean_propulsive_force_n", "peak_power_w", "mean_propulsive_power_w",
                 "takeoff_threshold_n", "weighing_start_s", "weighing_end_s", "flight_baseline_n",
                 "flight_sd_n")
#: metrics of a countermovement only (a squat jump has none)
_COUNTERMOVEMENT_METRICS = ("countermovement_depth_m", "mean_braking_force_n")
#: where and how the jump was weighed, and the flight baseline its take-off is refined to
_JUMP_WINDOW_METRICS = ("weighing_start_s", "weighing_end_s", "flight_baseline_n", "flight_sd_n")
_DROP_JUMP_METRICS = ("drop_height_m", "body_weight_n", "baseline_sd_n", "weighing_range_n", "onset_s",
                      "onset_time_s", "touchdown_s", "takeoff_s", "takeoff_time_s", "landing_s",
                      "landing_time_s", "contact_time_s", "flight_time_s", "touchdown_velocity_m_s",
                      "takeoff_velocity_m_s", "jump_height_m", "jump_height_impulse_m", "rsi",
                      "peak_force_n", "contact_impulse_ns", "takeoff_threshold_n", *_JUMP_WINDOW_METRICS)
_REBOUND_METRICS = ("body_weight_n", "onset_s", "onset_time_s", "n_hops", "rsi_best_mean",
                    "contact_time_best_mean_s", "jump_height_best_mean_m", "rsi_mean",
                    "contact_time_mean_s", "first_jump_height_m", "takeoff_threshold_n",
                    "weighing_start_s", "weighing_end_s", "flight_baseline_n")
#: per-limb values and asymmetry indices of dual-plate tests (labkit.trials.limbs)
_LIMB_METRICS = ("left_*", "right_*", "asym_*_pct")
#: a run's strides (labkit.trials.running; definitions in docs/science.md)
_RUN_METRICS = ("speed_m_s", "n_strides_l", "n_strides_r", "cadence_steps_min", "stride_time_s",
                "stride_time_cv", "contact_time_s", "flight_time_s", "duty_factor", "walking",
                "hip_extension_deficit_side", "pelvic_drop_side", "first_strike_time_s",
                "emg_*_onset_ms", "emg_*_offset_ms", "emg_*_onset_pct", "emg_*_offset_pct",
                "emg_*_ms_sd", "emg_*_pct_sd")
#: joint sequencing of a jump from the mocap window (labkit.trials.sequencing)
_SEQUENCING_METRICS = ("seq_*",)
#: the obliques' cross-body pairing in a trunk rotation (labkit.trials.trunk_pairing)
_PAIRING_METRICS = ("pairing_index", "pair_*", "other_*", "epoch_rms_*_v")


def _iso(name: str, title: str, signal: SignalKind, *, sign: float = 1.0, unit: str = "N",
         headline: str = "net_peak_force_n", sided: bool = False, directional: bool = False,
         sim_task: str | None = None) -> TestEntry:
    body_weight = signal == "sum_fz"
    metrics = (_ISO_NET + ((*_ISO_ABSOLUTE, *_LIMB_METRICS) if body_weight else ())
               + (_PAIRING_METRICS if directional else ()) + EMG_METRICS)
    return TestEntry(
        name=name, title=title, kind="isometric", stream="force", signal=signal, sign=sign, unit=unit,
        analysis="labkit.trials.isometric.analyse_isometric", core="labkit.signal.force.isometric",
        headline=headline, headline_label="peak" if headline == "peak_force_n" else "net peak",
        sided=sided, directional=directional, uses_body_weight=body_weight,
        sim_task=sim_task or name, metrics=metrics)


def _jump(name: str, title: str, core: str, *, countermovement: bool = True,
          headline: str = "jump_height_m", headline_label: str = "jump height", sim_task: str = "cmj",
          min_window_s: float = 2.5, signal: SignalKind = "sum_fz", sided: bool = False,
          metrics: tuple[str, ...] | None = None) -> TestEntry:
    phases = ("unweighting", "braking") if countermovement else ()
    phases += ("propulsion", "flight", "landing")
    if metrics is None:
        metrics = (_JUMP_METRICS + (_COUNTERMOVEMENT_METRICS if countermovement else ())
                   + tuple(f"{ph}_{what}_s" for ph in phases for what in ("start", "end", "duration")))
    else:
        phases = ()
    return TestEntry(
        name=name, title=title, kind="jump", stream="force", signal=signal, sign=1.0, unit="N",
        analysis="labkit.trials.jumps.analyse_jump", core=core, headline=headline,
        headline_label=headline_label, uses_body_weight=False, sim_task=sim_task,
        min_window_s=min_window_s, sided=sided,
        metrics=metrics + _LIMB_METRICS + _SEQUENCING_METRICS + EMG_METRICS,
        phases=phases)


_ENTRIES = (
    _iso("imtp", "Isometric mid-thigh pull", "sum_fz", headline="peak_force_n"),
    _iso("isometric_squat", "Isometric squat", "sum_fz", headline="peak_force_n", sim_task="imtp"),
    _iso("isometric_hip_extension", "Isometric hip extension", "plate_fz", sided=True),
    _iso("isometric_hip_flexion", "Isometric hip flexion", "plate_fz", sign=-1.0, sided=True),
    _iso("isometric_trunk_rotation", "Isometric trunk rotation", "sum_mz", unit="N.m", directional=True),
    _jump("cmj", "Countermovement jump", "labkit.signal.force.cmj"),
    _jump("squat_jump", "Squat jump", "labkit.signal.force.squat_jump", countermovement=False),
    _jump("drop_jump", "Drop jump", "labkit.signal.force.drop_jump", headline="rsi",
          headline_label="RSI", sim_task="drop_jump", min_window_s=3.0, metrics=_DROP_JUMP_METRICS),
    _jump("single_leg_cmj", "Single-leg countermovement jump", "labkit.signal.force.cmj",
          signal="plate_fz", sided=True, sim_task="single_leg_cmj"),
    _jump("rebound_jumps", "Rebound jumps (10/5 repeated jump test)",
          "labkit.signal.force.rebound_jumps", headline="rsi_best_mean",
          headline_label="RSI best 5", sim_task="rebound_jumps", min_window_s=9.0,
          metrics=_REBOUND_METRICS),
    TestEntry(name="run", title="Treadmill run (running strides)", kind="run", stream="force",
              signal="belt_fz", sign=1.0, unit="N", analysis="labkit.trials.running.analyse_run",
              core="labkit.signal.gait_running.running_analysis", headline="cadence_steps_min",
              headline_label="cadence", sim_task="run", min_window_s=4.0, paced=True,
              reads_mocap=True, metrics=_RUN_METRICS + _LIMB_METRICS),
    TestEntry(name="mvc", title="Maximal voluntary contraction (EMG reference)", kind="mvc",
              stream="emg", signal="emg_channel", sign=1.0, unit="V",
              analysis="labkit.trials.mvc.analyse_mvc", core="labkit.signal.emg.mvc_reference",
              headline="mvc_v", headline_label="MVC", needs_muscle=True, sim_task="mvc",
              metrics=("mvc_v",)),
)

@dataclass(frozen=True)
class RatioEntry:
    """A session metric that is the ratio of two tests' best valid trials.

    ``value = best(numerator test's metric) / best(denominator test's metric)`` over the
    session's valid trials (best = largest); reported with the aggregates when both tests
    were run.
    """

    name: str
    title: str
    numerator: tuple[str, str]
    denominator: tuple[str, str]
    source: str


#: ratios between tests, in the aggregates table
RATIOS: tuple[RatioEntry, ...] = (
    RatioEntry("dynamic_strength_index", "Dynamic strength index (CMJ peak / IMTP peak force)",
               ("cmj", "peak_force_n"), ("imtp", "peak_force_n"),
               "ballistic over isometric peak force (Sheppard et al. 2011; Comfort et al. 2018)"),
)

#: every test, by name
CATALOGUE: dict[str, TestEntry] = {e.name: e for e in _ENTRIES}
#: the test names, in catalogue order
TESTS: tuple[str, ...] = tuple(CATALOGUE)


def entry(test: str) -> TestEntry:
    """The catalogue entry of ``test`` (a :class:`ConfigError` lists the known tests)."""
    try:
        return CATALOGUE[test]
    except KeyError:
        raise ConfigError(f"unknown test {test!r}; use one of {', '.join(TESTS)}") from None


def force_tests() -> tuple[str, ...]:
    """Tests analysed from the force stream (those a C3D force recording can hold)."""
    return tuple(e.name for e in _ENTRIES if e.stream == "force")


def side_of(test: str, side: str | None, direction: str | None) -> str:
    """The ``side`` column of a trial: its side (sided tests) or direction (directional).

    The session's trials table, the stored results and the tidy table all hold this:
    ``left``/``right`` for a hip test, the rotation (``left``/``right``) for trunk
    rotation, ``""`` for tests of both legs.
    """
    e = CATALOGUE.get(test)
    if e is not None and e.directional:
        return direction or side or ""
    return side or ""
