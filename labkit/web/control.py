"""What the web console and the remote-control ports drive: a protocol run
(:class:`RunControl`) and a plain recording (:class:`RecordControl`, LabRecorder's model:
choose streams, name the file from a template, start, stop)."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from labkit.errors import ConfigError, LabkitError, SessionError
from labkit.web.hub import LiveHub

log = logging.getLogger(__name__)

__all__ = ["BIDS_TEMPLATE", "RecordControl", "RunControl", "expand_template"]

#: LabRecorder's default (BIDS) file name template
BIDS_TEMPLATE = "sub-%p/ses-%s/%m/sub-%p_ses-%s_task-%b[_acq-%a]_run-%r_%m.xdf"


def expand_template(template: str, *, participant: str = "", session: str = "", task: str = "",
                    acquisition: str = "", modality: str = "beh", run: int = 1) -> str:
    """A file name from a LabRecorder template.

    ``%p`` participant, ``%s`` session, ``%b`` task (block), ``%a`` acquisition, ``%m``
    modality, ``%r`` and ``%n`` the run number as three digits (``001``); ``[...]`` keeps
    its content only when the acquisition is given (LabRecorder's ``[_acq-%a]``). The
    ``.xdf`` extension becomes ``.h5``: labkit writes HDF5 sessions.

    Examples
    --------
    >>> expand_template("sub-%p_ses-%s_task-%b_run-%r.xdf", participant="P01", session="S1", task="imtp")
    'sub-P01_ses-S1_task-imtp_run-001.h5'
    """
    text = re.sub(r"\[([^\]]*)\]", lambda m: m.group(1) if acquisition else "", template)
    values = {"b": task, "p": participant, "s": session, "a": acquisition, "m": modality,
              "r": f"{int(run):03d}", "n": f"{int(run):03d}"}
    text = re.sub(r"%([bpsamrn])", lambda m: values[m.group(1)], text)
    if text.lower().endswith(".xdf"):
        text = text[:-4] + ".h5"
    elif not text.lower().endswith((".h5", ".hdf5")):
        text += ".h5"
    return text


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (relative paths taken from ``root``) resolves to ``root`` or below."""
    full = (path if path.is_absolute() else root / path).resolve()
    return full == root or root in full.parents


class RecordControl:
    """A recording driven from outside: stream selection, file name and start/stop.

    Parameters
    ----------
    config, config_text : HardwareConfig, str
        The lab; ``select all`` selects each of its devices.
    root : Path
        Study root folder (LabRecorder's ``root``).
    template : str
        File name template (see :func:`expand_template`).

    A remote ``root`` must lie inside the root given here (the study folder of the command
    line) and the name fields may not hold path separators or ``..``: LabRecorder's port has
    no password, so its commands must not place files anywhere else on the machine.
    """

    def __init__(self, config: Any, config_text: str, root: Path, template: str = BIDS_TEMPLATE) -> None:
        self.config, self.config_text = config, config_text
        self.root = Path(root)
        self.base_root = Path(root).resolve()
        self.template = template
        self.names = {"participant": "P001", "session": "S001", "task": "Default", "acquisition": "",
                      "modality": "beh"}
        self.run = 1
        self.selected: list[str] = list(config.recording.streams)
        self.recorder: Any = None
        self.path: Path | None = None
        self.force_buffer: Any = None
        self._lock = threading.Lock()

    @property
    def devices(self) -> list[str]:
        return [d.name for d in self.config.devices]

    def select(self, streams: list[str] | str) -> list[str]:
        """Choose the streams of the next recording: ``"all"``, ``"none"`` or names."""
        if streams == "all":
            chosen = self.devices
        elif streams == "none":
            chosen = []
        else:
            unknown = [s for s in streams if s not in self.devices]
            if unknown:
                raise ConfigError(f"no stream {unknown[0]!r} in hardware config {self.config.name!r}; "
                                  f"its streams are {self.devices}")
            chosen = list(streams)
        with self._lock:
            self.selected = chosen
        return chosen

    def set_filename(self, root: str | None = None, template: str | None = None, run: Any = None,
                     **names: str) -> Path:
        """Change the study root, the template, the run number or the names it uses."""
        unknown = [k for k in names if k not in self.names]
        if unknown:
            raise ConfigError(f"unknown file name field {unknown[0]!r}; use root, template, run or "
                              f"{sorted(self.names)}")
        if run is not None:
            try:
                self.run = int(run)
            except ValueError:
                raise ConfigError(f"run {run!r} is not a whole number; give e.g. run:2") from None
        for k, v in names.items():
            if any(c in str(v) for c in "/\\") or ".." in str(v):
                raise ConfigError(f"file name field {k}={v!r} holds a path separator or '..'; give a "
                                  "plain name")
        if template is not None and (".." in template or Path(template).is_absolute()):
            raise ConfigError(f"template {template!r} climbs out of the study root; give a relative "
                              "template without '..'")
        if root is not None and not _inside(Path(root), self.base_root):
            raise ConfigError(f"root {root!r} is outside the study root {self.base_root}; give a "
                              "folder inside it (or start the recorder with that root)")
        with self._lock:
            if root is not None:
                self.root = Path(root) if Path(root).is_absolute() else self.base_root / root
            if template is not None:
                self.template = template
            self.names.update({k: str(v) for k, v in names.items()})
        return self.next_path()

    def next_path(self) -> Path:
        path = self.root / expand_template(self.template, run=self.run, **self.names)
        if not _inside(path, self.base_root):
            raise ConfigError(f"{path} is outside the study root {self.base_root}; change root or "
                              "template")
        return path

    @property
    def recording(self) -> bool:
        return self.recorder is not None and self.recorder.recording

    def start(self, *, resolve_timeout_s: float | None = None) -> Path:
        """Start recording the selected streams (all of the config's when none is selected,
        as LabRecorder's remote ``start`` does) into the templated file."""
        from labkit.record.recorder import Recorder

        with self._lock:
            if self.recording:
                raise SessionError(f"already recording to {self.path}; stop first")
            streams = self.selected or self.devices
            path = self.next_path()
            if path.exists():
                raise SessionError(f"{path}: file exists; set another run or name with `filename`")
            path.parent.mkdir(parents=True, exist_ok=True)
            rec_cfg = self.config.recording.model_copy(update={"streams": streams})
            # the unselected devices leave the config too: the recorder would add them as optional
            cfg = self.config.model_copy(update={
                "recording": rec_cfg, "devices": [d for d in self.config.devices if d.name in streams]})
            rec = Recorder(cfg, path, config_text=self.config_text, subject=self.names["participant"],
                           notes=f"task {self.names['task']}, session {self.names['session']}, "
                                 f"run {self.run}")
            self.force_buffer = None
            if "force" in streams:  # the live trace: a buffer made at the first chunk, from its spec
                rec.add_tap("force", self._tap(rec))
            rec.start(resolve_timeout_s=resolve_timeout_s)
            self.recorder, self.path = rec, path
            return path

    def _tap(self, rec: Any) -> Any:
        from labkit.protocol.live import LiveBuffer

        def tap(data: Any, times: Any) -> None:
            buf = self.force_buffer
            if buf is None:
                spec = rec.spec("force")
                if spec is None:
                    return
                buf = self.force_buffer = LiveBuffer("force", [c.label for c in spec.channels],
                                                     spec.nominal_rate_hz, keep_s=30.0)
            buf(data, times)

        return tap

    def stop(self) -> Path | None:
        """Stop and close the file; the next ``start`` uses the next run number."""
        with self._lock:
            rec, self.recorder = self.recorder, None
            if rec is None:
                return None
            rec.stop()
            self.run += 1
            return self.path

    def status(self) -> dict[str, Any]:
        rec = self.recorder
        return {"recording": self.recording, "file": str(self.path) if self.recording else "",
                "next_file": str(self.next_path()), "selected": list(self.selected),
                "streams": self.devices,
                "health": health(rec)}


def health(recorder: Any) -> list[dict[str, Any]]:
    """Each recorded stream's rate, samples, lost samples and stall, for the console."""
    if recorder is None or not recorder.recording:
        return []
    import math

    return [{"stream": st.name, "rate_hz": st.nominal_rate_hz,
             "measured_hz": st.measured_rate_hz if math.isfinite(st.measured_rate_hz) else None,
             "samples": st.samples, "lost": st.missing_samples, "stalled": bool(st.stalled)}
            for st in recorder.status()]


class RunControl:
    """One protocol at a time, run in a thread of its own, seen through a :class:`LiveHub`.

    Parameters
    ----------
    protocol, protocol_text, config, config_text
        As for :class:`~labkit.protocol.runner.ProtocolRunner`.
    folder : Path
        Where sessions are written (``<protocol>_<athlete>_<time>.h5``) and browsed.
    fast : bool
        Shorten rests and efforts (demos, tests).
    echo : callable, optional
        Where the run's message lines go as well (the terminal).
    """

    def __init__(self, protocol: Any, protocol_text: str, config: Any, config_text: str, folder: Path,
                 *, fast: bool = False, operator: str = "", echo: Any = None) -> None:
        self.protocol, self.protocol_text = protocol, protocol_text
        self.config, self.config_text = config, config_text
        self.folder = Path(folder)
        self.fast, self.operator = fast, operator
        self.hub = LiveHub()
        self.echo = echo
        self.runner: Any = None
        self.thread: threading.Thread | None = None
        self.table: Any = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        #: the session file name of the next run ('' : <protocol>_<athlete>_<time>.h5)
        self.default_name = ""

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def describe(self) -> dict[str, Any]:
        """The protocol as the console shows it: name, text, subject fields and steps."""
        p = self.protocol
        return {"name": p.name, "version": p.version, "description": p.description,
                "subject": [f.model_dump() for f in p.subject],
                "steps": [{"kind": st.kind, "text": _step_text(st)} for st in p.steps]}

    def start(self, answers: dict[str, Any], *, out: str = "") -> Path:
        """Check the athlete form and start the run; returns the session file."""
        from labkit.protocol.runner import RunOptions, default_out_path
        from labkit.protocol.subject import check_answers

        if self.running:
            raise SessionError(f"a run is in progress ({self.runner.options.out_path}); abort it first")
        typed = check_answers(self.protocol, answers)
        code = str(typed.get("athlete", "") or "")
        if out and (Path(out).name != out or out in (".", "..") or not out.lower().endswith(".h5")):
            raise ConfigError(f"out={out!r}: give a file name ending in .h5 (no folders): sessions are "
                              f"written into {self.folder}")
        path = self.folder / (out or self.default_name or default_out_path(self.protocol, code).name)
        if path.exists():
            raise SessionError(f"{path}: file exists; choose another name or resume it")
        options = RunOptions(out_path=path, athlete=code, operator=self.operator, subject_answers=typed,
                             fast=self.fast)
        self._launch(options)
        return path

    def resume(self, name: str) -> Path:
        """Resume an interrupted session of the folder (by file name)."""
        from labkit.protocol.runner import RunOptions
        from labkit.session.reader import open_session

        if self.running:
            raise SessionError(f"a run is in progress ({self.runner.options.out_path}); abort it first")
        path = self.folder / Path(name).name
        if not path.exists():
            raise SessionError(f"{path}: no such session in {self.folder}; pick one from the list")
        with open_session(path) as s:
            code = str(s.info.get("subject", ""))
        self._launch(RunOptions(out_path=path, athlete=code, operator=self.operator, fast=self.fast,
                                resume=True))
        return path

    def _launch(self, options: Any) -> None:
        from labkit.devices.sim.private import is_simulated, private_lab_config
        from labkit.protocol.runner import ProtocolRunner
        from labkit.web.view import WebView

        cfg, text, lab = self.config, self.config_text, None
        if is_simulated(cfg):  # a simulated lab of its own for this run, as `labkit run` does
            cfg, text = private_lab_config(cfg, text)
            from labkit.devices.sim.lab import SimulatedLab

            lab = SimulatedLab(cfg)
        self.hub.reset()
        self.hub.update(status="running", error="", file=str(options.out_path), phase="starting",
                        cue="waiting for the streams", results=None)
        self.runner = ProtocolRunner(self.protocol, self.protocol_text, cfg, text, options,
                                     WebView(self.hub, self.echo), lab=lab)
        self.table, self.error = None, None
        self.finished.clear()
        self.thread = threading.Thread(target=self._run, name="labkit-web-run", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from labkit.web.view import RunAborted

        runner = self.runner
        try:
            self.table = runner.run()
            rows = self.table.to_dict(orient="records") if self.table is not None else []
            self.hub.update(status="complete", phase="done", cue="session complete", results=_jsonable(rows))
        except RunAborted as exc:
            self.error = exc
            self.hub.update(status="interrupted", phase="done", cue="aborted; the session is saved",
                            error=str(exc))
        except Exception as exc:  # the console shows it; the file is kept
            self.error = exc
            if isinstance(exc, LabkitError):  # a one-line reason: the console says it all
                log.debug("run failed", exc_info=True)
            else:  # a bug: its traceback goes to the log
                log.exception("run failed")
            self.hub.update(status="failed", phase="done", cue="the run stopped", error=str(exc))
        finally:
            self.finished.set()

    def request(self, action: str) -> None:
        if not self.running:
            raise SessionError(f"no run in progress: {action!r} needs one; start a run first")
        self.hub.request(action)

    def wait(self, timeout_s: float | None = None) -> bool:
        return self.finished.wait(timeout_s)

    def status(self) -> dict[str, Any]:
        state = self.hub.snapshot()
        state["protocol"] = self.protocol.name
        runner = self.runner
        state["health"] = health(runner.recorder if runner is not None else None)
        return state


def _step_text(step: Any) -> str:
    b = step.body
    if step.kind == "repeat":
        return f"repeat until {b.until_valid} valid (max {b.max_attempts}): " + ", ".join(
            _step_text(s) for s in b.steps)
    if step.kind == "per_side":
        return f"per side {list(b.sides)}: " + ", ".join(_step_text(s) for s in b.steps)
    if step.kind == "trial":
        return f"trial {b.test}"
    text = getattr(b, "text", "") or ""
    return f"{step.kind}{': ' + text if text else ''}"


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import math

    out = []
    for row in rows:
        clean = {}
        for k, v in row.items():
            if hasattr(v, "item"):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean[str(k)] = v if isinstance(v, (int, float, str, bool, type(None))) else str(v)
        out.append(clean)
    return out


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.05) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
