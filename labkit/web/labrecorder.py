"""LabRecorder's TCP remote-control port for ``labkit record``: scripts written for
LabRecorder (PsychoPy, MATLAB, a trigger-box script) drive labkit unchanged.

One command per line (LabRecorder's remote control socket, default port 22345)::

    select all | select none          choose the streams (labkit also takes: select force emg)
    filename {root:C:/study} {template:exp%n/block_%b.xdf} {participant:P01} {session:S1}
             {task:imtp} {run:2} {acquisition:a} {modality:beh}
    start | stop | update

Every command is answered ``OK`` (as LabRecorder does); one labkit cannot carry out is
answered ``ERROR <one line>``. ``start`` with no stream selected records all of them, as
LabRecorder's remote ``start`` does; the template is lower-cased and ``.xdf`` becomes
``.h5``, see :func:`labkit.web.control.expand_template`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import socketserver
import threading
from typing import Any

from labkit.errors import ConfigError, LabkitError
from labkit.web.control import RecordControl
from labkit.web.security import is_loopback

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_PORT", "LabRecorderPort", "handle_line"]

DEFAULT_PORT = 22345
# LabRecorder's own pattern: {option:value}, the value without braces, line ends or ?*|<>"
_OPTION = re.compile(r"\{(?P<option>[a-zA-Z]+):(?P<value>[^{}\n\r?*|<>\"]+)\}")


def handle_line(control: RecordControl, line: str, echo: Any = None) -> str:
    """Carry out one command; returns the reply (``OK`` or ``ERROR <why>``)."""
    text = line.strip()
    words = text.split()
    try:
        if text == "start":
            path = control.start()
            _say(echo, f"remote: recording to {path}")
        elif text == "stop":
            path = control.stop()
            _say(echo, f"remote: stopped; saved {path}" if path else "remote: stop (not recording)")
        elif text == "update":
            pass  # streams are discovered continuously: nothing to refresh
        elif text.startswith("filename"):
            options = {m.group("option").lower(): m.group("value") for m in _OPTION.finditer(text)}
            if not options:
                raise ConfigError(f"{text!r} names no option; write e.g. filename {{root:/data}} "
                                  "{participant:P01}")
            if "template" in options:
                options["template"] = options["template"].lower()  # as LabRecorder does
            path = control.set_filename(**options)
            _say(echo, f"remote: next file {path}")
        elif words and words[0] == "select":
            rest = words[1:]
            chosen = control.select("all" if rest == ["all"] else "none" if rest == ["none"] else rest)
            _say(echo, f"remote: streams {chosen}")
        else:
            raise ConfigError(f"unknown command {text!r}; use select all|none, filename {{...}}, "
                              "start, stop or update")
    except (LabkitError, TypeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _say(echo, f"remote: {text!r} failed: {first}")
        return f"ERROR {first}"
    except Exception as exc:  # a bug: the script still gets its one reply, the log the traceback
        log.exception("remote command %r failed", text)
        first = str(exc).splitlines()[0] if str(exc) else ""
        _say(echo, f"remote: {text!r} failed: {type(exc).__name__}: {first}")
        return f"ERROR {type(exc).__name__}: {first}"
    return "OK"


def _say(echo: Any, text: str) -> None:
    log.info("%s", text)
    if echo is not None:
        echo(text)


class LabRecorderPort:
    """The TCP server: one thread per connected client; commands run one at a time.

    Parameters
    ----------
    control : RecordControl
    host : str
        Loopback only: LabRecorder's protocol has no authentication (see docs/remote.md).
    port : int
        LabRecorder's default 22345; 0 picks a free port (:attr:`port`).
    """

    def __init__(self, control: RecordControl, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 echo: Any = None) -> None:
        if not is_loopback(host):
            raise ConfigError(f"--rcs-host {host} is not a loopback address: LabRecorder's remote "
                              "protocol has no password, so labkit serves it on 127.0.0.1 only; "
                              "reach it from another machine through an SSH tunnel")
        lock = threading.Lock()
        port_self = self
        self._closed = threading.Event()
        self._connections: set[Any] = set()

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                port_self._connections.add(self.connection)
                try:
                    self._serve()
                finally:
                    port_self._connections.discard(self.connection)

            def _serve(self) -> None:
                for raw in self.rfile:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line:
                        continue
                    with lock:
                        if port_self._closed.is_set():  # stopped: no command may start a recording
                            return
                        reply = handle_line(control, line, echo)
                    self.wfile.write(reply.encode())
                    self.wfile.flush()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        try:
            self._server = socketserver.ThreadingTCPServer((host, port), Handler)
        except OSError as exc:
            raise ConfigError(f"--rcs-port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                              "choose another port") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.control = control
        self._thread = threading.Thread(target=self._server.serve_forever, name="labkit-rcs", daemon=True)

    def start(self) -> LabRecorderPort:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and end every client's connection (a command arriving after this
        is not carried out)."""
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
