"""The simulated lab: every simulated device of a hardware config as real LSL streams,
driven by a simulated athlete who reacts to cue markers.

Cue vocabulary
--------------
The lab listens to every LSL stream of type ``markers`` (or only the one named by
``cue_stream_name`` / ``cue_source_id``). Each string sample is one cue; commands are
case-insensitive and anything else is ignored (protocols send other markers too). The
athlete reacts ``reaction_time_s`` after the cue's time stamp.

``task:<name>[:<arg>]``
    Announce the next task: ``quiet``, ``imtp``, ``isometric_hip_extension``,
    ``isometric_hip_flexion``, ``isometric_trunk_rotation``, ``cmj``, ``drop_jump`` (the
    athlete climbs the box beside the plates at once), ``single_leg_cmj`` (``<arg>``: the
    side ``l``/``r``, the athlete stands on it at once), ``mvc``
    (aliases: ``mid_thigh_pull``, ``hip_extension``, ``hip_flexion``, ``trunk_rotation``,
    ``quiet_standing``). ``<arg>`` is the side (``l``/``r``) of hip tests, the rotation
    (``left``/``right``) of trunk rotation, or the muscle (``gluteus_maximus`` or
    ``gluteus_maximus_r``) of an MVC.
``go`` or ``go:<name>[:<arg>]``
    Start the effort (of the announced task; default ``imtp``).
``stop`` or ``relax``
    End the effort in progress.
``step_off``
    Step off the plates (and back on after ``step_off_duration_s``).
``misbehave:<what>``
    The next ``go`` misbehaves: ``countermovement``, ``pretension``, ``step_off``,
    ``weak_emg:<label>``, ``missing_emg:<label>``.
``trial:<n>``
    Number of the next ``go`` (default: 1, 2, 3, ... counting ``go`` cues).
JSON object
    ``{"cue": "go", "task": "imtp", "trial": 3, "side": "r", "muscle": "...",
    "direction": "left", "misbehave": ["pretension"], "hold_s": 3.0}``; ``cue`` is any of
    the commands above (``task``, ``go``, ``stop``, ``relax``, ``step_off``, ``misbehave``).

Ground truth (stream of type ``ground_truth``, one JSON object per sample, stamped with
the cue's time): ``{"seq": n, "event": "task" | "effort" | "emg" | "kinematics" |
"relax", ...}``; see ``docs/devices.md``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pylsl

from labkit.config.hardware import (
    DaqForcePlates,
    HardwareConfig,
    Plate,
    SimEmg,
    SimForcePlates,
    SimGroundTruth,
    SimMocap,
    SourceFaults,
    Trigno,
    load_hardware_config,
)
from labkit.devices.sim.athlete import TASKS, Athlete, AthleteParams, Effort
from labkit.devices.sim.producers import EmgProducer, ForcePlateProducer, MocapProducer
from labkit.devices.sim.sources import SimulatedSource, TruthSource
from labkit.errors import ConfigError, DeviceError

__all__ = ["SimulatedLab", "parse_cue", "run_simulated_lab"]

log = logging.getLogger(__name__)

TASK_ALIASES = {"mid_thigh_pull": "imtp", "hip_extension": "isometric_hip_extension",
                "hip_flexion": "isometric_hip_flexion", "trunk_rotation": "isometric_trunk_rotation",
                "quiet_standing": "quiet", "countermovement_jump": "cmj"}
COMMANDS = ("task", "go", "stop", "relax", "step_off", "misbehave", "trial")
#: Signals up to "now" may already be published: efforts never start earlier than this.
SAFETY_MARGIN_S = 0.02


def _task_args(task: str, arg: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not arg:
        return out
    if arg in ("l", "r"):
        out["side"] = arg
    elif arg in ("left", "right"):
        out["direction"] = arg
    elif task == "run":  # task:run:<speed in m/s>
        try:
            out["speed_m_s"] = float(arg)
        except ValueError:
            log.warning("cue task:run:%s: the speed is not a number (m/s); the default is used", arg)
    elif task == "mvc":
        muscle, _, side = arg.rpartition("_")
        if side in ("l", "r") and muscle:
            out["muscle"], out["side"] = muscle, side
        else:
            out["muscle"] = arg
    return out


def parse_cue(text: str) -> dict[str, Any] | None:
    """Parse one cue marker into ``{"cue": command, ...}``, or None when it is not a cue.

    Examples
    --------
    >>> parse_cue("go:imtp")
    {'cue': 'go', 'task': 'imtp'}
    >>> parse_cue("task:mvc:gluteus_maximus_r")
    {'cue': 'task', 'task': 'mvc', 'muscle': 'gluteus_maximus', 'side': 'r'}
    >>> parse_cue("hello") is None
    True
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        if not isinstance(obj, dict) or str(obj.get("cue", "")).lower() not in COMMANDS:
            return None
        obj = dict(obj)
        obj["cue"] = str(obj["cue"]).lower()
        if "task" in obj:
            obj["task"] = TASK_ALIASES.get(str(obj["task"]).lower(), str(obj["task"]).lower())
        if isinstance(obj.get("misbehave"), str):
            obj["misbehave"] = [obj["misbehave"]]
        return obj
    parts = text.split(":")
    cmd = parts[0].strip().lower()
    if cmd not in COMMANDS:
        return None
    out: dict[str, Any] = {"cue": cmd}
    if cmd in ("task", "go") and len(parts) > 1 and parts[1]:
        task = TASK_ALIASES.get(parts[1].lower(), parts[1].lower())
        out["task"] = task
        out.update(_task_args(task, parts[2].strip() if len(parts) > 2 else None))
    elif cmd == "misbehave" and len(parts) > 1:
        out["misbehave"] = [":".join(p.strip() for p in parts[1:])]
    elif cmd == "trial" and len(parts) > 1:
        try:
            out["trial"] = int(parts[1])
        except ValueError:
            return None
    return out


