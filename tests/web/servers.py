"""Lab web servers for the tests, on 127.0.0.1 and a free port."""

from __future__ import annotations

import contextlib
from pathlib import Path

from labkit.config.hardware import load_hardware_config
from labkit.protocol.schema import load_protocol
from labkit.web.app import LabApp
from labkit.web.control import RunControl
from labkit.web.server import LabServer


@contextlib.contextmanager
def protocol_server(folder: Path, protocol: str = "imtp", *, token: str | None = None,
                    host: str = "127.0.0.1"):
    """A server running ``protocol`` on a simulated lab of its own (``--fast``)."""
    proto, proto_text = load_protocol(protocol)
    cfg, cfg_text = load_hardware_config()
    run = RunControl(proto, proto_text, cfg, cfg_text, folder, fast=True)
    server = LabServer(LabApp(run=run), host=host, port=0, token=token).start()
    try:
        yield server, run
    finally:
        if run.running:
            run.hub.request("abort")
            run.wait(30)
        server.stop()
