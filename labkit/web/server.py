"""Serve a :class:`~labkit.web.app.LabApp` with uvicorn in a thread of its own, beside the
recorder's threads (the recorder never waits for it)."""

from __future__ import annotations

import threading
import time
from typing import Any

from labkit.errors import ConfigError
from labkit.web.app import LabApp, create_app
from labkit.web.security import check_bind

__all__ = ["LabServer"]


class LabServer:
    """The web server of a lab, started with :meth:`start` and stopped with :meth:`stop`.

    Parameters
    ----------
    lab : LabApp
    host : str
        Address to bind (default loopback; another needs ``token``).
    port : int
        Port (0: any free port; :attr:`port` tells which).
    token : str, optional
        Required on every request and WebSocket when given.
    """

    def __init__(self, lab: LabApp, *, host: str = "127.0.0.1", port: int = 8765,
                 token: str | None = None) -> None:
        import uvicorn

        check_bind(host, token)
        self.lab, self.host, self.token = lab, host, token
        config = uvicorn.Config(create_app(lab, token=token), host=host, port=port, log_level="warning",
                                ws="websockets-sansio", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout_s: float = 15.0) -> LabServer:
        self._thread = threading.Thread(target=self._server.run, name="labkit-web", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise ConfigError(f"could not serve on {self.host}:{self.port} (port in use?); "
                                  "choose another --port")
            time.sleep(0.02)
        sockets = [s for srv in self._server.servers for s in srv.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
