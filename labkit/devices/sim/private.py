"""A simulated lab of its own: which configs are simulated, and their private LSL setup.

Kept apart from :mod:`labkit.devices.sim.lab` because it must run before anything loads
liblsl: liblsl reads its configuration once, at its first use, and importing the lab (or
:mod:`labkit.lsl.streams`) already configures it.
"""

from __future__ import annotations

from labkit.config.hardware import HardwareConfig

__all__ = ["is_simulated", "private_lab_config"]


def is_simulated(config: HardwareConfig) -> bool:
    """True when every device of the config is simulated (the lab is :class:`SimulatedLab`)."""
    from labkit.config.hardware import LslDevice

    return all(not isinstance(d, LslDevice) and d.kind.startswith("sim_") for d in config.devices)


def private_lab_config(config: HardwareConfig, config_text: str) -> tuple[HardwareConfig, str]:
    """The config of a simulated lab of its own: LSL on loopback and source ids unique to it.

    A simulated lab started by ``labkit run`` must not mix in other LSL streams on the
    machine (another run, a test suite): liblsl is confined to this machine's loopback
    with a session id of this process, and every source id gets a fresh prefix.

    Returns
    -------
    HardwareConfig, str
        The new config and its exact text (to be stored in the session).
    """
    import os
    import uuid

    from labkit.config.hardware import load_hardware_config

    if "LSLAPICFG" not in os.environ:
        from labkit.lsl.loopback import configure_loopback

        configure_loopback(f"labkit-run-{uuid.uuid4().hex[:8]}")
    prefix = f"{config.source_prefix}-run{uuid.uuid4().hex[:6]}"
    text = config_text.replace(f"source_prefix: {config.source_prefix}", f"source_prefix: {prefix}")
    return load_hardware_config("hardware config", text=text)
