"""Helpers shared by the device tests."""

from __future__ import annotations

from labkit.config.hardware import HardwareConfig, SourceFaults, load_hardware_config


def sim_config(prefix: str, **faults: dict) -> HardwareConfig:
    """The default simulated lab with ``source_prefix=prefix`` and per-device faults."""
    config, _ = load_hardware_config()
    devices = [d.model_copy(update={"faults": SourceFaults(**faults[d.name])}) if d.name in faults else d
               for d in config.devices]
    return config.model_copy(update={"source_prefix": prefix, "devices": devices})