class SimulatedLab:
    """All simulated devices of a hardware config, publishing on LSL, and the athlete.

    Parameters
    ----------
    config : HardwareConfig, optional
        The lab (default ``hardware_configs/simulated.yaml``). One source per
        ``sim_force_plates``, ``sim_emg``, ``sim_mocap`` device, with source_id
        ``config.source_id(name)`` and the device's ``faults``; a ``sim_ground_truth``
        device publishes the truth. ``lsl`` devices are ignored.
    athlete : Athlete, optional
        Default: built from ``config.athlete``.
    listen_for_cues : bool
        Listen to LSL marker streams for cues (see the module docstring).
    cue_stream_name, cue_source_id : str, optional
        Only listen to marker streams with this name / source_id.
    chunk_interval_s : float
        How often each source pushes a chunk.

    Examples
    --------
    >>> with SimulatedLab() as lab:                      # doctest: +SKIP
    ...     lab.cue("task:imtp"); lab.cue("go")
    """

    def __init__(self, config: HardwareConfig | None = None, *, athlete: Athlete | None = None,
                 listen_for_cues: bool = True, cue_stream_name: str | None = None,
                 cue_source_id: str | None = None, chunk_interval_s: float = 0.02):
        if config is None:
            config, _ = load_hardware_config()
        self.config = config
        self.athlete = athlete or Athlete(AthleteParams.from_mapping(config.athlete.model_dump()))
        self.sources: dict[str, SimulatedSource] = {}
        self.truth: TruthSource | None = None
        self.emg_labels: list[str] = []
        seed = self.athlete.params.seed
        self.emulators: dict[str, Any] = {}
        for i, dev in enumerate(config.devices):
            sid = config.source_id(dev.name)
            driver = self._driver_source(dev, sid)
            if driver is not None:
                self.sources[dev.name] = driver
                continue
            if isinstance(dev, SimForcePlates):
                producer = ForcePlateProducer(dev, self.athlete, sid)
            elif isinstance(dev, SimEmg):
                producer = EmgProducer(dev, self.athlete, sid)
                self.emg_labels += producer.labels
            elif isinstance(dev, SimMocap):
                producer = MocapProducer(dev, self.athlete, sid)
            elif isinstance(dev, SimGroundTruth):
                self.truth = TruthSource(dev.name, sid)
                continue
            else:
                continue
            self.sources[dev.name] = SimulatedSource(producer, dev.faults, seed=seed * 1000 + i,
                                                     chunk_interval_s=chunk_interval_s)
        if not self.sources:
            raise ConfigError(f"hardware config {config.name!r} has no simulated devices: add a "
                              "sim_force_plates, sim_emg or sim_mocap device (or a daqmx_force_plates "
                              "device with backend: simulated, a trigno device with emulate: true)")
        self.listen_for_cues = listen_for_cues
        self.cue_stream_name, self.cue_source_id = cue_stream_name, cue_source_id
        self.truth_messages: list[dict] = []
        self.cues: list[tuple[float, str]] = []
        self.on_truth: list[Callable[[dict], None]] = []
        self._task: dict[str, Any] = {"task": "imtp"}
        self._pending: list[str] = []
        self._next_trial: int | None = None
        self._n_go = 0
        self._announced = False
        self._getting_set = False
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._inlets: dict[str, tuple[pylsl.StreamInlet, float]] = {}
        self._started = False

    # ------------------------------------------------------------------ drivers
    def _driver_source(self, dev, sid: str):
        """The real driver for a simulated device that asks for one (None: direct source).

        ``sim_force_plates`` with ``driver: daqmx`` and ``daqmx_force_plates`` with
        ``backend: simulated`` run the NI driver on the simulated DAQ backend;
        ``sim_emg`` with ``driver: trigno`` and ``trigno`` with ``emulate: true`` run the
        Trigno client against the loopback emulator. Faults other than ``rate_error_ppm``
        (plates) are LSL-level faults of the direct source: such a device runs direct.
        """
        from labkit.devices.daqmx import DaqForcePlatesSource
        from labkit.devices.sim.daq import SimulatedDaqBackend, daq_config_for_sim

        if isinstance(dev, SimForcePlates | DaqForcePlates):
            if isinstance(dev, SimForcePlates):
                if dev.driver != "daqmx":
                    return None
                daq = daq_config_for_sim(dev)
                plates_dev = dev
            elif dev.backend == "simulated":
                daq = dev
                plates_dev = SimForcePlates(
                    kind="sim_force_plates", name=dev.name, rate_hz=dev.rate_hz, noise_n=dev.noise_n,
                    plates=[Plate(name=p.name, kind=p.kind, width_m=p.width_m, length_m=p.length_m,
                                  origin_m=p.origin_m, corners_m=p.corners_m) for p in dev.plates])
            else:
                return None
            if dev.faults.model_copy(update={"rate_error_ppm": 0.0}) != SourceFaults():
                log.info("device %s: faults other than rate_error_ppm need the direct simulated source; "
                         "not running it through the NI driver", dev.name)
                return None if isinstance(dev, SimForcePlates) else self._unsupported(dev)
            producer = ForcePlateProducer(plates_dev, self.athlete, sid)
            backend = SimulatedDaqBackend(producer.produce)
            src = DaqForcePlatesSource(daq, sid, backend=backend)
            src.producer = producer
            return src
        if isinstance(dev, SimEmg | Trigno):
            if isinstance(dev, SimEmg) and dev.driver != "trigno":
                return None
            if isinstance(dev, Trigno) and not dev.emulate:
                return None
            if dev.faults != SourceFaults():
                log.info("device %s: faults need the direct simulated source; not running it through "
                         "the Trigno client", dev.name)
                return None if isinstance(dev, SimEmg) else self._unsupported(dev)
            return self._trigno_twin(dev, sid)
        return None

    @staticmethod
    def _unsupported(dev):
        raise ConfigError(f"device {dev.name!r}: faults are only simulated for sim_* devices; remove "
                          f"'faults' or use kind sim_force_plates / sim_emg")

    def _trigno_twin(self, dev, sid: str):
        from labkit.devices.sim.trigno_server import N_SENSORS, TrignoEmulator
        from labkit.devices.trigno import TrignoSource

        if isinstance(dev, SimEmg):
            frame = dev.frame_interval_s
            spf = round(dev.rate_hz * frame)
            trigno = Trigno(kind="trigno", name=dev.name, sensors=[s.model_dump() for s in dev.sensors],
                            command_port=1, emg_port=1, reconnect_s=0.5)
            emg_dev = dev
            ports = (0, 0)
        else:
            frame, spf = 0.0135, 27
            trigno = dev
            emg_dev = SimEmg(kind="sim_emg", name=dev.name, rate_hz=spf / frame,
                             sensors=[{"sensor": s.sensor, "muscle": s.muscle, "side": s.side}
                                      for s in dev.sensors])
            ports = (dev.command_port, dev.emg_port)
        producer = EmgProducer(emg_dev, self.athlete, sid)
        self.emg_labels += producer.labels
        slots = np.array([s.sensor - 1 for s in emg_dev.sensors], dtype=np.intp)

        def samples(index, t_s):
            out = np.zeros((len(index), N_SENSORS), dtype=np.float32)
            out[:, slots] = producer.produce(index, t_s)
            return out

        types = {s.sensor: (getattr(s, "expect_type", None) or "D") for s in trigno.sensors}
        emulator = TrignoEmulator(samples, samples_per_frame=spf, frame_interval_s=frame,
                                  sensor_types=types, host="127.0.0.1", command_port=ports[0],
                                  emg_port=ports[1])
        self.emulators[dev.name] = emulator
        src = TrignoSource(trigno, sid)
        src.producer = producer
        src.emulator = emulator
        src.true_time_fn = emulator.true_time_s
        return src

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SimulatedLab:
        """Create the outlets and start every source (and the cue listener)."""
        if self._started:
            return self
        self._started = True
        if self.truth is not None:
            self.truth.start()
        for name, emulator in self.emulators.items():
            emulator.start()
            src = self.sources[name]
            src.device = src.device.model_copy(update={"command_port": emulator.command_port,
                                                       "emg_port": emulator.emg_port})
        for src in self.sources.values():
            src.start()
        if self.listen_for_cues:
            self._listener = threading.Thread(target=self._listen, name="sim-cues", daemon=True)
            self._listener.start()
        log.debug("simulated lab %r started: %s", self.config.name,
                 ", ".join(f"{s.spec.name} ({s.spec.source_id})" for s in self.sources.values()))
        return self

    def stop(self) -> None:
        """Stop the listener and every source; outlets disappear."""
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5.0)
        for src in self.sources.values():
            src.stop()
        for emulator in self.emulators.values():
            emulator.stop()
        if self.truth is not None:
            self.truth.stop()
        self._inlets.clear()

    def __enter__(self) -> SimulatedLab:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def check(self) -> None:
        """Raise ``DeviceError`` if a source thread has failed."""
        for src in self.sources.values():
            if src.error is not None:
                raise DeviceError(f"simulated source {src.spec.name!r} failed: {src.error}")

    @property
    def cue_streams(self) -> list[str]:
        """Source ids (or names) of the marker streams the lab listens to."""
        return list(self._inlets)

    def wait_for_cue_streams(self, n: int = 1, timeout_s: float = 10.0) -> bool:
        """Wait until the lab listens to at least ``n`` marker streams."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if len(self._inlets) >= n:
                return True
            time.sleep(0.02)
        return len(self._inlets) >= n

    # ------------------------------------------------------------------ cues
    def cue(self, text: str, *, at_s: float | None = None) -> list[dict]:
        """Apply one cue as if it arrived on a marker stream with time stamp ``at_s``
        (session clock; default now). Returns the ground-truth messages it produced."""
        stamp = pylsl.local_clock() if at_s is None else float(at_s)
        parsed = parse_cue(text)
        if parsed is None:
            log.debug("not a cue: %r", text)
            return []
        with self._lock:
            self.cues.append((stamp, text))
            return self._apply(parsed, stamp)

    def _publish(self, msg: dict, stamp: float) -> dict:
        if self.truth is not None:
            msg = self.truth.publish(msg, stamp)
        else:
            msg = {"seq": len(self.truth_messages), **msg}
        self.truth_messages.append(msg)
        for fn in self.on_truth:
            fn(msg)
        return msg

    def _apply(self, c: dict[str, Any], stamp: float) -> list[dict]:
        cmd = c["cue"]
        now = pylsl.local_clock()
        out: list[dict] = []
        if cmd == "trial":
            self._next_trial = int(c["trial"])
        elif cmd == "misbehave":
            self._pending += list(c.get("misbehave", []))
            if self._announced:
                self._maybe_get_set(stamp, now)
        elif cmd == "task":
            task = c.get("task", "imtp")
            if task not in TASKS:
                log.warning("cue %r names an unknown task; known: %s", c, ", ".join(TASKS))
                return out
            self._task = {k: c[k] for k in ("task", "side", "muscle", "direction", "speed_m_s") if k in c}
            self._pending += list(c.get("misbehave", []))
            if "trial" in c:
                self._next_trial = int(c["trial"])
            self._announced = True
            self._maybe_get_set(stamp, now)
            if task == "drop_jump":  # the athlete climbs the box beside the plates
                self.athlete.get_on_box(stamp, not_before_s=now + SAFETY_MARGIN_S)
            elif task == "single_leg_cmj":  # the athlete stands on the tested leg
                self.athlete.get_on_one_leg(stamp, self._task.get("side", "r"),
                                            not_before_s=now + SAFETY_MARGIN_S)
            out.append(self._publish({"event": "task", "cue_s": round(stamp, 6), **self._task}, stamp))
        elif cmd in ("go", "step_off"):
            if "task" in c:
                self._task = {k: c[k] for k in ("task", "side", "muscle", "direction", "speed_m_s") if k in c}
            spec = dict(self._task)
            misbehave = [*self._pending, *c.get("misbehave", [])]
            if cmd == "step_off":
                spec = {"task": "step_off"}
            self._pending = []
            self._announced = False
            self._getting_set = False
            self._n_go += 1
            trial = c.get("trial", self._next_trial if self._next_trial is not None else self._n_go)
            self._next_trial = None
            try:
                effort = self.athlete.go(spec.pop("task"), stamp, trial=trial, misbehave=misbehave,
                                         hold_s=c.get("hold_s"), not_before_s=now + SAFETY_MARGIN_S,
                                         **spec)
            except ConfigError as exc:
                log.warning("cue %r ignored: %s", c, exc)
                return out
            if effort.shifted_s:
                log.debug("cue at %.3f arrived late; effort shifted by %.1f ms", stamp,
                          1e3 * effort.shifted_s)
            truth = self.athlete.truth(effort, self.emg_labels)
            if effort.task == "run":  # its strides are known when the stop cue ends it
                truth = truth[:1]
            for msg in truth:
                out.append(self._publish(msg, stamp))
        elif cmd in ("stop", "relax"):
            effort = self.athlete.relax(stamp, not_before_s=now + SAFETY_MARGIN_S)
            if effort is not None:
                out.append(self._publish(self._relax_message(effort, stamp), stamp))
                if effort.task == "run":  # the run's strides, now that its end is known
                    for msg in self.athlete.truth(effort)[1:]:
                        out.append(self._publish(msg, stamp))
        return out

    def _maybe_get_set(self, stamp: float, now: float) -> None:
        """A ``pretension`` misbehaviour starts while getting set (after the task cue), so the
        quiet window before GO already carries it, as with a real athlete."""
        if "pretension" in self._pending and not self._getting_set:
            self._getting_set = True
            self.athlete.get_set(stamp, not_before_s=now + SAFETY_MARGIN_S)

    def _relax_message(self, effort: Effort, stamp: float) -> dict:
        head = self.athlete.truth(effort)[0]
        msg = {"event": "relax", "trial": effort.trial, "task": effort.task, "cue_s": round(stamp, 6),
               "relax_s": head["relax_s"]}
        for key in ("peak", "time_to_peak_s"):
            if key in head:
                msg[key] = head[key]
        return msg

    def _listen(self) -> None:
        resolver = pylsl.ContinuousResolver(prop="type", value="markers", forget_after=5.0)
        last_resolve = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_resolve > 0.2:
                last_resolve = time.monotonic()
                for info in resolver.results():
                    key = info.source_id() or info.uid()
                    if key in self._inlets:
                        continue
                    if self.cue_stream_name is not None and info.name() != self.cue_stream_name:
                        continue
                    if self.cue_source_id is not None and info.source_id() != self.cue_source_id:
                        continue
                    try:
                        inlet = pylsl.StreamInlet(info, max_buflen=60, recover=True)
                        inlet.open_stream(timeout=2.0)
                        corr = inlet.time_correction(timeout=2.0)
                    except Exception as exc:  # a stream that vanished while opening
                        log.debug("could not open marker stream %s: %s", key, exc)
                        continue
                    self._inlets[key] = (inlet, corr)
                    log.debug("listening to cue stream %r (%s)", info.name(), key)
            for inlet, corr in list(self._inlets.values()):
                try:
                    samples, stamps = inlet.pull_chunk(timeout=0.0)
                except pylsl.LostError:
                    continue
                for sample, stamp in zip(samples, stamps, strict=False):
                    if sample:
                        self.cue(str(sample[0]), at_s=stamp + corr)
            self._stop.wait(0.005)


def run_simulated_lab(config_path=None, duration_s: float | None = None) -> None:
    """Run the simulated lab until Ctrl-C (KeyboardInterrupt) or ``duration_s`` seconds.

    Parameters
    ----------
    config_path : path, optional
        Hardware config (default ``hardware_configs/simulated.yaml``).
    duration_s : float, optional
        Stop after this many seconds (default: run until interrupted).
    """
    config, _ = load_hardware_config(config_path)
    lab = SimulatedLab(config)
    end = None if duration_s is None else time.monotonic() + float(duration_s)
    with lab:
        try:
            while end is None or time.monotonic() < end:
                time.sleep(0.1)
                lab.check()
        except KeyboardInterrupt:
            log.info("simulated lab stopped by the user")

