"""Run a protocol on a simulated lab of its own, as `labkit run` does for a simulated config."""

from __future__ import annotations

from labkit.devices.sim.lab import SimulatedLab
from labkit.devices.sim.private import private_lab_config
from labkit.protocol.runner import ProtocolRunner


def simulated_runner(proto, proto_text, cfg, cfg_text, options, view=None) -> ProtocolRunner:
    """A runner driving a fresh SimulatedLab (started and stopped by ``runner.run()``)."""
    cfg, cfg_text = private_lab_config(cfg, cfg_text)
    return ProtocolRunner(proto, proto_text, cfg, cfg_text, options, view, lab=SimulatedLab(cfg))
